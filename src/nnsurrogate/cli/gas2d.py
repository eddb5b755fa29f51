"""``nnsurrogate gas2d …``: the 2D-gas CNN force model (Zharikov, Zavyalov & Sivashova 2022)."""

from __future__ import annotations

from pathlib import Path

import typer

from nnsurrogate.cli import options
from nnsurrogate.cli.common import console
from nnsurrogate.cli.settings_file import configurable

app = typer.Typer(help="2D gas: count-image descriptor and LeNet force model (generate data, train).",
                  no_args_is_help=True)


@app.command()
def generate(
    potential: str = typer.Option(..., "--potential", help="Pair potential: lj or coulomb."),
    density: float = typer.Option(..., "--density", help="Particles per Å² (per σ² in reduced units)."),
    n_samples: int = typer.Option(50000, "--n-samples", help="Target particles (samples) in all."),
    out: Path = typer.Option(..., "--out", help="Output folder: train.npz, test.npz, dataset.json."),
    window: float = typer.Option(None, "--window", help="Window side, Å (default 5σ for lj, 28 Å for coulomb)."),
    min_distance: float = typer.Option(None, "--min-distance",
                                       help="Hard-core distance, Å (default 0.9σ for lj, window/28 for coulomb; "
                                            "0 = purely random positions)."),
    strength: float = typer.Option(None, "--strength", help="ε in eV (lj) or k·q² in eV·Å (coulomb); default 1."),
    sigma: float = typer.Option(None, "--sigma", help="σ in Å (lj only); default 1."),
    box_factor: float = typer.Option(2.0, "--box-factor", help="Periodic box side over window side (≥ 1)."),
    targets_per_box: int = typer.Option(4, "--targets-per-box", help="Target particles drawn from each box."),
    test_fraction: float = typer.Option(0.2, "--test-fraction", help="Held-out fraction (0.2: 40 000 / 10 000)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Scatter particles at random, pick targets, write their window neighbours and forces."""
    from nnsurrogate.core.engine.progress import progress_bar
    from nnsurrogate.gas2d.dataset import GasSpec, default_geometry
    from nnsurrogate.gas2d.potentials import make_potential
    from nnsurrogate.gas2d.workflow import generate_folder

    pot = make_potential(potential, strength, sigma)
    w, dmin = default_geometry(pot, window, min_distance)
    spec = GasSpec(pot, density, w, dmin, box_factor, targets_per_box)
    with progress_bar("generating samples", not quiet, render=lambda metrics: "") as bar:
        info = generate_folder(str(out), spec, n_samples, test_fraction, seed,
                               None if bar is None else (lambda done, total: bar(done, total, {})))
    console.print(f"wrote {info['n_train']} training and {info['n_test']} test samples to {out}/ "
                  f"({potential}, density {density:g} /Å², window {w:g} Å, hard core {dmin:g} Å, "
                  f"{info['mean_neighbours_in_window']:.1f} neighbours per window, "
                  f"force spread {info['force_std_eV_A']:.4g} eV/Å)")


@app.command()
@configurable("gas2d train")
def train(
    data: Path = typer.Argument(..., help="Folder written by 'gas2d generate'."),
    head: str = typer.Option("classify", "--head", help="classify (force classes, the paper) or regress."),
    grid: int = typer.Option(28, "--grid", help="Cells per side of the count image."),
    classes: int = typer.Option(10, "--classes", help="K, classes per force component."),
    fmax: str = typer.Option("auto", "--fmax",
                             help="f_max rule: auto, cell (the paper: pair force at one cell), quantile:Q, or eV/Å."),
    recipe: str = typer.Option("ours", "--recipe", help="ours (augmentation, pair soft-max, symmetrised) or paper."),
    descriptor: str = typer.Option("counts", "--descriptor",
                                   help="counts (the paper's image) or subcell (counts and offsets within the cells)."),
    network: str = typer.Option("lenet", "--network",
                                help="lenet, or pairsum (a learned radial pair force; needs --descriptor subcell "
                                     "--head regress)."),
    epochs: int = typer.Option(8, "--epochs", help="Passes over the training samples."),
    seed: int = typer.Option(0, "--seed", help="Random seed for initialisation, shuffling, augmentation."),
    threads: int = typer.Option(1, "--threads", help="PyTorch threads."),
    time_limit: float = options.time_limit("Wall-clock limit of the run, s, reading the data and building the "
                                           "descriptors included: no further epoch begins after it (the last "
                                           "weights are kept; a fresh run trains at least one epoch)."),
    out: Path = typer.Option(..., "--out", help="Output folder: model/, metrics.json, config.yaml, plots/."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run from OUT/.checkpoint."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train a force model (LeNet on count images by default); report class accuracies and force errors on the
    test samples."""
    from nnsurrogate.core.engine.progress import progress_bar
    from nnsurrogate.gas2d.training import TrainSettings
    from nnsurrogate.gas2d.workflow import train_folder

    settings = TrainSettings(head=head, grid=grid, n_classes=classes, fmax=fmax, recipe=recipe, epochs=epochs,
                             seed=seed, threads=threads, time_limit=time_limit, descriptor=descriptor, network=network)
    with progress_bar("training steps", not quiet, render=_render_step) as bar:
        m = train_folder(str(data), str(out), settings, resume, bar)
    maj = m["majority_class"]["accuracy_both"]
    console.print(f"test ({m['n_test']} samples, K = {m['n_classes']}, f_max = {m['f_max']:.4g} eV/Å): "
                  f"both-components accuracy {m['accuracy_both']:.3f} "
                  f"(x {m['accuracy_x']:.3f}, y {m['accuracy_y']:.3f}; "
                  f"majority class {maj:.3f}, paper's best {m['paper_accuracy_both']:.2f})")
    console.print(f"force MAE {m['force_mae']:.4g} eV/Å = {m['force_mae_over_std']:.3f} × spread "
                  f"({m['force_std']:.4g} eV/Å), R² {m['force_r2']:.4f}")
    console.print(f"model and metrics written to {out}/ ({m['fit_seconds']:.0f} s, {m['epochs_run']} epochs, "
                  f"{m['stopped_by']})")


def _render_step(metrics) -> str:
    """``"epoch 2  loss 0.1234"`` after the bar of ``gas2d train``."""
    return f"epoch {metrics['epoch']}  loss {metrics['loss']:.4f}"
