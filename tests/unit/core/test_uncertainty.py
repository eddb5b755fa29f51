"""Variance calibration σ² = a·s² + b recovers known parameters; the domain check's box and spread."""

from __future__ import annotations

import numpy as np
import pytest

from nnsurrogate.core.metrics import coverage
from nnsurrogate.core.uncertainty import DomainCheck, VarianceCalibration, fit_variance_calibration


def _synthetic(a, b, n, seed):
    rng = np.random.default_rng(seed)
    # spreads over 3.5 decades: rows where b dominates pin down b, rows where a·s² dominates pin down a
    spread_var = 10.0 ** rng.uniform(-3.0, 0.5, n)
    residuals = rng.normal(0.0, np.sqrt(a * spread_var + b))
    return residuals, spread_var


@pytest.mark.parametrize(("a", "b"), [(2.5, 0.3), (0.5, 0.2), (1.0, 0.05)])
def test_recovers_known_scale_and_noise(a, b):
    residuals, spread_var = _synthetic(a, b, 20_000, seed=0)
    cal = fit_variance_calibration(residuals, spread_var)
    assert cal.scale == pytest.approx(a, rel=0.10)
    assert cal.noise == pytest.approx(b, rel=0.10)


def test_calibrated_intervals_cover_68_and_95_percent_on_fresh_data():
    residuals, spread_var = _synthetic(2.0, 0.5, 20_000, seed=1)
    cal = fit_variance_calibration(residuals, spread_var)
    new_resid, new_var = _synthetic(2.0, 0.5, 20_000, seed=2)
    std = np.sqrt(cal.variance(new_var))
    zeros = np.zeros_like(new_resid)
    assert coverage(new_resid, zeros, std, 1.0) == pytest.approx(0.683, abs=0.015)
    assert coverage(new_resid, zeros, std, 2.0) == pytest.approx(0.954, abs=0.008)
    # the raw spread alone (a = 1, b = 0) under-covers here
    assert coverage(new_resid, zeros, np.sqrt(new_var), 1.0) < 0.6


def test_no_spread_information_gives_noise_equal_to_residual_variance():
    rng = np.random.default_rng(3)
    residuals = rng.normal(0.0, 0.7, 20_000)
    cal = fit_variance_calibration(residuals, np.zeros_like(residuals))
    assert cal.noise == pytest.approx(0.49, rel=0.05)
    assert np.sqrt(cal.variance(np.zeros(1)))[0] == pytest.approx(0.7, rel=0.03)


def test_pure_scaling_gives_negligible_noise():
    residuals, spread_var = _synthetic(4.0, 0.0, 20_000, seed=4)
    cal = fit_variance_calibration(residuals, spread_var)
    assert cal.scale == pytest.approx(4.0, rel=0.10)
    assert cal.noise < 0.02 * 4.0 * spread_var.mean()


def test_empty_input_gives_identity_calibration():
    cal = fit_variance_calibration(np.array([]), np.array([]))
    assert (cal.scale, cal.noise) == (1.0, 0.0)


def test_variance_formula():
    cal = VarianceCalibration(scale=2.0, noise=0.25)
    np.testing.assert_allclose(cal.variance([0.0, 1.0, 3.0]), [0.25, 2.25, 6.25])


# ------------------------------------------------------------------- domain
X_TRAIN = np.array([[0.0, 10.0], [1.0, 20.0], [0.5, 15.0], [0.2, 12.0]])
SPREAD_TRAIN = np.arange(1, 101) / 100.0  # 0.01 … 1.00


def test_spread_limit_is_factor_times_99th_percentile():
    dom = DomainCheck.fit(X_TRAIN, SPREAD_TRAIN, spread_factor=3.0)
    # 99th percentile of 0.01…1.00 by linear interpolation: position 0.99·99 = 98.01 → 0.99 + 0.01·0.01
    assert dom.spread_limit == pytest.approx(3.0 * 0.9901)
    assert dom.low == (0.0, 10.0) and dom.high == (1.0, 20.0)


def test_inside_box():
    dom = DomainCheck.fit(X_TRAIN, SPREAD_TRAIN)
    X = np.array([
        [0.5, 15.0],              # interior
        [0.0, 10.0],              # corner
        [1.0, 20.0],              # opposite corner
        [1.0 + 1e-12, 20.0],      # within the round-off slack
        [1.001, 15.0],            # beyond x0
        [0.5, 9.99],              # below x1
        [-0.1, 25.0],             # both out
    ])
    np.testing.assert_array_equal(dom.inside_box(X), [True, True, True, True, False, False, False])


def test_in_domain_needs_box_and_small_spread():
    dom = DomainCheck.fit(X_TRAIN, SPREAD_TRAIN)
    limit = dom.spread_limit
    X = np.array([[0.5, 15.0], [0.5, 15.0], [0.5, 15.0], [2.0, 15.0]])
    spread = np.array([0.1, limit, limit * 1.001, 0.0])
    np.testing.assert_array_equal(dom.in_domain(X, spread), [True, True, False, False])
