"""File-to-file workflows behind ``nnsurrogate table train | predict | evaluate``.

Everything is validated before any output is created; outputs are written atomically at the end,
so a failed run leaves no half-written folder. Training of a hold-out split reports metrics of the
saved model on the held-out rows; ``kfold:K`` reports out-of-fold metrics and saves a model trained
on all rows. A formula column is featurized inside every fit (see :mod:`nnsurrogate.tabular.cv`).

A time limit (``time_limit``) bounds the whole run from the moment the table is read: reading and
featurizing count, and the network fits share what is left (with ``kfold:K`` the K fold fits and the
final fit each get an equal part of the time left when they start). ``metrics.json`` says what ended
the training (``stopped_by``) besides the epochs it reached (``epochs_run``).
"""

from __future__ import annotations

import math
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnsurrogate.core.engine.budget import check_time_limit, overall_stop, time_limit_scope, time_share
from nnsurrogate.core.errors import DataWarning, UserInputError
from nnsurrogate.core.files import checkpoint_dir, write_json
from nnsurrogate.core.metrics import classification_report, conformal_report, regression_report
from nnsurrogate.core.plots import parity_plot
from nnsurrogate.core.splits import SplitSpec, holdout, kfold, parse_split
from nnsurrogate.core.tables import numeric_column, read_table, require_columns
from nnsurrogate.tabular.cv import fit_table_model
from nnsurrogate.tabular.dataset import Dataset, TableSpec, load_dataset
from nnsurrogate.tabular.estimators import ModelOptions
from nnsurrogate.tabular.plots import reliability_plot
from nnsurrogate.tabular.table_model import TableModel



@dataclass(frozen=True)
class TrainOptions:
    """Settings of ``table train`` (see the CLI help for each); ``None`` picks the default for the table."""

    target: str
    inputs: tuple[str, ...] | None = None
    log_target: bool = False
    hidden: tuple[int, ...] | None = None
    activation: str | None = None
    ensemble: int = 5
    epochs: int | None = None
    split: str = "random"
    test_size: float = 0.2
    seed: int = 0
    resume: bool = False
    verbose: int = 0
    formula_column: str | None = None
    task: str = "auto"
    duplicates: str = "mean"
    conformal: str | None = None
    low_fidelity: str | None = None
    low_fidelity_target: str | None = None
    fidelity_method: str = "stack"
    time_limit: float | None = None

    def table_spec(self, split_column: str = "") -> TableSpec:
        exclude = (split_column,) if split_column and split_column != self.formula_column else ()
        return TableSpec(self.target, self.inputs, self.formula_column, self.task, self.duplicates, exclude)

    def validate(self) -> None:
        """Check every setting before anything is read or written (see :meth:`ModelOptions.validate`)."""
        self.model_options().validate()
        if not (math.isfinite(self.test_size) and 0.0 < self.test_size < 1.0):
            raise UserInputError(f"test_size must be between 0 and 1, got {self.test_size}", "test_size")
        check_time_limit(self.time_limit)
        check_low_fidelity_options(self.low_fidelity, self.fidelity_method, self.formula_column)

    def model_options(self) -> ModelOptions:
        return ModelOptions(self.hidden, self.activation, self.ensemble, self.epochs, self.log_target, self.seed,
                            self.verbose, self.conformal)


def load_training_data(path: str, options: TrainOptions, spec: SplitSpec) -> tuple[Dataset, np.ndarray | None]:
    """Read *path* (see :func:`~nnsurrogate.tabular.dataset.load_dataset`) and the split column if any."""
    ds = load_dataset(path, options.table_spec(spec.column))
    if options.conformal and ds.task != "regress":
        raise UserInputError("conformal intervals need a regression target; this one holds class labels", "conformal")
    if options.log_target:
        if ds.task != "regress":
            raise UserInputError("log_target applies to regression, but the target holds class labels", "log_target")
        if np.any(ds.y <= 0):
            i = int(np.flatnonzero(ds.y <= 0)[0])
            raise UserInputError(f"the logarithm of the target needs positive values, '{options.target}' is {ds.y[i]:g}",
                                 f"{path}, row {i + 1}")
    values = None
    if spec.column:
        require_columns(ds.frame, [spec.column], path)
        if spec.column == options.formula_column:
            values = ds.groups  # group by compound, not by how the formula is written
        else:
            values = ds.frame[spec.column].to_numpy()
            if spec.kind == "time":
                values = numeric_column(ds.frame, spec.column, path)
    return ds, values


def check_low_fidelity_options(path: str | None, method: str, formula_column: str | None) -> None:
    """Refuse a low-fidelity setting that cannot work (before anything is read or written)."""
    from nnsurrogate.tabular.fidelity import METHODS

    if method not in METHODS:
        raise UserInputError(f"unknown fidelity method '{method}'; use {', '.join(METHODS)}", "fidelity_method")
    if path is None:
        return
    if not formula_column:
        raise UserInputError("a low-fidelity table is matched to the training rows by compound: name the formula "
                             "column", "low_fidelity, formula_column")


def load_low_fidelity(path: str, ds: Dataset, target: str | None, method: str, withhold_test: bool = False):
    """The low-fidelity table *path* as a :class:`~nnsurrogate.tabular.cv.LowFidelity` for the table *ds*.

    It needs the formula column and numeric inputs of *ds* and a target column (*target*, by default
    the same name as the high-fidelity target); repeated compounds are averaged.
    """
    from nnsurrogate.tabular.cv import LowFidelity

    if ds.task != "regress":
        raise UserInputError("a low-fidelity table needs a regression target", "low_fidelity")
    columns = [ds.formula_column, *ds.inputs, target]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # repeated compounds of a large calculated set are expected
        low = load_dataset(path, TableSpec(target, tuple(ds.inputs) or None, ds.formula_column, "regress", "mean"),
                           columns=list(dict.fromkeys(columns)))
    return LowFidelity(low, method, withhold_test)


def train_table(data: str, out: str, options: TrainOptions) -> dict:
    """Train on *data*, evaluate on the held-out rows and write ``out/{model/, metrics.json, plots/}``.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    options.validate()
    spec = parse_split(options.split)
    with time_limit_scope(options.time_limit):  # the clock starts before the table is read
        ds, split_values = load_training_data(data, options, spec)
        low = (load_low_fidelity(options.low_fidelity, ds, options.low_fidelity_target or options.target,
                                 options.fidelity_method) if options.low_fidelity else None)
        out_dir = Path(out)
        ckpt_dir = checkpoint_dir(out_dir, options.resume)
        start = time.perf_counter()
        if spec.kind == "kfold":
            model, test, (pred, second, bounds), n_train, stops = _train_kfold(ds, options, spec, ckpt_dir, low)
        else:
            model, test, (pred, second, bounds), n_train = _train_holdout(ds, options, spec, split_values, ckpt_dir,
                                                                          low)
            stops = []
    metrics = _report(ds, test, pred, second)
    if ds.task == "regress":
        metrics.update(conformal_report(ds.y[test], bounds), conformal=options.conformal)
    if low is not None:
        metrics["low_fidelity"] = {"file": options.low_fidelity, "n_rows": len(low.data), "method": low.method,
                                   "n_train_rows_with_calculation": int(np.isin(ds.groups[_train_rows(ds, test)],
                                                                                low.data.groups).sum())}
    metrics.update(n_train=int(n_train), n_test=int(len(test)), split=options.split, target=options.target,
                   task=ds.task, formula_column=ds.formula_column, inputs=ds.inputs, units=model.units,
                   log_target=options.log_target, seed=options.seed, ensemble=options.ensemble,
                   epochs_run=model.estimator.n_epochs_,
                   stopped_by=overall_stop([*stops, getattr(model.estimator, "stopped_by_", None)]),
                   time_limit=options.time_limit, fit_seconds=round(time.perf_counter() - start, 3))
    what = "held-out rows" if spec.kind != "kfold" else "out-of-fold"
    _write_outputs(out_dir, model, metrics, ds, test, pred, second, what)
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    return metrics


def _predict_rows(model: TableModel, ds: Dataset, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regression: (mean, std, conformal bounds (n, 4), see :meth:`TableModel.sigma_level_bounds`);
    classification: (predicted labels, probabilities (n, K), an empty (n, 0) array)."""
    X = model.input_matrix(ds.frame.iloc[rows], "held-out rows")
    if ds.task == "classify":
        proba = model.estimator.predict_proba(X)
        return model.estimator.classes_[np.argmax(proba, axis=1)], proba, np.zeros((len(rows), 0))
    pred = model.estimator.predict_full(X)
    return pred.mean, pred.std, model.sigma_level_bounds(pred)


def _train_rows(ds: Dataset, test: np.ndarray) -> np.ndarray:
    return np.setdiff1d(np.arange(len(ds)), test) if len(test) < len(ds) else np.arange(len(ds))


def _train_holdout(ds: Dataset, options: TrainOptions, spec: SplitSpec, values, ckpt_dir: Path, low=None):
    train, test = holdout(spec, len(ds), options.test_size, options.seed, values)
    groups = values if spec.kind == "group" else None  # a grouped test split: calibrate on whole groups too
    model = fit_table_model(ds, train, options.model_options(), options.target, str(ckpt_dir / "holdout.pt"), groups,
                            low)
    return model, test, _predict_rows(model, ds, test), len(train)


def _train_kfold(ds: Dataset, options: TrainOptions, spec: SplitSpec, ckpt_dir: Path, low=None):
    """Out-of-fold predictions of K fold fits, then a model of all rows; the last item lists what ended each
    fold's training. Under a time limit each fit gets an equal part of the time left when it starts."""
    n = len(ds)
    preds, seconds, bounds = [None] * n, [None] * n, [None] * n
    stops = []
    for k, (train, test) in enumerate(kfold(n, spec.folds, options.seed)):
        with time_share(spec.folds + 1 - k):
            fold = fit_table_model(ds, train, options.model_options(), options.target, str(ckpt_dir / f"fold{k}.pt"),
                                   low=low)
        stops.append(getattr(fold.estimator, "stopped_by_", None))
        pred, second, bound = _predict_rows(fold, ds, test)
        for j, i in enumerate(test):
            preds[i], seconds[i], bounds[i] = pred[j], second[j], bound[j]
    model = fit_table_model(ds, np.arange(n), options.model_options(), options.target, str(ckpt_dir / "all.pt"),
                            low=low)
    oof = (np.array(preds), np.array(seconds, dtype=np.float64), np.array(bounds, dtype=np.float64))
    return model, np.arange(n), oof, n, stops


def _report(ds: Dataset, rows: np.ndarray, pred: np.ndarray, second: np.ndarray) -> dict:
    if ds.task == "classify":
        classes = np.unique(ds.y)
        if second.shape[1] != len(classes):
            raise UserInputError("a class is missing from the training rows; use more rows or another seed", "split")
        return classification_report(np.searchsorted(classes, ds.y[rows]), second)
    return regression_report(ds.y[rows], pred, second, top_k=max(1, len(rows) // 10))


def _write_outputs(out_dir: Path, model: TableModel, metrics: dict, ds: Dataset, rows, pred, second, what: str) -> None:
    model.save(out_dir / "model")
    if ds.task == "classify":
        classes = np.unique(ds.y)
        reliability_plot(out_dir / "plots" / "reliability.png", np.searchsorted(classes, ds.y[rows]), second,
                         title=f"{what}: ROC-AUC {metrics['roc_auc']:.3f}, balanced accuracy {metrics['balanced_accuracy']:.3f}")
    else:
        title = f"{what}: MAE {metrics['mae']:.4g}, R² {metrics['r2']:.4f}"
        parity_plot(out_dir / "plots" / "parity.png", ds.y[rows], pred, second, _axis_label(model),
                    log=bool(metrics.get("log_target")), title=title)
    write_json(out_dir / "metrics.json", metrics)


def _axis_label(model: TableModel) -> str:
    unit = model.units.get(model.target)
    return f"{model.target} [{unit}]" if unit else model.target


def evaluate_table(model_dir: str, data: str, out: str) -> dict:
    """Score the model in *model_dir* on the labelled table *data*; write ``out/metrics.json`` and a plot."""
    model = TableModel.load(Path(model_dir) / "model")
    frame = read_table(data)
    require_columns(frame, [model.target], data)
    X = model.input_matrix(frame, data)
    if model.task == "classify":
        proba, in_domain = model.estimator.predict_full(X)
        labels = _labels_as_classes(frame[model.target], model.estimator.classes_, data)
        metrics = classification_report(labels, proba)
    else:
        y = numeric_column(frame, model.target, data)
        pred = model.estimator.predict_full(X)
        metrics = regression_report(y, pred.mean, pred.std, top_k=max(1, len(y) // 10))
        metrics.update(conformal_report(y, model.sigma_level_bounds(pred)))
        in_domain = pred.in_domain
    metrics.update(n_test=int(len(frame)), n_out_of_domain=int((~in_domain).sum()), target=model.target,
                   task=model.task, inputs=model.required_columns(), model=str(Path(model_dir).resolve()))
    out_dir = Path(out)
    if model.task == "classify":
        reliability_plot(out_dir / "plots" / "reliability.png", labels, proba,
                         title=f"ROC-AUC {metrics['roc_auc']:.3f}, balanced accuracy {metrics['balanced_accuracy']:.3f}")
    else:
        parity_plot(out_dir / "plots" / "parity.png", y, pred.mean, pred.std, _axis_label(model),
                    log=bool(getattr(model.estimator, "log_target", False)),
                    title=f"MAE {metrics['mae']:.4g}, R² {metrics['r2']:.4f}")
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def embed_table(model_dir: str, data: str, out: str, neighbors: int = 5, map_method: str = "auto",
                id_column: str | None = None) -> dict:
    """The model's learned representation of every row of *data*, nearest neighbours and a 2D map, in *out*/.

    The representation is the last hidden layer of every member of the network ensemble (inside a blend,
    the blend's network). Rows are named by *id_column*, else the formula column, else their row number;
    the map is coloured by the target when *data* holds it. Files as
    :func:`nnsurrogate.core.embedding.write_embedding`, plus ``embedding.json``.
    """
    from nnsurrogate.core.embedding import check_embed_options, write_embedding
    from nnsurrogate.tabular.table_model import representation_network

    check_embed_options(neighbors, map_method)
    model = TableModel.load(Path(model_dir) / "model")
    network = representation_network(model.estimator)
    if network is None:
        raise UserInputError("this model has no network that reads the table's inputs (a multi-fidelity model)",
                             model_dir)
    frame = read_table(data)
    if id_column is not None:
        require_columns(frame, [id_column], data)
    if len(frame) < 2:
        raise UserInputError("need at least 2 rows to embed and compare", data)
    X = model.input_matrix(frame, data)
    names = id_column or model.formula_column
    ids = [str(v) for v in frame[names]] if names else [str(i + 1) for i in range(len(frame))]
    color = None
    if model.target in frame.columns and model.task == "regress":
        color = numeric_column(frame, model.target, data)
    report = write_embedding(out, ids, network.embed(X), color, model.target, neighbors, map_method,
                             "learned representation")
    report.update(target=model.target, model=str(Path(model_dir).resolve()))
    write_json(Path(out) / "embedding.json", report)
    return report


def _labels_as_classes(values: pd.Series, classes: np.ndarray, where: str) -> np.ndarray:
    """Class indices of the labels in *values*; a label the model never saw is a user error."""
    names = [str(c) for c in classes]
    out = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        text = str(value).strip()
        if text not in names:
            try:  # 1.0 in a file for class 1
                text = str(classes.dtype.type(float(text))) if np.issubdtype(classes.dtype, np.number) else text
            except ValueError:
                pass
        if text not in names:
            raise UserInputError(f"label {value!r} is not one of the model's classes ({', '.join(names)})",
                                 f"{where}, row {i + 1}")
        out[i] = names.index(text)
    return out
