"""File-to-file workflows behind ``nnsurrogate table train | predict | evaluate``.

Everything is validated before any output is created; outputs are written atomically at the end,
so a failed run leaves no half-written folder. Training of a hold-out split reports metrics of the
saved model on the held-out rows; ``kfold:K`` reports out-of-fold metrics and saves a model trained
on all rows.
"""

from __future__ import annotations

import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnsurrogate.core.errors import DataWarning, UserInputError
from nnsurrogate.core.files import write_json
from nnsurrogate.core.metrics import regression_report
from nnsurrogate.core.plots import parity_plot
from nnsurrogate.core.splits import SplitSpec, holdout, kfold, parse_split
from nnsurrogate.core.tables import numeric_column, numeric_matrix, read_table, require_columns, write_table
from nnsurrogate.tabular.regressor import SurrogateRegressor
from nnsurrogate.tabular.table_model import TableModel

CHECKPOINT_DIR = ".checkpoint"


@dataclass(frozen=True)
class TrainOptions:
    """Settings of ``table train`` (see the CLI help for each)."""

    target: str
    inputs: tuple[str, ...] | None = None
    log_target: bool = False
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    ensemble: int = 5
    epochs: int | None = None
    split: str = "random"
    test_size: float = 0.2
    seed: int = 0
    resume: bool = False
    verbose: int = 0


@dataclass(frozen=True)
class TrainingTable:
    """A validated training table: inputs X (n, d), target y (n,), and the split column if any."""

    inputs: list[str]
    X: np.ndarray
    y: np.ndarray
    split_values: np.ndarray | None


def load_training_table(path: str, options: TrainOptions, spec: SplitSpec) -> TrainingTable:
    """Read *path* and check target, inputs and split column; warn on duplicates or a constant target."""
    frame = read_table(path)
    require_columns(frame, [options.target], path)
    inputs = list(options.inputs) if options.inputs else _default_inputs(frame, options.target, spec.column)
    if not inputs:
        raise UserInputError(f"no numeric input columns besides the target '{options.target}'", path)
    if options.target in inputs:
        raise UserInputError(f"the target '{options.target}' is also listed as an input", "--inputs")
    X = numeric_matrix(frame, inputs, path)
    y = numeric_column(frame, options.target, path)
    if len(y) < 2:
        raise UserInputError(f"need at least 2 rows to train, found {len(y)}", path)
    if options.log_target and np.any(y <= 0):
        i = int(np.flatnonzero(y <= 0)[0])
        raise UserInputError(f"--log-target needs a positive target, '{options.target}' is {y[i]:g}", f"{path}, row {i + 1}")
    split_values = None
    if spec.column:
        require_columns(frame, [spec.column], path)
        split_values = frame[spec.column].to_numpy()
        if spec.kind == "time":
            split_values = numeric_column(frame, spec.column, path)
    _warn_about_data(X, y, options.target)
    return TrainingTable(inputs, X, y, split_values)


def _default_inputs(frame: pd.DataFrame, target: str, split_column: str) -> list[str]:
    """Every column but the target and the split column that holds at least one number."""
    chosen = []
    for name in frame.columns:
        if name in (target, split_column):
            continue
        if pd.to_numeric(frame[name], errors="coerce").notna().any():
            chosen.append(name)
        else:
            warnings.warn(f"ignoring non-numeric column '{name}' (give --inputs to choose columns)", DataWarning, stacklevel=3)
    return chosen


def _warn_about_data(X: np.ndarray, y: np.ndarray, target: str) -> None:
    if np.ptp(y) == 0:
        warnings.warn(f"target '{target}' is constant ({y[0]:g}); the model can only predict that value", DataWarning, stacklevel=3)
    n_dup = len(X) - len(np.unique(X, axis=0))
    if n_dup:
        warnings.warn(f"{n_dup} rows repeat the inputs of an earlier row; they are kept (repeated measurements)", DataWarning, stacklevel=3)


def make_regressor(options: TrainOptions, n_rows: int) -> SurrogateRegressor:
    """The estimator that ``table train`` fits, from the command-line options."""
    params = dict(hidden=tuple(options.hidden), activation=options.activation, ensemble=options.ensemble,
                  log_target=options.log_target, random_state=options.seed, verbose=options.verbose)
    if options.epochs is not None:
        params["max_epochs"] = options.epochs
    if n_rows < 64:
        params["batch_size"] = max(8, n_rows // 4)
    return SurrogateRegressor(**params)


def train_table(data: str, out: str, options: TrainOptions) -> dict:
    """Train on *data*, evaluate on the held-out rows and write ``out/{model/, metrics.json, plots/parity.png}``.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    spec = parse_split(options.split)
    table = load_training_table(data, options, spec)
    out_dir = Path(out)
    ckpt_dir = out_dir / CHECKPOINT_DIR
    if not options.resume and ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)
    start = time.perf_counter()
    if spec.kind == "kfold":
        model, y_true, y_pred, y_std, n_train = _train_kfold(table, options, spec, ckpt_dir)
    else:
        model, y_true, y_pred, y_std, n_train = _train_holdout(table, options, spec, ckpt_dir)
    metrics = regression_report(y_true, y_pred, y_std, top_k=max(1, len(y_true) // 10))
    metrics.update(n_train=int(n_train), n_test=int(len(y_true)), split=options.split, target=options.target,
                   inputs=table.inputs, units=model.units, log_target=options.log_target, seed=options.seed,
                   ensemble=options.ensemble, epochs_run=model.regressor.n_epochs_,
                   fit_seconds=round(time.perf_counter() - start, 3))
    _write_outputs(out_dir, model, metrics, y_true, y_pred, y_std, "held-out rows" if spec.kind != "kfold" else "out-of-fold")
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    return metrics


def _fit(table: TrainingTable, rows: np.ndarray, options: TrainOptions, checkpoint: Path) -> TableModel:
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    regressor = make_regressor(options, len(rows))
    regressor.fit(table.X[rows], table.y[rows], checkpoint=str(checkpoint))
    return TableModel.create(regressor, table.inputs, options.target)


def _train_holdout(table, options, spec, ckpt_dir):
    train, test = holdout(spec, len(table.y), options.test_size, options.seed, table.split_values)
    model = _fit(table, train, options, ckpt_dir / "holdout.pt")
    mean, std = model.regressor.predict(table.X[test], return_std=True)
    return model, table.y[test], mean, std, len(train)


def _train_kfold(table, options, spec, ckpt_dir):
    n = len(table.y)
    mean, std = np.empty(n), np.empty(n)
    for k, (train, test) in enumerate(kfold(n, spec.folds, options.seed)):
        fold = _fit(table, train, options, ckpt_dir / f"fold{k}.pt")
        mean[test], std[test] = fold.regressor.predict(table.X[test], return_std=True)
    model = _fit(table, np.arange(n), options, ckpt_dir / "all.pt")
    return model, table.y, mean, std, n


def _write_outputs(out_dir: Path, model: TableModel, metrics: dict, y_true, y_pred, y_std, what: str) -> None:
    model.save(out_dir / "model")
    label = _axis_label(model)
    title = f"{what}: MAE {metrics['mae']:.4g}, R² {metrics['r2']:.4f}"
    parity_plot(out_dir / "plots" / "parity.png", y_true, y_pred, y_std, label, log=bool(metrics.get("log_target")), title=title)
    write_json(out_dir / "metrics.json", metrics)


def _axis_label(model: TableModel) -> str:
    unit = model.units.get(model.target)
    return f"{model.target} [{unit}]" if unit else model.target


def predict_table(model_dir: str, data: str, out: str) -> pd.DataFrame:
    """Predict every row of *data* with the model in *model_dir*; write the table to *out* (CSV/Parquet).

    The output holds the input columns plus ``<target>_pred``, ``<target>_std`` and ``in_domain``.
    """
    model = TableModel.load(Path(model_dir) / "model")
    frame = read_table(data)
    result = model.predict_frame(frame, data)
    write_table(result, out)
    n_out = int((~result["in_domain"]).sum())
    if n_out:
        warnings.warn(f"{n_out} of {len(result)} rows are outside the training domain (in_domain = false); "
                      "their predictions are extrapolations", DataWarning, stacklevel=2)
    return result


def evaluate_table(model_dir: str, data: str, out: str) -> dict:
    """Score the model in *model_dir* on the labelled table *data*; write ``out/metrics.json`` and the parity plot."""
    model = TableModel.load(Path(model_dir) / "model")
    frame = read_table(data)
    require_columns(frame, [model.target], data)
    y = numeric_column(frame, model.target, data)
    pred = model.regressor.predict_full(model.input_matrix(frame, data))
    metrics = regression_report(y, pred.mean, pred.std, top_k=max(1, len(y) // 10))
    metrics.update(n_test=int(len(y)), n_out_of_domain=int((~pred.in_domain).sum()), target=model.target,
                   inputs=model.inputs, model=str(Path(model_dir).resolve()))
    out_dir = Path(out)
    label = _axis_label(model)
    parity_plot(out_dir / "plots" / "parity.png", y, pred.mean, pred.std, label,
                log=bool(model.regressor.log_target), title=f"MAE {metrics['mae']:.4g}, R² {metrics['r2']:.4f}")
    write_json(out_dir / "metrics.json", metrics)
    return metrics
