"""``nnsurrogate table screen``: rank candidate rows by a trained model, flagging those out of domain.

Regression models rank by the prediction μ or by a confidence bound: the upper bound μ + κσ when
larger is better (optimistic exploration, as in the upper-confidence-bound rule of Srinivas et
al., ICML 2010), the lower bound μ − κσ with ``minimize``. Classification models rank by the
probability of one class (default: the last of the sorted classes, e.g. 1). Rows outside the
applicability domain (an input or an element fraction outside the training range, or members that
disagree far more than in training) are ranked like the others but marked ``in_domain = false``.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from nnsurrogate.core.errors import DataWarning, UserInputError
from nnsurrogate.core.files import refuse_overwriting
from nnsurrogate.core.tables import read_table, write_table
from nnsurrogate.tabular.table_model import TableModel


def screening_score(pred: np.ndarray, std: np.ndarray | None, kappa: float, minimize: bool) -> np.ndarray:
    """Score to sort by, larger first: μ + κσ, or −(μ − κσ) with *minimize*; shape (n,)."""
    pred = np.asarray(pred, dtype=np.float64)
    spread = np.zeros_like(pred) if std is None else np.asarray(std, dtype=np.float64)
    return -(pred - kappa * spread) if minimize else pred + kappa * spread


def screen_table(model_dir: str, candidates: str, top: int = 20, kappa: float = 0.0, minimize: bool = False,
                 positive_class: str | None = None, out: str | None = None) -> pd.DataFrame:
    """Rank every row of *candidates*; return the *top* rows (all rows go to *out* when given).

    Returns
    -------
    pandas.DataFrame
        Input columns, predictions, ``score``, ``rank`` (1 = best) and ``in_domain``, best first.
    """
    if top < 1:
        raise UserInputError(f"top must be at least 1, got {top}", "top")
    if not (math.isfinite(kappa) and kappa >= 0):
        raise UserInputError(f"kappa must be a number ≥ 0, got {kappa}", "kappa")
    if out:
        refuse_overwriting(out, candidates)
    model = TableModel.load(Path(model_dir) / "model")
    frame = read_table(candidates)
    result = model.predict_frame(frame, candidates)
    if model.task != "classify" and positive_class is not None:
        raise UserInputError(f"positive_class applies to classification models; this one predicts "
                             f"'{model.target}' as a number", "positive_class")
    if model.task == "classify":
        column = _class_column(model, positive_class)
        result["score"] = result[column].to_numpy() if not minimize else -result[column].to_numpy()
    else:
        result["score"] = screening_score(result[f"{model.target}_pred"], result[f"{model.target}_std"], kappa, minimize)
    order = np.argsort(-result["score"].to_numpy(), kind="stable")
    ranked = result.iloc[order].reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    ranked = ranked[[c for c in ranked.columns if c != "in_domain"] + ["in_domain"]]
    if out:
        write_table(ranked, out)
    n_out = int((~ranked["in_domain"].head(top)).sum())
    if n_out:
        warnings.warn(f"{n_out} of the top {min(top, len(ranked))} candidates are outside the training domain "
                      "(in_domain = false); their predictions are extrapolations", DataWarning, stacklevel=2)
    return ranked.head(top)


def _class_column(model: TableModel, positive_class: str | None) -> str:
    classes = [str(c) for c in model.estimator.classes_]
    label = classes[-1] if positive_class is None else str(positive_class)
    if label not in classes:
        raise UserInputError(f"class '{label}' is not one of the model's classes ({', '.join(classes)})", "positive_class")
    return f"p_{model.estimator.classes_[classes.index(label)]}"
