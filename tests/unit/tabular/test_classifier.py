"""SurrogateClassifier: accuracy, calibrated probabilities, temperature scaling, files, sklearn contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnsurrogate.core.metrics import log_loss, roc_auc
from nnsurrogate.tabular.classifier import SurrogateClassifier, _tempered, fit_temperature

FAST = dict(hidden=(16,), ensemble=3, max_epochs=150, patience=30, random_state=0)


def _logistic_problem(n, seed):
    """Two classes with a known P(y = 1 | x) = σ(3 x₀ − 2 x₁)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, (n, 2))
    p1 = 1.0 / (1.0 + np.exp(-(3.0 * X[:, 0] - 2.0 * X[:, 1])))
    return X, (rng.uniform(size=n) < p1).astype(int), p1


@pytest.fixture(scope="module")
def logistic_model():
    X, y, _ = _logistic_problem(800, seed=0)
    return SurrogateClassifier(**FAST).fit(X, y)


def test_probabilities_approach_the_true_ones(logistic_model):
    X, y, p1 = _logistic_problem(2000, seed=1)
    proba = logistic_model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.mean(np.abs(proba[:, 1] - p1)) < 0.06  # the noise-free probability, not just the labels
    # the model's log loss is close to the lowest achievable (that of the true probabilities)
    assert log_loss(y, proba) < log_loss(y, p1) + 0.03
    assert roc_auc(y, proba) > 0.85
    np.testing.assert_array_equal(logistic_model.predict(X), np.argmax(proba, axis=1))


def test_temperature_recovers_a_known_overconfidence():
    rng = np.random.default_rng(2)
    logits = rng.normal(0.0, 2.0, (4000, 3))
    true_p = _tempered(logits, 1.0)
    y = np.array([rng.choice(3, p=p) for p in true_p])
    # a model three times too confident: log-probabilities scaled by 3
    overconfident = 3.0 * (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True)))
    assert fit_temperature(overconfident, y) == pytest.approx(3.0, rel=0.1)
    assert fit_temperature(np.log(true_p), y) == pytest.approx(1.0, rel=0.1)


def test_string_labels_and_three_classes():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1.0, 1.0, (600, 2))
    labels = np.array(["glass", "crystal", "mixed"])[np.digitize(X[:, 0], [-0.33, 0.33])]
    model = SurrogateClassifier(**FAST).fit(X[:400], labels[:400])
    assert list(model.classes_) == ["crystal", "glass", "mixed"]
    assert model.score(X[400:], labels[400:]) > 0.9
    assert model.predict_proba(X[400:]).shape == (200, 3)


def test_single_class_is_refused():
    with pytest.raises(ValueError, match="at least 2 classes"):
        SurrogateClassifier(**FAST).fit(np.zeros((20, 2)) + np.arange(20)[:, None], np.ones(20))


def test_state_round_trip_gives_identical_probabilities(logistic_model):
    X, _, _ = _logistic_problem(100, seed=4)
    tensors, header = logistic_model.to_state()
    loaded = SurrogateClassifier.from_state(tensors, header)
    np.testing.assert_array_equal(loaded.predict_proba(X), logistic_model.predict_proba(X))
    assert loaded.temperature_ == logistic_model.temperature_
    np.testing.assert_array_equal(loaded.predict_full(X)[1], logistic_model.predict_full(X)[1])


def test_outside_the_training_box_is_not_in_domain(logistic_model):
    _, inside = logistic_model.predict_full(np.array([[0.0, 0.0], [0.5, -0.5]]))
    _, outside = logistic_model.predict_full(np.array([[3.0, 0.0], [0.0, -2.0]]))
    assert inside.all() and not outside.any()


@parametrize_with_checks([SurrogateClassifier(hidden=(16,), ensemble=2, max_epochs=60, patience=20, random_state=0)])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)
