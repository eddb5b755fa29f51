"""Verbs of ``nnsurrogate potential`` (see :mod:`nnsurrogate.cli.potential`): ``train`` and ``test``."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from nnsurrogate.cli import options
from nnsurrogate.cli.common import console
from nnsurrogate.cli.potential_options import LABELS, LOSS, MODEL, model_hyper
from nnsurrogate.cli.settings_file import configurable


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
    rows = (("energy_rmse_meV_atom", "energy RMSE (meV/atom)"), ("energy_mae_meV_atom", "energy MAE (meV/atom)"),
            ("force_rmse_meV_A", "force RMSE (meV/Å)"), ("force_mae_meV_A", "force MAE (meV/Å)"),
            ("virial_rmse_meV_atom", "virial RMSE (meV/atom)"))
    for key, label in rows:
        values = [(metrics[name] if name else metrics).get(key) for name in sets]
        table.add_row(label, *("—" if v is None or v != v else f"{v:.3g}" for v in values))
    console.print(table)


@configurable("potential train")
@LABELS.attach
@LOSS.attach
@MODEL.attach
def train(
    data: Path = typer.Argument(..., help="Training frames: extended XYZ with energy, forces (and stress or virial)."),
    out: Path = options.out_dir("Output folder: model/, nep.txt, metrics.json, config.yaml, plots/."),
    valid: Path = typer.Option(None, "--valid", help="Validation frames (default: hold out --valid-fraction)."),
    valid_fraction: float = options.valid_fraction(0.1, "Fraction of the training frames held out."),
    model: str = typer.Option("nep", "--model", help="Model kind: nep, bp (Behler–Parrinello) or mace (equivariant message passing)."),
    epochs: int = options.epochs(None, "Epochs (default 100, or unlimited with --time-limit)."),
    time_limit: float = options.time_limit("Wall-clock limit of the run, s, reading the frames and building their "
                                           "neighbour lists included (the best weights so far are kept)."),
    batch_size: int = options.batch_size(4, "Frames per mini-batch."),
    lr: float = options.lr(4e-3, "Initial Adam learning rate."),
    min_lr: float = typer.Option(1e-5, "--min-lr", help="Final (exponential) or smallest (plateau) learning rate."),
    schedule: str = typer.Option("plateau", "--schedule", help="Learning-rate schedule: plateau or exponential."),
    lr_patience: int = typer.Option(30, "--lr-patience", help="Epochs without a better validation loss before the rate halves."),
    optimizer: str = typer.Option("adam", "--optimizer", help="adam, lbfgs (full set) or snes (GPUMD's "
                                  "gradient-free separable natural evolution strategy, one generation per batch)."),
    population: int = typer.Option(50, "--population", help="snes: candidates per generation (GPUMD's population)."),
    reference: str = typer.Option("fit", "--reference", help="Reference energies: fit (least squares per element, default), mean, or an XYZ file of isolated atoms."),
    init: Path = typer.Option(None, "--from", help="Start from this model folder or nep.txt, e.g. a published "
                              "GPUMD potential, or from sevennet-0 or chgnet, the pretrained universal models (fine-tuning)."),
    slim: bool = typer.Option(False, "--slim", help="With --from: keep only the elements in DATA (element slimming)."),
    freeze: str = typer.Option("", "--freeze", help="With --from: hold fixed 'descriptors', 'networks' or both "
                               "(comma-separated; a NEP), or 'interactions' (sevennet-0: train its output head only; chgnet: its "
                               "last convolution and readout)."),
    dtype: str = options.dtype("float32"),
    device: str = options.device(),
    threads: int = options.threads(1),
    seed: int = options.seed(),
    resume: bool = options.resume(),
    quiet: bool = options.quiet(),
    hyper_options: dict | None = None,
    loss_options: dict | None = None,
    label_keys: dict | None = None,
) -> None:
    """Train a NEP (exported as nep.txt for GPUMD / LAMMPS) or Behler–Parrinello interatomic potential."""
    from nnsurrogate.atomistic.training import PotentialTrainConfig
    from nnsurrogate.atomistic.workflow import TrainInputs, train_workflow
    from nnsurrogate.core.errors import UserInputError

    hyper = model_hyper(model, hyper_options)
    if valid is not None and not valid.is_file():
        raise UserInputError("no such file", str(valid))
    n_epochs = epochs if epochs is not None else (10**9 if time_limit else 100)
    config = PotentialTrainConfig(epochs=n_epochs, time_limit=time_limit, batch_size=batch_size, learning_rate=lr,
                                  min_learning_rate=min_lr, schedule=schedule, lr_patience=lr_patience,
                                  optimizer=optimizer, population=population, dtype=dtype, device=device, seed=seed,
                                  resume=resume, **loss_options)
    ref = reference if reference in ("mean", "fit") else str(Path(reference))
    inputs = TrainInputs(train=data, valid=valid, valid_fraction=0.0 if valid is not None else valid_fraction,
                         hyper=hyper, reference=ref, init=init, threads=threads, model=model, label_keys=label_keys,
                         slim=slim, freeze=tuple(p.strip() for p in freeze.split(",") if p.strip()))
    with _rmse_bar(None if epochs is None and time_limit else n_epochs, not quiet) as progress:
        metrics = train_workflow(inputs, config, out, progress)
    if not metrics:  # a non-zero rank of a torchrun job: rank 0 reports
        return
    labels = {"atomistic.nep": "NEP", "atomistic.bp": "BP", "atomistic.mace": "MACE", "atomistic.sevennet": "SevenNet",
              "atomistic.chgnet": "CHGNet"}
    _report(metrics, f"{labels.get(metrics['model'], model.upper())} on {data.name}: {metrics['epochs_run']} epochs "
                     f"(best {metrics['best_epoch']}; {metrics['stopped_by']}), {metrics['training_time_s']:.0f} s")
    console.print(f"model/, {'nep.txt, ' if metrics['model'] == 'atomistic.nep' else ''}metrics.json and plots/ "
                  f"written to {out}/")


def _bp_hyper(cutoff: str, sf_file: Path | None, n_radial: int, angular: str, hidden: str, activation: str) -> dict:
    """(transitional, for cli/potential_al.py until it uses :data:`~nnsurrogate.cli.potential_options.MODEL`)"""
    return model_hyper("bp", {"cutoff": cutoff, "sf_file": sf_file, "n_radial": n_radial, "angular": angular,
                              "hidden": hidden, "activation": activation})


def _floats(text: str, option: str, n: int) -> tuple[float, ...]:
    """(transitional, see :func:`_bp_hyper`)"""
    from nnsurrogate.cli.potential_options import _floats as floats

    return floats(text, option, n)


@LABELS.attach
def test(
    model_path: Path = typer.Argument(..., help="Model folder, training run folder, or nep.txt."),
    data: Path = typer.Argument(..., help="Labelled frames (extended XYZ)."),
    out: Path = typer.Option(..., "--out", help="Output folder: metrics.json, plots/."),
    dtype: str = typer.Option("float64", "--dtype", help="float64 or float32."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    threads: int = typer.Option(1, "--threads", help="PyTorch threads."),
    label_keys: dict | None = None,
) -> None:
    """Evaluate a potential on labelled frames: energy, force and virial errors (also per config_type), parity plots."""
    from nnsurrogate.atomistic.workflow import test_workflow

    metrics = test_workflow(model_path, data, out, dtype=dtype, device=device, threads=threads, label_keys=label_keys)
    _report(metrics, f"{model_path} on {data.name}: {metrics['n_frames']} frames")
    for name, part in metrics.get("by_config_type", {}).items():
        console.print(f"  {name}: {part['n_frames']} frames, energy MAE {part['energy_mae_meV_atom']:.3g} meV/atom, "
                      f"force MAE {part['force_mae_meV_A']:.3g} meV/Å")
    console.print(f"metrics.json and plots/ written to {out}/")


EXPORT_FORMATS = ("lammps-mace", "nep")


def export(
    model_path: Path = typer.Argument(..., help="Model folder or training run folder."),
    out: Path = typer.Option(..., "--out", help="Output file (lammps-mace: e.g. model-lammps.pt; nep: nep.txt)."),
    fmt: str = typer.Option("lammps-mace", "--format",
                            help="lammps-mace: TorchScript for LAMMPS's pair_style mace (ML-MACE), MACE models; "
                                 "nep: GPUMD/LAMMPS nep.txt, NEP models."),
) -> None:
    """Write a trained potential in another program's format (LAMMPS pair_style mace, GPUMD nep.txt)."""
    from nnsurrogate.atomistic.models import load_potential
    from nnsurrogate.core.errors import UserInputError

    if fmt not in EXPORT_FORMATS:
        raise UserInputError(f"unknown format '{fmt}' (choose from {', '.join(EXPORT_FORMATS)})", "--format")
    model = load_potential(model_path)
    if fmt == "nep":
        from nnsurrogate.atomistic.nep.nepfile import write_nep

        if model.kind != "atomistic.nep":
            raise UserInputError(f"nep.txt holds NEP models only, not '{model.kind}'", "--format nep")
        write_nep(model, out)
    else:
        from nnsurrogate.atomistic.mace.lammps import export_lammps

        export_lammps(model, out)
    console.print(f"{out} written ({fmt}, elements {' '.join(model.species)} in this order for pair_coeff)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``potential`` group."""
    app.command("train")(train)
    app.command("test")(test)
    app.command("export")(export)
