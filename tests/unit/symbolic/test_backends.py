"""Back-end exports: the sympy formula computes what the engine computed."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from nnsurrogate.symbolic.expression import evaluate, make_symbols
from nnsurrogate.symbolic.gplearn_backend import GplearnSearch, faithful, program_to_sympy
from nnsurrogate.symbolic.operon_backend import OperonSearch, tree_to_sympy


@pytest.fixture
def data():
    rng = np.random.default_rng(5)
    X = rng.uniform(0.5, 3.0, (120, 3))
    y = X[:, 0] / (X[:, 1] - 0.25) - np.sqrt(X[:, 2])
    return X, y


def test_operon_trees_export_to_the_same_values(data):
    """Every front member, converted node by node (postfix, weighted variables), evaluates as Operon does."""
    X, y = data
    symbols = make_symbols(["a", "b", "c"], X)
    search = OperonSearch(X, y, symbols, ("add", "sub", "mul", "div", "sqrt"), max_length=20,
                          population_size=60, seed=1)
    search.step(generations=5, seconds=5)
    model = search._model
    assert model.pareto_front_
    for member in model.pareto_front_:
        mine = evaluate(tree_to_sympy(member["tree"], model.variables_, symbols), symbols, X)
        theirs = model.evaluate_model(member["tree"], X)  # raw inputs: same scale on both sides
        ok = np.isfinite(theirs)
        np.testing.assert_allclose(mine[ok], theirs[ok], rtol=2e-4, atol=2e-4 * np.abs(theirs[ok]).max())
    for expr in search.candidates():  # candidates undo the input scaling
        assert expr.free_symbols <= set(symbols)


def test_gplearn_program_prefix_order():
    from gplearn.functions import _function_map

    x0, x1 = sympy.symbols("x0 x1")
    div, sub, mul = _function_map["div"], _function_map["sub"], _function_map["mul"]
    assert program_to_sympy([div, 0, sub, 1, 0.5], (x0, x1)) == x0 / (x1 - sympy.Float(0.5))
    assert program_to_sympy([mul, sub, 0, 1, 1], (x0, x1)) == (x0 - x1) * x1
    assert program_to_sympy([1], (x0, x1)) == x1


def test_protected_division_is_detected():
    from gplearn.functions import _protected_division

    X = np.array([[1.0, 2.0], [3.0, 0.0005], [2.0, 4.0]])
    x0, x1 = make_symbols(["x0", "x1"], X)
    own = _protected_division(X[:, 0], X[:, 1])  # returns 1 where |x1| < 0.001
    assert not faithful(x0 / x1, (x0, x1), X, own)
    assert faithful(x0 / x1, (x0, x1), X[[0, 2]], own[[0, 2]])


def test_gplearn_candidates_are_in_original_units(data):
    X, y = data
    X = X * np.array([1.0, 1e3, 1e-3])  # very different scales: the exported formulas must undo them
    # no division, so no protected branch can drop a candidate: the best one must come through
    symbols = make_symbols(["a", "b", "c"], X)
    search = GplearnSearch(X, y, symbols, ("add", "sub", "mul"), max_length=30, population_size=200, seed=0)
    for _ in range(3):
        search.step(1, 10.0)
    best = search.best_r2(X, y)
    candidates = search.candidates()
    assert candidates
    r2s = [1 - np.sum((evaluate(e, symbols, X) - y) ** 2) / np.sum((y - y.mean()) ** 2) for e in candidates]
    assert max(r2s) == pytest.approx(best, abs=1e-9)
