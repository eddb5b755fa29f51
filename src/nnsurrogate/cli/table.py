"""``nnsurrogate table …``: train, cross-validate, predict, evaluate and screen on tables (CSV or Parquet)."""

from __future__ import annotations

from pathlib import Path

import typer

from nnsurrogate.cli import options
from nnsurrogate.cli.common import console, metrics_table, parse_int_list
from nnsurrogate.cli.settings_file import configurable

app = typer.Typer(help="Tables → properties: train, cv, predict, evaluate, screen.", no_args_is_help=True)

_FORMULA_HELP = "Column of chemical formulas, turned into composition features (Magpie-style statistics)."
_TASK_HELP = "regress, classify, or auto (classify a text or 0/1 target)."
_DUP_HELP = "Rows repeating an earlier row's compound and inputs: mean (average them), first, or keep."
_CLASS_LABELS = (("roc_auc", "ROC-AUC"), ("balanced_accuracy", "balanced accuracy"), ("f1", "F1"),
                 ("accuracy", "accuracy"), ("log_loss", "log loss"), ("brier", "Brier score"))
_HIDDEN_HELP = "Hidden-layer widths of the network (default 64,64)."
_ACT_HELP = "tanh, relu, gelu or silu (default tanh)."
_LOW_HELP = ("Table of cheap, lower-fidelity values of the same property (e.g. DFT band gaps beside measured "
             "ones), with the same formula column: one multi-fidelity model predicts at the fidelity of --target.")
_TRAIN_TIME_HELP = ("Wall-clock limit of the run, s, reading and featurizing the table included; the networks keep "
                    "their best weights so far (default: none, the epochs and early stopping decide). With kfold:K "
                    "each of the K+1 fits gets an equal part of the time left when it starts.")
_CV_TIME_HELP = ("Wall-clock limit of the whole cross-validation, s, reading the table included: each fold still to "
                 "fit gets an equal part of the time left when it starts (default: none).")
_CONFORMAL_HELP = ("Calibrate conformal prediction intervals: split (hold out 20 % of the training rows) or cv "
                   "(5-fold cross-conformal, 6 fits); their coverage holds at any level, unlike the Gaussian σ's.")


def _hidden(text: str | None) -> tuple[int, ...] | None:
    return parse_int_list(text, "--hidden") if text else None


@app.command()
@configurable("table train")
def train(
    data: Path = typer.Argument(..., help="Training table (.csv or .parquet)."),
    target: str = typer.Option(..., "--target", help="Column to predict."),
    inputs: str = typer.Option(None, "--inputs", help="Comma-separated numeric input columns (default: every numeric column but the target)."),
    formula_column: str = typer.Option(None, "--formula-column", help=_FORMULA_HELP),
    task: str = typer.Option("auto", "--task", help=_TASK_HELP),
    duplicates: str = typer.Option("mean", "--duplicates", help=_DUP_HELP),
    log_target: bool = typer.Option(False, "--log-target", help="Fit the logarithm of a positive target."),
    hidden: str = typer.Option(None, "--hidden", help=_HIDDEN_HELP),
    activation: str = typer.Option(None, "--activation", help=_ACT_HELP),
    members: int = options.members(5, "Number of ensemble members."),
    epochs: int = options.epochs(None, "Maximum epochs (default 1500; early stopping ends sooner)."),
    time_limit: float = options.time_limit(_TRAIN_TIME_HELP),
    split: str = typer.Option("random", "--split", help="random, kfold:K, group:COL or time:COL."),
    test_fraction: float = options.test_fraction(0.2, "Held-out test fraction for random, group and time splits."),
    conformal: str = typer.Option(None, "--conformal", help=_CONFORMAL_HELP),
    low_fidelity: Path = typer.Option(None, "--low-fidelity", help=_LOW_HELP),
    low_fidelity_target: str = typer.Option(None, "--low-fidelity-target", help="Target column of the low-fidelity table (default: the same name as --target)."),
    fidelity_method: str = typer.Option("stack", "--fidelity-method", help="stack (the low-fidelity value as an input), delta (learn the correction) or joint (one model, a fidelity input)."),
    seed: int = options.seed("Random seed for split, initialisation and shuffling."),
    out: Path = options.out_dir("Output folder: model/, metrics.json, config.yaml, plots/."),
    resume: bool = options.resume(),
    quiet: bool = options.quiet(),
) -> None:
    """Train an ensemble surrogate and report honest metrics on held-out rows."""
    from nnsurrogate.core.tables import parse_column_list
    from nnsurrogate.tabular.workflow import TrainOptions, train_table

    columns = parse_column_list(inputs)
    train_options = TrainOptions(target=target, inputs=tuple(columns) if columns else None, log_target=log_target,
                           hidden=_hidden(hidden), activation=activation, ensemble=members, epochs=epochs,
                           split=split, test_size=test_fraction, seed=seed, resume=resume, verbose=0 if quiet else 1,
                           formula_column=formula_column, task=task, duplicates=duplicates, conformal=conformal,
                           low_fidelity=str(low_fidelity) if low_fidelity else None,
                           low_fidelity_target=low_fidelity_target, fidelity_method=fidelity_method,
                           time_limit=time_limit)
    metrics = train_table(str(data), str(out), train_options)
    title = f"{target}: {metrics['n_test']} test rows, {metrics['n_train']} training rows"
    _print_metrics(metrics, title, metrics["units"].get(target))
    console.print(f"model and metrics written to {out}/ ({metrics['fit_seconds']:.1f} s, "
                  f"{_epochs_text(metrics['epochs_run'], metrics['stopped_by'])})")


@app.command()
@configurable("table cv")
def cv(
    data: Path = typer.Argument(..., help="Labelled table (.csv or .parquet)."),
    target: str = typer.Option(..., "--target", help="Column to predict."),
    out: Path = typer.Option(..., "--out", help="Output folder: metrics.json, predictions.csv, plots/."),
    inputs: str = typer.Option(None, "--inputs", help="Comma-separated numeric input columns."),
    formula_column: str = typer.Option(None, "--formula-column", help=_FORMULA_HELP),
    folds: int = typer.Option(5, "--folds", help="Number of folds."),
    protocol: str = typer.Option(None, "--protocol", help="matbench: KFold(5, shuffle=True, random_state=18012019)."),
    groups: str = typer.Option("none", "--groups", help="none, formula (all rows of a compound in one fold) or cluster (leave-cluster-out, k-means)."),
    task: str = typer.Option("auto", "--task", help=_TASK_HELP),
    duplicates: str = typer.Option("mean", "--duplicates", help=_DUP_HELP),
    log_target: bool = typer.Option(False, "--log-target", help="Fit the logarithm of a positive target."),
    hidden: str = typer.Option(None, "--hidden", help=_HIDDEN_HELP),
    activation: str = typer.Option(None, "--activation", help=_ACT_HELP),
    members: int = options.members(5, "Number of ensemble members."),
    epochs: int = options.epochs(None, "Maximum epochs per fold."),
    time_limit: float = options.time_limit(_CV_TIME_HELP),
    conformal: str = typer.Option(None, "--conformal", help=_CONFORMAL_HELP),
    seed: int = typer.Option(0, "--seed", help="Seed for the folds (not matbench's), initialisation and shuffling."),
    resume: bool = typer.Option(False, "--resume", help="Skip the folds an interrupted run finished."),
    quiet: bool = typer.Option(False, "--quiet", help="No per-fold progress messages (the leak report still shows)."),
) -> None:
    """Cross-validate: per-fold metrics, mean ± std, out-of-fold predictions, after a leak report."""
    from nnsurrogate.core.errors import UserInputError
    from nnsurrogate.core.splits import CVSpec
    from nnsurrogate.core.tables import parse_column_list
    from nnsurrogate.tabular.cv import CVOptions, cross_validate
    from nnsurrogate.tabular.dataset import TableSpec
    from nnsurrogate.tabular.estimators import ModelOptions

    if protocol not in (None, "matbench"):
        raise UserInputError(f"unknown protocol '{protocol}'; the only one is matbench", "--protocol")
    scheme = CVSpec("matbench", 5) if protocol == "matbench" else CVSpec("kfold", folds)
    columns = parse_column_list(inputs)
    spec = TableSpec(target, tuple(columns) if columns else None, formula_column, task, duplicates)
    model_options = ModelOptions(_hidden(hidden), activation, members, epochs, log_target, seed, 0, conformal)
    metrics = cross_validate(str(data), str(out), spec, model_options, CVOptions(scheme, groups), resume,
                             lambda m: console.print(m, highlight=False), verbose=not quiet, time_limit=time_limit)
    _print_cv(metrics)
    console.print(f"metrics and out-of-fold predictions written to {out}/ ({metrics['cpu_seconds']:.0f} s CPU; "
                  f"epochs per fold {_epochs_text(metrics['epochs_run'], metrics['stopped_by'])})")


def _epochs_text(epochs, stopped_by) -> str:
    """``"412 epochs, early stopping"``; per fold ``"300 (epochs), 41 (time limit)"``."""
    if isinstance(epochs, list):
        return ", ".join(f"{e if e is not None else '—'} ({s or '—'})" for e, s in zip(epochs, stopped_by))
    return f"{epochs if epochs is not None else '—'} epoch{'' if epochs == 1 else 's'}, {stopped_by or '—'}"


def _print_cv(metrics: dict) -> None:
    keys = _CLASS_LABELS if metrics["task"] == "classify" else (("mae", "MAE"), ("rmse", "RMSE"), ("r2", "R²"), ("spearman", "Spearman ρ"),
                                               ("coverage_1sigma", "within 1σ (ideal 0.683)"),
                                               ("conformal_coverage_1sigma", "inside 68.3 % conformal interval"),
                                               ("conformal_coverage_2sigma", "inside 95.4 % conformal interval"))
    title = (f"{metrics['target']}: {metrics['cv']['folds']}-fold {metrics['cv']['scheme']} CV "
             f"(groups: {metrics['cv']['groups']}), {metrics['n_rows']} rows")
    rows = []
    for key, label in keys:
        mean, std = metrics.get(f"{key}_mean"), metrics.get(f"{key}_std")
        if _known(mean):
            rows.append((label, f"{mean:.4g} ± {std:.2g}"))
    _print_metric_rows(title, "mean ± std over folds", rows)


def _known(value) -> bool:
    """True unless *value* is None or NaN (a metric that could not be computed)."""
    return value is not None and value == value


def _print_metric_rows(title: str, value_header: str, rows: list[tuple[str, str]]) -> None:
    """Print a two-column table: metric label and its formatted value, one row per (label, text)."""
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    table.add_column("metric")
    table.add_column(value_header, justify="right")
    for label, text in rows:
        table.add_row(label, text)
    console.print(table)


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="Folder written by 'table train'."),
    data: Path = typer.Argument(..., help="Table with the model's input columns."),
    out: Path = typer.Option(..., "--out", help="Output table (.csv or .parquet)."),
    level: list[float] = typer.Option(None, "--level", help="Add the prediction interval at this coverage (e.g. 0.9; "
                                      "repeat for several): <target>_low_90 and <target>_high_90; conformal for a "
                                      "model trained with --conformal, else Gaussian from the σ."),
) -> None:
    """Predict new rows: <target>_pred with <target>_std (or p_<class> per class) and in_domain."""
    from nnsurrogate.tabular.predict import predict_table

    result = predict_table(str(model_dir), str(data), str(out), tuple(level or ()))
    n_out = int((~result["in_domain"]).sum())
    console.print(f"wrote {len(result)} predictions to {out} ({n_out} outside the training domain)")


@app.command()
def evaluate(
    model_dir: Path = typer.Argument(..., help="Folder written by 'table train'."),
    data: Path = typer.Argument(..., help="Labelled table with the model's inputs and target."),
    out: Path = typer.Option(..., "--out", help="Output folder: metrics.json, plots/."),
) -> None:
    """Score a trained model on a labelled table."""
    from nnsurrogate.tabular.workflow import evaluate_table

    metrics = evaluate_table(str(model_dir), str(data), str(out))
    title = f"{metrics['target']}: {metrics['n_test']} rows ({metrics['n_out_of_domain']} outside the training domain)"
    _print_metrics(metrics, title)
    console.print(f"metrics written to {out}/")


def _print_metrics(metrics: dict, title: str, unit: str | None = None) -> None:
    if metrics.get("task") != "classify":
        console.print(metrics_table(metrics, title, unit))
        return
    rows = [(label, f"{metrics[key]:.4g}") for key, label in _CLASS_LABELS if _known(metrics.get(key))]
    _print_metric_rows(title, "value", rows)


@app.command()
def embed(
    model_dir: Path = typer.Argument(..., help="Folder written by 'table train'."),
    data: Path = typer.Argument(..., help="Table with the model's input columns (the target, if present, colours the map)."),
    out: Path = options.embed_out(),
    neighbors: int = options.neighbors("rows"),
    map_method: str = options.map_method(),
    id_column: str = typer.Option(None, "--id-column", help="Column that names the rows (default: the formula column)."),
) -> None:
    """Learned representation of each row: nearest neighbours ("materials most like this one") and a 2D map."""
    from nnsurrogate.tabular.workflow import embed_table

    report = embed_table(str(model_dir), str(data), str(out), neighbors, map_method, id_column)
    console.print(f"{report['n']} vectors of {report['dim']} numbers, {report['neighbors']} neighbours each and a "
                  f"{report['map']} map written to {out}/")


@app.command()
def screen(
    model_dir: Path = typer.Argument(..., help="Folder written by 'table train'."),
    candidates: Path = typer.Argument(..., help="Table of candidates with the model's input columns."),
    top: int = typer.Option(20, "--top", help="How many of the best candidates to show."),
    kappa: float = typer.Option(0.0, "--kappa", help="Rank by the bound prediction + kappa·std (0: by prediction)."),
    minimize: bool = typer.Option(False, "--minimize", help="Smaller is better (ranks by prediction − kappa·std)."),
    positive_class: str = typer.Option(None, "--class", help="Classification: rank by the probability of this class (default: the last class)."),
    out: Path = typer.Option(None, "--out", help="Write every candidate, ranked, to this table."),
) -> None:
    """Rank candidates by the model's prediction (or a confidence bound); flag those out of domain."""
    from rich.table import Table

    from nnsurrogate.tabular.screen import screen_table

    best = screen_table(str(model_dir), str(candidates), top, kappa, minimize, positive_class,
                        str(out) if out else None)
    table = Table(title=f"top {len(best)} candidates", header_style="bold")
    for column in best.columns:
        table.add_column(str(column), justify="right" if column != best.columns[1] else "left")
    for _, row in best.iterrows():
        table.add_row(*[_cell(v) for v in row.tolist()])
    console.print(table)
    if out:
        console.print(f"all candidates, ranked, written to {out}")


def _cell(value) -> str:
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "NO"
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)
