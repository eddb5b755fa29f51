"""SymbolicRegressor: recovers a simple law, writes it in the column names, keeps a consistent front."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import sympy
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnsurrogate.core.errors import DataWarning
from nnsurrogate.symbolic import SymbolicRegressor, equivalent_up_to_constants
from nnsurrogate.symbolic.expression import complexity

#: Fast settings: stop as soon as the validation R² is (numerically) perfect.
FAST = {"time_limit": 20.0, "target_r2": 1 - 1e-9, "population_size": 300, "random_state": 0}


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.uniform(0.5, 2.0, (200, 3)), columns=["alpha", "beta", "gamma"])
    y = 2.5 * X["alpha"] * X["beta"] + X["gamma"] ** 2
    return SymbolicRegressor(**FAST).fit(X, y), X, y.to_numpy()


def test_recovers_product_plus_square(fitted):
    model, X, _ = fitted
    a, b, c = model.symbols_
    truth = sympy.Float(2.5) * a * b + c ** 2
    assert equivalent_up_to_constants(model.sympy_expr_, truth, model.symbols_, X.to_numpy())[0], model.formula_
    assert model.complexity_ == 8  # 2.5*alpha*beta + gamma**2, counted by hand in test_expression
    X_new = pd.DataFrame(np.random.default_rng(9).uniform(0.5, 2.0, (50, 3)), columns=X.columns)
    y_new = 2.5 * X_new["alpha"] * X_new["beta"] + X_new["gamma"] ** 2
    np.testing.assert_allclose(model.predict(X_new), y_new, rtol=1e-6)


def test_formula_is_written_in_the_column_names_and_reproduces_predictions(fitted):
    model, X, _ = fitted
    assert {s.name for s in model.sympy_expr_.free_symbols} <= {"alpha", "beta", "gamma"}
    assert "alpha" in model.formula_ and "x0" not in model.formula_
    parsed = sympy.sympify(model.formula_, locals={s.name: s for s in model.symbols_})
    again = sympy.lambdify(model.symbols_, parsed)(*X.to_numpy().T)
    np.testing.assert_allclose(again, model.predict(X), rtol=1e-12)  # the printed formula is the model


def test_pareto_front_is_non_dominated(fitted):
    model, _, _ = fitted
    front = model.pareto_
    assert list(front.columns[:5]) == ["complexity", "formula", "r2", "mae", "mse"]
    assert front["complexity"].is_monotonic_increasing and front["complexity"].is_unique
    assert (np.diff(front["mse"].to_numpy()) < 0).all()  # each longer formula is more accurate
    assert front["selected"].sum() == 1
    chosen = front[front["selected"]].iloc[0]
    assert chosen["formula"] == model.formula_ and chosen["complexity"] == model.complexity_
    simpler = front[front["complexity"] < chosen["complexity"]]
    assert (simpler["mse"] > front["mse"].min() * (1 + model.selection_tolerance)).all()
    assert [complexity(e) for e in model.pareto_exprs_] == front["complexity"].tolist()
    assert model.stopped_by_ == "target r2"


def test_array_input_names_columns_x0_x1():
    rng = np.random.default_rng(2)
    X = rng.uniform(1.0, 3.0, (60, 2))
    model = SymbolicRegressor(**FAST).fit(X, X[:, 0] * X[:, 1])
    assert {s.name for s in model.sympy_expr_.free_symbols} == {"x0", "x1"}
    np.testing.assert_allclose(model.predict(X), X[:, 0] * X[:, 1], rtol=1e-6)


def test_gplearn_backend_finds_a_sum():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.uniform(-1.0, 1.0, (100, 2)), columns=["u", "v"])
    y = X["u"] + X["v"] ** 2
    model = SymbolicRegressor(backend="gplearn", functions="add,sub,mul", population_size=300, **{
        k: v for k, v in FAST.items() if k != "population_size"}).fit(X, y)
    assert model.score(X, y) > 0.999, model.formula_
    assert model.sympy_expr_.free_symbols <= set(model.symbols_)


def test_constant_target_gives_a_constant():
    X = np.random.default_rng(4).uniform(size=(30, 2))
    model = SymbolicRegressor(**FAST).fit(X, np.full(30, 4.25))
    assert model.formula_ == "4.25" and model.complexity_ == 1 and model.stopped_by_ == "constant target"
    np.testing.assert_array_equal(model.predict(X[:3]), [4.25, 4.25, 4.25])


def test_undefined_predictions_warn_and_give_nan():
    X = np.linspace(0.5, 4.0, 40)[:, None]
    model = SymbolicRegressor(functions="add,mul,log", **FAST).fit(X, np.log(X[:, 0]))
    with pytest.warns(DataWarning, match="undefined on 1 of 2 rows"):
        pred = model.predict(np.array([[-1.0], [1.0]]))
    assert np.isnan(pred[0]) and pred[1] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(("params", "message"), [
    ({"backend": "pysr"}, "backend"), ({"time_limit": 0}, "time_limit"), ({"max_length": 2}, "max_length"),
    ({"validation_fraction": 1.0}, "validation_fraction"), ({"functions": "add,gamma"}, "unknown function"),
    ({"generations": 0}, "generations"),
])
def test_bad_parameters_raise(params, message):
    X = np.random.default_rng(0).uniform(size=(20, 2))
    with pytest.raises(ValueError, match=message):
        SymbolicRegressor(**params).fit(X, X[:, 0])


def test_bad_data_raise():
    X = np.random.default_rng(0).uniform(size=(20, 2))
    with pytest.raises(ValueError, match="NaN"):
        SymbolicRegressor().fit(np.where(X > 0.9, np.nan, X), X[:, 0])
    with pytest.raises(ValueError):
        SymbolicRegressor().fit(X, np.r_[X[:-1, 0], np.inf])


@parametrize_with_checks([SymbolicRegressor(population_size=20, generations=2, time_limit=30.0, random_state=0)])
def test_scikit_learn_contract(estimator, check):
    """Tiny budget (2 generations of 20): the checks test the contract, not the search quality."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        check(estimator)


def test_budget_is_generations_by_default_and_a_time_limit_still_caps_it():
    rng = np.random.default_rng(3)
    X = rng.uniform(0.5, 2.0, (80, 2))
    y = np.exp(X[:, 0]) * X[:, 1] + 0.05 * rng.normal(size=80)
    assert SymbolicRegressor().generations_budget() == 200
    assert SymbolicRegressor(backend="gplearn").generations_budget() == 20
    short = SymbolicRegressor(generations=20, population_size=100, random_state=0).fit(X, y)
    assert short.stopped_by_ == "generations" and short.n_generations_ == 20
    capped = SymbolicRegressor(generations=10 ** 6, time_limit=1.0, population_size=100, random_state=0).fit(X, y)
    assert capped.stopped_by_ == "time limit" and capped.search_seconds_ < 10


def test_search_stops_as_soon_as_a_formula_reaches_the_target_r2():
    """The stop-at-R* search of the speed-up protocol: it ends at the first chunk whose front reaches R*."""
    rng = np.random.default_rng(4)
    X = rng.uniform(0.5, 2.0, (120, 3))
    y = 2.0 * X[:, 0] * X[:, 1] + np.sqrt(X[:, 2]) + 0.02 * rng.normal(size=120)
    model = SymbolicRegressor(generations=10 ** 6, time_limit=60.0, target_r2=0.95, population_size=100,
                              random_state=0).fit(X, y)
    assert model.stopped_by_ == "target r2"
    assert model.n_generations_ < 200 and model.search_seconds_ < 60.0
    assert model.pareto_["r2"].max() >= 0.95 - 0.02  # the front's best (re-fitted and rounded) is at R*
    unreachable = SymbolicRegressor(generations=20, target_r2=1.5, population_size=100, random_state=0).fit(X, y)
    assert unreachable.stopped_by_ == "generations" and unreachable.n_generations_ == 20
