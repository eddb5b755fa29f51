"""MultiFidelityRegressor: many cheap biased values make few expensive ones go further."""

from __future__ import annotations

import numpy as np
import pytest

from nnsurrogate.tabular.fidelity import MultiFidelityRegressor
from nnsurrogate.tabular.registry import member_from_state, member_state
from nnsurrogate.tabular.regressor import SurrogateRegressor
from nnsurrogate.tabular.tree_models import BoostedRegressor

SMALL = dict(hidden=(32, 32), ensemble=2, max_epochs=400, patience=60, random_state=0)


def _low(X: np.ndarray) -> np.ndarray:
    """A wiggly 'calculation' of 4 inputs."""
    return np.sin(2.0 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * np.cos(3.0 * X[:, 3])


def _high(X: np.ndarray) -> np.ndarray:
    """The 'experiment': the calculation, scaled and shifted, plus a smooth correction."""
    return 1.3 * _low(X) + 0.4 + 0.2 * X[:, 0]


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X_low = rng.uniform(-1.0, 1.0, (3000, 4))
    X_high = rng.uniform(-1.0, 1.0, (60, 4))  # few experiments
    X_test = rng.uniform(-1.0, 1.0, (1000, 4))
    return X_low, _low(X_low), X_high, _high(X_high) + rng.normal(0.0, 0.02, 60), X_test, _high(X_test)


def _with_low_column(X: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
    return np.column_stack([X, np.full(len(X), np.nan) if values is None else values])


@pytest.mark.parametrize("method", ["stack", "delta", "joint"])
def test_low_fidelity_rows_cut_the_error_of_few_high_fidelity_rows(method):
    X_low, y_low, X_high, y_high, X_test, y_test = _data()
    alone = SurrogateRegressor(**SMALL).fit(X_high, y_high)
    mae_alone = np.mean(np.abs(alone.predict(X_test) - y_test))
    model = MultiFidelityRegressor(SurrogateRegressor(**SMALL), BoostedRegressor(random_state=0), method=method,
                                   random_state=0)
    model.fit(_with_low_column(X_high), y_high, X_low, y_low)
    pred, std = model.predict(_with_low_column(X_test), return_std=True)
    assert np.mean(np.abs(pred - y_test)) < 0.5 * mae_alone
    assert np.all(np.isfinite(std)) and np.all(std > 0)


def test_a_known_calculation_is_used_instead_of_the_low_fidelity_model():
    X_low, y_low, X_high, y_high, X_test, y_test = _data(1)
    model = MultiFidelityRegressor(SurrogateRegressor(**SMALL), BoostedRegressor(random_state=0), method="delta")
    model.fit(_with_low_column(X_high, _low(X_high)), y_high, X_low, y_low)
    value, known = model.low_fidelity_value(_with_low_column(X_test[:5], np.array([1.0, np.nan, 2.0, np.nan, 3.0])))
    assert known.tolist() == [True, False, True, False, True]
    assert value[[0, 2, 4]].tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(value[[1, 3]], model.low_.predict(X_test[[1, 3]]))
    # with the exact calculation of every test row, delta learning is better still than with f_L's guesses
    exact = np.mean(np.abs(model.predict(_with_low_column(X_test, _low(X_test))) - y_test))
    guessed = np.mean(np.abs(model.predict(_with_low_column(X_test)) - y_test))
    assert exact < guessed


def test_saved_model_predicts_the_same():
    X_low, y_low, X_high, y_high, X_test, _ = _data(2)
    model = MultiFidelityRegressor(SurrogateRegressor(**{**SMALL, "max_epochs": 50}), method="stack", random_state=0)
    model.fit(_with_low_column(X_high), y_high, X_low[:500], y_low[:500])
    tensors, header = member_state(model, "")
    again = member_from_state(tensors, header, "")
    np.testing.assert_array_equal(again.predict(_with_low_column(X_test[:50])), model.predict(_with_low_column(X_test[:50])))


def test_bad_inputs_are_refused():
    X_low, y_low, X_high, y_high, _, _ = _data(3)
    with pytest.raises(ValueError, match="multi-fidelity method"):
        MultiFidelityRegressor(method="cokriging").fit(_with_low_column(X_high), y_high, X_low, y_low)
    with pytest.raises(ValueError, match="low-fidelity rows"):
        MultiFidelityRegressor().fit(_with_low_column(X_high), y_high)
    with pytest.raises(ValueError, match="need 4 inputs"):
        MultiFidelityRegressor().fit(_with_low_column(X_high), y_high, X_low[:, :3], y_low)
    bad = _with_low_column(X_high)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MultiFidelityRegressor().fit(bad, y_high, X_low, y_low)
