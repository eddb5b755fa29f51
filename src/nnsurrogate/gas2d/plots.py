"""Figures of the 2D-gas model written to files (matplotlib's Agg backend: no screen needed)."""

from __future__ import annotations

import os

import numpy as np

from nnsurrogate.core.plots import new_figure, save_figure

__all__ = ["confusion_plot"]


def confusion_plot(path: str | os.PathLike, true: np.ndarray, pred: np.ndarray, n_classes: int,
                   title: str = "") -> None:
    """Row-normalised confusion matrix of class indices (true along y, predicted along x), saved as PNG.

    A class no test sample belongs to is drawn grey (no row to normalise), not as a row of zeros
    that would read as "always wrong"; each row is labelled with its sample count.

    Parameters
    ----------
    path : path-like
        Output ``.png``.
    true, pred : numpy.ndarray of int, shape (n,)
        Class indices in 0 … n_classes − 1.
    n_classes : int
    """
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (np.asarray(true, dtype=int), np.asarray(pred, dtype=int)), 1)
    rows = counts.sum(axis=1, keepdims=True)
    frac = np.divide(counts, rows, out=np.full_like(counts, np.nan), where=rows > 0)
    fig, ax = new_figure(figsize=(5.2, 4.2), dpi=120)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")
    im = ax.imshow(np.ma.masked_invalid(frac), origin="lower", cmap=cmap, vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, label="fraction of the true class")
    ax.set_xticks(range(n_classes))
    ax.set_yticks(range(n_classes), [f"{k} (n={int(rows[k, 0])})" for k in range(n_classes)], fontsize=7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (test samples; grey: none)")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
