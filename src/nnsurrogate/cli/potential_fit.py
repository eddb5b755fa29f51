"""Verbs of ``nnsurrogate potential`` (see :mod:`nnsurrogate.cli.potential`): ``train`` and ``test``."""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from nnsurrogate.cli.common import console

_MODELS = ("nep", "bp")


def _floats(text: str, option: str, n: int) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{option} expects {n} comma-separated numbers, got '{text}'") from None
    if len(values) != n or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"{option} expects {n} positive comma-separated numbers, got '{text}'")
    return values


def _ints(text: str, option: str, n: int, allow_zero: bool = False) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{option} expects {n} comma-separated integers, got '{text}'") from None
    if len(values) != n or min(values) < (0 if allow_zero else 1):
        raise ValueError(f"{option} expects {n} comma-separated {'non-negative' if allow_zero else 'positive'} "
                         f"integers, got '{text}'")
    return values


@contextlib.contextmanager
def _rmse_bar(epochs: int | None, enabled: bool) -> Iterator:
    """A rich progress bar on stderr showing the live energy and force RMSE."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[info]}"))
    with Progress(*columns, console=Console(file=sys.stderr), transient=False) as bar:
        task = bar.add_task("train", total=epochs, info="")

        def update(epoch: int, max_epochs: int, info: dict) -> None:
            (te, tf, _), (ve, vf, _) = info["train"], info["valid"]
            bar.update(task, completed=epoch, info=f"E {1000 * te:.2f}/{1000 * ve:.2f} meV/atom  "
                                                   f"F {1000 * tf:.1f}/{1000 * vf:.1f} meV/Å (train/valid)")

        yield update


def _report(metrics: dict, title: str) -> None:
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    table.add_column("metric")
    sets = [name for name in ("train", "valid") if name in metrics] or [None]
    for name in sets:
        table.add_column(name or "value", justify="right")
    rows = (("energy_rmse_mev_per_atom", "energy RMSE (meV/atom)"), ("energy_mae_mev_per_atom", "energy MAE (meV/atom)"),
            ("force_rmse_mev_per_a", "force RMSE (meV/Å)"), ("force_mae_mev_per_a", "force MAE (meV/Å)"),
            ("virial_rmse_mev_per_atom", "virial RMSE (meV/atom)"))
    for key, label in rows:
        values = [(metrics[name] if name else metrics).get(key) for name in sets]
        table.add_row(label, *("—" if v is None or v != v else f"{v:.3g}" for v in values))
    console.print(table)


def train(
    data: Path = typer.Argument(..., help="Training frames: extended XYZ with energy, forces (and stress or virial)."),
    out: Path = typer.Option(..., "--out", help="Output folder: model/, nep.txt, metrics.json, plots/."),
    valid: Path = typer.Option(None, "--valid", help="Validation frames (default: hold out --valid-fraction)."),
    valid_fraction: float = typer.Option(0.1, "--valid-fraction", help="Fraction of the training frames held out."),
    model: str = typer.Option("nep", "--model", help="Model kind: nep or bp (Behler–Parrinello)."),
    cutoff: str = typer.Option("5,4", "--cutoff", help="Radial and angular cutoffs, Å."),
    sf_file: Path = typer.Option(None, "--sf-file", help="bp: symmetry-function overrides (JSON or YAML)."),
    n_radial: int = typer.Option(8, "--n-radial", help="bp: G2 functions per element (automatic grid)."),
    angular: str = typer.Option("g4", "--angular", help="bp: angular functions, g4 or g5."),
    hidden: str = typer.Option("20,20", "--hidden", help="bp: hidden-layer widths per element."),
    activation: str = typer.Option("tanh", "--activation", help="bp: tanh or silu."),
    n_max: str = typer.Option("4,4", "--n-max", help="Radial and angular n_max."),
    basis_size: str = typer.Option("8,8", "--basis-size", help="Radial and angular Chebyshev basis size."),
    l_max: str = typer.Option("4,2,0", "--l-max", help="3-body l_max, 4-body (0 or 2), 5-body (0 or 1)."),
    neurons: int = typer.Option(30, "--neurons", help="Hidden neurons per element."),
    lambda_e: float = typer.Option(1.0, "--lambda-e", help="Weight of the energy RMSE (eV/atom)."),
    lambda_f: float = typer.Option(1.0, "--lambda-f", help="Weight of the force RMSE (eV/Å)."),
    lambda_v: float = typer.Option(0.1, "--lambda-v", help="Weight of the virial RMSE (eV/atom)."),
    lambda_1: float = typer.Option(0.0, "--lambda-1", help="Weight of the L1 norm of the parameters."),
    lambda_2: float = typer.Option(0.0, "--lambda-2", help="Weight of the L2 norm of the parameters."),
    epochs: int = typer.Option(None, "--epochs", help="Epochs (default 100, or unlimited with --time-limit)."),
    time_limit: float = typer.Option(None, "--time-limit", help="Stop after this many seconds of training."),
    batch: int = typer.Option(4, "--batch", help="Frames per mini-batch."),
    lr: float = typer.Option(4e-3, "--lr", help="Initial Adam learning rate."),
    min_lr: float = typer.Option(1e-5, "--min-lr", help="Final (exponential) or smallest (plateau) learning rate."),
    schedule: str = typer.Option("plateau", "--schedule", help="Learning-rate schedule: plateau or exponential."),
    lr_patience: int = typer.Option(10, "--lr-patience", help="Epochs without a better validation loss before the rate halves."),
    optimizer: str = typer.Option("adam", "--optimizer", help="adam, lbfgs (full set) or snes (GPUMD's "
                                  "gradient-free separable natural evolution strategy, one generation per batch)."),
    population: int = typer.Option(50, "--population", help="snes: candidates per generation (GPUMD's population)."),
    reference: str = typer.Option("mean", "--reference", help="Reference energies: mean, fit, or an XYZ file of isolated atoms."),
    init: Path = typer.Option(None, "--init", help="Start from this model folder or nep.txt (fine-tuning)."),
    dtype: str = typer.Option("float32", "--dtype", help="Training precision: float32 or float64."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    threads: int = typer.Option(1, "--threads", help="PyTorch threads."),
    seed: int = typer.Option(0, "--seed", help="Seed for the split, initial weights and batch order."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run from OUT/.checkpoint."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train a NEP (exported as nep.txt for GPUMD / LAMMPS) or Behler–Parrinello interatomic potential."""
    from nnsurrogate.atomistic.training import PotentialTrainConfig
    from nnsurrogate.atomistic.workflow import TrainInputs, train_workflow
    from nnsurrogate.core.errors import UserInputError

    if model not in _MODELS:
        raise UserInputError(f"unknown model '{model}'; choose one of {', '.join(_MODELS)}", "--model")
    if valid is not None and not valid.is_file():
        raise UserInputError("no such file", str(valid))
    if model == "bp":
        hyper = _bp_hyper(cutoff, sf_file, n_radial, angular, hidden, activation)
    else:
        hyper = _nep_hyper(cutoff, n_max, basis_size, l_max, neurons)
    n_epochs = epochs if epochs is not None else (10**9 if time_limit else 100)
    config = PotentialTrainConfig(epochs=n_epochs, time_limit=time_limit, batch_size=batch, learning_rate=lr,
                                  min_learning_rate=min_lr, schedule=schedule, lr_patience=lr_patience,
                                  lambda_e=lambda_e, lambda_f=lambda_f, lambda_v=lambda_v, lambda_1=lambda_1,
                                  lambda_2=lambda_2, optimizer=optimizer, population=population, dtype=dtype,
                                  device=device, seed=seed, resume=resume)
    ref = reference if reference in ("mean", "fit") else str(Path(reference))
    inputs = TrainInputs(train=data, valid=valid, valid_fraction=0.0 if valid is not None else valid_fraction,
                         hyper=hyper, reference=ref, init=init, threads=threads, model=model)
    with _rmse_bar(None if epochs is None and time_limit else n_epochs, not quiet) as progress:
        metrics = train_workflow(inputs, config, out, progress)
    if not metrics:  # a non-zero rank of a torchrun job: rank 0 reports
        return
    _report(metrics, f"{model.upper()} on {data.name}: {metrics['epochs_run']} epochs "
                     f"(best {metrics['best_epoch']}), {metrics['training_time_s']:.0f} s")
    console.print(f"model/, {'nep.txt, ' if model == 'nep' else ''}metrics.json and plots/ written to {out}/")


def _nep_hyper(cutoff: str, n_max: str, basis_size: str, l_max: str, neurons: int) -> dict:
    """NEP options → the ``hyper`` mapping of :class:`~nnsurrogate.atomistic.nep.NEPSpec`."""
    return {"cutoff": _floats(cutoff, "--cutoff", 2), "n_max": _ints(n_max, "--n-max", 2, True),
            "basis_size": _ints(basis_size, "--basis-size", 2, True), "l_max": _ints(l_max, "--l-max", 3, True),
            "neurons": neurons}


def _bp_hyper(cutoff: str, sf_file: Path | None, n_radial: int, angular: str, hidden: str, activation: str) -> dict:
    """Behler–Parrinello options → the ``hyper`` mapping of :func:`nnsurrogate.atomistic.bp.build_bp_model`."""
    from nnsurrogate.core.errors import UserInputError

    try:
        cutoffs = _floats(cutoff, "--cutoff", 2) if "," in cutoff else _floats(cutoff, "--cutoff", 1)
        widths = _ints(hidden, "--hidden", len([p for p in hidden.split(",") if p.strip()]) or 1)
    except ValueError as exc:
        raise UserInputError(str(exc), "--cutoff/--hidden") from None
    if angular not in ("g4", "g5"):
        raise UserInputError(f"--angular must be g4 or g5, got '{angular}'", "--angular")
    if activation not in ("tanh", "silu"):
        raise UserInputError(f"--activation must be tanh or silu, got '{activation}'", "--activation")
    if n_radial < 1:
        raise UserInputError(f"--n-radial must be at least 1, got {n_radial}", "--n-radial")
    if sf_file is not None and not sf_file.is_file():
        raise UserInputError("no such symmetry-function file", str(sf_file))
    return {"cutoff": cutoffs, "n_radial": n_radial, "angular_kind": angular, "hidden": widths,
            "activation": activation, "sf_file": str(sf_file) if sf_file is not None else None}


def test(
    model_path: Path = typer.Argument(..., help="Model folder, training run folder, or nep.txt."),
    data: Path = typer.Argument(..., help="Labelled frames (extended XYZ)."),
    out: Path = typer.Option(..., "--out", help="Output folder: metrics.json, plots/."),
    dtype: str = typer.Option("float64", "--dtype", help="float64 or float32."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    threads: int = typer.Option(1, "--threads", help="PyTorch threads."),
) -> None:
    """Evaluate a potential on labelled frames: energy, force and virial errors, parity plots."""
    from nnsurrogate.atomistic.workflow import test_workflow

    metrics = test_workflow(model_path, data, out, dtype=dtype, device=device, threads=threads)
    _report(metrics, f"{model_path} on {data.name}: {metrics['n_frames']} frames")
    console.print(f"metrics.json and plots/ written to {out}/")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``potential`` group."""
    app.command("train")(train)
    app.command("test")(test)
