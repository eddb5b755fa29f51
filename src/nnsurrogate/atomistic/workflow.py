"""Train and test workflows behind ``nnsurrogate potential train`` / ``test``.

``train_workflow`` reads and checks the data, builds (or loads, to fine-tune) a NEP model, trains
it with checkpoints, and writes ``OUT/model/``, ``OUT/nep.txt``, ``OUT/metrics.json`` and
``OUT/plots/{parity_energy,parity_force,loss,force_error_by_element,error_by_config_type}.png`` (all
but the loss on the validation frames, or on the training frames without them; their metrics also get
the per-element and per-config_type errors of :mod:`~nnsurrogate.atomistic.error_breakdown`);
``test_workflow`` writes the same metrics and plots for any labelled file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nnsurrogate.atomistic.data import read_frames, species_of
from nnsurrogate.atomistic.error_breakdown import write_breakdown
from nnsurrogate.atomistic.evaluation import (error_metrics, loss_plot, parity_plots, predict_frames,
                                              predict_with_calculator)
from nnsurrogate.atomistic.models import load_potential, save_potential
from nnsurrogate.atomistic.references import reference_energies
from nnsurrogate.atomistic.training import (PotentialTrainConfig, TrainResult, make_batch, prepare_frames,
                                            train_potential)
from nnsurrogate.core.engine.budget import time_limit_scope
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import CHECKPOINT_DIR, write_json
from nnsurrogate.core.training import torch_threads


@dataclass(frozen=True)
class TrainInputs:
    """What to train on and what to build.

    Attributes
    ----------
    train : path
        Labelled extended XYZ.
    valid : path or None
        Validation file; when ``None``, ``valid_fraction`` of the training frames are held out.
    valid_fraction : float
        Fraction held out (0 trains on everything and selects on the training loss).
    hyper : dict
        NEP hyperparameters: ``cutoff``, ``n_max``, ``basis_size``, ``l_max``, ``neurons``; for
        ``model="bp"`` those of :func:`nnsurrogate.atomistic.bp.build_bp_model`, for ``model="mace"``
        those of :func:`nnsurrogate.atomistic.mace.build_mace_model`.
    reference : str
        ``"fit"`` (default), ``"mean"`` or a file of isolated atoms (see :mod:`~nnsurrogate.atomistic.references`).
    init : path or None
        A model folder or ``nep.txt`` to start from (fine-tuning); its architecture is kept.
    threads : int or None
        PyTorch threads (default 1: small networks run fastest single-threaded).
    model : {"nep", "bp", "mace"}
        Model kind to build (NEP, Behler–Parrinello or MACE).
    label_keys : dict or None
        Names of the labels in the files where they are not a common spelling (see
        :func:`~nnsurrogate.atomistic.data.read_frames`).
    slim : bool
        Fine-tuning a NEP: keep only the elements of the training frames (element slimming).
    freeze : tuple of str
        Fine-tuning a NEP: parts held fixed, ``"descriptors"`` and/or ``"networks"``.
    """

    train: Path
    valid: Path | None = None
    valid_fraction: float = 0.1
    hyper: dict | None = None
    reference: str = "fit"
    init: Path | None = None
    threads: int | None = 1
    model: str = "nep"
    label_keys: dict | None = None
    slim: bool = False
    freeze: tuple[str, ...] = ()


def _split(frames: list, fraction: float, seed: int) -> tuple[list, list]:
    if not 0.0 <= fraction < 1.0:
        raise UserInputError(f"the validation fraction must be in [0, 1), got {fraction}", "valid_fraction")
    n_valid = int(round(fraction * len(frames)))
    if fraction > 0 and (n_valid == 0 or n_valid == len(frames)):
        raise UserInputError(f"{len(frames)} frames are too few to hold out {fraction:.0%}", "valid_fraction")
    order = np.random.default_rng(seed).permutation(len(frames))
    valid = _keep_every_element_in_training(frames, set(order[:n_valid].tolist()))
    return [f for k, f in enumerate(frames) if k not in valid], [f for k, f in enumerate(frames) if k in valid]


def _keep_every_element_in_training(frames: list, valid: set[int]) -> set[int]:
    """*valid* without the frames whose elements would otherwise be missing from the training side
    (a model cannot learn, nor fit a reference energy for, an element it never trains on)."""
    seen = {s for k, f in enumerate(frames) if k not in valid for s in f.get_chemical_symbols()}
    moved = []
    for k in sorted(valid):
        missing = set(frames[k].get_chemical_symbols()) - seen
        if missing:
            moved.append(k)
            seen |= missing
    if moved:
        import warnings

        from nnsurrogate.core.errors import DataWarning

        warnings.warn(f"{len(moved)} frame(s) moved from the validation to the training side so that every "
                      f"element is trained on (frames {', '.join(map(str, moved[:5]))}"
                      f"{' …' if len(moved) > 5 else ''})", DataWarning, stacklevel=3)
    return valid - set(moved)


def build_model(inputs: TrainInputs, train_frames: list, seed: int, init_model=None):
    """A fresh NEP model for *train_frames*, or *init_model* to fine-tune; returns (model, fresh)."""
    from nnsurrogate.atomistic.nep.model import NEPModel
    from nnsurrogate.atomistic.nep.spec import NEPSpec

    if init_model is not None:
        return _fine_tuned(init_model, inputs, train_frames), False
    if inputs.model in ("bp", "mace"):
        if inputs.model == "bp":
            from nnsurrogate.atomistic.bp import build_bp_model as build
        else:
            from nnsurrogate.atomistic.mace import build_mace_model as build

        species = species_of(train_frames)
        refs = reference_energies(train_frames, species, inputs.reference)
        return build(train_frames, species, inputs.hyper, refs, seed), True
    species = species_of(train_frames)
    spec = NEPSpec(species=species, **_in_type_order(dict(inputs.hyper or {}), species))
    model = NEPModel(spec, reference_energies(train_frames, spec.species, inputs.reference))
    model.reset_parameters(torch.Generator().manual_seed(seed))
    return model, True


def _in_type_order(hyper: dict, species: tuple[str, ...]) -> dict:
    """*hyper* with type-wise cutoffs given per element (``{"Pb": (8, 4)}``) as one pair per model type."""
    from nnsurrogate.atomistic.nep.spec import NEPSpec

    named = hyper.get("type_cutoffs")
    if isinstance(named, dict):
        unknown = sorted(set(named) - set(species))
        if unknown:
            raise UserInputError(f"element {', '.join(unknown)} is not in the training data", "type_cutoffs")
        default = tuple(hyper.get("cutoff", NEPSpec.cutoff))
        hyper["type_cutoffs"] = tuple(tuple(named.get(s, default)) for s in species)
    return hyper


def _fine_tuned(model, inputs: TrainInputs, train_frames: list):
    """*model* (loaded to fine-tune) slimmed to the training elements and with parts frozen, as asked."""
    if model.charge_mode:
        raise UserInputError("training a charge-aware NEP (qNEP) is not supported; it can be evaluated and run in MD",
                             "init")
    if inputs.slim and not hasattr(model, "slimmed"):
        raise UserInputError(f"element slimming applies to NEP models, not {model.kind}", "init")
    if inputs.freeze and not hasattr(model, "freeze"):
        raise UserInputError(f"freezing applies to NEP, SevenNet and CHGNet models, not {model.kind}", "init")
    if inputs.slim:
        present = set(species_of(train_frames))
        model = model.slimmed([s for s in model.species if s in present])
    if inputs.freeze:
        model.freeze(inputs.freeze)
    return model


def load_data(inputs: TrainInputs, seed: int, cutoff: float | None = None, species=None):
    """Training and validation frames, checked (validation may be empty)."""
    frames = read_frames(inputs.train, cutoff=cutoff, species=species, label_keys=inputs.label_keys)
    if inputs.valid is not None:
        return frames, read_frames(inputs.valid, cutoff=cutoff, species=species_of(frames) if species is None else species,
                                   label_keys=inputs.label_keys)
    return _split(frames, inputs.valid_fraction, seed)


def prepare_sets(model, train_frames: list, valid_frames: list, dtype: torch.dtype, where: str):
    """Featurize training and validation frames together (one neighbour pass, common slot widths)."""
    both = prepare_frames(model, train_frames + valid_frames, None, dtype, where)
    n = len(train_frames)
    return both.subset(range(n)), (both.subset(range(n, len(both))) if valid_frames else None)


def train_workflow(inputs: TrainInputs, config: PotentialTrainConfig, out: str | os.PathLike,
                   progress: Callable | None = None) -> dict:
    """Train a NEP potential and write the run folder (see the module docstring); returns metrics.json."""
    out = Path(out)
    with torch_threads(inputs.threads), time_limit_scope(config.time_limit):  # reading, featurizing count
        init_model = load_potential(inputs.init) if inputs.init is not None else None
        cutoff = init_model.cutoff if init_model is not None else model_cutoff(inputs)
        train_frames, valid_frames = load_data(inputs, config.seed, cutoff, init_model.species if init_model else None)
        model, fresh = build_model(inputs, train_frames, config.seed, init_model)
        dtype = torch.float32 if config.dtype == "float32" else torch.float64
        train, valid = prepare_sets(model, train_frames, valid_frames, dtype, str(inputs.train))
        if fresh:
            batch, _ = make_batch(model, train, range(len(train)), torch.device("cpu"), torch.float64)
            model.initialize(batch, float((train.energy / train.n_atoms).mean()))
            if hasattr(model, "set_max_neighbors"):
                model.set_max_neighbors(train.max_neighbors())
        config = _with_checkpoint(config, out / CHECKPOINT_DIR / "train.pt")
        result = train_potential(model, train, valid, config, progress)
        report = finish_run(model, result, train_frames, valid_frames, out, config)
    from nnsurrogate.atomistic import distributed

    ctx = distributed.context(torch.device(config.device))
    ctx.barrier()  # the other ranks wait until rank 0 has written the run folder
    distributed.shutdown(ctx)
    return report


def shortest_training_distance(frames, cutoff: float = 3.0) -> float | None:
    """The shortest interatomic distance (Å) in *frames*, looked for up to *cutoff*; ``None`` if none is
    that short. MD uses it to stop where the model would extrapolate (:attr:`MDOptions.min_distance`)."""
    from nnsurrogate.atomistic.neighbors import shortest_distance

    found = [pair[0] for pair in (shortest_distance(f, cutoff) for f in frames) if pair is not None]
    return min(found) if found else None


def model_cutoff(inputs: TrainInputs) -> float:
    """The neighbour cutoff (Å) of the model *inputs* will build."""
    if inputs.model == "bp":
        from nnsurrogate.atomistic.bp import bp_cutoff

        return bp_cutoff(inputs.hyper)
    cutoff = (inputs.hyper or {}).get("cutoff", 5.0 if inputs.model == "mace" else (5.0, 4.0))
    return float(max(cutoff) if isinstance(cutoff, (tuple, list)) else cutoff)


def _with_checkpoint(config: PotentialTrainConfig, path: Path) -> PotentialTrainConfig:
    from dataclasses import replace

    return replace(config, checkpoint=str(path))


def finish_run(model, result: TrainResult, train_frames, valid_frames, out: Path, config) -> dict:
    """Round to nep.txt precision, evaluate in float64 and write model/, nep.txt, metrics.json,
    history.json and plots/ (rank 0 only); returns the metrics."""
    from nnsurrogate.atomistic import distributed
    from nnsurrogate.atomistic.nep.nepfile import round_to_file_precision, write_nep

    model = model.to(dtype=torch.float64, device="cpu")
    ctx = distributed.context(torch.device("cpu"))
    if not ctx.is_main:
        return {}
    is_nep = model.kind == "atomistic.nep"
    if is_nep:
        round_to_file_precision(model)
    report = {"model": model.kind, "species": list(model.species), "epochs_run": result.epochs_run,
              "best_epoch": result.best_epoch, "stopped_by": result.stopped_by, "time_limit": config.time_limit,
              "training_time_s": result.elapsed_s,
              "reference_energies_eV": dict(zip(model.species, model.reference_energies))}
    sets = [("train", train_frames)] + ([("valid", valid_frames)] if valid_frames else [])
    plots = out / "plots"
    for name, frames in sets:
        pred = predict_frames(model, frames)
        report[name] = error_metrics(pred, frames)
        if name == sets[-1][0]:
            parity_plots(plots, pred, frames, title=f"{name} set")
            report[name].update(write_breakdown(plots, pred, frames, title=f"{name} set"))
    loss_plot(plots / "loss.png", result.history)
    report["shortest_distance_A"] = model.shortest_training_distance = shortest_training_distance(train_frames)
    save_potential(model, out / "model", {"training": {"config": _config_json(config), "metrics": report}})
    if is_nep:
        write_nep(model, out / "nep.txt")
    write_json(out / "metrics.json", report)
    write_json(out / "history.json", {"columns": list(TrainResult.HISTORY_COLUMNS), "rows": result.history})
    return report


def _config_json(config: PotentialTrainConfig) -> dict:
    from dataclasses import asdict

    data = asdict(config)
    data.pop("checkpoint", None)
    return data


def test_workflow(model_path: str | os.PathLike, data: str | os.PathLike, out: str | os.PathLike,
                  dtype: str = "float64", device: str = "cpu", threads: int | None = 1,
                  label_keys: dict | None = None) -> dict:
    """Evaluate a saved model (folder, run folder or nep.txt, or a :data:`~nnsurrogate.atomistic.labelers.PRETRAINED`
    name) on a labelled file; write metrics and plots.

    The metrics are those of :func:`~nnsurrogate.atomistic.evaluation.error_metrics` over all
    frames, the per-element force errors and, when the frames carry a ``config_type``, the same per
    type under ``by_config_type`` (:mod:`~nnsurrogate.atomistic.error_breakdown`, with its two plots).
    """
    from nnsurrogate.atomistic.labelers import labeler, pretrained_name

    out = Path(out)
    with torch_threads(threads):
        if pretrained_name(model_path):  # a universal model, zero-shot, through its own calculator
            frames = read_frames(data, label_keys=label_keys)
            pred = predict_with_calculator(labeler(pretrained_name(model_path), device=device)(), frames)
        else:
            model = load_potential(model_path, dtype=dtype, device=device)
            frames = read_frames(data, species=model.species, cutoff=model.cutoff, label_keys=label_keys)
            pred = predict_frames(model, frames, where=str(data))
        report = {"model": str(model_path), "data": str(data), **error_metrics(pred, frames)}
        parity_plots(out / "plots", pred, frames, title=Path(data).name)
        report.update(write_breakdown(out / "plots", pred, frames, title=Path(data).name))
    write_json(out / "metrics.json", report)
    return report
