"""The hurdle model for zero-inflated targets, the L1 loss, and the choice of default estimator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from nnsurrogate.core.training import per_member_cross_entropy, per_member_l1
from nnsurrogate.tabular.blend import BlendClassifier, BlendRegressor
from nnsurrogate.tabular.classifier import SurrogateClassifier
from nnsurrogate.tabular.estimators import ModelOptions, is_zero_inflated, make_estimator
from nnsurrogate.tabular.gap_model import TwoStageRegressor, mixture_median, mixture_std
from nnsurrogate.tabular.regressor import SurrogateRegressor

SMALL = dict(hidden=(16,), ensemble=2, max_epochs=150, patience=30, random_state=0)


def test_mixture_median_by_hand():
    # π ≥ ½: more than half the mass sits at 0
    assert mixture_median([0.5, 0.9], [3.0, 3.0], [1.0, 1.0]).tolist() == [0.0, 0.0]
    # π = 0: the median of N(3, 1) is 3
    assert mixture_median([0.0], [3.0], [1.0])[0] == pytest.approx(3.0)
    # π = 0.2: the (0.5 − 0.2)/0.8 = 0.375 quantile of N(3, 1)
    assert mixture_median([0.2], [3.0], [1.0])[0] == pytest.approx(3.0 + stats.norm.ppf(0.375))
    # a quantile below 0 is clipped to 0 (the target is non-negative)
    assert mixture_median([0.45], [0.1], [1.0])[0] == 0.0


def test_mixture_std_by_hand():
    # π = ½, N(2, 0²): a fair coin between 0 and 2 has standard deviation 1
    assert mixture_std([0.5], [2.0], [0.0])[0] == pytest.approx(1.0)
    # π = 0: the conditional σ itself
    assert mixture_std([0.0], [5.0], [0.7])[0] == pytest.approx(0.7)
    # Var = (1−π)(σ² + μ²) − ((1−π)μ)² with π = 0.3, μ = 2, σ = 0.5
    assert mixture_std([0.3], [2.0], [0.5])[0] == pytest.approx(math.sqrt(0.7 * 4.25 - 1.4**2))


def test_two_stage_learns_where_the_target_is_zero():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, (900, 2))
    y = np.where(X[:, 0] < 0.0, 0.0, 1.0 + 2.0 * X[:, 0] + 0.5 * X[:, 1])  # metals left, a gap right
    model = TwoStageRegressor(SurrogateClassifier(**SMALL), SurrogateRegressor(**SMALL), random_state=0)
    model.fit(X[:600], y[:600])
    pred, std = model.predict(X[600:], return_std=True)
    truth = y[600:]
    far = np.abs(X[600:, 0]) > 0.1  # away from the boundary
    assert np.all(pred[far & (truth == 0)] == 0.0)  # exact zeros, not small numbers
    assert np.mean(np.abs(pred - truth)[far & (truth > 0)]) < 0.1
    assert np.all(std >= 0) and np.all(np.isfinite(std))
    pi = model.predict_zero_proba(X[600:])
    assert np.mean((pi > 0.5) == (truth == 0)) > 0.95
    tensors, header = model.to_state()
    again = TwoStageRegressor.from_state(tensors, header)
    np.testing.assert_array_equal(again.predict(X[600:]), pred)


def test_two_stage_refuses_negative_or_all_positive_targets():
    X = np.arange(20.0)[:, None]
    with pytest.raises(ValueError, match="non-negative"):
        TwoStageRegressor().fit(X, np.linspace(-1.0, 1.0, 20))
    with pytest.raises(ValueError, match="at least 2 zero"):
        TwoStageRegressor().fit(X, np.linspace(1.0, 2.0, 20))


def test_l1_loss_fits_the_median_and_mse_the_mean():
    # y = x + exponential noise: mean offset 1, median offset ln 2
    rng = np.random.default_rng(1)
    X = rng.uniform(-1.0, 1.0, (3000, 1))
    y = X[:, 0] + rng.exponential(1.0, 3000)
    grid = np.linspace(-0.8, 0.8, 50)[:, None]
    kw = dict(hidden=(8,), ensemble=2, max_epochs=200, patience=40, batch_size=128, random_state=0)
    median_fit = SurrogateRegressor(loss="l1", **kw).fit(X, y).predict(grid) - grid[:, 0]
    mean_fit = SurrogateRegressor(loss="mse", **kw).fit(X, y).predict(grid) - grid[:, 0]
    assert np.mean(median_fit) == pytest.approx(math.log(2.0), abs=0.08)
    assert np.mean(mean_fit) == pytest.approx(1.0, abs=0.08)
    with pytest.raises(ValueError, match="unknown loss"):
        SurrogateRegressor(loss="huber", max_epochs=1).fit(X[:20], y[:20])


def test_per_member_losses_by_hand():
    pred = torch.tensor([[[1.0], [3.0]], [[0.0], [0.0]]])  # (M=2, B=2, 1)
    target = torch.tensor([[[2.0], [1.0]]])
    np.testing.assert_allclose(per_member_l1(pred, target).numpy(), [1.5, 1.5])
    logits = torch.tensor([[[2.0, 0.0], [0.0, 1.0]]])  # (1, 2, 2)
    labels = torch.tensor([[[0.0], [0.0]]])
    expected = [-(math.log(math.exp(2) / (math.exp(2) + 1)) + math.log(1 / (1 + math.e))) / 2]
    np.testing.assert_allclose(per_member_cross_entropy(logits, labels).numpy(), expected, rtol=1e-6)


def test_default_estimators():
    gaps = np.r_[np.zeros(40), np.linspace(0.1, 5.0, 60)]
    assert is_zero_inflated(gaps) and not is_zero_inflated(gaps + 0.1) and not is_zero_inflated(gaps - 0.05)
    options = ModelOptions(seed=3)
    assert isinstance(make_estimator(options, "regress", gaps, composition=True), TwoStageRegressor)
    assert isinstance(make_estimator(options, "regress", gaps, composition=False), SurrogateRegressor)
    log_model = make_estimator(ModelOptions(log_target=True), "regress", gaps + 1.0, composition=True)
    assert isinstance(log_model, BlendRegressor) and log_model.network.log_target
    assert all(member.log_target for member in log_model.members)
    numeric = make_estimator(options, "regress", gaps + 1.0, composition=False)
    assert numeric.get_params()["hidden"] == SurrogateRegressor().hidden and numeric.loss == "mse"
    clf = make_estimator(ModelOptions(hidden=(7,)), "classify", np.array([0, 1] * 10), composition=True)
    assert isinstance(clf, BlendClassifier) and isinstance(clf.network, SurrogateClassifier)
    assert clf.network.hidden == (7,) and clf.network.batch_size == 8
