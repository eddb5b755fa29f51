"""``nnsurrogate table cv``: honest cross-validation of a table model, with a leak report first.

Every fold builds its own featurizer, scalers and networks from its training rows only; the test
rows of a fold are seen by nothing but the final prediction. Before training, the leak report
counts duplicated compounds and the test rows whose reduced formula is also on the training side
(``--groups formula`` makes that count zero by construction).

Outputs in ``OUT/``: ``metrics.json`` (per-fold metrics, ``<metric>_mean`` and ``<metric>_std`` over
folds, metrics of the pooled out-of-fold predictions, the leak report, CPU time),
``predictions.csv`` (out-of-fold prediction of every row, with its fold) and ``plots/parity.png``
(regression) or ``plots/reliability.png`` (classification). Finished folds are kept in
``OUT/.checkpoint/`` so that ``--resume`` continues an interrupted run.

A time limit bounds the whole cross-validation from the moment the table is read: each fold still to
fit gets an equal part of the time left when it starts (so time a fold did not need goes to the
later ones). ``metrics.json`` lists per fold the epochs its network reached (``epochs_run``) and what
ended its training (``stopped_by``).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnsurrogate.core.conformal import SIGMA_LEVELS
from nnsurrogate.core.engine.budget import time_limit_scope, time_share
from nnsurrogate.core.errors import DataWarning, UserInputError
from nnsurrogate.core.files import atomic_path, checkpoint_dir, write_json
from nnsurrogate.core.metrics import classification_report, conformal_report, regression_report, summarize_folds
from nnsurrogate.core.plots import parity_plot
from nnsurrogate.core.splits import CVSpec, Folds, cv_folds, leak_report
from nnsurrogate.core.tables import write_table
from nnsurrogate.tabular.conformal import ConformalRegressor
from nnsurrogate.tabular.dataset import Dataset, TableSpec, load_dataset
from nnsurrogate.tabular.estimators import ModelOptions, make_estimator, make_featurizer
from nnsurrogate.tabular.plots import reliability_plot
from nnsurrogate.tabular.table_model import TableModel, level_tag

GROUPINGS = ("none", "formula", "cluster")


@dataclass(frozen=True)
class CVOptions:
    """Cross-validation scheme: ``scheme`` (folds or matbench) and ``groups`` (none, formula, cluster)."""

    scheme: CVSpec = CVSpec()
    groups: str = "none"

    def __post_init__(self) -> None:
        if self.groups not in GROUPINGS:
            raise UserInputError(f"unknown grouping '{self.groups}'; use {', '.join(GROUPINGS)}", "groups")
        if self.scheme.kind == "matbench" and self.groups != "none":
            raise UserInputError("the matbench protocol is a plain shuffled 5-fold split; drop the grouping", "groups")


def fit_table_model(ds: Dataset, rows: np.ndarray, options: ModelOptions, target: str,
                    checkpoint: str | None = None, groups: np.ndarray | None = None,
                    low: LowFidelity | None = None) -> TableModel:
    """Fit featurizer (on *rows*), scalers and estimator on the rows *rows* of *ds*.

    *groups* (n,), for a grouped split, makes the conformal calibration rows come in whole groups too.
    *low*, a low-fidelity data set, makes the model a :class:`MultiFidelityRegressor` (see
    :func:`multi_fidelity_model`).
    """
    if low is not None:
        return multi_fidelity_model(ds, rows, options, target, low, checkpoint)
    featurizer = make_featurizer(ds.formula_column is not None)
    if featurizer is not None:
        featurizer.fit(ds.formulas[rows])
    estimator = make_estimator(options, ds.task, ds.y[rows], featurizer is not None, _fraction_columns(ds, featurizer))
    model = TableModel.create(estimator, ds.inputs, target, ds.formula_column, featurizer)
    extra = {"groups": groups[rows]} if groups is not None and isinstance(estimator, ConformalRegressor) else {}
    estimator.fit(model.input_matrix(ds.frame.iloc[rows], "training rows"), ds.y[rows], checkpoint=checkpoint, **extra)
    model.open_composition_box()
    return model


def _fraction_columns(ds: Dataset, featurizer, extra: int = 0) -> tuple[int, ...] | None:
    """Columns of the element fractions, the numeric inputs and *extra* trailing columns (for the fractions forest)."""
    if featurizer is None:
        return None
    names = list(featurizer.get_feature_names_out())
    n_comp = len(names)
    return tuple(j for j, name in enumerate(names) if name.startswith("frac_")) + tuple(
        range(n_comp, n_comp + len(ds.inputs) + extra))


@dataclass(frozen=True)
class LowFidelity:
    """A low-fidelity data set for a multi-fidelity model.

    Attributes
    ----------
    data : Dataset
        Low-fidelity rows (same formula column and numeric inputs as the high-fidelity table).
    method : {"stack", "delta", "joint"}
    withhold_test : bool
        Drop the low-fidelity rows of every compound outside the training rows (the test compounds'
        calculations are then unknown to the model, as for a compound nobody has computed).
    """

    data: Dataset
    method: str = "stack"
    withhold_test: bool = False


def multi_fidelity_model(ds: Dataset, rows: np.ndarray, options: ModelOptions, target: str, low: LowFidelity,
                         checkpoint: str | None = None) -> TableModel:
    """A :class:`MultiFidelityRegressor` on the rows *rows* of *ds*, with the low-fidelity rows of *low*.

    The low-fidelity model is a boosted-tree model on the composition features of every low-fidelity
    row; the high-fidelity model is the default estimator of the table (with the low-fidelity value and
    its known flag as two more inputs for ``stack``). The model keeps the computed values, so that a
    new compound with a calculation is predicted from it.
    """
    from nnsurrogate.tabular.dataset import row_keys
    from nnsurrogate.tabular.fidelity import MultiFidelityRegressor
    from nnsurrogate.tabular.tree_models import BoostedRegressor

    if ds.task != "regress":
        raise UserInputError("a low-fidelity data set needs a regression target", "low_fidelity")
    lf = low.data
    keep = np.ones(len(lf), dtype=bool)
    if low.withhold_test:
        keep = ~np.isin(lf.groups, ds.groups[np.setdiff1d(np.arange(len(ds)), rows)])
    featurizer = make_featurizer(True)
    featurizer.fit(np.concatenate([ds.formulas[rows], lf.formulas[keep]]))
    extra = {"stack": 2, "delta": 0, "joint": 1}[low.method]
    high = make_estimator(dataclasses.replace(options, conformal=None), "regress", ds.y[rows], True,
                          _fraction_columns(ds, featurizer, extra), hurdle=low.method != "delta")
    estimator = MultiFidelityRegressor(high, BoostedRegressor(random_state=options.seed), low.method, options.seed)
    if options.conformal:
        estimator = ConformalRegressor(estimator, method=options.conformal, random_state=options.seed)
    lookup = dict(zip(row_keys(lf.groups[keep], lf.X[keep]), lf.y[keep].astype(np.float64)))
    model = TableModel.create(estimator, ds.inputs, target, ds.formula_column, featurizer, lookup)
    X_low = model.base_inputs(lf.frame.iloc[np.flatnonzero(keep)], "low-fidelity rows")
    estimator.fit(model.input_matrix(ds.frame.iloc[rows], "training rows"), ds.y[rows], X_low=X_low, y_low=lf.y[keep],
                  checkpoint=checkpoint)
    model.open_composition_box()
    return model


def make_folds(ds: Dataset, cv: CVOptions, seed: int) -> Folds:
    """The folds of *cv* for *ds*: plain, grouped by reduced formula, or k-means clusters of the features."""
    if cv.groups == "formula":
        if ds.formula_column is None:
            raise UserInputError("grouping by formula needs a formula column", "groups, formula_column")
        return cv_folds(CVSpec("group", cv.scheme.folds), len(ds), seed, groups=ds.groups)
    if cv.groups == "cluster":
        featurizer = make_featurizer(ds.formula_column is not None)
        blocks = [featurizer.fit(ds.formulas).transform(ds.formulas)] if featurizer is not None else []
        features = np.concatenate(blocks + [ds.X], axis=1)
        return cv_folds(CVSpec("cluster", cv.scheme.folds), len(ds), seed, features=features)
    return cv_folds(cv.scheme, len(ds), seed)


def cross_validate(data: str, out: str, spec: TableSpec, options: ModelOptions, cv: CVOptions,
                   resume: bool = False, log: Callable[[str], None] | None = None, verbose: bool = True,
                   time_limit: float | None = None) -> dict:
    """Run the cross-validation of *data* and write ``out/{metrics.json, predictions.csv, plots/}``.

    Parameters
    ----------
    log : callable, optional
        Receives one-line messages: always the leak report, and each fold's score when *verbose*.
    time_limit : float, optional
        Wall-clock limit of the whole cross-validation, s, reading the table included; each fold
        still to fit gets an equal part of the time left when it starts.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    log = log or (lambda _msg: None)
    options.validate()
    with time_limit_scope(time_limit):  # checks the limit; its clock starts before the table is read
        ds = load_dataset(data, spec)
        folds = make_folds(ds, cv, options.seed)
        leaks = leak_report(ds.groups, folds)
        log(_leak_line(leaks, ds.formula_column is not None))
        if leaks["n_test_rows_seen_in_train"]:
            warnings.warn(f"{leaks['n_test_rows_seen_in_train']} test rows have their compound on the training side of "
                          "their fold; group the folds by formula (groups) to measure the error on new compounds",
                          DataWarning, stacklevel=2)
        ckpt = checkpoint_dir(out, resume)
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        groups = ds.groups if cv.groups == "formula" else None
        oof, reports = _run_folds(ds, folds, options, spec.target, ckpt, log if verbose else (lambda _msg: None),
                                  groups)
    metrics = _summary(ds, folds, oof, reports, leaks, cv, spec, options)
    metrics.update(epochs_run=oof["epochs_run"], stopped_by=oof["stopped_by"], time_limit=time_limit)
    metrics.update(fit_seconds=round(time.perf_counter() - start_wall, 3),
                   cpu_seconds=round(time.process_time() - start_cpu, 3))
    _write_outputs(Path(out), ds, spec.target, oof, metrics)
    shutil.rmtree(ckpt, ignore_errors=True)
    return metrics


def _run_folds(ds: Dataset, folds: Folds, options: ModelOptions, target: str, ckpt: Path, log,
               groups: np.ndarray | None = None) -> tuple[dict, list]:
    """Out-of-fold predictions (``pred``, ``std`` or ``proba``, ``fold``), the epochs and the reason the
    training of each fold ended (``epochs_run``, ``stopped_by``: lists in fold order), and each fold's metrics.

    *groups*: the grouping of the folds, which the conformal calibration rows follow as well. Under a
    time limit each fold still to fit gets an equal part of the time left when it starts."""
    n = len(ds)
    oof = {"fold": np.full(n, -1), "pred": np.full(n, np.nan), "std": np.full(n, np.nan), "proba": None,
           "bounds": np.full((n, 4), np.nan), "epochs_run": [], "stopped_by": []}
    reports, fitted = [], []
    to_fit = [not (ckpt / f"fold{k}.npz").is_file() for k in range(len(folds))]
    for k, (train, test) in enumerate(folds):
        done, took = ckpt / f"fold{k}.npz", " (kept from the interrupted run)"
        if done.is_file():
            saved = np.load(done, allow_pickle=False)
            pred, second, bounds = saved["pred"], saved["second"], saved["bounds"] if "bounds" in saved.files else np.full((len(test), 4), np.nan)
            epochs, stop = _saved_training(saved)
        else:
            log(f"fold {k + 1}/{len(folds)}: fitting on {len(train)} rows …")
            started = time.perf_counter()
            with time_share(sum(to_fit[k:])):
                model = fit_table_model(ds, train, options, target, checkpoint=str(ckpt / f"fold{k}.pt"),
                                        groups=groups)
            pred, second, bounds = _predict(model, ds, test)
            epochs, stop = getattr(model.estimator, "n_epochs_", None), getattr(model.estimator, "stopped_by_", None)
            with atomic_path(done) as tmp:
                with open(tmp, "wb") as fh:
                    np.savez(fh, pred=pred, second=second, bounds=bounds, epochs_run=np.array(-1 if epochs is None
                                                                                             else int(epochs)),
                             stopped_by=np.array(stop or ""))
            fitted.append(time.perf_counter() - started)
            took = f" in {_duration(fitted[-1])}"
        oof["epochs_run"].append(epochs)
        oof["stopped_by"].append(stop)
        oof["fold"][test] = k
        if ds.task == "classify":
            oof["proba"] = np.zeros((n, second.shape[1])) if oof["proba"] is None else oof["proba"]
            oof["proba"][test] = second
            reports.append(classification_report(_class_index(ds, test), second))
        else:
            oof["pred"][test], oof["std"][test], oof["bounds"][test] = pred, second, bounds
            reports.append({**regression_report(ds.y[test], pred, second), **conformal_report(ds.y[test], bounds)})
        key = "roc_auc" if ds.task == "classify" else "mae"
        left = len(folds) - k - 1
        eta = f"; about {_duration(np.mean(fitted) * left)} left" if fitted and left else ""
        log(f"fold {k + 1}/{len(folds)}: {len(train)} train, {len(test)} test rows, {key} {reports[-1][key]:.4g}"
            f"{took}{eta}")
    return oof, reports


def _saved_training(saved) -> tuple[int | None, str | None]:
    """(epochs run, what ended the training) of a fold kept in a checkpoint file (``None`` where not saved)."""
    epochs = int(saved["epochs_run"]) if "epochs_run" in saved.files else -1
    stop = str(saved["stopped_by"]) if "stopped_by" in saved.files else ""
    return (epochs if epochs >= 0 else None), (stop or None)


def _duration(seconds: float) -> str:
    """``"40 s"``, ``"3.5 min"``, ``"1.2 h"``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _predict(model: TableModel, ds: Dataset, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regression: (mean, std, conformal bounds (n, 4)); classification: (class index, probabilities (n, K)
    over all classes of *ds*, an empty (n, 0) array)."""
    X = model.input_matrix(ds.frame.iloc[rows], "test rows")
    if ds.task == "classify":
        proba_fold = model.estimator.predict_proba(X)
        classes = np.unique(ds.y)
        proba = np.zeros((len(rows), len(classes)))
        for j, label in enumerate(model.estimator.classes_):
            proba[:, int(np.searchsorted(classes, label))] = proba_fold[:, j]
        return np.argmax(proba, axis=1).astype(np.float64), proba, np.zeros((len(rows), 0))
    pred = model.estimator.predict_full(X)
    return pred.mean, pred.std, model.sigma_level_bounds(pred)


def _class_index(ds: Dataset, rows: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.unique(ds.y), ds.y[rows])


def _summary(ds, folds, oof, reports, leaks, cv, spec, options) -> dict:
    if ds.task == "classify":
        pooled = classification_report(_class_index(ds, np.arange(len(ds))), oof["proba"])
    else:
        pooled = {**regression_report(ds.y, oof["pred"], oof["std"]), **conformal_report(ds.y, oof["bounds"])}
    metrics = {
        **summarize_folds(reports),
        "folds": reports,
        "pooled": pooled,
        "task": ds.task,
        "target": spec.target,
        "formula_column": ds.formula_column,
        "inputs": ds.inputs,
        "cv": {"scheme": cv.scheme.kind, "folds": len(folds), "groups": cv.groups, "seed": options.seed},
        "n_rows": len(ds),
        "n_duplicates_in_file": ds.n_duplicates,
        "duplicates": spec.duplicates,
        "leak_report": leaks,
        "ensemble": options.ensemble,
        "conformal": options.conformal,
    }
    if ds.task == "classify":
        metrics["classes"] = [c.item() if hasattr(c, "item") else c for c in np.unique(ds.y)]
    return metrics


def _write_outputs(out: Path, ds: Dataset, target: str, oof: dict, metrics: dict) -> None:
    table = ds.frame[[c for c in [ds.formula_column, *ds.inputs] if c]].copy()
    table[target] = ds.y
    table["fold"] = oof["fold"]
    if ds.task == "classify":
        classes = metrics["classes"]
        for j, label in enumerate(classes):
            table[f"p_{label}"] = oof["proba"][:, j]
        table[f"{target}_pred"] = np.asarray(classes, dtype=object)[np.argmax(oof["proba"], axis=1)]
        reliability_plot(out / "plots" / "reliability.png", _class_index(ds, np.arange(len(ds))), oof["proba"],
                         title=f"out-of-fold: ROC-AUC {metrics['roc_auc_mean']:.3f} ± {metrics['roc_auc_std']:.3f}")
    else:
        table[f"{target}_pred"], table[f"{target}_std"] = oof["pred"], oof["std"]
        if not np.all(np.isnan(oof["bounds"])):
            for j, (side, level) in enumerate((("low", 0), ("high", 0), ("low", 1), ("high", 1))):
                table[f"{target}_{side}_{level_tag(SIGMA_LEVELS[level])}"] = oof["bounds"][:, j]
        parity_plot(out / "plots" / "parity.png", ds.y, oof["pred"], oof["std"], target,
                    title=f"out-of-fold: MAE {metrics['mae_mean']:.4g} ± {metrics['mae_std']:.2g}")
    write_table(table, out / "predictions.csv")
    write_json(out / "metrics.json", metrics)


def _leak_line(leaks: dict, has_formula: bool) -> str:
    what = "compound" if has_formula else "input"
    return (f"leak report: {leaks['n_rows']} rows, {leaks['n_groups']} distinct {what}s "
            f"({leaks['n_duplicate_rows']} rows share a {what} with another row); "
            f"{leaks['n_test_rows_seen_in_train']} test rows "
            f"({100 * leaks['fraction_test_rows_seen_in_train']:.1f} %) have their {what} in the training folds")
