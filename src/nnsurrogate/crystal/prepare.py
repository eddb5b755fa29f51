"""Structures → graphs and per-atom inputs, once, for training, prediction and distillation.

:func:`prepare_crystals` builds every crystal's graph, its CGCNN element inputs and its SA-GAT
feature matrix, checking each entry (overlapping atoms, isolated atoms, unknown elements) and
either stopping at the first bad one with an error naming it or, with ``skip_bad``, leaving it out
and listing it. The result can be reused by several models (as the benchmark does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.crystal.features import atom_features, feature_names, node_features
from nnsurrogate.crystal.graph import CrystalGraph, GraphSettings, build_graph
from nnsurrogate.crystal.structures import Crystal, to_crystal


@dataclass(frozen=True)
class PreparedCrystals:
    """Graphs and network inputs of n crystals.

    Attributes
    ----------
    ids : list of str
    graphs : list of CrystalGraph
    features : list of numpy.ndarray, each shape (n_atoms_g, 178)
        SA-GAT per-atom features (:func:`nnsurrogate.crystal.features.feature_names`).
    elements : list of numpy.ndarray, each shape (n_atoms_g, 22)
        CGCNN per-atom element inputs.
    settings : GraphSettings
    kept : numpy.ndarray of int, shape (n,)
        Position of each crystal in the input sequence (entries skipped as bad are missing).
    skipped : list of (str, str)
        ``(id, reason)`` of every entry left out.
    """

    ids: list[str]
    graphs: list[CrystalGraph]
    features: list[np.ndarray]
    elements: list[np.ndarray]
    settings: GraphSettings
    kept: np.ndarray
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.graphs)

    def subset(self, rows: Iterable[int]) -> "PreparedCrystals":
        """The crystals at *rows* (positions in this object)."""
        rows = np.asarray(list(rows), dtype=np.int64)
        pick = lambda items: [items[i] for i in rows]  # noqa: E731
        return PreparedCrystals(pick(self.ids), pick(self.graphs), pick(self.features), pick(self.elements),
                                self.settings, self.kept[rows], list(self.skipped))

    def structure_table(self) -> pd.DataFrame:
        """One row per crystal: the mean over its atoms of every per-atom feature (178 columns)."""
        means = np.vstack([f.mean(axis=0) for f in self.features])
        return pd.DataFrame(means, columns=list(feature_names()), index=pd.Index(self.ids, name="id"))


def _prepare_one(crystal: Crystal, settings: GraphSettings) -> tuple[CrystalGraph, np.ndarray, np.ndarray]:
    elements = node_features(crystal.numbers, crystal.id)  # unknown elements fail before the neighbour search
    graph = build_graph(crystal, settings)
    return graph, atom_features(graph, crystal.cell, crystal.id), elements


def prepare_crystals(crystals: Sequence[Any], settings: GraphSettings | None = None, skip_bad: bool = False,
                     source: str = "") -> PreparedCrystals:
    """Graphs and inputs of *crystals* (:class:`Crystal`, pymatgen ``Structure`` or ``ase.Atoms``).

    Parameters
    ----------
    crystals : sequence
    settings : GraphSettings, optional
    skip_bad : bool
        Leave out (and list) bad entries instead of raising at the first one.
    source : str
        File the crystals came from, for error messages.

    Raises
    ------
    UserInputError
        Overlapping atoms, an isolated atom, an unknown element, or nothing left to use; the message
        names the entry.
    """
    settings = settings or GraphSettings()
    ids, graphs, features, elements, kept, skipped = [], [], [], [], [], []
    for n, obj in enumerate(crystals):
        entry_id = getattr(obj, "id", str(n))
        try:
            crystal = to_crystal(obj, str(entry_id))
            graph, feats, elems = _prepare_one(crystal, settings)
        except UserInputError as exc:
            if not skip_bad:
                where = f"{source}, entry {entry_id}" if source else f"entry {entry_id}"
                raise UserInputError(exc.what, where) from None
            skipped.append((str(entry_id), exc.what))
            continue
        ids.append(crystal.id)
        graphs.append(graph)
        features.append(feats)
        elements.append(elems)
        kept.append(n)
    if not graphs:
        first = f"; first: {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise UserInputError(f"no usable structures{first}", source or "structures")
    return PreparedCrystals(ids, graphs, features, elements, settings, np.asarray(kept, dtype=np.int64), skipped)
