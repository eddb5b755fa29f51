"""Distillation: a short formula for a target from a few chosen feature columns.

SA-GAT-SR (Liu, Tang, Tretiak, Duan & Zhou, arXiv 2505.00625, 2025) screens a wide feature space
with learned attention weights and hands the top-ranked features to symbolic regression, which is
much faster on a handful of columns than on all of them. :func:`distill_features` is that last
step for any table: it holds out test rows, fits a :class:`SymbolicRegressor` on the chosen columns
of the rest and reports the formula with its held-out accuracy and timing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from nnsurrogate.core import metrics
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.tables import numeric_matrix
from nnsurrogate.symbolic.regressor import SymbolicRegressor


def distill_features(X: pd.DataFrame, y, columns: Sequence[str], time_limit: float | None = None, seed: int = 0,
                     **kw: Any) -> dict[str, Any]:
    """Fit a formula y ≈ f(X[columns]) and score it on held-out rows.

    Parameters
    ----------
    X : pandas.DataFrame, shape (n_samples, n_columns)
        Feature table; only *columns* are used, and the formula is written in their names.
    y : array-like, shape (n_samples,)
        Target (e.g. a DFT property, or a network's prediction of it), any unit.
    columns : sequence of str
        Feature columns to distil, e.g. the top-k by attention weight.
    time_limit : float, optional
        Seconds of search on top of the generation budget (``None``: generations alone, reproducible).
    seed : int
        Seeds the train/test split and the search.
    **kw
        ``test_size`` (default 0.2; fraction of rows held out) and any :class:`SymbolicRegressor`
        parameter (``backend``, ``functions``, ``max_length``, ``generations``, ``target_r2``,
        ``population_size``, ``verbose`` …).

    Returns
    -------
    dict
        JSON-ready: ``formula`` (str), ``complexity`` (int, node count), ``r2_test``, ``mae_test``
        (target units), ``r2_train``, ``fit_seconds`` (search + simplification), ``search_seconds``,
        ``generations``, ``stopped_by``, ``columns``, ``n_train``, ``n_test``, ``backend`` and
        ``pareto``: a list of ``{complexity, formula, r2, mae, r2_test, mae_test, selected}``,
        simplest first (``r2``/``mae`` on the validation rows of the training part).

    Raises
    ------
    UserInputError
        No columns, a missing or non-numeric column, NaN or infinity, a target of another length,
        too few rows.
    """
    kw = dict(kw)
    test_size = float(kw.pop("test_size", 0.2))
    features, target = _validated(X, y, columns)
    if not 0.0 < test_size < 1.0:
        raise UserInputError(f"test_size must be between 0 and 1, got {test_size}", "test_size")
    X_tr, X_te, y_tr, y_te = train_test_split(features, target, test_size=test_size, random_state=seed)
    model = SymbolicRegressor(time_limit=time_limit, random_state=seed, **kw).fit(X_tr, y_tr)
    pred_tr, pred_te = model.predict(X_tr), model.predict(X_te)
    return {
        "formula": model.formula_,
        "complexity": int(model.complexity_),
        "r2_test": _finite(metrics.r2(y_te, pred_te)),
        "mae_test": _finite(metrics.mae(y_te, pred_te)),
        "r2_train": _finite(metrics.r2(y_tr, pred_tr)),
        "fit_seconds": float(model.fit_seconds_),
        "search_seconds": float(model.search_seconds_),
        "generations": int(model.n_generations_),
        "stopped_by": model.stopped_by_,
        "columns": list(columns),
        "n_train": int(len(y_tr)),
        "n_test": int(len(y_te)),
        "backend": model.backend,
        "pareto": pareto_records(model, X_te, y_te),
    }


def pareto_records(model: SymbolicRegressor, X_test: pd.DataFrame | np.ndarray, y_test: np.ndarray) -> list[dict]:
    """The fitted model's Pareto front as JSON-ready rows, each with its R² and MAE on (*X_test*, *y_test*)."""
    table = pareto_with_test(model, X_test, y_test)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in table[["complexity", "formula", "r2", "mae", "r2_test", "mae_test", "selected"]].to_dict("records")]


def pareto_with_test(model: SymbolicRegressor, X_test: pd.DataFrame | np.ndarray, y_test: np.ndarray) -> pd.DataFrame:
    """``model.pareto_`` with two more columns: ``r2_test`` and ``mae_test`` of every formula."""
    from nnsurrogate.symbolic.expression import evaluate

    X_arr = np.asarray(X_test, dtype=np.float64)
    y_arr = np.asarray(y_test, dtype=np.float64)
    r2s, maes = [], []
    for expr in model.pareto_exprs_:
        pred = evaluate(expr, model.symbols_, X_arr)
        ok = np.all(np.isfinite(pred))
        r2s.append(_finite(metrics.r2(y_arr, pred)) if ok and len(y_arr) > 1 else None)
        maes.append(_finite(metrics.mae(y_arr, pred)) if ok else None)
    table = model.pareto_.copy()
    table["r2_test"], table["mae_test"] = r2s, maes
    return table


def _validated(X: pd.DataFrame, y, columns: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    where = "distill_features"
    if not isinstance(X, pd.DataFrame):
        raise UserInputError(f"X must be a pandas DataFrame, got {type(X).__name__}", where)
    columns = [str(c) for c in columns]
    if not columns:
        raise UserInputError("no feature columns to distil", where)
    if len(set(columns)) != len(columns):
        raise UserInputError("a feature column is listed twice", where)
    values = numeric_matrix(X, columns, "features")
    target = pd.to_numeric(pd.Series(np.asarray(y).ravel()), errors="coerce").to_numpy(dtype=np.float64)
    if target.size != len(X):
        raise UserInputError(f"the target has {target.size} values but the table has {len(X)} rows", where)
    if not np.all(np.isfinite(target)):
        row = int(np.flatnonzero(~np.isfinite(target))[0]) + 1
        raise UserInputError("the target has a missing, non-numeric or infinite value", f"target, row {row}")
    if len(X) < 5:
        raise UserInputError(f"at least 5 rows are needed, found {len(X)}", where)
    return pd.DataFrame(values, columns=columns), target


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None
