"""From raw search results to a Pareto front of readable formulas, and the choice of one.

Each raw expression from a back end is polished — simplified by sympy, its constants re-fitted in
float64 on the training rows and rounded to the fewest digits that cost almost nothing (see
:mod:`nnsurrogate.symbolic.expression`) — then scored on the validation rows. The front keeps the
formulas that no other formula beats on both complexity and validation error. The chosen formula
is the simplest one whose validation mean squared error is within a relative tolerance of the best.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sympy

from nnsurrogate.core import metrics
from nnsurrogate.symbolic.expression import (complexity, evaluate, formula_string, is_finite_form, parametrize,
                                             refit_constants, round_constants, simplify, snap_constants)

PARETO_COLUMNS = ("complexity", "formula", "r2", "mae", "mse", "r2_train", "selected")


@dataclass(frozen=True)
class Candidate:
    """A polished formula with its size and errors (validation unless said otherwise); ``squared_errors``:
    its squared error on each validation row, (n_val,), for comparing two formulas row by row."""

    expr: sympy.Expr
    complexity: int
    mse: float
    r2: float
    mae: float
    r2_train: float
    squared_errors: np.ndarray | None = field(default=None, compare=False, repr=False)


def prefilter(raw: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol], X_val: np.ndarray,
              y_val: np.ndarray) -> list[sympy.Expr]:
    """The raw expressions worth polishing: each has a lower validation error than every smaller one.

    Back ends rank their fronts by training error, so their longest members often only fit the
    noise; dropping those before the (slow) polishing keeps the cost down without changing the
    chosen formula, which is never longer than a formula with a lower validation error.
    """
    scored = []
    for expr in {sympy.srepr(e): e for e in raw}.values():
        pred = evaluate(expr, symbols, X_val)
        if np.all(np.isfinite(pred)):
            scored.append((complexity(expr), float(np.mean((pred - y_val) ** 2)), expr))
    kept, best = [], math.inf
    for size, mse, expr in sorted(scored, key=lambda t: (t[0], t[1])):
        if mse < best:
            kept.append(expr)
            best = mse
    return kept


def polish(expr: sympy.Expr, symbols: Sequence[sympy.Symbol], X: np.ndarray, y: np.ndarray,
           digits: int = 5, snap_tolerance: float = 1e-3) -> sympy.Expr | None:
    """Simplify *expr*, re-fit and round its constants on (*X*, *y*); ``None`` if it is undefined on a row.

    Parameters
    ----------
    expr : sympy.Expr
    symbols : sequence of sympy.Symbol, one per column of *X*
    X : numpy.ndarray, shape (n_samples, n_features)
        Training inputs.
    y : numpy.ndarray, shape (n_samples,)
    digits : int
        Most significant digits of a constant.
    snap_tolerance : float
        Relative increase of the training mean squared error allowed when rounding a constant.
    """
    expr = simplify(expr)
    if not is_finite_form(expr):
        return None
    par = refit_constants(parametrize(expr), symbols, X, y)
    snapped = snap_constants(par, symbols, X, y, tolerance=snap_tolerance, digits=digits)
    out = snapped.substitute()
    if np.any(snapped.values != np.round(snapped.values)) or np.array_equal(snapped.values, par.values):
        out = round_constants(out, digits)
    else:  # a constant became 0 or an integer: terms may cancel or merge
        out = round_constants(simplify(out), digits)
    if not is_finite_form(out) or not np.all(np.isfinite(evaluate(out, symbols, X))):
        return None
    return out


def score(expr: sympy.Expr, symbols: Sequence[sympy.Symbol], X_train: np.ndarray, y_train: np.ndarray,
          X_val: np.ndarray, y_val: np.ndarray) -> Candidate | None:
    """Size and validation errors of *expr*; ``None`` when it is not finite on a validation row."""
    pred = evaluate(expr, symbols, X_val)
    if not np.all(np.isfinite(pred)):
        return None
    fit = evaluate(expr, symbols, X_train)
    r2_train = metrics.r2(y_train, fit) if len(y_train) > 1 else math.nan
    r2 = metrics.r2(y_val, pred) if len(y_val) > 1 else math.nan
    squared = (pred - y_val) ** 2
    return Candidate(expr, complexity(expr), float(np.mean(squared)), r2, metrics.mae(y_val, pred), r2_train, squared)


def pareto_front(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The non-dominated candidates, simplest first: each one has a lower validation error than every simpler one."""
    unique: dict[str, Candidate] = {}
    for cand in candidates:
        key = sympy.srepr(cand.expr)
        if key not in unique or cand.mse < unique[key].mse:
            unique[key] = cand
    front: list[Candidate] = []
    for cand in sorted(unique.values(), key=lambda c: (c.complexity, c.mse)):
        if not front or cand.mse < front[-1].mse:
            front.append(cand)
    return front


def select(front: Sequence[Candidate], tolerance: float, noise: float = 0.0) -> int:
    """Index of the simplest front member within *tolerance* or within noise of the best.

    A member is close enough when its validation MSE exceeds the best one's by at most
    ``max(tolerance · MSE_best, noise · SE)``, SE being the standard error of the mean of the
    row-by-row differences of squared errors d_i = e²_i − e²_best,i (the one-standard-error rule
    of Breiman et al., *Classification and Regression Trees* (1984), on paired validation errors):
    a longer formula whose lower error the validation rows cannot tell from chance is not chosen.
    """
    if not front:
        raise ValueError("the Pareto front is empty")
    best = min(front, key=lambda c: c.mse)
    for i, cand in enumerate(front):
        allowed = tolerance * best.mse + 1e-300
        if noise > 0 and cand.squared_errors is not None and best.squared_errors is not None \
                and len(cand.squared_errors) > 1:
            d = np.asarray(cand.squared_errors) - np.asarray(best.squared_errors)
            allowed = max(allowed, noise * float(np.std(d, ddof=1)) / math.sqrt(len(d)))
        if cand.mse - best.mse <= allowed:
            return i
    return front.index(best)


def front_table(front: Sequence[Candidate], selected: int) -> pd.DataFrame:
    """The front as a table with :data:`PARETO_COLUMNS` (errors on the validation rows)."""
    rows = [{"complexity": c.complexity, "formula": formula_string(c.expr), "r2": c.r2, "mae": c.mae, "mse": c.mse,
             "r2_train": c.r2_train, "selected": i == selected} for i, c in enumerate(front)]
    return pd.DataFrame(rows, columns=list(PARETO_COLUMNS))
