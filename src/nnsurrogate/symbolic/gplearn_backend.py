"""Search with gplearn: Koza-style genetic programming (tournaments, crossover, mutations).

gplearn (Stephens, https://gplearn.readthedocs.io) evolves expression trees in Python, with random
constants in [−1, 1] and no constant fitting. Two additions make it usable on physical data:

* **Linear scaling** (Keijzer, EuroGP 2003): a program f is scored by the error of the best
  a + b·f, fitted by least squares, so the program only needs the *shape* of the law and not
  its scale and offset (a Stefan–Boltzmann σ = 5.67·10⁻⁸ W m⁻² K⁻⁴ is out of reach of constants
  in [−1, 1]). The score is that error over the variance of y (1 − R²), so gplearn's parsimony
  coefficient, 0.001 per node, is in units of R².
* **Honest export.** gplearn's closures make every operator defined everywhere: division returns
  1 where |denominator| < 0.001, ``log`` is ln|a| (0 near a = 0), ``sqrt`` is √|a|. The exported
  formula uses plain ÷, ln|a| and √|a|, and a candidate whose exported formula disagrees with
  gplearn's own output on any training row (a protected branch was in use) is dropped, so no
  protected-division artefact reaches the Pareto front.

gplearn has no length limit: longer programs are discouraged by the parsimony coefficient and
programs longer than ``max_length`` are not offered as candidates. The search advances one
generation at a time (``warm_start``) so that the time limit is checked between generations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import sympy

from nnsurrogate.symbolic.expression import evaluate
from nnsurrogate.symbolic.functions import check_functions

#: Most candidates taken from the last population (the best of each program length).
MAX_CANDIDATES = 24
_RTOL_AGREE = 1e-6


def _exp(a):
    with np.errstate(over="ignore"):
        return np.exp(np.clip(a, -100.0, 100.0))


def _square(a):
    with np.errstate(over="ignore"):
        return np.minimum(a * a, 1e300)


def _tanh(a):
    return np.tanh(a)


def scaled_nmse(y: np.ndarray, f: np.ndarray, w: np.ndarray) -> float:
    """(1 − R²) of the best a + b·f for y, weights *w* (Keijzer's linear scaling); 1 if f is constant."""
    a, b = linear_scaling(y, f, w)
    resid = y - a - b * f
    var = float(np.average((y - np.average(y, weights=w)) ** 2, weights=w))
    value = float(np.average(resid ** 2, weights=w)) / var if var > 0 else 0.0
    return value if math.isfinite(value) else 1e300


def linear_scaling(y: np.ndarray, f: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """Weighted least-squares (a, b) of y ≈ a + b·f; b = 0 when f is constant or not finite."""
    w = np.ones_like(y) if w is None else w
    with np.errstate(all="ignore"):
        f_mean, y_mean = np.average(f, weights=w), np.average(y, weights=w)
        var_f = float(np.average((f - f_mean) ** 2, weights=w))
        if not math.isfinite(var_f) or var_f <= 1e-300 * max(1.0, float(f_mean) ** 2):
            return float(y_mean), 0.0
        b = float(np.average((f - f_mean) * (y - y_mean), weights=w)) / var_f
    return float(y_mean - b * f_mean), b


def _gplearn_functions(names: Sequence[str], wrap: bool) -> list:
    """gplearn function set; *wrap* (cloudpickle) is needed only when gplearn runs several processes."""
    from gplearn.functions import make_function

    custom = {"exp": _exp, "square": _square, "tanh": _tanh}
    return [make_function(function=custom[n], name=n, arity=1, wrap=wrap) if n in custom else n for n in names]


_SYMPY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b, "sqrt": lambda a: sympy.sqrt(sympy.Abs(a)),
          "log": lambda a: sympy.log(sympy.Abs(a)), "exp": sympy.exp, "square": lambda a: a ** 2,
          "sin": sympy.sin, "cos": sympy.cos, "tanh": sympy.tanh, "abs": sympy.Abs, "neg": lambda a: -a,
          "inv": lambda a: 1 / a}


class GplearnSearch:
    """One gplearn run on fixed training data, advanced generation by generation.

    Parameters are those of :class:`~nnsurrogate.symbolic.operon_backend.OperonSearch`.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, symbols: Sequence[sympy.Symbol], functions: Sequence[str],
                 max_length: int, population_size: int, seed: int, n_threads: int = 1) -> None:
        from gplearn.fitness import make_fitness
        from gplearn.genetic import SymbolicRegressor as GplearnRegressor

        self._X = np.asarray(X, dtype=np.float64)
        self._y = np.asarray(y, dtype=np.float64)
        self._symbols = tuple(symbols)
        self._max_length = int(max_length)
        self._generations = 0
        wrap = int(n_threads) > 1
        metric = make_fitness(function=scaled_nmse, greater_is_better=False, wrap=wrap)
        self._model = GplearnRegressor(
            population_size=int(population_size), generations=1,
            function_set=_gplearn_functions(check_functions(functions), wrap),
            metric=metric, parsimony_coefficient=0.001, p_crossover=0.7, p_subtree_mutation=0.1, p_hoist_mutation=0.05,
            p_point_mutation=0.1, init_depth=(2, 6), const_range=(-1.0, 1.0), low_memory=True, warm_start=True,
            n_jobs=int(n_threads), random_state=int(seed))

    def step(self, generations: int, seconds: float) -> int:
        """Run one more generation (gplearn's generations take well under a second on small data)."""
        del generations, seconds  # one generation per step keeps the time limit tight
        self._generations += 1
        self._model.set_params(generations=self._generations)
        with np.errstate(all="ignore"):
            self._model.fit(self._X, self._y)
        return 1

    def _programs(self) -> list:
        """The best program of each length ≤ max_length in the last population, shortest first."""
        best: dict[int, object] = {}
        for program in self._model._programs[-1]:
            if program is None or program.length_ > self._max_length or not math.isfinite(program.raw_fitness_):
                continue
            if program.length_ not in best or program.raw_fitness_ < best[program.length_].raw_fitness_:
                best[program.length_] = program
        front, best_fitness = [], math.inf
        for length in sorted(best):
            if best[length].raw_fitness_ < best_fitness:
                front.append(best[length])
                best_fitness = best[length].raw_fitness_
        return front[-MAX_CANDIDATES:]

    def best_r2(self, X: np.ndarray, y: np.ndarray) -> float:
        """Best R² of the current candidates on (*X*, *y*), each scaled as fitted on the training rows."""
        X = np.asarray(X, dtype=np.float64)
        ss_tot = float(np.sum((y - np.mean(y)) ** 2))
        best = -math.inf
        for program in self._programs():
            with np.errstate(all="ignore"):
                a, b = linear_scaling(self._y, program.execute(self._X))
                pred = a + b * program.execute(X)
            if ss_tot > 0 and np.all(np.isfinite(pred)):
                best = max(best, 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot)
        return best

    def candidates(self) -> list[sympy.Expr]:
        """The candidates as sympy expressions a + b·f, (a, b) fitted on the training rows."""
        out = []
        for program in self._programs():
            expr = program_to_sympy(program.program, self._symbols)
            with np.errstate(all="ignore"):
                own = program.execute(self._X)
            if faithful(expr, self._symbols, self._X, own):
                a, b = linear_scaling(self._y, own)
                out.append(sympy.Float(a) + sympy.Float(b) * expr)
        return out


def faithful(expr: sympy.Expr, symbols: Sequence[sympy.Symbol], X: np.ndarray, own: np.ndarray) -> bool:
    """Whether the exported *expr* reproduces gplearn's own output *own* on every row of *X*.

    False when a protected branch was taken on some row (a denominator or logarithm argument within
    0.001 of zero, an overflowing exponential): there the plain formula differs from what gplearn
    evaluated, and the formula would be an artefact of the protection.

    Parameters
    ----------
    expr : sympy.Expr
    symbols : sequence of sympy.Symbol, one per column of *X*
    X : numpy.ndarray, shape (n_samples, n_features)
    own : numpy.ndarray, shape (n_samples,)
    """
    mine = evaluate(expr, symbols, X)
    return bool(np.all(np.isfinite(mine)) and np.allclose(mine, own, rtol=_RTOL_AGREE, atol=_RTOL_AGREE))


def program_to_sympy(program: Sequence, symbols: Sequence[sympy.Expr]) -> sympy.Expr:
    """Convert a gplearn program (prefix list of functions, feature indices and constants) to sympy.

    Parameters
    ----------
    program : sequence
        ``_Program.program``: gplearn ``_Function`` objects, ``int`` feature indices, ``float`` constants.
    symbols : sequence of sympy.Expr
        One per feature index.
    """
    stack: list[list] = []
    for node in program:
        if hasattr(node, "arity"):
            stack.append([node])
            continue
        value = symbols[node] if isinstance(node, (int, np.integer)) else sympy.Float(float(node))
        if not stack:
            return value
        stack[-1].append(value)
        while len(stack[-1]) == stack[-1][0].arity + 1:
            function, *args = stack.pop()
            if function.name not in _SYMPY:
                raise ValueError(f"gplearn function '{function.name}' has no sympy translation")
            value = _SYMPY[function.name](*args)
            if not stack:
                return value
            stack[-1].append(value)
    raise ValueError("malformed gplearn program")
