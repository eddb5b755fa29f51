"""Build a fresh Behler–Parrinello model for a training set (symmetry functions chosen from the data)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nnsurrogate.atomistic.bp.model import BPModel, BPSpec
from nnsurrogate.atomistic.bp.params import choose_parameters, read_parameter_file

#: Keys of the ``hyper`` mapping :func:`build_bp_model` understands.
HYPER_KEYS = ("cutoff", "n_radial", "angular_kind", "sf_file", "hidden", "activation")


def bp_cutoffs(hyper: dict | None) -> tuple[float, float | None]:
    """Radial and angular cutoffs (Å) a BP *hyper* mapping asks for: ``cutoff`` is a number or a pair
    (radial, angular); entries of the override file win. Default 5 Å, the angular one equal to it."""
    hyper = dict(hyper or {})
    cutoff = hyper.get("cutoff", 5.0)
    pair = tuple(float(c) for c in cutoff) if isinstance(cutoff, (tuple, list)) else (float(cutoff),)
    radial, angular = pair[0], (pair[1] if len(pair) > 1 else None)
    if hyper.get("sf_file"):
        overrides = read_parameter_file(hyper["sf_file"])
        radial = float(overrides.get("cutoff", radial))
        angular = overrides.get("angular_cutoff", angular)
    return radial, None if angular is None else min(float(angular), radial)


def bp_cutoff(hyper: dict | None) -> float:
    """The neighbour-list cutoff (the radial one), Å; see :func:`bp_cutoffs`."""
    return bp_cutoffs(hyper)[0]


def build_bp_model(frames: Sequence, species: Sequence[str], hyper: dict | None = None,
                   reference_energies: Sequence[float] | None = None, seed: int = 0) -> BPModel:
    """A randomly initialised :class:`BPModel` for *frames*.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Training structures (their distances set the radial grid).
    species : sequence of str
        Elements in the model's type order.
    hyper : dict, optional
        ``cutoff`` (Å, a number or a pair radial, angular), ``n_radial`` (G2 per element, default 8),
        ``angular_kind`` (``"g4"``/``"g5"``), ``sf_file`` (override file, JSON/YAML), ``hidden``
        (default (20, 20)), ``activation`` (``"tanh"``/``"silu"``).
    reference_energies : sequence of float, optional
        Per-element energies, eV.
    seed : int
        Initial weights.
    """
    hyper = dict(hyper or {})
    overrides = read_parameter_file(hyper["sf_file"]) if hyper.get("sf_file") else None
    radial, angular = bp_cutoffs({k: v for k, v in hyper.items() if k != "sf_file"})
    sf = choose_parameters(frames, cutoff=radial, n_radial=int(hyper.get("n_radial", 8)),
                           angular_kind=str(hyper.get("angular_kind", "g4")), overrides=overrides,
                           angular_cutoff=angular)
    spec = BPSpec(species=tuple(species), symmetry_functions=sf, hidden=tuple(hyper.get("hidden", (20, 20))),
                  activation=str(hyper.get("activation", "tanh")))
    model = BPModel(spec, reference_energies)
    model.reset_parameters(torch.Generator().manual_seed(int(seed)))
    return model
