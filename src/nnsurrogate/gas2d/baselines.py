"""Reference predictors that know the potential: where the count image puts the limit on accuracy.

The count image keeps only which cell each neighbour is in. Two physics-based predictors of the
force from the image alone:

* :func:`cell_centre_forces` — every neighbour placed at the centre of its cell (the naive reading);
* :func:`posterior_forces` — a Monte-Carlo draw of the neighbours' positions *given the image*: for
  uniformly random particles the positions given the counts are independent and uniform within their
  cells, so each draw puts every neighbour uniformly in its cell (with a hard core, a neighbour closer
  than ``min_distance`` to the target, or one of the :data:`HARD_CORE_NEIGHBOURS` nearest neighbours
  closer than that to a nearer one, is redrawn within its cell — an approximation to the exact
  conditional law that enforces the constraints that move the force most). The forces of the draws
  sample the distribution of the true force given the image; its mode class (per component, or of
  the pair) is the Bayes-optimal classification and its median the best estimate for absolute
  error, so their scores on test data estimate the best any model of the count image can do (up to
  Monte-Carlo noise and the hard-core approximation).

The sub-cell descriptor (:func:`~nnsurrogate.gas2d.descriptor.subcell_images`) keeps each cell's
count and the centroid of its neighbours, so a cell with one neighbour gives its position exactly.
:func:`centroid_forces` reads it as physics would (every cell's neighbours at their centroid), and
:func:`subcell_posterior_forces` draws, for the cells holding several neighbours, positions uniform
in the cell with the given centroid (the last one fixed by the centroid, the draw redone where it
falls outside the cell; the hard core is not imposed), so that the same mode-class rule gives the
limit of any model of that descriptor.
"""

from __future__ import annotations

import numpy as np

from nnsurrogate.gas2d.classes import force_classes
from nnsurrogate.gas2d.descriptor import cell_centres, cell_index, subcell_images, window_cells

__all__ = ["bayes_predictions", "cell_centre_forces", "centroid_forces", "posterior_forces",
           "subcell_posterior_forces"]

#: Redraw rounds for the hard-core condition (a neighbour still in conflict after them is kept as is).
HARD_CORE_ROUNDS = 50
#: With a hard core, pair constraints are enforced among this many neighbours nearest the target.
HARD_CORE_NEIGHBOURS = 8
#: Budget of float entries per chunk of the (samples, draws, m) arrays.
CHUNK_ENTRIES = 4_000_000
#: Tries per draw to place a shared cell's neighbours inside it with the given centroid.
CENTROID_TRIES = 200


def cell_centre_forces(data, grid: int) -> np.ndarray:
    """Force (n, 2), eV/Å, with every neighbour moved to the centre of its cell of the *grid* × *grid* image."""
    images = data.images(grid).astype(np.float64)
    centres = cell_centres(data.window, grid).reshape(-1, 2)
    r = np.hypot(centres[:, 0], centres[:, 1])
    r_safe = np.where(r > 0, r, 1.0)  # odd grids: a neighbour in the target's own cell has no direction
    scale = np.where(r > 0, data.potential.force(r_safe) / r_safe, 0.0)
    unit_force = -scale[:, None] * centres  # force on the target per neighbour, (n², 2)
    return images.reshape(images.shape[0], -1) @ unit_force


def _padded(data, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours of samples *index*, nearest first, padded to the largest count: (B, m, 2) and mask (B, m)."""
    counts = np.diff(data.offsets)[index]
    m = max(int(counts.max(initial=0)), 1)
    delta = np.zeros((index.size, m, 2))
    mask = np.arange(m)[None, :] < counts[:, None]
    for row, k in enumerate(index):
        near = data.neighbours(k)
        delta[row, : counts[row]] = near[np.argsort(np.einsum("md,md->m", near, near), kind="stable")]
    return delta, mask


def _draw(corner: np.ndarray, mask: np.ndarray, h: float, n_draws: int, rng, min_distance: float) -> np.ndarray:
    """Positions (B, S, m, 2) uniform in the cells with lower corners *corner* (B, m, 2)."""
    shape = (corner.shape[0], n_draws, corner.shape[1], 2)
    pos = corner[:, None] + h * rng.random(shape)
    if min_distance <= 0:
        return pos
    k = min(corner.shape[1], HARD_CORE_NEIGHBOURS)  # neighbours are sorted nearest first
    earlier = np.tril(np.ones((k, k), dtype=bool), k=-1)  # [j, i]: i < j
    valid = mask[:, None, :k, None] & mask[:, None, None, :k] & earlier
    for _ in range(HARD_CORE_ROUNDS):
        d = pos[:, :, :k, None, :] - pos[:, :, None, :k, :]
        bad = np.einsum("bsjd,bsjd->bsj", pos, pos) < min_distance**2
        bad[:, :, :k] |= ((np.einsum("bsjid,bsjid->bsji", d, d) < min_distance**2) & valid).any(axis=3)
        bad &= mask[:, None, :]
        if not bad.any():
            break
        fresh = np.broadcast_to(corner[:, None], shape) + h * rng.random(shape)
        pos = np.where(bad[..., None], fresh, pos)
    return pos


def posterior_forces(data, grid: int, n_draws: int = 64, seed: int = 0, index: np.ndarray | None = None,
                     min_distance: float | None = None) -> np.ndarray:
    """Forces (n, S, 2), eV/Å, of *n_draws* position draws given each sample's count image.

    Parameters
    ----------
    data : Gas2DData
    grid : int
        Cells per side of the image the draws are conditioned on.
    n_draws : int
        Draws S per sample.
    seed : int
    index : numpy.ndarray, optional
        Samples to use (default all).
    min_distance : float, optional
        Hard core, Å (default: the generator's ``min_distance_A``).
    """
    rng = np.random.default_rng(seed)
    index = np.arange(data.n_samples) if index is None else np.asarray(index, dtype=np.int64)
    dmin = float(data.spec.get("min_distance_A", 0.0)) if min_distance is None else float(min_distance)
    h = data.window / grid
    m_max = max(int(np.diff(data.offsets).max(initial=1)), 1)
    chunk = max(1, CHUNK_ENTRIES // (n_draws * max(m_max, HARD_CORE_NEIGHBOURS**2)))
    out = np.empty((index.size, n_draws, 2))
    for start in range(0, index.size, chunk):
        rows = index[start:start + chunk]
        delta, mask = _padded(data, rows)
        cells = cell_index(delta, data.window, grid)[..., ::-1]  # back to (x, y) order
        corner = -0.5 * data.window + h * cells
        pos = _draw(corner, mask, h, n_draws, rng, dmin)
        r = np.sqrt(np.einsum("bsmd,bsmd->bsm", pos, pos))
        live = mask[:, None, :] & np.ones_like(r, dtype=bool)
        r_safe = np.where(live, r, 1.0)
        scale = np.where(live, data.potential.force(r_safe) / r_safe, 0.0)
        out[start:start + rows.size] = -np.einsum("bsm,bsmd->bsd", scale, pos)
    return out


def bayes_predictions(draws: np.ndarray, f_max: float, n_classes: int) -> dict[str, np.ndarray]:
    """Mode classes and median force from posterior draws (n, S, 2).

    Returns
    -------
    dict
        ``"classes"`` (n, 2): per-component modes; ``"joint"`` (n, 2): the mode of the (x, y) class
        pair (maximises the both-components accuracy); ``"force"`` (n, 2): per-component median,
        eV/Å; ``"force_mean"`` (n, 2): posterior mean, eV/Å.
    """
    cls = force_classes(draws, f_max, n_classes)  # (n, S, 2)
    n = cls.shape[0]
    per = np.stack([_mode(cls[:, :, c], n_classes) for c in range(2)], axis=1)
    joint_code = _mode(cls[:, :, 0] * n_classes + cls[:, :, 1], n_classes * n_classes)
    joint = np.stack([joint_code // n_classes, joint_code % n_classes], axis=1)
    return {"classes": per.reshape(n, 2), "joint": joint, "force": np.median(draws, axis=1),
            "force_mean": draws.mean(axis=1)}


def _mode(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Most frequent code per row of *codes* (n, S); ties go to the smallest code."""
    counts = np.zeros((codes.shape[0], n_codes), dtype=np.int64)
    np.add.at(counts, (np.arange(codes.shape[0])[:, None], codes), 1)
    return counts.argmax(axis=1)


def _pair_force(pos: np.ndarray, potential, weight: np.ndarray | None = None) -> np.ndarray:
    """Σ over the last-but-one axis of the force on the target from neighbours at *pos* (..., m, 2)."""
    r = np.sqrt(np.einsum("...d,...d->...", pos, pos))
    live = r > 0
    r_safe = np.where(live, r, 1.0)
    scale = np.where(live, potential.force(r_safe) / r_safe, 0.0) * (1.0 if weight is None else weight)
    return -np.einsum("...m,...md->...d", scale, pos)


def centroid_forces(data, grid: int) -> np.ndarray:
    """Force (n, 2), eV/Å, with every cell's neighbours at their centroid (read from the sub-cell descriptor)."""
    desc = subcell_images(data.delta, data.offsets, data.window, grid, dtype=np.float64)
    h = data.window / grid
    counts = desc[:, 0].reshape(desc.shape[0], -1)
    safe = np.where(counts > 0, counts, 1.0)
    pos = cell_centres(data.window, grid).reshape(1, -1, 2) + h * np.stack(
        [desc[:, 1].reshape(counts.shape), desc[:, 2].reshape(counts.shape)], axis=-1) / safe[..., None]
    return _pair_force(pos, data.potential, counts)


def _shared_cells(data, grid: int, k: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Neighbours of sample *k* alone in their cell (m₁, 2), and the groups sharing a cell (list of (n_c, 2))."""
    near = data.neighbours(k)
    _, flat, near, _ = window_cells(near, np.array([0, len(near)]), data.window, grid)
    _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    alone = near[counts[inverse] == 1]
    groups = [near[inverse == c] for c in np.flatnonzero(counts > 1)]
    return alone, groups


def _draw_with_centroid(group: np.ndarray, corner: np.ndarray, h: float, n_draws: int, rng) -> np.ndarray:
    """Positions (S, n, 2) uniform in the cell at *corner* with the centroid of *group* (n, 2)."""
    n = group.shape[0]
    total = group.sum(axis=0)
    out = np.broadcast_to(total / n, (n_draws, n, 2)).copy()  # fallback: all at the centroid
    todo = np.arange(n_draws)
    for _ in range(CENTROID_TRIES):
        free = corner + h * rng.random((todo.size, n - 1, 2))
        last = total - free.sum(axis=1)
        ok = np.all((last >= corner) & (last < corner + h), axis=1)
        out[todo[ok]] = np.concatenate([free[ok], last[ok, None]], axis=1)
        todo = todo[~ok]
        if todo.size == 0:
            break
    return out


def subcell_posterior_forces(data, grid: int, n_draws: int = 64, seed: int = 0,
                             index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Forces (n, S, 2), eV/Å, of position draws given each sample's sub-cell descriptor.

    Returns
    -------
    draws : numpy.ndarray, shape (n, S, 2)
        Identical draws (the exact force) for a sample whose neighbours all have a cell of their own.
    lossless : numpy.ndarray of bool, shape (n,)
        Whether the descriptor fixes every neighbour's position.
    """
    rng = np.random.default_rng(seed)
    index = np.arange(data.n_samples) if index is None else np.asarray(index, dtype=np.int64)
    h = data.window / grid
    out = np.empty((index.size, n_draws, 2))
    lossless = np.ones(index.size, dtype=bool)
    for row, k in enumerate(index):
        alone, groups = _shared_cells(data, grid, k)
        force = _pair_force(alone, data.potential) if alone.size else np.zeros(2)
        out[row] = force
        for group in groups:
            lossless[row] = False
            corner = -0.5 * data.window + h * cell_index(group[:1], data.window, grid)[0, ::-1]
            out[row] += _pair_force(_draw_with_centroid(group, corner, h, n_draws, rng), data.potential)
    return out, lossless
