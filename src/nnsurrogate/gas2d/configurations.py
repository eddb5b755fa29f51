"""Particle configurations of the 2D gas and the force on a target particle from its window.

Zharikov, Zavyalov & Sivashova (2022) scatter identical particles at random over a patch of the
plane, pick random target particles, and compute each target's force from the particles inside a
square window centred on it. Choices the paper leaves open, made here:

* the patch is a periodic square box (side ``box``), so no target sits at an edge; separations use
  the minimum-image convention, which needs ``window ≤ box``;
* the number of particles is fixed, N = round(density · box²) (uniform random positions are a
  binomial point process, which tends to the Poisson gas of the paper for large boxes);
* an optional hard core ``min_distance`` (random sequential addition: a particle closer than that to
  an earlier one is redrawn) keeps forces finite; 0 gives the paper's purely random placement;
* the window is half-open, −W/2 ≤ Δx < W/2 and −W/2 ≤ Δy < W/2, the same set as the grid descriptor;
* the force on the target is the sum of the pair forces from exactly the particles in the window
  (the window is the interaction range; there is no other cutoff).
"""

from __future__ import annotations

import numpy as np

from nnsurrogate.core.errors import UserInputError

__all__ = ["in_window", "minimum_image", "random_boxes", "window_force", "window_energy"]

#: Draws per particle before random sequential addition gives up (the box is too full for the hard core).
MAX_DRAWS = 2000


def minimum_image(delta: np.ndarray, box: float) -> np.ndarray:
    """Map separations (…, 2), Å, into the minimum image [−box/2, box/2) of a periodic square box."""
    delta = np.asarray(delta, dtype=np.float64)
    return delta - box * np.floor(delta / box + 0.5)


def in_window(delta: np.ndarray, window: float) -> np.ndarray:
    """Boolean mask (…,): which separations (…, 2), Å, lie in the half-open square window of side *window*."""
    half = 0.5 * window
    return np.all((delta >= -half) & (delta < half), axis=-1)


def random_boxes(n_boxes: int, n_particles: int, box: float, rng: np.random.Generator,
                 min_distance: float = 0.0) -> np.ndarray:
    """Uniform random positions of *n_particles* in each of *n_boxes* periodic square boxes.

    With ``min_distance > 0`` positions are added one at a time and a candidate closer than
    ``min_distance`` (minimum image) to an accepted particle of its box is redrawn (random sequential
    addition); all boxes advance together.

    Parameters
    ----------
    n_boxes, n_particles : int
    box : float
        Side of the box, Å.
    rng : numpy.random.Generator
    min_distance : float
        Hard-core distance, Å; 0 for independent uniform positions.

    Returns
    -------
    numpy.ndarray, shape (n_boxes, n_particles, 2)
        Positions in [0, box), Å.
    """
    if min_distance <= 0:
        return rng.uniform(0.0, box, size=(n_boxes, n_particles, 2))
    pos = np.empty((n_boxes, n_particles, 2))
    for k in range(n_particles):
        pos[:, k] = _place_one(pos[:, :k], box, rng, min_distance)
    return pos


def _place_one(accepted: np.ndarray, box: float, rng: np.random.Generator, min_distance: float) -> np.ndarray:
    """One new position per box (n_boxes, 2) at least *min_distance* from the *accepted* (n_boxes, k, 2)."""
    n_boxes = accepted.shape[0]
    out = rng.uniform(0.0, box, size=(n_boxes, 2))
    todo = np.arange(n_boxes)
    for _ in range(MAX_DRAWS):
        if accepted.shape[1] == 0:
            return out
        d = minimum_image(accepted[todo] - out[todo, None, :], box)
        clash = (np.einsum("bkd,bkd->bk", d, d) < min_distance * min_distance).any(axis=1)
        todo = todo[clash]
        if todo.size == 0:
            return out
        out[todo] = rng.uniform(0.0, box, size=(todo.size, 2))
    raise UserInputError(f"cannot place {accepted.shape[1] + 1} particles {min_distance:g} Å apart in a "
                         f"{box:g} Å box; lower the density or the minimum distance", "min_distance")


def window_force(delta: np.ndarray, potential) -> np.ndarray:
    """Force on a target at the origin from neighbours at separations *delta*.

    F = −Σ_j f(r_j) Δ_j / r_j with f = −dU/dr the radial pair force (positive = repulsive) and
    Δ_j = r_j − r_target.

    Parameters
    ----------
    delta : numpy.ndarray, shape (..., m, 2)
        Neighbour positions relative to the target, Å (only those inside the window).
    potential : LennardJones or Coulomb

    Returns
    -------
    numpy.ndarray, shape (..., 2)
        Force, eV/Å.
    """
    delta = np.asarray(delta, dtype=np.float64)
    r = np.sqrt(np.einsum("...d,...d->...", delta, delta))
    if np.any(r == 0):
        raise UserInputError("two particles at the same position", "configuration")
    scale = potential.force(r) / r
    return -np.einsum("...m,...md->...d", scale, delta)


def window_energy(delta: np.ndarray, potential) -> np.ndarray:
    """Interaction energy Σ_j U(r_j), eV, of a target with its neighbours *delta* (..., m, 2), Å."""
    delta = np.asarray(delta, dtype=np.float64)
    r = np.sqrt(np.einsum("...d,...d->...", delta, delta))
    return potential.energy(r).sum(axis=-1)
