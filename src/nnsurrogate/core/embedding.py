"""Learned material vectors: nearest neighbours ("materials most like this one") and a 2D map.

The vectors come from a trained model (a crystal graph network's readout, a table network's last
hidden layer). Neighbours are found by cosine distance (FAISS when installed, scikit-learn
otherwise); the map is UMAP when ``umap-learn`` is installed, else t-SNE (scikit-learn), or PCA.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAPS = ("auto", "umap", "tsne", "pca")


def check_embed_options(neighbors: int, map_method: str) -> None:
    """Refuse a neighbour count below 1, an unknown map method or UMAP without umap-learn (user errors)."""
    from nnsurrogate.core.errors import UserInputError

    if int(neighbors) < 1:
        raise UserInputError(f"neighbors must be at least 1, got {neighbors}", "neighbors")
    if map_method not in MAPS:
        raise UserInputError(f"unknown map '{map_method}'; use {', '.join(MAPS)}", "map")
    if map_method == "umap":
        try:
            import umap  # noqa: F401
        except ImportError:
            raise UserInputError("the UMAP map needs umap-learn (pip install umap-learn); or use --map tsne",
                                 "map") from None


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float64)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norm > 0, norm, 1.0)


def nearest_neighbors(reference: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The *k* reference rows closest to every query row by cosine distance.

    Parameters
    ----------
    reference : numpy.ndarray, shape (m, d)
    query : numpy.ndarray, shape (n, d)
    k : int
        At most m.

    Returns
    -------
    indices : numpy.ndarray of int, shape (n, k)
        Reference rows, nearest first.
    distances : numpy.ndarray, shape (n, k)
        1 − cosine similarity, in [0, 2].
    """
    ref, q = _unit_rows(reference), _unit_rows(query)
    k = int(min(k, len(ref)))
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        index = faiss.IndexFlatIP(ref.shape[1])
        index.add(ref.astype(np.float32))
        sim, idx = index.search(q.astype(np.float32), k)
        return idx.astype(np.int64), np.clip(1.0 - sim.astype(np.float64), 0.0, 2.0)
    from sklearn.neighbors import NearestNeighbors

    dist, idx = NearestNeighbors(n_neighbors=k, metric="cosine").fit(ref).kneighbors(q)
    return idx.astype(np.int64), np.clip(dist, 0.0, 2.0)


def map_2d(vectors: np.ndarray, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """2D coordinates (n, 2) of the standardised vectors and the name of the method used."""
    from sklearn.preprocessing import StandardScaler

    if method not in MAPS:
        raise ValueError(f"unknown map '{method}'; choose one of {', '.join(MAPS)}")
    X = StandardScaler().fit_transform(np.asarray(vectors, dtype=np.float64))
    n = len(X)
    if method in ("auto", "umap"):
        try:
            import umap
        except ImportError:
            if method == "umap":
                raise ValueError("the UMAP map needs umap-learn (pip install umap-learn)") from None
        else:
            return umap.UMAP(n_components=2, random_state=seed).fit_transform(X), "umap"
    if method in ("auto", "tsne") and n >= 5:
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, perplexity=float(min(30, (n - 1) / 3)), init="pca", random_state=seed).fit_transform(X), "tsne"
    from sklearn.decomposition import PCA

    xy = PCA(n_components=min(2, X.shape[1], n)).fit_transform(X)
    return (xy if xy.shape[1] == 2 else np.column_stack([xy, np.zeros(n)])), "pca"


def map_figures(directory: str | Path, xy: np.ndarray, labels: list[str], color: np.ndarray | None,
                color_name: str, title: str) -> list[str]:
    """Write ``map.png`` (matplotlib) and ``map.html`` (plotly, when installed) into *directory*.

    Returns the names of the files written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(directory)
    has_color = color is not None and np.isfinite(color).any()
    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=120)
    points = ax.scatter(xy[:, 0], xy[:, 1], c=color if has_color else None, s=8, cmap="viridis")
    if has_color:
        fig.colorbar(points, ax=ax, label=color_name)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out / "map.png")
    plt.close(fig)
    written = ["map.png"]
    try:
        import plotly.graph_objects as go
    except ImportError:
        return written
    marker = {"size": 6}
    if has_color:
        marker.update(color=color, colorscale="Viridis", showscale=True, colorbar={"title": color_name})
    text = [f"{name}<br>{color_name} = {c:.4g}" for name, c in zip(labels, color)] if has_color else labels
    figure = go.Figure(go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="markers", marker=marker, text=text,
                                    hoverinfo="text"))
    figure.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False})
    figure.write_html(out / "map.html", include_plotlyjs=True)
    return [*written, "map.html"]


def write_embedding(directory: str | Path, ids: list[str], vectors: np.ndarray, color: np.ndarray | None,
                    color_name: str, neighbors: int, map_method: str, title: str) -> dict:
    """Write the vectors, every row's nearest other rows and a 2D map into *directory*.

    Files: ``embeddings.parquet`` (id, e0 … e{d-1}), ``neighbors.csv`` (id, rank, neighbor, distance:
    the *neighbors* most similar other rows by cosine distance), ``map.csv`` (id, x, y, *color_name*),
    ``map.png`` and, with plotly installed, ``map.html``.

    Returns
    -------
    dict
        ``n``, ``dim``, ``neighbors`` (as used), ``map`` (method used) and ``files``.
    """
    import pandas as pd

    from nnsurrogate.core.tables import write_table

    vectors = np.asarray(vectors, dtype=np.float64)
    k = min(int(neighbors), len(ids) - 1)
    idx, dist = nearest_neighbors(vectors, vectors, k + 1)
    rows = []
    for i in range(len(ids)):
        others = [(j, d) for j, d in zip(idx[i], dist[i]) if j != i][:k]
        rows += [{"id": ids[i], "rank": r + 1, "neighbor": ids[j], "distance": float(d)} for r, (j, d) in enumerate(others)]
    xy, used = map_2d(vectors, map_method)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(vectors, columns=[f"e{j}" for j in range(vectors.shape[1])])
    frame.insert(0, "id", ids)
    write_table(frame, out / "embeddings.parquet")
    write_table(pd.DataFrame(rows), out / "neighbors.csv")
    shade = np.full(len(ids), np.nan) if color is None else np.asarray(color, dtype=np.float64)
    write_table(pd.DataFrame({"id": ids, "x": xy[:, 0], "y": xy[:, 1], color_name: shade}), out / "map.csv")
    figures = map_figures(out, xy, ids, shade, color_name, f"{title} ({used})")
    return {"n": len(ids), "dim": int(vectors.shape[1]), "neighbors": k, "map": used,
            "files": ["embeddings.parquet", "neighbors.csv", "map.csv", *figures]}
