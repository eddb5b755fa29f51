"""Search with Operon (``pyoperon``): NSGA-II on (R², length) with Levenberg–Marquardt constants.

Operon (Burlacu, Kronberger & Kommenda, GECCO 2020) evolves expression trees in C++ and fits their
numeric coefficients by non-linear least squares; with the two objectives 1 − R² and tree length its
NSGA-II keeps a Pareto front of accuracy against size. The search runs in chunks of a few
generations (``warm_start`` continues the population), so that a time limit, a target accuracy and
a progress bar can be checked between chunks.

Inputs are divided by their root-mean-square before the search (Operon computes in float32) and the
scale is substituted back into the exported formulas, so the formulas use the original units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import sympy

from nnsurrogate.symbolic.functions import check_functions

_SYMPY_UNARY = {"Exp": sympy.exp, "Log": sympy.log, "Sqrt": sympy.sqrt, "Square": lambda a: a ** 2,
                "Sin": sympy.sin, "Cos": sympy.cos, "Tanh": sympy.tanh, "Abs": sympy.Abs, "Tan": sympy.tan,
                "Cbrt": sympy.cbrt, "Logabs": lambda a: sympy.log(sympy.Abs(a)),
                "Sqrtabs": lambda a: sympy.sqrt(sympy.Abs(a)), "Log1p": lambda a: sympy.log(1 + a),
                "Sinh": sympy.sinh, "Cosh": sympy.cosh, "Asin": sympy.asin, "Acos": sympy.acos,
                "Atan": sympy.atan, "Floor": sympy.floor, "Ceil": sympy.ceiling}


def input_scale(X: np.ndarray) -> np.ndarray:
    """Root-mean-square of each column (1 for an all-zero column), shape (n_features,)."""
    rms = np.sqrt(np.mean(np.asarray(X, dtype=np.float64) ** 2, axis=0))
    return np.where(rms > 0, rms, 1.0)


class OperonSearch:
    """One Operon run on fixed training data, advanced chunk by chunk.

    Parameters
    ----------
    X : numpy.ndarray, shape (n_samples, n_features)
        Training inputs, original units.
    y : numpy.ndarray, shape (n_samples,)
    symbols : sequence of sympy.Symbol
        One per column; the exported expressions use them.
    functions : sequence of str
        Vocabulary names (:mod:`nnsurrogate.symbolic.functions`).
    max_length : int
        Most nodes of an Operon tree (before linear scaling adds its 4).
    population_size : int
    seed : int
    n_threads : int
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, symbols: Sequence[sympy.Symbol], functions: Sequence[str],
                 max_length: int, population_size: int, seed: int, n_threads: int = 1) -> None:
        from pyoperon.sklearn import SymbolicRegressor as OperonRegressor

        self._scale = input_scale(X)
        self._X = np.asarray(X, dtype=np.float64) / self._scale
        self._y = np.asarray(y, dtype=np.float64)
        self._symbols = tuple(symbols)
        self._seed = int(seed)
        self._chunks = 0
        names = ",".join(check_functions(functions))
        self._model = OperonRegressor(
            allowed_symbols=f"{names},constant,variable", objectives=["r2", "length"], max_length=int(max_length),
            max_depth=max(int(max_length), 6), initialization_max_length=min(10, int(max_length)),
            population_size=int(population_size), optimizer_iterations=10, max_evaluations=2 ** 62,
            n_threads=int(n_threads), random_state=self._seed, warm_start=True)

    def step(self, generations: int, seconds: float) -> int:
        """Run up to *generations* more generations, or about *seconds* (whole seconds, at least 1)."""
        self._model.set_params(generations=max(int(generations), 1), max_time=max(int(math.ceil(seconds)), 1),
                               random_state=self._seed + 7919 * self._chunks)
        self._model.fit(self._X, self._y)
        self._chunks += 1
        return int(self._model.stats_["generations"])

    def _front(self) -> list[dict]:
        return list(getattr(self._model, "pareto_front_", []))

    def best_r2(self, X: np.ndarray, y: np.ndarray) -> float:
        """Best R² of the current front on (*X*, *y*) (fast: Operon evaluates the trees)."""
        Xs = np.asarray(X, dtype=np.float64) / self._scale
        best = -math.inf
        for member in self._front():
            pred = self._model.evaluate_model(member["tree"], Xs)
            best = max(best, _r2(y, pred))
        return best

    def candidates(self) -> list[sympy.Expr]:
        """The current Pareto front as sympy expressions in the original inputs."""
        scaled = [s / float(c) for s, c in zip(self._symbols, self._scale)]
        return [tree_to_sympy(member["tree"], self._model.variables_, scaled) for member in self._front()]


def tree_to_sympy(tree, variables: dict, symbols: Sequence[sympy.Expr]) -> sympy.Expr:
    """Convert an Operon tree (nodes in postfix order) into a sympy expression.

    Parameters
    ----------
    tree : pyoperon.Tree
    variables : dict
        Operon's variable hash → name map, in column order (``OperonRegressor.variables_``).
    symbols : sequence of sympy.Expr
        The expression standing for each column (a symbol, or a symbol over its scale).

    Notes
    -----
    Operon stores a tree in postfix order; the first operand of an n-ary node is the subtree that
    ends just before it, so popping the stack yields the operands in order. A variable node carries
    a weight w and stands for w·x. n-ary ``Sub`` and ``Div`` are a − b − c … and a / (b·c …); with
    one operand they are −a and 1/a.
    """
    index = {h: i for i, h in enumerate(variables)}
    stack: list[sympy.Expr] = []
    for node in tree.Nodes:
        kind = node.Type.name
        if kind == "Constant":
            stack.append(sympy.Float(float(node.Value)))
        elif kind == "Variable":
            stack.append(sympy.Float(float(node.Value)) * symbols[index[node.HashValue]])
        else:
            args = [stack.pop() for _ in range(node.Arity)]
            stack.append(_apply(kind, args))
    if len(stack) != 1:
        raise ValueError(f"malformed Operon tree ({len(stack)} expressions left on the stack)")
    return stack[0]


def _apply(kind: str, args: list[sympy.Expr]) -> sympy.Expr:
    if kind == "Add":
        return sympy.Add(*args)
    if kind == "Mul":
        return sympy.Mul(*args)
    if kind == "Sub":
        return -args[0] if len(args) == 1 else args[0] - sympy.Add(*args[1:])
    if kind == "Div":
        return 1 / args[0] if len(args) == 1 else args[0] / sympy.Mul(*args[1:])
    if kind == "Aq":
        return args[0] / sympy.sqrt(1 + args[1] ** 2)
    if kind == "Pow":
        return args[0] ** args[1]
    if kind == "Powabs":
        return sympy.Abs(args[0]) ** args[1]
    if kind == "Fmin":
        return sympy.Min(*args)
    if kind == "Fmax":
        return sympy.Max(*args)
    if kind in _SYMPY_UNARY:
        return _SYMPY_UNARY[kind](args[0])
    raise ValueError(f"Operon node type '{kind}' has no sympy translation")


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    pred = np.asarray(pred, dtype=np.float64)
    if not np.all(np.isfinite(pred)):
        return -math.inf
    ss_tot = float(np.sum((y - np.mean(y)) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot if ss_tot > 0 else -math.inf
