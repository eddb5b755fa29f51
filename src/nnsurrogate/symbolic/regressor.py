"""``SymbolicRegressor``: a scikit-learn estimator that finds a short formula y ≈ f(x).

Two search engines behind one API: Operon (``pyoperon``, C++, constants fitted by
Levenberg–Marquardt; the default and much faster) and gplearn (pure Python genetic programming).
Whatever the engine, the result is a sympy expression in the input column names, simplified, its
constants re-fitted in float64 and rounded; :attr:`formula_` is its string and :meth:`predict`
evaluates exactly that expression, so the printed formula reproduces the predictions.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import sympy
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from nnsurrogate.core.engine.budget import current_deadline
from nnsurrogate.core.errors import DataWarning
from nnsurrogate.symbolic.export import formula_exports
from nnsurrogate.symbolic.expression import complexity, evaluate, formula_string, make_symbols, round_constants
from nnsurrogate.symbolic.functions import check_functions
from nnsurrogate.symbolic.gplearn_backend import GplearnSearch
from nnsurrogate.symbolic.operon_backend import OperonSearch
from nnsurrogate.symbolic.pareto import Candidate, front_table, pareto_front, polish, prefilter, score, select
from nnsurrogate.symbolic.search import Budget, run_search, search_bar

BACKENDS = {"operon": OperonSearch, "gplearn": GplearnSearch}
#: Generations each back end runs when ``generations`` is not given.
DEFAULT_GENERATIONS = {"operon": 200, "gplearn": 20}
#: Fewer rows than this: the validation rows are the training rows (no separate hold-out).
MIN_ROWS_FOR_VALIDATION = 10


class SymbolicRegressor(RegressorMixin, BaseEstimator):
    """Symbolic regression: an analytic formula for y(x), with a Pareto front of accuracy vs size.

    The training rows are split into a search part and a validation part (``validation_fraction``).
    The back end evolves expressions on the search part; every expression it ends with is
    simplified by sympy, its constants re-fitted and rounded, and scored on the validation part.
    The formulas that no simpler one beats form :attr:`pareto_`; the chosen formula is the simplest
    whose validation mean squared error is within ``selection_tolerance`` of the best, or within
    ``selection_noise`` standard errors of it (:func:`~nnsurrogate.symbolic.pareto.select`).

    Parameters
    ----------
    backend : {"operon", "gplearn"}
        Search engine.
    functions : sequence of str or str, optional
        Allowed operators (names in :mod:`nnsurrogate.symbolic.functions`); default
        add, sub, mul, div, sqrt, exp, log.
    max_length : int
        Most nodes of a searched expression tree (Operon: a hard limit; gplearn: longer programs are
        not offered as candidates).
    time_limit : float, optional
        Seconds of search, on top of the generations (checked between chunks of generations, so a
        run may overshoot by about a second; simplification of the results comes on top). ``None``
        (the default): no wall-clock limit, so the same ``random_state`` gives the same formula on
        any machine, busy or not.
    generations : int, optional
        Generations of the search; ``None``: the back end's default
        (:data:`DEFAULT_GENERATIONS`: Operon 200, about 15–40 s on tables of a few thousand rows on
        one core; gplearn 20, about as long).
    population_size : int
    validation_fraction : float
        Fraction of the rows held out to score formulas (0 < f < 1); below 10 rows the training
        rows are used.
    selection_tolerance : float
        Relative excess of validation MSE over the best formula's that a simpler formula may have
        and still be chosen.
    selection_noise : float
        Standard errors of the paired validation-error difference within which a simpler formula
        counts as as good as the best (1: the one-standard-error rule; 0: the tolerance alone).
    target_r2 : float, optional
        Stop the search early once a formula reaches this validation R².
    digits : int
        Most significant digits of the constants in the formula.
    snap_tolerance : float
        Relative increase of the training MSE allowed when rounding a constant to fewer digits.
    n_threads : int
        Threads of the back end.
    random_state : int, RandomState or None
    verbose : int
        ``1`` draws a progress bar of the generations on stderr.

    Attributes
    ----------
    sympy_expr_ : sympy.Expr
        The chosen formula, in symbols named after the inputs (``feature_names_in_`` for a
        DataFrame, else ``x0, x1, …``).
    formula_ : str
        ``sympy_expr_`` as sympy prints it (constants in their shortest form).
    complexity_ : int
        Node count of ``sympy_expr_`` (:func:`nnsurrogate.symbolic.expression.complexity`).
    pareto_ : pandas.DataFrame
        Columns ``complexity, formula, r2, mae, mse`` (on the validation rows), ``r2_train``,
        ``selected``; simplest first.
    pareto_exprs_ : tuple of sympy.Expr
        The formulas of :attr:`pareto_`, row by row.
    symbols_ : tuple of sympy.Symbol
        The input symbols, in column order.
    n_generations_ : int
    search_seconds_, fit_seconds_ : float
    stopped_by_ : str
        ``"time limit"``, ``"generations"``, ``"target r2"`` or ``"constant target"``.
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray of str
        Only when fitted on a DataFrame with string column names.
    """

    def __init__(self, backend: str = "operon", functions=None, max_length: int = 30, time_limit: float | None = None,
                 generations: int | None = None, population_size: int = 500, validation_fraction: float = 0.2,
                 selection_tolerance: float = 0.05, selection_noise: float = 1.0, target_r2: float | None = None,
                 digits: int = 5,
                 snap_tolerance: float = 1e-3, n_threads: int = 1, random_state=None, verbose: int = 0) -> None:
        self.backend = backend
        self.functions = functions
        self.max_length = max_length
        self.time_limit = time_limit
        self.generations = generations
        self.population_size = population_size
        self.validation_fraction = validation_fraction
        self.selection_tolerance = selection_tolerance
        self.selection_noise = selection_noise
        self.target_r2 = target_r2
        self.digits = digits
        self.snap_tolerance = snap_tolerance
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self) -> tuple[str, ...]:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        for name, low in (("max_length", 3), ("population_size", 2), ("digits", 1), ("n_threads", 1)):
            if int(getattr(self, name)) < low:
                raise ValueError(f"{name} must be at least {low}, got {getattr(self, name)!r}")
        if self.time_limit is not None and not float(self.time_limit) > 0:
            raise ValueError(f"time_limit must be positive, got {self.time_limit!r}")
        if self.generations is not None and int(self.generations) < 1:
            raise ValueError(f"generations must be at least 1 or None, got {self.generations!r}")
        if not 0.0 < float(self.validation_fraction) < 1.0:
            raise ValueError(f"validation_fraction must be between 0 and 1, got {self.validation_fraction!r}")
        if float(self.selection_tolerance) < 0 or float(self.snap_tolerance) < 0 or float(self.selection_noise) < 0:
            raise ValueError("selection_tolerance, selection_noise and snap_tolerance must be ≥ 0")
        return check_functions(self.functions)

    def _split(self, n: int, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        """Indices (search, validation); both are all rows when there are too few rows to hold some out."""
        if n < MIN_ROWS_FOR_VALIDATION:
            every = np.arange(n)
            return every, every
        n_val = min(max(int(round(self.validation_fraction * n)), 2), n - 2)
        order = rng.permutation(n)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def fit(self, X, y):
        """Search for formulas on (*X*, *y*) and keep the chosen one.

        Parameters
        ----------
        X : array-like or pandas.DataFrame, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)

        Returns
        -------
        self
        """
        started = time.perf_counter()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        functions = self._check_params()
        if X.shape[0] < 2:
            raise ValueError(f"SymbolicRegressor needs at least 2 samples, got {X.shape[0]} sample")
        names = [str(n) for n in getattr(self, "feature_names_in_", [f"x{j}" for j in range(X.shape[1])])]
        self.symbols_ = make_symbols(names, X)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(0, 2 ** 31 - 1))
        fit_idx, val_idx = self._split(X.shape[0], rng)
        if np.ptp(y) == 0:
            front, result = [self._constant(float(y[0]), X, y, fit_idx, val_idx)], None
        else:
            result = self._search(X, y, fit_idx, val_idx, functions, seed, started)
            front = self._front(result.candidates, X, y, fit_idx, val_idx)
        chosen = select(front, float(self.selection_tolerance), float(self.selection_noise))
        self.sympy_expr_ = front[chosen].expr
        self.formula_ = formula_string(self.sympy_expr_)
        self.complexity_ = complexity(self.sympy_expr_)
        self.pareto_ = front_table(front, chosen)
        self.pareto_exprs_ = tuple(c.expr for c in front)
        self.n_generations_ = 0 if result is None else result.generations
        self.search_seconds_ = 0.0 if result is None else result.seconds
        self.stopped_by_ = "constant target" if result is None else result.stopped_by
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _search(self, X, y, fit_idx, val_idx, functions, seed, started: float | None = None):
        """Run the search; ``time_limit`` counts from *started* (the start of ``fit``), or, inside a
        :func:`~nnsurrogate.core.engine.budget.time_limit_scope`, the scope's clock applies."""
        search = BACKENDS[self.backend](X[fit_idx], y[fit_idx], self.symbols_, functions, int(self.max_length),
                                        int(self.population_size), seed, int(self.n_threads))
        deadline = current_deadline()
        if deadline is not None:
            budget = Budget(self.generations_budget(), deadline.time_limit, self.target_r2, deadline.started)
        else:
            budget = Budget(self.generations_budget(), None if self.time_limit is None else float(self.time_limit),
                            self.target_r2, started)
        with search_bar(f"symbolic regression ({self.backend})", self.verbose > 0) as bar:
            return run_search(search, budget, X[val_idx], y[val_idx], bar)

    def generations_budget(self) -> int:
        """Generations the search runs: ``generations``, or the back end's default."""
        return int(DEFAULT_GENERATIONS[self.backend] if self.generations is None else self.generations)

    def _constant(self, value: float, X, y, fit_idx, val_idx) -> Candidate:
        expr = round_constants(sympy.Float(value), int(self.digits))
        return score(expr, self.symbols_, X[fit_idx], y[fit_idx], X[val_idx], y[val_idx])

    def _front(self, raw, X, y, fit_idx, val_idx) -> list[Candidate]:
        """Polish and score every raw candidate (plus the training mean) and keep the Pareto front."""
        X_fit, y_fit, X_val, y_val = X[fit_idx], y[fit_idx], X[val_idx], y[val_idx]
        scored = [self._constant(float(np.mean(y_fit)), X, y, fit_idx, val_idx)]
        for expr in prefilter(raw, self.symbols_, X_val, y_val):
            polished = polish(expr, self.symbols_, X_fit, y_fit, int(self.digits), float(self.snap_tolerance))
            cand = None if polished is None else score(polished, self.symbols_, X_fit, y_fit, X_val, y_val)
            if cand is not None:
                scored.append(cand)
        return pareto_front(scored)

    def export(self, target: str = "y") -> dict[str, str]:
        """The chosen formula as ``{"sympy", "latex", "numpy"}``: sympy's text, LaTeX, and a NumPy module.

        Parameters
        ----------
        target : str
            Name of the predicted quantity, for the NumPy function's docstring.

        Returns
        -------
        dict of str
            ``"numpy"`` is the source of a module with ``formula(*columns)`` (arguments in column
            order) that evaluates exactly what :meth:`predict` does
            (:func:`~nnsurrogate.symbolic.export.numpy_source`).
        """
        check_is_fitted(self, "sympy_expr_")
        return formula_exports(self.sympy_expr_, self.symbols_, target)

    def predict(self, X) -> np.ndarray:
        """Evaluate :attr:`sympy_expr_` on the rows of *X*.

        Parameters
        ----------
        X : array-like or pandas.DataFrame, shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray, shape (n_samples,)
            NaN where the formula is undefined (a :class:`~nnsurrogate.core.errors.DataWarning` says how often).
        """
        check_is_fitted(self, "sympy_expr_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        out = evaluate(self.sympy_expr_, self.symbols_, X)
        bad = ~np.isfinite(out)
        if bad.any():
            warnings.warn(f"the formula {self.formula_} is undefined on {int(bad.sum())} of {len(out)} rows "
                          f"(first: row {int(np.flatnonzero(bad)[0]) + 1}); those predictions are NaN",
                          DataWarning, stacklevel=2)
            out[bad] = np.nan
        return out
