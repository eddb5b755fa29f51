"""The grid-count descriptor of Zharikov, Zavyalov & Sivashova (2022): a window image of particle counts.

A square window of side W centred on the target particle is cut into n × n square cells of side
h = W/n; pixel ``image[i, j]`` holds the number of particles (the target excluded) whose offset from
the target lies in cell row *i* (along y) and column *j* (along x), both counted from the negative
side: cell (i, j) covers −W/2 + j·h ≤ Δx < −W/2 + (j+1)·h and likewise for Δy with *i*. The window
is half-open like :func:`~nnsurrogate.gas2d.configurations.in_window`. For even n the
target sits on the corner shared by the four central cells, for odd n at the centre of the middle one;
either way the grid has the symmetry of the square, so rotating the image rotates the force.

The count image throws away where in its cell a neighbour sits, which caps any model of it (see
:mod:`~nnsurrogate.gas2d.baselines`). :func:`subcell_images` keeps it: three channels per cell, the
count and the sums of the neighbours' offsets from the cell centre along x and y in cell units
(each in [−½, ½)). A cell holding one neighbour gives its position exactly, a cell holding several
their count and centroid; under a symmetry of the square the pixels move as in the count image and
the two offset channels turn as a vector.
"""

from __future__ import annotations

import numpy as np

from nnsurrogate.core.errors import UserInputError

__all__ = ["DESCRIPTORS", "cell_centres", "cell_index", "descriptor_channels", "grid_images", "subcell_images",
           "window_cells"]

#: Descriptor kinds: the paper's count image, and counts with the neighbours' sub-cell offsets.
DESCRIPTORS = ("counts", "subcell")


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


def window_cells(delta: np.ndarray, offsets: np.ndarray, window: float, grid: int):
    """The neighbours inside their target's window: (n_targets, flat cell index over all targets' grids,
    their offsets (m, 2), their (row, column) cells (m, 2))."""
    _check(window, grid)
    delta = np.asarray(delta, dtype=np.float64).reshape(-1, 2)
    offsets = np.asarray(offsets, dtype=np.int64)
    n_targets = offsets.size - 1
    owner = np.repeat(np.arange(n_targets), np.diff(offsets))
    half = 0.5 * window
    keep = np.all((delta >= -half) & (delta < half), axis=1)
    rc = cell_index(delta[keep], window, grid)
    return n_targets, (owner[keep] * grid + rc[:, 0]) * grid + rc[:, 1], delta[keep], rc


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
    n_targets, flat, _, _ = window_cells(delta, offsets, window, grid)
    counts = np.bincount(flat, minlength=n_targets * grid * grid)
    return counts.reshape(n_targets, grid, grid).astype(dtype)


def subcell_images(delta: np.ndarray, offsets: np.ndarray, window: float, grid: int,
                   dtype=np.float32) -> np.ndarray:
    """Counts and sub-cell offsets of many targets' neighbours (the ``"subcell"`` descriptor).

    Parameters
    ----------
    delta, offsets, window, grid
        As in :func:`grid_images`.

    Returns
    -------
    numpy.ndarray, shape (n_targets, 3, grid, grid)
        Channel 0: particle counts per cell; channels 1 and 2: the sums over the cell's neighbours of
        (Δx − x_c)/h and (Δy − y_c)/h, where (x_c, y_c) is the cell centre and h = W/n the cell side
        (dimensionless, each term in [−½, ½)).
    """
    n_targets, flat, inside, rc = window_cells(delta, offsets, window, grid)
    h = window / grid
    centre = -0.5 * window + (rc[:, ::-1] + 0.5) * h  # (x, y) of each neighbour's cell centre
    sub = (inside - centre) / h
    size = n_targets * grid * grid
    out = np.stack([np.bincount(flat, minlength=size), np.bincount(flat, weights=sub[:, 0], minlength=size),
                    np.bincount(flat, weights=sub[:, 1], minlength=size)], axis=1)
    return out.reshape(n_targets, grid, grid, 3).transpose(0, 3, 1, 2).astype(dtype)


def descriptor_channels(kind: str) -> int:
    """Input channels of descriptor *kind* (1 for ``"counts"``, 3 for ``"subcell"``)."""
    if kind not in DESCRIPTORS:
        raise UserInputError(f"descriptor must be one of {', '.join(DESCRIPTORS)}, got '{kind}'", "descriptor")
    return 1 if kind == "counts" else 3


def cell_centres(window: float, grid: int) -> np.ndarray:
    """Offsets (grid, grid, 2), Å, of the cell centres from the target: [..., 0] = Δx, [..., 1] = Δy."""
    _check(window, grid)
    h = window / grid
    c = -0.5 * window + (np.arange(grid) + 0.5) * h
    dx, dy = np.meshgrid(c, c, indexing="xy")  # rows vary in y, columns in x
    return np.stack([dx, dy], axis=-1)
