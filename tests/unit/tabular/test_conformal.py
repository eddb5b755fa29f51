"""ConformalRegressor: coverage around a network and a model without σ, and the saved scores."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from nnsurrogate.core.conformal import interval_coverage
from nnsurrogate.tabular.conformal import ConformalRegressor
from nnsurrogate.tabular.regressor import SurrogateRegressor
from nnsurrogate.tabular.registry import member_from_state, member_state

SMALL = dict(hidden=(16,), ensemble=2, max_epochs=200, patience=40, random_state=0)


def _heteroscedastic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """y = sin(3x) + noise whose scale grows tenfold across x, Student-t (ν = 3) tails."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (n, 1))
    scale = 0.02 + 0.1 * (x[:, 0] + 1.0)
    return x, np.sin(3.0 * x[:, 0]) + scale * rng.standard_t(3.0, n)


@pytest.mark.parametrize("method", ["split", "cv"])
def test_intervals_cover_the_requested_share_of_new_rows(method):
    X, y = _heteroscedastic(600, 0)
    X_new, y_new = _heteroscedastic(4000, 1)
    model = ConformalRegressor(SurrogateRegressor(**SMALL), method=method, cv=3, random_state=0).fit(X, y)
    assert model.conformal_.normalized
    assert model.conformal_.n == (120 if method == "split" else 600)
    pred = model.predict_full(X_new)
    for level in (0.6827, 0.9, 0.9545):
        low, high = model.interval_from(pred, level)
        # 4000 new rows: sampling s.e. ≤ 0.008; the calibration quantile adds ≤ 0.04 (split) / 0.02 (cv)
        assert interval_coverage(y_new, low, high) == pytest.approx(level, abs=0.06 if method == "split" else 0.04)
    # normalised scores: the half-width is the score quantile times the model's own σ, row by row
    low, high = model.interval_from(pred, 0.9)
    np.testing.assert_allclose((high - low) / 2, model.conformal_.quantile(0.9) * pred.std, rtol=1e-12)

def test_a_model_without_sigma_gets_absolute_scores_of_equal_width():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(0.0, 0.3, 400)
    model = ConformalRegressor(LinearRegression(), method="split", random_state=0).fit(X, y)
    assert not model.conformal_.normalized
    band = model.predict_interval(rng.normal(size=(5, 3)), level=0.9)
    assert band.shape == (5, 2)
    np.testing.assert_allclose(band[:, 1] - band[:, 0], band[0, 1] - band[0, 0])
    # with Gaussian noise of σ 0.3 the 90 % half-width is near 1.645 × 0.3
    assert (band[0, 1] - band[0, 0]) / 2 == pytest.approx(1.645 * 0.3, rel=0.25)


def test_saved_and_loaded_model_gives_the_same_intervals():
    X, y = _heteroscedastic(200, 3)
    model = ConformalRegressor(SurrogateRegressor(**SMALL), random_state=0).fit(X, y)
    tensors, header = member_state(model, "")
    again = member_from_state(tensors, header, "")
    np.testing.assert_array_equal(again.predict_interval(X[:20], 0.8), model.predict_interval(X[:20], 0.8))
    assert again.get_params()["method"] == "split"


def test_bad_settings_are_refused():
    X, y = _heteroscedastic(40, 4)
    with pytest.raises(ValueError, match="conformal method"):
        ConformalRegressor(method="jackknife").fit(X, y)
    with pytest.raises(ValueError, match="calibration_fraction"):
        ConformalRegressor(calibration_fraction=1.0).fit(X, y)
    with pytest.raises(ValueError, match="cv must be"):
        ConformalRegressor(method="cv", cv=1).fit(X, y)
