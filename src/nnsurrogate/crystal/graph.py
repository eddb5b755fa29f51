"""Crystal graphs: atoms as nodes, periodic neighbours within a cutoff (capped at the k nearest) as edges.

Neighbours come from vesin's cell-list search (cost linear in the number of atoms), with full
periodic images, so an atom in a small cell can be its own neighbour through the lattice. Each atom
keeps its *k* nearest neighbours as in CGCNN (Xie & Grossman, PRL 120, 145301, 2018), plus any
neighbour tied in distance with the k-th (within ``tie_tolerance``): the graph then depends only on
distances and never on the order in which the atoms are listed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.crystal.structures import Crystal


@dataclass(frozen=True)
class GraphSettings:
    """How neighbours are found.

    Attributes
    ----------
    cutoff : float
        Neighbour search radius, Å.
    max_neighbors : int
        Keep the k nearest neighbours of each atom (plus ties with the k-th).
    min_distance : float
        Two atoms closer than this (Å) are an error: overlapping atoms.
    tie_tolerance : float
        Distances within this of the k-th neighbour's count as tied, Å.
    """

    cutoff: float = 8.0
    max_neighbors: int = 12
    min_distance: float = 0.5
    tie_tolerance: float = 1e-3

    def __post_init__(self) -> None:
        if not (self.cutoff > 0 and self.min_distance >= 0 and self.min_distance < self.cutoff):
            raise ValueError(f"need 0 ≤ min_distance < cutoff, got {self.min_distance} and {self.cutoff}")
        if self.max_neighbors < 1:
            raise ValueError(f"max_neighbors must be ≥ 1, got {self.max_neighbors}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CrystalGraph:
    """Directed edges j → i of one crystal (messages flow from ``neighbor`` to ``center``).

    Attributes
    ----------
    numbers : numpy.ndarray of int, shape (n_atoms,)
        Atomic numbers.
    center, neighbor : numpy.ndarray of int, shape (n_edges,)
        Atom indices of each edge; sorted by center, then by distance.
    distance : numpy.ndarray, shape (n_edges,)
        Edge lengths |r_j + T − r_i|, Å (T a lattice translation).
    volume : float
        Cell volume, Å³.
    """

    numbers: np.ndarray
    center: np.ndarray
    neighbor: np.ndarray
    distance: np.ndarray
    volume: float

    @property
    def n_atoms(self) -> int:
        return int(self.numbers.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.center.shape[0])


def _all_pairs(crystal: Crystal, cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ordered pair (i, j, d) with d ≤ cutoff, including periodic images, from vesin."""
    from vesin import NeighborList

    frac = np.linalg.solve(crystal.cell.T, crystal.positions.T).T
    wrapped = (frac - np.floor(frac)) @ crystal.cell
    search = NeighborList(cutoff=float(cutoff), full_list=True)
    i, j, d = search.compute(points=wrapped, box=crystal.cell, periodic=True, quantities="ijd")
    return i.astype(np.int64), j.astype(np.int64), d.astype(np.float64)


def _keep_nearest(i: np.ndarray, d: np.ndarray, n_atoms: int, k: int, tol: float) -> np.ndarray:
    """Boolean mask of the pairs among each center's k nearest (ties with the k-th included)."""
    order = np.lexsort((d, i))
    i_sorted, d_sorted = i[order], d[order]
    starts = np.searchsorted(i_sorted, np.arange(n_atoms))
    counts = np.bincount(i_sorted, minlength=n_atoms)
    kth = np.full(n_atoms, np.inf)
    has_k = counts > k
    kth[has_k] = d_sorted[starts[has_k] + k - 1]
    keep = np.zeros(i.shape[0], dtype=bool)
    keep[order] = d_sorted <= kth[i_sorted] + tol
    return keep


def build_graph(crystal: Crystal, settings: GraphSettings | None = None) -> CrystalGraph:
    """The crystal graph of *crystal*.

    Parameters
    ----------
    crystal : Crystal
    settings : GraphSettings, optional

    Returns
    -------
    CrystalGraph

    Raises
    ------
    UserInputError
        When two atoms are closer than ``min_distance`` (overlapping atoms) or an atom has no
        neighbour within the cutoff (isolated atom); the message names the atoms and the entry.
    """
    settings = settings or GraphSettings()
    i, j, d = _all_pairs(crystal, settings.cutoff)
    symbols = crystal.symbols
    close = d < settings.min_distance
    if close.any():
        a, b = int(i[close][0]), int(j[close][0])
        what = "its own periodic image" if a == b else f"atom {b + 1} ({symbols[b]})"
        raise UserInputError(f"overlapping atoms: atom {a + 1} ({symbols[a]}) is {d[close][0]:.3f} Å from {what} "
                             f"(minimum {settings.min_distance} Å)", crystal.id)
    counts = np.bincount(i, minlength=crystal.n_atoms)
    if (counts == 0).any():
        a = int(np.flatnonzero(counts == 0)[0])
        raise UserInputError(f"isolated atom {a + 1} ({symbols[a]}) has no neighbour within the "
                             f"{settings.cutoff:g} Å cutoff", crystal.id)
    keep = _keep_nearest(i, d, crystal.n_atoms, settings.max_neighbors, settings.tie_tolerance)
    i, j, d = i[keep], j[keep], d[keep]
    order = np.lexsort((d, i))
    return CrystalGraph(crystal.numbers.copy(), i[order], j[order], d[order], crystal.volume)


def build_graphs(crystals: list[Crystal], settings: GraphSettings | None = None,
                 skip_bad: bool = False) -> tuple[list[CrystalGraph], list[int], list[tuple[str, str]]]:
    """Graphs of many crystals.

    Returns
    -------
    graphs : list of CrystalGraph
    kept : list of int
        Index into *crystals* of each graph.
    skipped : list of (str, str)
        ``(id, reason)`` of crystals left out with ``skip_bad`` (otherwise the first bad one raises).
    """
    graphs, kept, skipped = [], [], []
    for n, crystal in enumerate(crystals):
        try:
            graphs.append(build_graph(crystal, settings))
        except UserInputError as exc:
            if not skip_bad:
                raise
            skipped.append((crystal.id, exc.what))
            continue
        kept.append(n)
    return graphs, kept, skipped
