"""SurrogateRegressor: accuracy on smooth functions, honest uncertainty, model files, sklearn contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnsurrogate.core.metrics import coverage, r2
from nnsurrogate.core.modelio import load_model, save_model
from nnsurrogate.tabular.regressor import SurrogateRegressor

KIND = "tabular.SurrogateRegressor"


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # tiny networks: on a busy 2-core machine, OpenMP threads mostly wait on each other
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def smooth(X):
    """A smooth 2-D test function with curvature and an interaction term."""
    return np.sin(2.0 * X[:, 0]) + 0.5 * X[:, 1] ** 2 + 0.3 * X[:, 0] * X[:, 1]


def _uniform(n, seed, d=2):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (n, d))


@pytest.fixture(scope="module")
def clean_model():
    X = _uniform(600, seed=0)
    model = SurrogateRegressor(hidden=(32, 32), ensemble=3, max_epochs=250, patience=50, random_state=0)
    return model.fit(X, smooth(X))


@pytest.fixture(scope="module")
def noisy_problem():
    rng = np.random.default_rng(1)
    X, X_test = _uniform(1500, seed=2), _uniform(2000, seed=3)
    y = smooth(X) + rng.normal(0.0, 0.1, len(X))
    y_test = smooth(X_test) + rng.normal(0.0, 0.1, len(X_test))
    model = SurrogateRegressor(hidden=(32, 32), ensemble=3, max_epochs=200, patience=30, batch_size=128,
                               random_state=0).fit(X, y)
    return model, X_test, y_test


# ------------------------------------------------------------------ accuracy
def test_learns_a_smooth_function(clean_model):
    X_test = _uniform(1000, seed=10)
    assert r2(smooth(X_test), clean_model.predict(X_test)) > 0.99
    assert clean_model.score(X_test, smooth(X_test)) > 0.99  # RegressorMixin.score is the same R²
    assert 1 <= clean_model.n_epochs_ <= 250


def test_predict_shapes_and_positive_std(clean_model):
    X_test = _uniform(37, seed=11)
    mean, std = clean_model.predict(X_test, return_std=True)
    assert mean.shape == (37,) and std.shape == (37,)
    assert np.all(std > 0) and np.all(np.isfinite(std))
    np.testing.assert_array_equal(clean_model.predict(X_test), mean)
    full = clean_model.predict_full(X_test)
    assert full.spread.shape == (37,) and full.in_domain.shape == (37,) and full.in_domain.dtype == bool
    # σ² = a·s² + b with s the spread in standardised units, times the target scale
    expected = np.sqrt(clean_model.calibration_.variance(full.spread**2)) * clean_model.y_scaler_.scale[0]
    np.testing.assert_allclose(full.std, expected, rtol=1e-12)


def test_calibrated_coverage_on_noisy_data(noisy_problem):
    model, X_test, y_test = noisy_problem
    mean, std = model.predict(X_test, return_std=True)
    assert 0.58 <= coverage(y_test, mean, std, 1.0) <= 0.78
    assert 0.88 <= coverage(y_test, mean, std, 2.0) <= 0.99
    # the noise (σ = 0.1) dominates the error of a well-trained model: σ̂ should be close to it
    assert 0.08 < np.median(std) < 0.15


def test_outside_the_training_box_is_not_in_domain(noisy_problem):
    model, X_test, _ = noisy_problem
    inside = model.predict_full(X_test[:200]).in_domain
    assert inside.mean() > 0.95
    outside = np.array([[1.5, 0.0], [0.0, -1.2], [-3.0, 3.0], [0.0, 10.0]])
    assert not model.predict_full(outside).in_domain.any()
    np.testing.assert_array_equal(model.domain_.inside_box(outside), False)


# ------------------------------------------------------------ transforms
def test_log_target_gives_positive_predictions():
    rng = np.random.default_rng(4)
    X = rng.uniform(-1.0, 1.0, (300, 2))
    y = np.exp(3.0 * X[:, 0] + X[:, 1])  # spans ~ 4·10⁻² … 50
    model = SurrogateRegressor(hidden=(32,), ensemble=2, max_epochs=150, patience=40, log_target=True,
                               random_state=0).fit(X, y)
    X_far = np.array([[-5.0, -5.0], [-3.0, 0.0], [0.0, 0.0], [5.0, 5.0]])  # even far extrapolation
    mean, std = model.predict(np.vstack([X, X_far]), return_std=True)
    assert np.all(mean > 0) and np.all(std > 0)
    assert r2(np.log(y), np.log(mean[: len(y)])) > 0.98
    # delta method: std / mean is the latent (ln y) standard deviation
    full = model.predict_full(X[:5])
    latent = np.sqrt(model.calibration_.variance(full.spread**2)) * model.y_scaler_.scale[0]
    np.testing.assert_allclose(full.std / full.mean, latent, rtol=1e-12)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_log_target_refuses_non_positive_y(bad):
    X = _uniform(20, seed=5)
    y = np.exp(X[:, 0])
    y[7] = bad
    with pytest.raises(ValueError, match="strictly positive"):
        SurrogateRegressor(log_target=True, max_epochs=2).fit(X, y)


def _columns_for_auto_log(n=400, seed=6):
    rng = np.random.default_rng(seed)
    return np.column_stack([
        10.0 ** rng.uniform(0.0, 4.0, n),       # positive, span 10⁴ → log
        rng.uniform(1.0, 50.0, n),              # positive, span 50 → linear
        rng.uniform(-500.0, 1000.0, n),         # not positive → linear
        np.r_[0.0, 10.0 ** rng.uniform(0, 4, n - 1)],  # contains 0 → linear
        rng.uniform(0.01, 10.0, n),             # positive, span ≈ 10³ → log
        np.full(n, 5.0),                        # constant → linear
    ])


def test_log_inputs_auto_picks_positive_columns_spanning_two_decades():
    X = _columns_for_auto_log()
    y = np.log10(X[:, 0]) + 0.1 * X[:, 1]
    model = SurrogateRegressor(hidden=(8,), ensemble=1, max_epochs=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.log_inputs_, [True, False, False, False, True, False])
    manual = SurrogateRegressor(hidden=(8,), ensemble=1, max_epochs=3, log_inputs=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(manual.log_inputs_, False)


def test_log_inputs_threshold_is_strictly_more_than_100():
    X = np.column_stack([np.linspace(1.0, 100.0, 50), np.linspace(1.0, 101.0, 50)])
    model = SurrogateRegressor(hidden=(4,), ensemble=1, max_epochs=1, validation_fraction=0.0,
                               random_state=0).fit(X, X[:, 0])
    np.testing.assert_array_equal(model.log_inputs_, [False, True])


def test_log_inputs_explicit_mask_is_validated():
    X = _columns_for_auto_log(50)
    y = X[:, 1]
    with pytest.raises(ValueError, match="non-positive"):
        SurrogateRegressor(log_inputs=[False, False, True, False, False, False], max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="needs 6 flags"):
        SurrogateRegressor(log_inputs=[True, False], max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="log_inputs must be"):
        SurrogateRegressor(log_inputs="always", max_epochs=1).fit(X, y)


def test_log_inputs_help_a_function_of_log_x():
    # y = log10(x) over four decades: after the log transform the map is linear
    rng = np.random.default_rng(7)
    x = 10.0 ** rng.uniform(0.0, 4.0, (300, 1))
    x_test = 10.0 ** rng.uniform(0.0, 4.0, (300, 1))
    model = SurrogateRegressor(hidden=(16,), ensemble=2, max_epochs=150, patience=40, random_state=0).fit(x, np.log10(x[:, 0]))
    assert model.log_inputs_.tolist() == [True]
    assert r2(np.log10(x_test[:, 0]), model.predict(x_test)) > 0.995


# ----------------------------------------------------------- persistence
def _assert_same_predictions(a, b, X):
    pa, pb = a.predict_full(X), b.predict_full(X)
    for field in ("mean", "std", "spread", "in_domain"):
        np.testing.assert_array_equal(getattr(pb, field), getattr(pa, field), err_msg=field)


def test_state_round_trip_gives_identical_predictions(clean_model):
    X = np.vstack([_uniform(100, seed=12), [[2.0, 2.0]]])
    tensors, header = clean_model.to_state()
    _assert_same_predictions(clean_model, SurrogateRegressor.from_state(tensors, header), X)


def test_model_file_round_trip_gives_identical_predictions(tmp_path):
    X = np.column_stack([_uniform(200, seed=13), 10.0 ** np.random.default_rng(13).uniform(-2, 2, 200)])
    y = np.exp(X[:, 0] + 0.2 * np.log10(X[:, 2]))
    model = SurrogateRegressor(hidden=(16,), ensemble=2, max_epochs=30, dropout=0.1, mc_samples=5,
                               log_target=True, random_state=3).fit(X, y)
    assert model.log_inputs_.tolist() == [False, False, True]
    save_model(tmp_path / "m", KIND, *model.to_state())
    loaded = SurrogateRegressor.from_state(*load_model(tmp_path / "m", KIND))
    assert loaded.get_params() == model.get_params()
    X_new = np.column_stack([_uniform(50, seed=14), 10.0 ** np.random.default_rng(14).uniform(-3, 3, 50)])
    _assert_same_predictions(model, loaded, X_new)


def test_inconsistent_state_is_a_model_file_error(clean_model):
    from nnsurrogate.core.errors import ModelFileError

    tensors, header = clean_model.to_state()
    broken = dict(tensors)
    del broken["x_mean"]
    with pytest.raises(ModelFileError, match="inconsistent"):
        SurrogateRegressor.from_state(broken, header)
    wrong_width = {**header, "n_features_in": 3}
    with pytest.raises(ModelFileError, match="inconsistent"):
        SurrogateRegressor.from_state(tensors, wrong_width)


# ------------------------------------------------------- MC dropout, seeds
def test_mc_dropout_adds_spread():
    X = _uniform(300, seed=15)
    y = smooth(X)
    X_test = _uniform(200, seed=16)
    kw = dict(hidden=(32,), max_epochs=40, patience=40, random_state=0)
    single = SurrogateRegressor(ensemble=1, **kw).fit(X, y)
    single_mc = SurrogateRegressor(ensemble=1, dropout=0.1, **kw).fit(X, y)
    assert np.all(single.predict_full(X_test).spread == 0.0)  # one deterministic member: no spread
    assert np.all(single_mc.predict_full(X_test).spread > 0.0)
    ens = SurrogateRegressor(ensemble=3, **kw).fit(X, y)
    ens_mc = SurrogateRegressor(ensemble=3, dropout=0.1, **kw).fit(X, y)
    assert ens_mc.predict_full(X_test).spread.mean() > ens.predict_full(X_test).spread.mean()


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_same_random_state_same_model(dropout):
    X = _uniform(120, seed=17)
    y = smooth(X)
    X_test = _uniform(30, seed=18)
    kw = dict(hidden=(16,), ensemble=2, max_epochs=20, dropout=dropout, mc_samples=4)
    a = SurrogateRegressor(random_state=5, **kw).fit(X, y).predict(X_test, return_std=True)
    b = SurrogateRegressor(random_state=5, **kw).fit(X, y).predict(X_test, return_std=True)
    c = SurrogateRegressor(random_state=6, **kw).fit(X, y).predict(X_test, return_std=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])


def test_fit_leaves_the_global_torch_generator_alone():
    X = _uniform(40, seed=19)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    SurrogateRegressor(hidden=(8,), ensemble=2, max_epochs=3, dropout=0.2, mc_samples=3, random_state=0).fit(X, X[:, 0])
    assert torch.equal(torch.rand(3), expected)


def test_fewer_than_ten_rows_train_without_validation():
    X = _uniform(8, seed=20)
    model = SurrogateRegressor(hidden=(8,), ensemble=2, max_epochs=25, patience=1000, random_state=0).fit(X, smooth(X))
    assert model.n_epochs_ == 25  # no validation rows: early stopping never triggers
    mean, std = model.predict(X, return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)


@pytest.mark.parametrize("params", [dict(ensemble=0), dict(dropout=1.0), dict(validation_fraction=1.0),
                                    dict(hidden=(8, 0)), dict(activation="sigmoid")])
def test_bad_parameters_raise_in_fit(params):
    model = SurrogateRegressor(max_epochs=1, **params)  # __init__ only stores
    with pytest.raises(ValueError):
        model.fit(_uniform(20, seed=21), np.zeros(20) + np.arange(20))


# -------------------------------------------------------- sklearn contract
@parametrize_with_checks(
    [SurrogateRegressor(hidden=(16,), ensemble=2, max_epochs=60, patience=20, random_state=0)],
)
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)
