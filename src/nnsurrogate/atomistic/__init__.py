"""Atoms → energies and forces: machine-learned interatomic potentials, MD, audit, reference labelers.

What a Python user needs, importable from here (each name is loaded on first use)::

    from nnsurrogate.atomistic import (NEP, BehlerParrinello, PotentialCalculator, PotentialTrainConfig,
                                       audit, load_potential, prepare_frames, read_frames, run_md,
                                       train_potential)

* :func:`read_frames` — checked extended-XYZ frames; :func:`prepare_frames` — featurized for a model;
* :class:`NEP` (GPUMD's neuroevolution potential, ``nep.txt`` both ways) and :class:`BehlerParrinello`;
* :func:`train_potential` with :class:`PotentialTrainConfig` — the training engine's potential task;
* :class:`PotentialCalculator` — one ASE calculator for one model or a committee (σ when N > 1);
* :func:`run_md` with :class:`MDOptions`; :func:`audit` (the physics checks) with :class:`AuditOptions`;
* :func:`load_potential` / :func:`save_potential` — model folders (safetensors + JSON) or ``nep.txt``.
"""

from __future__ import annotations

import importlib

#: Public name → (module, attribute).
_EXPORTS = {
    "NEP": ("nnsurrogate.atomistic.nep.model", "NEPModel"),
    "NEPSpec": ("nnsurrogate.atomistic.nep.spec", "NEPSpec"),
    "BehlerParrinello": ("nnsurrogate.atomistic.bp.model", "BPModel"),
    "PotentialModel": ("nnsurrogate.atomistic.models", "PotentialModel"),
    "load_potential": ("nnsurrogate.atomistic.models", "load_potential"),
    "save_potential": ("nnsurrogate.atomistic.models", "save_potential"),
    "read_frames": ("nnsurrogate.atomistic.data", "read_frames"),
    "prepare_frames": ("nnsurrogate.atomistic.frames", "prepare_frames"),
    "PotentialTrainConfig": ("nnsurrogate.atomistic.training", "PotentialTrainConfig"),
    "train_potential": ("nnsurrogate.atomistic.training", "train_potential"),
    "PotentialCalculator": ("nnsurrogate.atomistic.calculator", "PotentialCalculator"),
    "load_calculator": ("nnsurrogate.atomistic.calculator", "load_calculator"),
    "MDOptions": ("nnsurrogate.atomistic.md", "MDOptions"),
    "run_md": ("nnsurrogate.atomistic.md", "run_md"),
    "AuditOptions": ("nnsurrogate.atomistic.audit", "AuditOptions"),
    "audit": ("nnsurrogate.atomistic.audit", "run_audit"),
    "labeler": ("nnsurrogate.atomistic.labelers", "labeler"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module, attribute = _EXPORTS[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'nnsurrogate.atomistic' has no attribute {name!r}")
