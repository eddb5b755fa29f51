"""``nnsurrogate spectra …``: 1D spectra (XRD, XAS, Raman) → properties with a 1D-CNN ensemble."""

from __future__ import annotations

from pathlib import Path

import typer

from nnsurrogate.cli import options
from nnsurrogate.cli.common import console, metrics_table
from nnsurrogate.cli.settings_file import configurable

app = typer.Typer(help="Spectra → properties: powder XRD from structures, 1D-CNN training and prediction.",
                  no_args_is_help=True)

_SPECTRA_HELP = "Long table (.csv/.parquet), one row per point: id, x, intensity (and target columns)."


@app.command()
def xrd(
    data: Path = typer.Argument(..., help="Structures (any format 'crystal train' reads)."),
    out: Path = typer.Option(..., "--out", help="Output spectra table (.csv or .parquet): id, x (2θ, °), intensity."),
    target: list[str] = typer.Option(None, "--target", help="Property to copy beside each pattern (repeat for several)."),
    two_theta: str = typer.Option("10:90", "--two-theta", help="2θ range START:STOP, degrees."),
    wavelength: str = typer.Option("CuKa", "--wavelength", help="X-ray line (CuKa, MoKa, …)."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Leave out unreadable entries and list them."),
) -> None:
    """Powder XRD reflections of every structure (pymatgen's XRDCalculator) as a spectra table."""
    from nnsurrogate.core.errors import UserInputError
    from nnsurrogate.recipes.xrd import xrd_table

    try:
        lo, hi = (float(v) for v in two_theta.split(":"))
    except ValueError:
        raise UserInputError(f"--two-theta must be START:STOP in degrees, got '{two_theta}'", "--two-theta") from None
    table = xrd_table(str(data), str(out), tuple(target or ()), (lo, hi), wavelength, skip_bad)
    console.print(f"wrote {table['id'].nunique()} patterns ({len(table)} reflections) to {out}")


@app.command()
@configurable("spectra train")
def train(
    data: Path = typer.Argument(..., help=_SPECTRA_HELP),
    target: str = typer.Option(..., "--target", help="Column to predict."),
    grid: str = typer.Option("10:90:0.1", "--grid", help="Common grid START:STOP:STEP in the units of x."),
    fwhm: float = typer.Option(0.3, "--fwhm", help="Width (x units) of the peaks that peak lists are rendered with."),
    kind: str = typer.Option("auto", "--kind", help="peaks (render), profile (resample) or auto (peaks when sparse)."),
    normalize: str = typer.Option("max", "--normalize", help="Per-spectrum normalisation: max, area or none."),
    members: int = options.members(5, "Number of CNNs in the ensemble."),
    epochs: int = options.epochs(300, "Maximum epochs (early stopping ends sooner)."),
    time_limit: float = options.time_limit("Wall-clock limit of the run, s, reading the spectra and putting them "
                                           "on the grid included; the CNNs keep their best weights so far "
                                           "(default: none, the epochs and early stopping decide)."),
    test_fraction: float = options.test_fraction(0.2, "Held-out test fraction."),
    seed: int = options.seed("Random seed for split, initialisation, shuffling and augmentation."),
    out: Path = options.out_dir("Output folder: model/, metrics.json, predictions.csv, plots/parity.png."),
    resume: bool = options.resume(),
    quiet: bool = options.quiet(),
) -> None:
    """Train a 1D-CNN ensemble (augmented with peak shifts, broadening and noise) on spectra."""
    from nnsurrogate.tabular.spectra.workflow import SpectraTrainOptions, train_spectra

    settings = SpectraTrainOptions(target=target, grid=grid, fwhm=fwhm, kind=kind, normalize=normalize,
                                   members=members, epochs=epochs, test_size=test_fraction, seed=seed, resume=resume,
                                   verbose=0 if quiet else 1, time_limit=time_limit)
    metrics = train_spectra(str(data), str(out), settings)
    console.print(metrics_table(metrics, f"{target}: {metrics['n_test']} test spectra, {metrics['n_train']} training"))
    console.print(f"model, metrics and predictions written to {out}/ ({metrics['fit_seconds']:.1f} s, "
                  f"{metrics['epochs_run']} epochs, {metrics['stopped_by']})")


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="Folder written by 'spectra train'."),
    data: Path = typer.Argument(..., help=_SPECTRA_HELP),
    out: Path = typer.Option(..., "--out", help="Output table (.csv or .parquet): id, <target>_pred, <target>_std, in_domain."),
) -> None:
    """Predict the property of every spectrum."""
    from nnsurrogate.tabular.spectra.workflow import predict_spectra

    result = predict_spectra(str(model_dir), str(data), str(out))
    console.print(f"wrote {len(result)} predictions to {out}")
