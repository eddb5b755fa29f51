"""Distillation inputs: the screened features of a trained SA-GAT run, ready for symbolic regression.

SA-GAT-SR (Liu et al., 2025) hands the features with the largest attention weights to symbolic
regression. A ``crystal train --model sagat`` run leaves ``feature_importance.csv`` and
``structure_features.parquet`` (per-structure means of every per-atom feature, the split, the true
target and the network's prediction). :func:`load_distill_inputs` turns them into training and test
tables; :func:`distill` fits any scikit-learn-style formula finder on the training structures (to
the network's predictions, or to the true target) and scores it on the test structures against the
true target, beside the network's own test score.

This module does not import the ``symbolic`` pillar (pillars never import each other): the caller
(:mod:`nnsurrogate.recipes.distill`, the benchmark) passes a factory of the regressor, e.g.
``lambda: SymbolicRegressor(time_limit=30)``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnsurrogate.core import metrics
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.tables import read_table, require_columns
from nnsurrogate.crystal.features import feature_names

FIT_TO = ("network", "target")
STRUCTURE_TABLE = "structure_features.parquet"
IMPORTANCE_FILE = "feature_importance.csv"


@dataclass(frozen=True)
class DistillInputs:
    """Per-structure feature tables of a run, split as the network was.

    Attributes
    ----------
    train, test : pandas.DataFrame, shapes (n_train, 178) and (n_test, 178)
        Per-structure mean features (columns named as :func:`feature_names`).
    y_train, y_test : numpy.ndarray
        True targets.
    net_train, net_test : numpy.ndarray
        The network's predictions (in-sample on train, held out on test).
    ranking : list of str
        Feature names by decreasing attention weight.
    target : str
    """

    train: pd.DataFrame
    test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    net_train: np.ndarray
    net_test: np.ndarray
    ranking: list[str]
    target: str

    def top(self, k: int) -> list[str]:
        """The *k* highest-ranked features that vary over the training structures."""
        varying = [name for name in self.ranking if np.ptp(self.train[name].to_numpy()) > 0]
        if k < 1:
            raise UserInputError(f"top_k must be at least 1, got {k}", "top_k")
        return varying[:k]

    def network_scores(self) -> dict[str, float]:
        """The network's test R² and MAE (target units)."""
        return {"r2_test": metrics.r2(self.y_test, self.net_test), "mae_test": metrics.mae(self.y_test, self.net_test)}


def load_distill_inputs(run_dir: str | Path) -> DistillInputs:
    """Read the distillation files of an SA-GAT training run folder (``crystal train --out RUN``)."""
    run = Path(run_dir)
    table_path, importance_path = run / STRUCTURE_TABLE, run / IMPORTANCE_FILE
    if not table_path.is_file() or not importance_path.is_file():
        raise UserInputError(f"no {STRUCTURE_TABLE} and {IMPORTANCE_FILE} here: distillation needs the output "
                             "folder of an SA-GAT training run", str(run))
    table = read_table(table_path)
    names = list(feature_names())
    require_columns(table, ["split", "target", "prediction", *names], str(table_path))
    ranking = read_table(importance_path)
    require_columns(ranking, ["feature", "importance"], str(importance_path))
    train, test = table[table["split"] == "train"], table[table["split"] == "test"]
    if len(train) < 5 or len(test) < 2:
        raise UserInputError(f"distillation needs a hold-out run (≥ 5 training and ≥ 2 test structures), found "
                             f"{len(train)} and {len(test)}; k-fold runs have no training rows to fit", str(table_path))
    order = ranking.sort_values("importance", ascending=False, kind="stable")["feature"].astype(str).tolist()
    unknown = [name for name in order if name not in names]
    if unknown:
        raise UserInputError(f"unknown feature '{unknown[0]}' in the importance table", str(importance_path))
    target = _target_name(run)
    return DistillInputs(train[names].reset_index(drop=True), test[names].reset_index(drop=True),
                         train["target"].to_numpy(float), test["target"].to_numpy(float),
                         train["prediction"].to_numpy(float), test["prediction"].to_numpy(float), order, target)


def _target_name(run: Path) -> str:
    """The target's name from the run's ``model/model.json`` (header only; no weights are read)."""
    try:
        return str(json.loads((run / "model" / "model.json").read_text(encoding="utf-8"))["target"]["name"])
    except (OSError, ValueError, KeyError, TypeError):
        return "target"


def distill(inputs: DistillInputs, columns: Sequence[str], make_regressor: Callable[[], Any],
            fit_to: str = "network") -> dict[str, Any]:
    """Fit a formula on *columns* of the training structures and score it on the test structures.

    Parameters
    ----------
    inputs : DistillInputs
    columns : sequence of str
        Features the formula may use.
    make_regressor : callable
        Returns an unfitted estimator with ``fit(DataFrame, y)`` and ``predict(DataFrame)``, and
        optionally ``formula_`` and ``complexity_`` (as :class:`nnsurrogate.symbolic.SymbolicRegressor`).
    fit_to : {"network", "target"}
        Fit the network's predictions (distillation of the network) or the true target.

    Returns
    -------
    dict
        ``formula``, ``complexity``, ``r2_test`` and ``mae_test`` against the true target,
        ``fidelity_r2_test`` against the network's test predictions, ``fit_seconds`` (wall clock of
        ``fit``), ``columns``, ``fit_to``.
    """
    if fit_to not in FIT_TO:
        raise UserInputError(f"unknown fit_to '{fit_to}'; choose one of {', '.join(FIT_TO)}", "fit_to")
    columns = list(columns)
    y_fit = inputs.net_train if fit_to == "network" else inputs.y_train
    model = make_regressor()
    start = time.perf_counter()
    model.fit(inputs.train[columns], y_fit)
    seconds = time.perf_counter() - start
    pred = np.asarray(model.predict(inputs.test[columns]), dtype=float)
    finite = bool(np.all(np.isfinite(pred)))
    complexity = getattr(model, "complexity_", None)
    return {
        "formula": str(getattr(model, "formula_", "")),
        "complexity": None if complexity is None else int(complexity),
        "r2_test": metrics.r2(inputs.y_test, pred) if finite else None,
        "mae_test": metrics.mae(inputs.y_test, pred) if finite else None,
        "fidelity_r2_test": metrics.r2(inputs.net_test, pred) if finite else None,
        "fit_seconds": seconds,
        "columns": columns,
        "fit_to": fit_to,
    }
