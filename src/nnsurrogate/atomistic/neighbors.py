"""Neighbour lists from vesin (periodic, triclinic, small cells with many images).

A full list: every pair appears twice, as (i, j) and (j, i), with the vector
r_ij = r_j − r_i + S·cell, where S is the integer cell shift of the image of j.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from nnsurrogate.core.errors import UserInputError


@dataclass(frozen=True)
class Pairs:
    """A full neighbour list sorted by the centre atom.

    Attributes
    ----------
    i, j : numpy.ndarray of int64, shape (n_pairs,)
        Centre and neighbour atom indices.
    shifts : numpy.ndarray of int64, shape (n_pairs, 3)
        Cell shifts S of the neighbour image.
    vectors : numpy.ndarray of float64, shape (n_pairs, 3), Å
        r_ij = r_j − r_i + S·cell.
    distances : numpy.ndarray of float64, shape (n_pairs,), Å
    """

    i: np.ndarray
    j: np.ndarray
    shifts: np.ndarray
    vectors: np.ndarray
    distances: np.ndarray

    def select(self, mask: np.ndarray) -> "Pairs":
        """The pairs where *mask* is true (keeps the order, so still sorted by i)."""
        return Pairs(self.i[mask], self.j[mask], self.shifts[mask], self.vectors[mask], self.distances[mask])


def neighbor_pairs(positions: np.ndarray, cell: np.ndarray, pbc, cutoff: float, where: str = "") -> Pairs:
    """All pairs closer than *cutoff*, with periodic images, computed by vesin.

    Parameters
    ----------
    positions : numpy.ndarray, shape (n_atoms, 3), Å
    cell : numpy.ndarray, shape (3, 3), Å
        Lattice vectors as rows; rows along non-periodic directions may be zero.
    pbc : bool or sequence of 3 bool
    cutoff : float, Å
    where : str
        Location for error messages (file and frame).
    """
    from vesin import NeighborList

    positions = np.ascontiguousarray(positions, dtype=np.float64)
    cell = np.ascontiguousarray(cell, dtype=np.float64)
    periodic = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
    if periodic.any() and abs(np.linalg.det(cell)) < 1e-8:
        raise UserInputError("periodic frame with a degenerate (zero-volume) cell", where or "neighbour list")
    if not periodic.all():
        cell = _box_for_open_directions(positions, cell, periodic, cutoff)
    calculator = NeighborList(cutoff=float(cutoff), full_list=True, sorted=True, n_threads=1)
    i, j, shifts, vectors = calculator.compute(positions, cell, [bool(p) for p in periodic], quantities="ijSD")
    i, j = i.astype(np.int64), j.astype(np.int64)
    distances = np.linalg.norm(vectors, axis=1)
    return Pairs(i, j, shifts.astype(np.int64), vectors, distances)


def _box_for_open_directions(positions: np.ndarray, cell: np.ndarray, periodic: np.ndarray, cutoff: float) -> np.ndarray:
    """vesin wants a full cell: give each open direction a vector longer than the extent plus the cutoff."""
    cell = cell.copy()
    extent = float(np.ptp(positions, axis=0).max()) if len(positions) else 0.0
    for axis in np.flatnonzero(~periodic):
        length = float(np.linalg.norm(cell[axis]))
        if length < extent + cutoff + 1.0:
            vector = np.zeros(3)
            vector[axis] = extent + cutoff + 1.0
            cell[axis] = vector
    if abs(np.linalg.det(cell)) < 1e-8:  # a slab with an in-plane open direction: fall back to axes
        for axis in np.flatnonzero(~periodic):
            cell[axis] = 0.0
            cell[axis, axis] = extent + cutoff + 1.0
    return cell


def atoms_pairs(atoms: Atoms, cutoff: float, where: str = "") -> Pairs:
    """:func:`neighbor_pairs` for an ASE ``Atoms``."""
    return neighbor_pairs(atoms.positions, np.asarray(atoms.cell), atoms.pbc, cutoff, where)


def shortest_distance(atoms: Atoms, cutoff: float, where: str = "") -> tuple[float, int, int] | None:
    """The closest pair of atoms ``(distance Å, i, j)`` among those closer than *cutoff* (periodic images
    included; i = j is an atom and its own image), or ``None`` when no pair is that close."""
    pairs = atoms_pairs(atoms, cutoff, where)
    if not len(pairs.distances):
        return None
    k = int(np.argmin(pairs.distances))
    i, j = sorted((int(pairs.i[k]), int(pairs.j[k])))
    return float(pairs.distances[k]), i, j


def max_neighbors(pairs: Pairs, n_atoms: int) -> int:
    """Largest number of neighbours of any atom (0 for an empty list)."""
    return int(np.bincount(pairs.i, minlength=n_atoms).max()) if n_atoms else 0
