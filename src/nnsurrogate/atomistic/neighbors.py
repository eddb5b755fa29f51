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


def neighbor_pairs(positions: np.ndarray, cell: np.ndarray, pbc, cutoff: float, where: str = "",
                   threads: int = 1) -> Pairs:
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
    threads : int
        Threads vesin may use.
    """
    from vesin import NeighborList

    positions = np.ascontiguousarray(positions, dtype=np.float64)
    cell = np.ascontiguousarray(cell, dtype=np.float64)
    periodic = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
    if periodic.any() and abs(np.linalg.det(cell)) < 1e-8:
        raise UserInputError("periodic frame with a degenerate (zero-volume) cell", where or "neighbour list")
    if not periodic.all():
        cell = _box_for_open_directions(positions, cell, periodic, cutoff)
    calculator = NeighborList(cutoff=float(cutoff), full_list=True, sorted=True, n_threads=int(threads))
    i, j, shifts, vectors, distances = calculator.compute(positions, cell, [bool(p) for p in periodic],
                                                         quantities="ijSDd")
    i, j = i.astype(np.int64), j.astype(np.int64)
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


def atoms_pairs(atoms: Atoms, cutoff: float, where: str = "", threads: int = 1) -> Pairs:
    """:func:`neighbor_pairs` for an ASE ``Atoms`` (on *threads* threads)."""
    return neighbor_pairs(atoms.positions, np.asarray(atoms.cell), atoms.pbc, cutoff, where, threads)


def shortest_distance(atoms: Atoms, cutoff: float, where: str = "") -> tuple[float, int, int] | None:
    """The closest pair of atoms ``(distance Å, i, j)`` among those closer than *cutoff* (periodic images
    included; i = j is an atom and its own image), or ``None`` when no pair is that close."""
    pairs = atoms_pairs(atoms, cutoff, where)
    if not len(pairs.distances):
        return None
    k = int(np.argmin(pairs.distances))
    i, j = sorted((int(pairs.i[k]), int(pairs.j[k])))
    return float(pairs.distances[k]), i, j


def max_neighbors(pairs: Pairs, n_atoms: int, cutoff: float | None = None) -> int:
    """Largest number of neighbours of any atom (0 for an empty list), counting only pairs closer than
    *cutoff* (Å) when given (without copying the list)."""
    i = pairs.i if cutoff is None else pairs.i[pairs.distances < cutoff]
    return int(np.bincount(i, minlength=n_atoms).max()) if n_atoms else 0


def centre_block(pairs: Pairs, start: int, stop: int, n_atoms: int) -> tuple[Pairs, np.ndarray]:
    """The pairs of the centre atoms ``start … stop − 1`` as a small structure of their own.

    Its atoms are those centres (local indices 0 … stop − start − 1, in order) followed by every
    other atom they see (ghosts, which have no pairs of their own), so a model evaluated on it gives
    the site energies of the centres in its first rows and, scattered back through the returned
    indices, their whole contribution to every force and to the virial.

    Parameters
    ----------
    pairs : Pairs
        Full neighbour list of the structure, sorted by centre atom.
    start, stop : int
        The centre atoms, a contiguous range.
    n_atoms : int
        Atoms in the structure.

    Returns
    -------
    (Pairs, numpy.ndarray of int, shape (n_local,))
        The block's pairs in local indices and the structure index of each local atom.
    """
    lo, hi = np.searchsorted(pairs.i, [start, stop])
    i, j = pairs.i[lo:hi], pairs.j[lo:hi]
    ghosts = np.unique(j[(j < start) | (j >= stop)])
    atoms = np.concatenate([np.arange(start, stop), ghosts])
    local = np.full(n_atoms, -1, dtype=np.int64)
    local[atoms] = np.arange(len(atoms))
    block = Pairs(i - start, local[j], pairs.shifts[lo:hi], pairs.vectors[lo:hi], pairs.distances[lo:hi])
    return block, atoms
