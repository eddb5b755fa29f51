"""The grid-count descriptor of Zharikov, Zavyalov & Sivashova (2022): a window image of particle counts.

A square window of side W centred on the target particle is cut into n × n square cells of side
h = W/n; pixel ``image[i, j]`` holds the number of particles (the target excluded) whose offset from
the target lies in cell row *i* (along y) and column *j* (along x), both counted from the negative
side: cell (i, j) covers −W/2 + j·h ≤ Δx < −W/2 + (j+1)·h and likewise for Δy with *i*. The window
is half-open like :func:`~nnsurrogate.gas2d.configurations.in_window`. For even n the
target sits on the corner shared by the four central cells, for odd n at the centre of the middle one;
either way the grid has the symmetry of the square, so rotating the image rotates the force.
"""

from __future__ import annotations

import numpy as np

from nnsurrogate.core.errors import UserInputError

__all__ = ["cell_centres", "cell_index", "grid_images"]


def _check(window: float, grid: int) -> None:
    if not np.isfinite(window) or window <= 0:
        raise UserInputError(f"window must be a positive length, got {window}", "window")
    if int(grid) != grid or grid < 1:
        raise UserInputError(f"grid must be a positive integer, got {grid}", "grid")


def cell_index(delta: np.ndarray, window: float, grid: int) -> np.ndarray:
    """Cell (row, column) = (y index, x index) of offsets *delta* (..., 2), Å, inside the window.

    Returns an integer array (..., 2); offsets must lie in the window (rounding at the upper edge is
    clipped into the last cell).
    """
    _check(window, grid)
    h = window / grid
    idx = np.floor((np.asarray(delta, dtype=np.float64) + 0.5 * window) / h).astype(np.int64)
    idx = np.clip(idx, 0, grid - 1)
    return idx[..., ::-1]  # (x, y) → (row = y, column = x)


def grid_images(delta: np.ndarray, offsets: np.ndarray, window: float, grid: int,
                dtype=np.float32) -> np.ndarray:
    """Count images of many targets from their neighbours stored back to back.

    Parameters
    ----------
    delta : numpy.ndarray, shape (m_total, 2)
        Offsets of every target's window neighbours from that target, Å, target by target.
    offsets : numpy.ndarray, shape (n_targets + 1,)
        Neighbours of target *k* are ``delta[offsets[k]:offsets[k + 1]]``.
    window : float
        Window side W, Å; offsets outside the half-open window are ignored.
    grid : int
        Cells per side n.

    Returns
    -------
    numpy.ndarray, shape (n_targets, grid, grid)
        Particle counts per cell.
    """
    _check(window, grid)
    delta = np.asarray(delta, dtype=np.float64).reshape(-1, 2)
    offsets = np.asarray(offsets, dtype=np.int64)
    n_targets = offsets.size - 1
    owner = np.repeat(np.arange(n_targets), np.diff(offsets))
    half = 0.5 * window
    keep = np.all((delta >= -half) & (delta < half), axis=1)
    rc = cell_index(delta[keep], window, grid)
    flat = (owner[keep] * grid + rc[:, 0]) * grid + rc[:, 1]
    counts = np.bincount(flat, minlength=n_targets * grid * grid)
    return counts.reshape(n_targets, grid, grid).astype(dtype)


def cell_centres(window: float, grid: int) -> np.ndarray:
    """Offsets (grid, grid, 2), Å, of the cell centres from the target: [..., 0] = Δx, [..., 1] = Δy."""
    _check(window, grid)
    h = window / grid
    c = -0.5 * window + (np.arange(grid) + 0.5) * h
    dx, dy = np.meshgrid(c, c, indexing="xy")  # rows vary in y, columns in x
    return np.stack([dx, dy], axis=-1)
