"""Symbolic regression: short analytic formulas from arrays of features.

* :class:`SymbolicRegressor` — scikit-learn estimator with Operon (default) and gplearn back ends;
  ``formula_`` in the input column names, ``complexity_``, a Pareto front ``pareto_``.
* :func:`distill_features` — fit a formula on chosen columns of a feature table and score it on
  held-out rows (used by ``nnsurrogate crystal distill``).
* :mod:`~nnsurrogate.symbolic.expression` — complexity, constant re-fitting and rounding, and the
  equivalence test of a found formula against a known one.
"""

from nnsurrogate.symbolic.distill import distill_features
from nnsurrogate.symbolic.expression import complexity, equivalent_up_to_constants
from nnsurrogate.symbolic.functions import DEFAULT_FUNCTIONS, FUNCTIONS
from nnsurrogate.symbolic.regressor import SymbolicRegressor

__all__ = ["DEFAULT_FUNCTIONS", "FUNCTIONS", "SymbolicRegressor", "complexity", "distill_features",
           "equivalent_up_to_constants"]
