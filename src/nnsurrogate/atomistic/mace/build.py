"""Build a fresh MACE model for a training set (the message normalisation chosen from the data)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnsurrogate.atomistic.mace.model import MACEModel, MACESpec
from nnsurrogate.atomistic.neighbors import atoms_pairs


def mace_hyper_keys() -> tuple[str, ...]:
    """Keys of the ``hyper`` mapping :func:`build_mace_model` understands (the :class:`MACESpec` fields)."""
    return tuple(name for name in MACESpec.__dataclass_fields__ if name not in ("species", "avg_num_neighbors"))


def average_neighbors(frames: Sequence, cutoff: float) -> float:
    """Mean number of neighbours within *cutoff* (Å) per atom over *frames* (at least 1)."""
    pairs = sum(len(atoms_pairs(a, cutoff).i) for a in frames)
    atoms = sum(len(a) for a in frames)
    return max(1.0, pairs / max(atoms, 1))


def build_mace_model(frames: Sequence, species: Sequence[str], hyper: dict | None = None,
                     reference_energies: Sequence[float] | None = None, seed: int = 0) -> MACEModel:
    """A randomly initialised :class:`MACEModel` for *frames*.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Training structures (their mean neighbour count normalises the messages).
    species : sequence of str
        Elements in the model's type order.
    hyper : dict, optional
        Any of :func:`mace_hyper_keys` (``cutoff`` Å, ``hidden_irreps``, ``num_interactions``, ``max_ell``,
        ``correlation``, …); the rest keep :class:`MACESpec`'s defaults. A ``cutoff`` pair keeps its largest.
    reference_energies : sequence of float, optional
        Per-element energies, eV.
    seed : int
        Initial weights.
    """
    hyper = {k: v for k, v in dict(hyper or {}).items() if v is not None}
    if isinstance(hyper.get("cutoff"), (tuple, list)):
        hyper["cutoff"] = float(max(hyper["cutoff"]))
    if "radial_mlp" in hyper:
        hyper["radial_mlp"] = tuple(int(w) for w in hyper["radial_mlp"])
    cutoff = float(hyper.get("cutoff", MACESpec.cutoff))
    spec = MACESpec(species=tuple(species), avg_num_neighbors=float(np.round(average_neighbors(frames, cutoff), 6)),
                    **{k: hyper[k] for k in mace_hyper_keys() if k in hyper})
    return MACEModel(spec, reference_energies, seed)
