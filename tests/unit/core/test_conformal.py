"""Conformal intervals: the quantile by hand, the finite-sample coverage on heavy-tailed errors, level checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nnsurrogate.core.conformal import ConformalScores, check_level, gaussian_interval, interval_coverage


def test_quantile_is_the_ceil_n_plus_one_level_th_smallest_score():
    scores = ConformalScores.fit(np.arange(1.0, 10.0) * np.array([1, -1] * 4 + [1]))  # |r| = 1 … 9, n = 9
    low, high = scores.interval(np.array([0.0, 10.0]), 0.8)  # ⌈10 · 0.8⌉ = 8th smallest = 8
    np.testing.assert_allclose(low, [-8.0, 2.0])
    np.testing.assert_allclose(high, [8.0, 18.0])
    low, high = scores.interval(np.array([0.0]), 0.85)  # ⌈8.5⌉ = 9th smallest = 9
    assert high[0] == pytest.approx(9.0)


def test_normalised_scores_scale_with_sigma():
    scores = ConformalScores.fit(np.array([1.0, -2.0, 3.0, 4.0]), sigma=np.array([1.0, 1.0, 1.0, 2.0]))
    assert scores.normalized and scores.scores.tolist() == [1.0, 2.0, 2.0, 3.0]
    low, high = scores.interval(np.array([5.0, 5.0]), 0.6, sigma=np.array([1.0, 10.0]))  # ⌈5 · 0.6⌉ = 3rd = 2
    np.testing.assert_allclose(high - low, [4.0, 40.0])
    with pytest.raises(ValueError, match="σ"):
        scores.interval(np.array([0.0]), 0.6)


def test_coverage_holds_for_heavy_tailed_errors_where_the_gaussian_interval_does_not():
    # Student-t (ν = 4) errors scaled to unit variance, with a σ that is right on average
    rng = np.random.default_rng(0)
    nu, n_cal, n_test, repeats = 4.0, 200, 200, 200
    scale = np.sqrt((nu - 2) / nu)
    covered = {0.6827: [], 0.9545: []}
    gauss_1sigma = []
    for _ in range(repeats):
        sigma_cal, sigma_test = rng.uniform(0.5, 2.0, n_cal), rng.uniform(0.5, 2.0, n_test)
        err_cal = sigma_cal * scale * rng.standard_t(nu, n_cal)
        y_test = sigma_test * scale * rng.standard_t(nu, n_test)  # prediction 0, truth y
        scores = ConformalScores.fit(err_cal, sigma_cal)
        for level in covered:
            low, high = scores.interval(np.zeros(n_test), level, sigma_test)
            covered[level].append(interval_coverage(y_test, low, high))
        gauss_1sigma.append(interval_coverage(y_test, *gaussian_interval(np.zeros(n_test), sigma_test, 0.6827)))
    for level, values in covered.items():
        # exact: level ≤ E[coverage] < level + 1/(n_cal + 1); 200 × 200 rows give a s.e. below 0.003
        assert level - 0.007 < np.mean(values) < level + 1 / (n_cal + 1) + 0.007
    t_inside = 2 * stats.t.cdf(1 / scale, nu) - 1  # the heavy tails put 0.77 inside ±1σ
    assert np.mean(gauss_1sigma) == pytest.approx(t_inside, abs=0.01) and t_inside > 0.74


def test_levels_outside_what_the_scores_support_are_refused():
    scores = ConformalScores.fit(np.ones(9))
    assert scores.max_level() == pytest.approx(0.9)
    with pytest.raises(ValueError, match="calibration rows"):
        scores.interval(np.zeros(1), 0.95)
    for bad in (0.0, 1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            check_level(bad)
    with pytest.raises(ValueError, match="finite residual"):
        ConformalScores.fit(np.array([]))
