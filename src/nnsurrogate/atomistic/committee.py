"""Committees of potentials: N models trained from different seeds (or bootstrap subsets) used as one.

The committee predicts the mean of its members and, as the uncertainty, their spread (the
query-by-committee / ensemble estimate; Seung, Opper & Sompolinsky, COLT 1992; Behler, Int. J.
Quantum Chem. 115, 1032 (2015); Smith et al., J. Chem. Phys. 148, 241733 (2018))::

    Ē = (1/N) Σ_m E_m,            σ_E² = (1/N) Σ_m (E_m − Ē)²
    F̄_i = (1/N) Σ_m F_{m,i},      σ_{F,i}² = (1/3) Σ_{x} (1/N) Σ_m (F_{m,ix} − F̄_{ix})²

(population variances, so two members that differ by Δ give σ = |Δ|/2). ``σ_E`` is ``energy_std``
(eV) and σ_{F,i} is ``forces_std`` (n_atoms,) eV/Å, the names of :mod:`nnsurrogate.atomistic.keys`
(computed by :func:`committee_statistics`; the calculator is
:class:`~nnsurrogate.atomistic.calculator.PotentialCalculator` with N models).

A committee folder holds ``committee.json`` and one model folder per member (``member_00/``, …);
:func:`nnsurrogate.atomistic.calculator.load_calculator` recognises it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from nnsurrogate.atomistic.calculator import PotentialCalculator, committee_statistics
from nnsurrogate.atomistic.calculator import feature_key as _feature_key
from nnsurrogate.atomistic.models import TRAINABLE, load_potential, resolve_dtype, save_potential
from nnsurrogate.core.engine.budget import time_share
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import ModelFileError, UserInputError
from nnsurrogate.core.files import atomic_dir, write_json

__all__ = ["COMMITTEE_FILE", "COMMITTEE_KIND", "CommitteeCalculator", "committee_calibration", "committee_folder",
           "committee_statistics", "fit_committee", "is_committee", "load_committee", "load_committee_calculator",
           "member_subsets", "save_committee", "set_calibration", "train_committee"]

COMMITTEE_FILE = "committee.json"
COMMITTEE_KIND = "atomistic.committee"


class CommitteeCalculator(PotentialCalculator):
    """N potential models as one ASE calculator: mean predictions plus ``energy_std`` and ``forces_std``.

    The same calculator as :class:`~nnsurrogate.atomistic.calculator.PotentialCalculator` given a
    sequence of models (the name says what it is for); see there for the parameters and results:
    ``energy``/``free_energy`` (eV), ``energies`` (n_atoms,) eV, ``forces`` (n_atoms, 3) eV/Å,
    ``stress`` (6,) eV/Å³ (periodic cells), all committee means; ``energy_std`` (eV),
    ``forces_std`` (n_atoms,) eV/Å; ``member_energies`` (N,) eV.
    """


# ------------------------------------------------------------------------------------------ files
def is_committee(path: str | os.PathLike) -> bool:
    """True when *path* (or its ``model/`` or ``committee/`` sub-folder) is a committee folder."""
    return committee_folder(path) is not None


def committee_folder(path: str | os.PathLike) -> Path | None:
    """The committee folder at or directly under *path*, or ``None``."""
    path = Path(path)
    for candidate in (path, path / "committee", path / "model"):
        if (candidate / COMMITTEE_FILE).is_file():
            return candidate
    return None


def save_committee(models: Sequence, directory: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write the members as ``member_NN/`` model folders plus ``committee.json``, atomically as a whole."""
    directory = Path(directory)
    with atomic_dir(directory) as tmp:
        names = []
        for k, model in enumerate(models):
            name = f"member_{k:02d}"
            save_potential(model, tmp / name)
            names.append(name)
        write_json(tmp / COMMITTEE_FILE, {"kind": COMMITTEE_KIND, "format": 1, "n_members": len(models),
                                         "member_kind": models[0].kind, "members": names, **(extra or {})})
    return directory


def load_committee(path: str | os.PathLike, dtype: str = "float64", device: str = "cpu") -> list:
    """The member models of a committee folder (see :func:`save_committee`)."""
    folder = committee_folder(path)
    if folder is None:
        raise ModelFileError(f"no {COMMITTEE_FILE}", str(path))
    try:
        meta = json.loads((folder / COMMITTEE_FILE).read_text(encoding="utf-8"))
        names = [str(n) for n in meta["members"]]
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelFileError(f"unreadable {COMMITTEE_FILE}", str(folder)) from None
    if meta.get("kind") != COMMITTEE_KIND or not names:
        raise ModelFileError("not a committee folder", str(folder))
    for name in names:
        if Path(name).name != name or not (folder / name).is_dir():
            raise ModelFileError(f"committee member '{name}' is missing", str(folder))
    return [load_potential(folder / name, dtype=dtype, device=device) for name in names]


def load_committee_calculator(path: str | os.PathLike, device: str = "cpu", dtype: str = "float64",
                              threads: int | None = None) -> CommitteeCalculator:
    """A :class:`CommitteeCalculator` for a committee folder; a calibrated committee (see
    :func:`set_calibration`) reports calibrated ``forces_std`` and the raw spread as ``forces_std_raw``."""
    calculator = CommitteeCalculator(load_committee(path, dtype=dtype, device=device), device=device, dtype=dtype,
                                     threads=threads)
    calculator.calibration = committee_calibration(path)
    return calculator


def _meta(path: str | os.PathLike) -> tuple[Path, dict]:
    folder = committee_folder(path)
    if folder is None:
        raise ModelFileError(f"no {COMMITTEE_FILE}", str(path))
    try:
        return folder, json.loads((folder / COMMITTEE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ModelFileError(f"unreadable {COMMITTEE_FILE}", str(folder)) from None


def committee_calibration(path: str | os.PathLike):
    """The committee's :class:`~nnsurrogate.atomistic.calibration.ForceCalibration`, or ``None``."""
    from nnsurrogate.atomistic.calibration import ForceCalibration

    folder, meta = _meta(path)
    data = meta.get("calibration")
    return None if data is None else ForceCalibration.from_json(data, str(folder / COMMITTEE_FILE))


def set_calibration(path: str | os.PathLike, calibration) -> Path:
    """Store *calibration* (a ``ForceCalibration``, or ``None`` to remove it) in ``committee.json``."""
    folder, meta = _meta(path)
    meta.pop("calibration", None)
    if calibration is not None:
        meta["calibration"] = calibration.to_json()
    write_json(folder / COMMITTEE_FILE, meta)
    return folder


# --------------------------------------------------------------------------------------- training
def member_subsets(n_frames: int, n_members: int, bootstrap: bool, seed: int) -> list[list[int]]:
    """Training-frame indices of each member: all frames, or a bootstrap resample (with replacement)."""
    if n_members < 1:
        raise UserInputError(f"a committee needs at least one member, got {n_members}", "n_members")
    if not bootstrap:
        return [list(range(n_frames)) for _ in range(n_members)]
    rng = np.random.default_rng(seed)
    return [sorted(rng.integers(0, n_frames, n_frames).tolist()) for _ in range(n_members)]


def train_committee(train_frames: Sequence, build: Callable[[int], object], n_members: int, config,
                    valid_frames: Sequence | None = None, bootstrap: bool = False,
                    start: Sequence | None = None, progress: Progress | None = None):
    """Train *n_members* models and return them (float64, on the CPU) with their training results.

    Parameters
    ----------
    train_frames, valid_frames : sequence of ase.Atoms
        Labelled frames (from :func:`~nnsurrogate.atomistic.data.read_frames`).
    build : callable
        ``build(seed) -> model``: a fresh, randomly initialised member.
    n_members : int
    config : PotentialTrainConfig
        Shared settings; member k trains with ``seed = config.seed + k`` (initial weights, batch order).
    bootstrap : bool
        Train each member on a bootstrap resample of the training frames instead of all of them.
    start : sequence of models, optional
        Warm start: member k continues from ``start[k]`` (its descriptor scaling is kept).
    progress : callable, optional
        The progress protocol ``progress(k, n_members, metrics)`` after member k (counted from 1) is
        trained; *metrics*: ``member`` (its index), ``best_loss`` and ``elapsed_s`` of its training.

    Notes
    -----
    Members of one architecture share the featurization, computed once. Inside a
    :func:`~nnsurrogate.core.engine.budget.time_limit_scope` each member still to train gets an equal
    part of the time left when it starts (its featurization included); outside one,
    ``config.time_limit`` bounds each member.
    """
    models = [start[k] if start is not None and k < len(start) else build(config.seed + k) for k in range(n_members)]
    dtype = resolve_dtype(config.dtype)
    frames = list(train_frames) + list(valid_frames or [])
    cache: dict[str, object] = {}
    subsets = member_subsets(len(train_frames), n_members, bootstrap, config.seed)
    results = []
    for k, model in enumerate(models):
        with time_share(n_members - k):
            results.append(_train_member(model, k, frames, len(train_frames), bool(valid_frames), subsets[k], cache,
                                         dtype, start, config))
        models[k] = model.to(dtype=torch.float64, device="cpu").eval()
        if progress is not None:
            progress(k + 1, n_members, {"member": k, "best_loss": results[-1].best_loss,
                                        "elapsed_s": results[-1].elapsed_s})
    return models, results


def _train_member(model, k: int, frames: list, n_train: int, has_valid: bool, rows, cache: dict, dtype, start,
                  config):
    """Featurize (once per architecture), initialize a fresh member and train member *k* on *rows*."""
    from nnsurrogate.atomistic.training import make_batch, prepare_frames, train_potential

    key = _feature_key(model)
    if key not in cache:
        cache[key] = prepare_frames(model, frames, None, dtype)
    data = cache[key]
    train = data.subset(rows)
    valid = data.subset(range(n_train, len(frames))) if has_valid else None
    if start is None or k >= len(start):  # a fresh member
        batch, _ = make_batch(model, train, range(len(train)), torch.device("cpu"), torch.float64)
        model.initialize(batch, float((train.energy / train.n_atoms).mean()))
    return train_potential(model, train, valid, replace(config, seed=config.seed + k, checkpoint=None))


def fit_committee(frames: Sequence, model: str, hyper: dict | None, n_members: int, config, reference: str = "fit",
                  bootstrap: bool = False, progress: Progress | None = None):
    """Train a committee of *n_members* fresh NEP, BP or MACE models (``model`` = ``"nep"``/``"bp"``/``"mace"``) on *frames*.

    Hyperparameters as in :class:`~nnsurrogate.atomistic.workflow.TrainInputs`; member k uses seed
    ``config.seed + k``; *progress* as in :func:`train_committee`. Returns, as :func:`train_committee`
    does, the members (float64, CPU) and their :class:`~nnsurrogate.atomistic.training.TrainResult` list.
    """
    from nnsurrogate.atomistic.workflow import TrainInputs, build_model

    if model not in TRAINABLE:
        raise UserInputError(f"unknown model '{model}' (choose {', '.join(TRAINABLE)})", "model")
    inputs = TrainInputs(train=Path("-"), hyper=dict(hyper or {}), reference=reference, model=model)
    return train_committee(list(frames), lambda seed: build_model(inputs, list(frames), seed)[0],
                           n_members, config, bootstrap=bootstrap, progress=progress)
