"""Sympy expressions found by symbolic regression: evaluation, size, constants, equivalence.

The search back ends (:mod:`~nnsurrogate.symbolic.operon_backend`,
:mod:`~nnsurrogate.symbolic.gplearn_backend`) hand over raw expressions; this module turns them into
what users read and use:

* :func:`complexity` — the size of a formula, defined as the number of nodes of its sympy
  expression tree (every operator, function, symbol and number counts 1; ``preorder_traversal``),
  the convention of SRBench (La Cava et al., NeurIPS Datasets & Benchmarks 2021). Examples:
  ``2.5*x0*x1 + x2**2`` has 8 nodes, ``5.67e-8*T**4`` has 5.
* :func:`parametrize` / :func:`refit_constants` / :func:`snap_constants` — the floating-point
  constants as a parameter vector, re-fitted in float64 by least squares, then rounded to the
  fewest significant digits (0 and integers first) that keep the training error within a tolerance.
* :func:`equivalent_up_to_constants` — does a found formula have the structure of a known one?
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy
from scipy import optimize

__all__ = ["Parametrized", "complexity", "equivalent_up_to_constants", "evaluate", "formula_string", "is_finite_form",
           "make_symbols",
           "parametrize", "refit_constants", "round_constants", "simplify", "snap_constants"]

#: Expressions with more operations than this are not passed to ``sympy.simplify`` (it can take minutes).
MAX_OPS_TO_SIMPLIFY = 40


def make_symbols(names: Sequence[str], X: np.ndarray | None = None) -> tuple[sympy.Symbol, ...]:
    """One sympy symbol per input column, named exactly like the column.

    Parameters
    ----------
    names : sequence of str
        Column names, used verbatim as symbol names (so the printed formula uses them).
    X : numpy.ndarray, shape (n_samples, n_features), optional
        The data; a column whose values are all > 0 gives a ``positive`` symbol (lets sympy
        simplify ``sqrt(x**2)`` to ``x``), any other column a ``real`` one.
    """
    positive = [False] * len(names) if X is None else [bool(np.all(X[:, j] > 0)) for j in range(len(names))]
    return tuple(sympy.Symbol(str(n), positive=True) if p else sympy.Symbol(str(n), real=True)
                 for n, p in zip(names, positive))


def formula_string(expr: sympy.Expr) -> str:
    """The formula as sympy prints it, with constants in their shortest form (``5.9751``, not ``5.97510000000000``)."""
    return sympy.sstr(expr, full_prec=False)


def complexity(expr: sympy.Expr) -> int:
    """Number of nodes of the expression tree (operators, functions, symbols and numbers count 1)."""
    return sum(1 for _ in sympy.preorder_traversal(expr))


def evaluate(expr: sympy.Expr, symbols: Sequence[sympy.Symbol], X: np.ndarray) -> np.ndarray:
    """Evaluate *expr* on the rows of *X* in float64 (NaN/inf where it is undefined).

    Parameters
    ----------
    expr : sympy.Expr
    symbols : sequence of sympy.Symbol
        One per column of *X*, in column order.
    X : numpy.ndarray, shape (n_samples, n_features)

    Returns
    -------
    numpy.ndarray, shape (n_samples,)
    """
    X = np.asarray(X, dtype=np.float64)
    if not is_finite_form(expr):
        return np.full(X.shape[0], np.nan)
    fn = sympy.lambdify(list(symbols), expr, modules="numpy", docstring_limit=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = fn(*[X[:, j] for j in range(X.shape[1])])
    out = np.asarray(out)
    if np.iscomplexobj(out):
        out = np.where(np.abs(out.imag) > 0, np.nan, out.real)
    return np.broadcast_to(out.astype(np.float64), (X.shape[0],)).copy()


def is_finite_form(expr: sympy.Expr) -> bool:
    """False when *expr* contains ∞, complex infinity, NaN or the imaginary unit (e.g. from log(0) or 1/0)."""
    return not expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I)


def simplify(expr: sympy.Expr) -> sympy.Expr:
    """The smallest (by :func:`complexity`) of *expr* and a few cheap sympy rewritings of it.

    The rewritings are ``factor_terms``, ``powsimp``, ``together``, ``cancel`` and ``powsimp∘cancel``.
    On the fronts of the sanity benchmark they are about 4× faster than ``sympy.simplify``, whose
    result is also often larger than its input (it favours its own canonical forms, not the node
    count). Expressions with more than :data:`MAX_OPS_TO_SIMPLIFY` operations are kept as they are.
    """
    if not is_finite_form(expr) or sympy.count_ops(expr) > MAX_OPS_TO_SIMPLIFY:
        return expr
    best, size = expr, complexity(expr)
    for rewrite in _REWRITES:
        try:
            other = rewrite(expr)
        except (TypeError, ValueError, RecursionError, NotImplementedError, sympy.PolynomialError):
            continue  # sympy gives up on a few forms
        if complexity(other) < size:
            best, size = other, complexity(other)
    return best


_REWRITES = (sympy.factor_terms, sympy.powsimp, sympy.together, sympy.cancel, lambda e: sympy.powsimp(sympy.cancel(e)))


@dataclass(frozen=True)
class Parametrized:
    """An expression whose floating-point constants are replaced by parameter symbols ``c0, c1, …``.

    Attributes
    ----------
    template : sympy.Expr
        The expression with ``params`` in place of its Float atoms (integers and rationals, e.g.
        the ½ of a square root, stay part of the structure).
    params : tuple of sympy.Symbol
    values : numpy.ndarray, shape (n_params,)
        The constants' current values.
    """

    template: sympy.Expr
    params: tuple[sympy.Symbol, ...]
    values: np.ndarray

    def substitute(self, values: Sequence[float] | None = None) -> sympy.Expr:
        """The expression with *values* (default :attr:`values`) put back in."""
        vals = self.values if values is None else values
        return self.template.xreplace({p: _number(v) for p, v in zip(self.params, vals)})

    def function(self, symbols: Sequence[sympy.Symbol]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """A fast ``f(X, values) -> (n_samples,)`` for repeated evaluation with new constants."""
        if not is_finite_form(self.template):
            return lambda X, values: np.full(X.shape[0], np.nan)
        fn = sympy.lambdify([*symbols, *self.params], self.template, modules="numpy", docstring_limit=0)

        def call(X: np.ndarray, values: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out = np.asarray(fn(*[X[:, j] for j in range(X.shape[1])], *values))
            if np.iscomplexobj(out):
                out = np.where(np.abs(out.imag) > 0, np.nan, out.real)
            return np.broadcast_to(out.astype(np.float64), (X.shape[0],))

        return call


def parametrize(expr: sympy.Expr) -> Parametrized:
    """Replace every distinct Float atom of *expr* by a parameter symbol (see :class:`Parametrized`)."""
    floats = sorted(expr.atoms(sympy.Float), key=lambda f: sympy.default_sort_key(f))
    params = tuple(sympy.Dummy(f"c{i}") for i in range(len(floats)))
    template = expr.xreplace(dict(zip(floats, params)))
    return Parametrized(template, params, np.array([float(f) for f in floats], dtype=np.float64))


def refit_constants(par: Parametrized, symbols: Sequence[sympy.Symbol], X: np.ndarray, y: np.ndarray,
                    max_iterations: int = 20, tolerance: float = 1e-8) -> Parametrized:
    """Least-squares re-fit of the constants in float64 (``scipy.optimize.least_squares``).

    Starts from the current values; the result is kept only if it is finite and lowers the
    sum of squared residuals Σ(f(x; c) − y)².

    Parameters
    ----------
    par : Parametrized
    symbols : sequence of sympy.Symbol, one per column of *X*
    X : numpy.ndarray, shape (n_samples, n_features)
    y : numpy.ndarray, shape (n_samples,)
    max_iterations : int
        Levenberg–Marquardt iterations (each costs n_params + 1 evaluations of the formula); the
        search back ends hand over constants that are already close, so a few are enough.
    tolerance : float
        ``ftol``, ``xtol`` and ``gtol`` of ``least_squares``.
    """
    if len(par.params) == 0:
        return par
    f = par.function(symbols)
    start = _sse(f(X, par.values), y)
    if not math.isfinite(start):
        return par
    big = 1e3 * (float(np.sqrt(np.mean(y ** 2))) + 1.0)

    def residual(c: np.ndarray) -> np.ndarray:
        return np.nan_to_num(f(X, c) - y, nan=big, posinf=big, neginf=-big)

    method = "lm" if X.shape[0] >= len(par.params) else "trf"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = optimize.least_squares(residual, par.values, method=method,
                                         max_nfev=max_iterations * (len(par.params) + 1), ftol=tolerance,
                                         xtol=tolerance, gtol=tolerance)
    except (ValueError, FloatingPointError, OverflowError, ZeroDivisionError):
        return par
    if np.all(np.isfinite(fit.x)) and _sse(f(X, fit.x), y) < start:
        return Parametrized(par.template, par.params, fit.x.astype(np.float64))
    return par


def snap_constants(par: Parametrized, symbols: Sequence[sympy.Symbol], X: np.ndarray, y: np.ndarray,
                   tolerance: float = 1e-3, digits: int = 5) -> Parametrized:
    """Round each constant to the simplest value that keeps the training error almost unchanged.

    For each constant in turn, the candidates are 0, then the value rounded to 1, 2, …, *digits*
    significant digits; the first whose mean squared error is at most ``(1 + tolerance)`` times
    the error before any rounding (plus 10⁻¹⁴·mean(y²) for round-off) is kept. A constant that
    snaps to 0 removes its term; one that snaps to an integer prints as an integer.

    Parameters
    ----------
    par, symbols, X, y
        The formula, its input symbols and the training rows, as in :func:`refit_constants`.
    tolerance : float
        Allowed relative increase of the training mean squared error.
    digits : int
        Most significant digits kept.
    """
    if len(par.params) == 0:
        return par
    f = par.function(symbols)
    values = par.values.copy()
    limit = _mse(f(X, values), y) * (1.0 + tolerance) + 1e-14 * float(np.mean(y ** 2))
    if not math.isfinite(limit):
        return par
    for i, value in enumerate(par.values):
        for candidate in [0.0, *(_round_sig(value, d) for d in range(1, digits + 1))]:
            trial = values.copy()
            trial[i] = candidate
            if _mse(f(X, trial), y) <= limit:
                values = trial
                break
        else:
            values[i] = _round_sig(value, digits)
    return Parametrized(par.template, par.params, values)


def round_constants(expr: sympy.Expr, digits: int = 5) -> sympy.Expr:
    """*expr* with every Float rounded to *digits* significant digits (integral values become integers)."""
    return expr.xreplace({f: _number(_round_sig(float(f), digits)) for f in expr.atoms(sympy.Float)})


def equivalent_up_to_constants(found: sympy.Expr, truth: sympy.Expr, symbols: Sequence[sympy.Symbol],
                               X: np.ndarray, rtol: float = 1e-6) -> tuple[bool, str]:
    """Whether *found* is *truth* with other values of its constants, plus possibly an additive constant.

    Three tests, in order: (1) ``simplify(truth − found)`` is a number; (2) ``simplify(truth /
    found)`` is a non-zero number — the two symbolic criteria of SRBench (La Cava et al. 2021);
    (3) the family ``truth(c) + a``, with every number of *truth* a free constant c (exponents
    excepted) and a free offset a, fitted by least squares to *found* on the rows of *X*, matches
    it to a relative RMS difference below *rtol*. Test (3) accepts ``24.9 − 25.1·exp(−0.00334·T)``
    for ``24.94·(1 − exp(−T/300))``, and rejects a formula with an extra term (an extra term with
    a non-zero coefficient is a different formula, even if its coefficient is small).

    Parameters
    ----------
    found, truth : sympy.Expr
        In the same *symbols*.
    symbols : sequence of sympy.Symbol, one per column of *X*
    X : numpy.ndarray, shape (n_samples, n_features)
        Points where both are compared in test (3); they should cover the data's range.
    rtol : float

    Returns
    -------
    (bool, str)
        The verdict and the test that decided it: ``"difference is a constant"``, ``"ratio is a
        constant"``, ``"same form, other constants"`` or ``"not equivalent"``.
    """
    if not found.free_symbols:
        return False, "not equivalent"
    for combined, label in ((truth - found, "difference is a constant"), (truth / found, "ratio is a constant")):
        try:
            value = sympy.simplify(combined)
        except (TypeError, ValueError, RecursionError, NotImplementedError):
            continue
        if not value.free_symbols and value.is_finite and (label.startswith("difference") or value != 0):
            return True, label
    target = evaluate(found, symbols, X)
    if not np.all(np.isfinite(target)):
        return False, "not equivalent"
    family = parametrize(_free_numbers(truth))
    offset = sympy.Dummy("a")
    family = Parametrized(family.template + offset, (*family.params, offset), np.append(family.values, 0.0))
    fitted = refit_constants(family, symbols, X, target, max_iterations=200, tolerance=1e-14)
    pred = fitted.function(symbols)(X, fitted.values)
    scale = float(np.sqrt(np.mean(target ** 2))) or 1.0
    rel = float(np.sqrt(np.mean((pred - target) ** 2))) / scale
    if math.isfinite(rel) and rel < rtol:
        return True, "same form, other constants"
    return False, "not equivalent"


def _free_numbers(expr: sympy.Expr) -> sympy.Expr:
    """*expr* with its integer and rational coefficients and terms turned into Floats (exponents and ±1 kept)."""
    if expr.is_Atom:
        return expr
    if isinstance(expr, sympy.Pow):
        return sympy.Pow(_free_numbers(expr.base), expr.exp)
    loose = isinstance(expr, (sympy.Add, sympy.Mul))
    args = [sympy.Float(a) if loose and a.is_Rational and abs(a) != 1 else _free_numbers(a) for a in expr.args]
    return expr.func(*args)


def _number(value: float) -> sympy.Expr:
    value = float(value)
    if value == 0.0 or (abs(value) < 2 ** 53 and value == round(value)):
        return sympy.Integer(int(round(value)))
    return sympy.Float(value)


def _round_sig(value: float, digits: int) -> float:
    if value == 0.0 or not math.isfinite(value):
        return value
    return float(f"{value:.{max(int(digits), 1)}g}")


def _mse(pred: np.ndarray, y: np.ndarray) -> float:
    value = float(np.mean((pred - y) ** 2))
    return value if math.isfinite(value) else math.inf


def _sse(pred: np.ndarray, y: np.ndarray) -> float:
    value = float(np.sum((pred - y) ** 2))
    return value if math.isfinite(value) else math.inf
