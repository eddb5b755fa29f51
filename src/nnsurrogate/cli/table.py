"""``nnsurrogate table …``: train, predict and evaluate surrogates on tables (CSV or Parquet)."""

from __future__ import annotations

from pathlib import Path

import typer

from nnsurrogate.cli.common import console, metrics_table, parse_int_list

app = typer.Typer(help="Tables → properties: train, predict, evaluate.", no_args_is_help=True)


@app.command()
def train(
    data: Path = typer.Argument(..., help="Training table (.csv or .parquet)."),
    target: str = typer.Option(..., "--target", help="Column to predict."),
    inputs: str = typer.Option(None, "--inputs", help="Comma-separated input columns (default: every numeric column but the target)."),
    log_target: bool = typer.Option(False, "--log-target", help="Fit the logarithm of a positive target."),
    hidden: str = typer.Option("64,64", "--hidden", help="Hidden-layer widths."),
    activation: str = typer.Option("tanh", "--activation", help="tanh, relu, gelu or silu."),
    ensemble: int = typer.Option(5, "--ensemble", help="Number of ensemble members."),
    epochs: int = typer.Option(None, "--epochs", help="Maximum epochs (default 1500; early stopping ends sooner)."),
    split: str = typer.Option("random", "--split", help="random, kfold:K, group:COL or time:COL."),
    test_size: float = typer.Option(0.2, "--test-size", help="Held-out fraction for random, group and time splits."),
    seed: int = typer.Option(0, "--seed", help="Random seed for split, initialisation and shuffling."),
    out: Path = typer.Option(..., "--out", help="Output folder: model/, metrics.json, plots/parity.png."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run from OUT/.checkpoint."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train an ensemble surrogate and report honest metrics on held-out rows."""
    from nnsurrogate.core.tables import parse_column_list
    from nnsurrogate.tabular.workflow import TrainOptions, train_table

    columns = parse_column_list(inputs)
    options = TrainOptions(target=target, inputs=tuple(columns) if columns else None, log_target=log_target,
                           hidden=parse_int_list(hidden, "--hidden"), activation=activation, ensemble=ensemble,
                           epochs=epochs, split=split, test_size=test_size, seed=seed, resume=resume,
                           verbose=0 if quiet else 1)
    metrics = train_table(str(data), str(out), options)
    unit = metrics["units"].get(target)
    console.print(metrics_table(metrics, f"{target}: {metrics['n_test']} test rows, {metrics['n_train']} training rows", unit))
    console.print(f"model and metrics written to {out}/ ({metrics['fit_seconds']:.1f} s)")


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="Folder written by 'table train'."),
    data: Path = typer.Argument(..., help="Table with the model's input columns."),
    out: Path = typer.Option(..., "--out", help="Output table (.csv or .parquet)."),
) -> None:
    """Predict new rows: <target>_pred, <target>_std and in_domain for every row."""
    from nnsurrogate.tabular.workflow import predict_table

    result = predict_table(str(model_dir), str(data), str(out))
    n_out = int((~result["in_domain"]).sum())
    console.print(f"wrote {len(result)} predictions to {out} ({n_out} outside the training domain)")


@app.command()
def evaluate(
    model_dir: Path = typer.Argument(..., help="Folder written by 'table train'."),
    data: Path = typer.Argument(..., help="Labelled table with the model's inputs and target."),
    out: Path = typer.Option(..., "--out", help="Output folder: metrics.json, plots/parity.png."),
) -> None:
    """Score a trained model on a labelled table."""
    from nnsurrogate.tabular.workflow import evaluate_table

    metrics = evaluate_table(str(model_dir), str(data), str(out))
    console.print(metrics_table(metrics, f"{metrics['target']}: {metrics['n_test']} rows "
                                         f"({metrics['n_out_of_domain']} outside the training domain)"))
    console.print(f"metrics written to {out}/")
