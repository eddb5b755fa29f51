"""Regression metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnsurrogate.core import metrics

# y = [1, 2, 3, 4], ŷ = [1, 3, 2, 6]  →  errors e = ŷ − y = [0, 1, −1, 2]
Y = [1.0, 2.0, 3.0, 4.0]
P = [1.0, 3.0, 2.0, 6.0]


def test_mae_by_hand():
    assert metrics.mae(Y, P) == pytest.approx((0 + 1 + 1 + 2) / 4)


def test_rmse_by_hand():
    assert metrics.rmse(Y, P) == pytest.approx(math.sqrt((0 + 1 + 1 + 4) / 4))


def test_r2_by_hand():
    # mean y = 2.5; SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5; SS_res = 6
    assert metrics.r2(Y, P) == pytest.approx(1.0 - 6.0 / 5.0)


def test_r2_perfect_and_mean_predictor():
    assert metrics.r2(Y, Y) == pytest.approx(1.0)
    assert metrics.r2(Y, [2.5] * 4) == pytest.approx(0.0)


def test_max_error_by_hand():
    assert metrics.max_error(Y, P) == pytest.approx(2.0)
    assert metrics.max_error([0.0, 0.0], [-3.0, 1.0]) == pytest.approx(3.0)  # sign does not matter


def test_spearman_by_hand_without_ties():
    # ranks of y: 1 2 3 4; ranks of ŷ: 1 3 2 4; d = 0 −1 1 0; Σd² = 2
    rho = 1.0 - 6.0 * 2.0 / (4 * (4**2 - 1))
    assert rho == pytest.approx(0.8)
    assert metrics.spearman(Y, P) == pytest.approx(rho)


def test_spearman_by_hand_with_ties():
    # y = [1, 2, 2, 3] → average ranks [1, 2.5, 2.5, 4]; ŷ ranks [1, 2, 3, 4]
    # Pearson of the ranks: Σdx·dy = 4.5, Σdx² = 4.5, Σdy² = 5  →  ρ = 4.5 / √(4.5·5) = √0.9
    assert metrics.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(math.sqrt(0.9))


def test_spearman_is_invariant_under_monotone_maps():
    x = np.array([0.3, -1.0, 2.0, 0.1, 5.0])
    assert metrics.spearman(x, np.exp(x)) == pytest.approx(1.0)
    assert metrics.spearman(x, -(x**3)) == pytest.approx(-1.0)


def test_spearman_nan_when_one_side_constant():
    assert math.isnan(metrics.spearman([1, 2, 3], [5, 5, 5]))
    assert math.isnan(metrics.spearman([7, 7, 7], [1, 2, 3]))


# top-k example: y = [5, 1, 4, 2, 3], ŷ = [1, 3, 5, 4, 2]
#   largest:  true top-2 = {0, 2}, predicted top-2 = {2, 3} → 1/2
#             true top-3 = {0, 2, 4}, predicted top-3 = {2, 3, 1} → 1/3
#   smallest: true bottom-2 = {1, 3}, predicted bottom-2 = {0, 4} → 0
TOPK_Y = [5.0, 1.0, 4.0, 2.0, 3.0]
TOPK_P = [1.0, 3.0, 5.0, 4.0, 2.0]


@pytest.mark.parametrize(("k", "largest", "expected"), [(2, True, 0.5), (3, True, 1 / 3), (2, False, 0.0),
                                                        (1, True, 0.0), (1, False, 0.0), (5, True, 1.0)])
def test_top_k_recall_by_hand(k, largest, expected):
    assert metrics.top_k_recall(TOPK_Y, TOPK_P, k, largest=largest) == pytest.approx(expected)


def test_top_k_recall_perfect_ranking_is_one():
    y = np.array([3.0, 9.0, 1.0, 7.0])
    for k in range(1, 5):
        assert metrics.top_k_recall(y, 10 * y + 2, k) == 1.0
        assert metrics.top_k_recall(y, 10 * y + 2, k, largest=False) == 1.0
    # a reversed ranking puts the true top-2 at the bottom: no overlap
    assert metrics.top_k_recall(y, -y, 2) == 0.0


@pytest.mark.parametrize("k", [0, -1, 6])
def test_top_k_out_of_range(k):
    with pytest.raises(ValueError, match="k must be"):
        metrics.top_k_recall(TOPK_Y, TOPK_P, k)


def test_coverage_counts_by_hand():
    y = [0.0, 0.0, 0.0, 0.0]
    p = [0.5, -1.5, 2.5, -0.2]  # |e| = 0.5, 1.5, 2.5, 0.2
    assert metrics.coverage(y, p, [1, 1, 1, 1], 1.0) == pytest.approx(2 / 4)  # 0.5, 0.2
    assert metrics.coverage(y, p, [1, 1, 1, 1], 2.0) == pytest.approx(3 / 4)  # + 1.5
    assert metrics.coverage(y, p, [1, 1, 1, 1], 3.0) == pytest.approx(4 / 4)
    # per-row σ = [1, 1, 2, 0.1]: 0.5 ≤ 1 yes; 1.5 ≤ 1 no; 2.5 ≤ 2 no; 0.2 ≤ 0.1 no
    assert metrics.coverage(y, p, [1, 1, 2, 0.1], 1.0) == pytest.approx(1 / 4)


def test_coverage_boundary_is_inclusive():
    assert metrics.coverage([0.0], [1.0], [1.0], 1.0) == 1.0
    assert metrics.coverage([0.0], [1.0], [0.5], 2.0) == 1.0


def test_coverage_of_gaussian_errors_matches_normal_quantiles():
    rng = np.random.default_rng(0)
    sigma = rng.uniform(0.5, 3.0, 200_000)
    err = rng.normal(0.0, sigma)
    assert metrics.coverage(err, np.zeros_like(err), sigma, 1.0) == pytest.approx(0.6827, abs=0.005)
    assert metrics.coverage(err, np.zeros_like(err), sigma, 2.0) == pytest.approx(0.9545, abs=0.003)


def test_gaussian_nll_by_formula():
    # one row with σ = 1 and |e| = 1: ½ ln(2π) + 1/2
    nll_1 = 0.5 * math.log(2 * math.pi) + 0.5
    assert metrics.gaussian_nll([0.0], [1.0], [1.0]) == pytest.approx(nll_1)
    # σ = 2, |e| = 1: ½ ln(2π·4) + 1/8
    nll_2 = 0.5 * math.log(2 * math.pi * 4) + 1.0 / 8.0
    assert metrics.gaussian_nll([0.0], [1.0], [2.0]) == pytest.approx(nll_2)
    # the mean over both rows
    assert metrics.gaussian_nll([0.0, 3.0], [1.0, 2.0], [1.0, 2.0]) == pytest.approx((nll_1 + nll_2) / 2)


def test_gaussian_nll_is_smallest_at_the_true_sigma():
    # for |e| = e0 the NLL in σ is minimal at σ = e0 (d/dσ [ln σ + e0²/(2σ²)] = 0)
    sigmas = np.linspace(0.5, 2.0, 151)
    nll = [metrics.gaussian_nll([0.0], [1.2], [s]) for s in sigmas]
    assert sigmas[int(np.argmin(nll))] == pytest.approx(1.2, abs=0.01)


def test_gaussian_nll_with_zero_sigma_is_not_nan():
    exact = metrics.gaussian_nll([1.0], [1.0], [0.0])
    wrong = metrics.gaussian_nll([1.0], [2.0], [0.0])
    assert not math.isnan(exact) and not math.isnan(wrong)
    assert wrong > 1e100  # a certain prediction that misses is infinitely unlikely
    assert exact < metrics.gaussian_nll([1.0], [1.0], [1e-6])  # a sharper exact prediction scores better


def test_r2_nan_for_constant_or_single_target():
    assert math.isnan(metrics.r2([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]))
    assert math.isnan(metrics.r2([2.0], [1.0]))


@pytest.mark.parametrize("fn", [metrics.mae, metrics.rmse, metrics.r2, metrics.max_error, metrics.spearman])
def test_mismatched_lengths_raise(fn):
    with pytest.raises(ValueError, match="3 values"):
        fn([1.0, 2.0, 3.0], [1.0, 2.0])


@pytest.mark.parametrize("fn", [metrics.mae, metrics.rmse, metrics.max_error])
def test_empty_input_raises(fn):
    with pytest.raises(ValueError, match="at least one"):
        fn([], [])


def test_mismatched_lengths_raise_for_uncertainty_metrics():
    with pytest.raises(ValueError):
        metrics.coverage([1.0, 2.0], [1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="y_std has 1"):
        metrics.coverage([1.0, 2.0], [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="y_std has 3"):
        metrics.gaussian_nll([1.0, 2.0], [1.0, 2.0], [1.0, 1.0, 1.0])


@pytest.mark.parametrize("bad", [[1.0, -0.1], [1.0, np.nan], [np.inf, 1.0]])
def test_bad_std_raises(bad):
    with pytest.raises(ValueError, match="non-negative"):
        metrics.coverage([0.0, 0.0], [0.0, 0.0], bad)
    with pytest.raises(ValueError, match="non-negative"):
        metrics.gaussian_nll([0.0, 0.0], [0.0, 0.0], bad)


def test_regression_report_collects_the_same_numbers():
    std = [1.0, 1.0, 2.0, 0.5]
    report = metrics.regression_report(Y, P, y_std=std, top_k=10)
    assert report["mae"] == pytest.approx(1.0)
    assert report["rmse"] == pytest.approx(math.sqrt(1.5))
    assert report["r2"] == pytest.approx(-0.2)
    assert report["max_error"] == pytest.approx(2.0)
    assert report["spearman"] == pytest.approx(0.8)
    # |e| = 0, 1, 1, 2 vs σ = 1, 1, 2, 0.5: 1σ → 3 of 4; 2σ → 3 of 4 (2 > 1)
    assert report["coverage_1sigma"] == pytest.approx(0.75)
    assert report["coverage_2sigma"] == pytest.approx(0.75)
    assert report["nll"] == pytest.approx(metrics.gaussian_nll(Y, P, std))
    assert report["top_k"] == 4  # clipped to n
    assert report["top_k_recall"] == 1.0


def test_regression_report_without_optional_parts():
    assert set(metrics.regression_report(Y, P)) == {"mae", "rmse", "r2", "max_error", "spearman"}


# ------------------------------------------------------------------ classification
from nnsurrogate.core.metrics import (balanced_accuracy, brier, classification_report, f1, log_loss,  # noqa: E402
                                      roc_auc, summarize_folds)


def test_roc_auc_counts_correctly_ordered_pairs():
    # positives score 0.35 and 0.8, negatives 0.1 and 0.4: 3 of the 4 (positive, negative) pairs are ordered
    y = [0, 0, 1, 1]
    assert roc_auc(y, [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc(y, [0.1, 0.2, 0.3, 0.4]) == 1.0 and roc_auc(y, [0.4, 0.3, 0.2, 0.1]) == 0.0
    proba = np.column_stack([1 - np.array([0.1, 0.4, 0.35, 0.8]), [0.1, 0.4, 0.35, 0.8]])
    assert roc_auc(y, proba) == pytest.approx(0.75)  # (n, 2) probabilities use column 1
    assert math.isnan(roc_auc([1, 1, 1], [0.2, 0.5, 0.9]))  # one class: undefined


def test_multiclass_roc_auc_is_the_mean_one_vs_rest():
    y = np.array([0, 1, 2, 0, 1, 2])
    perfect = np.eye(3)[y] * 0.8 + 0.2 / 3
    assert roc_auc(y, perfect) == 1.0


def test_balanced_accuracy_and_f1_by_hand():
    y_true = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0])
    # recall(1) = 3/4, recall(0) = 5/6 → balanced accuracy 19/24; precision(1) = 3/4 → F1 = 3/4
    assert balanced_accuracy(y_true, y_pred) == pytest.approx((3 / 4 + 5 / 6) / 2)
    assert f1(y_true, y_pred) == pytest.approx(0.75)
    assert f1(y_true, np.zeros(10, dtype=int)) == 0.0  # no positive predicted: F1 is 0, not an error


def test_log_loss_and_brier_by_hand():
    y = [1, 0]
    p = np.array([[0.2, 0.8], [0.6, 0.4]])
    assert log_loss(y, p) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    assert brier(y, p) == pytest.approx(((0.2**2 + 0.2**2) + (0.4**2 + 0.4**2)) / 2)
    assert brier([0, 1], [[0.5, 0.5], [0.5, 0.5]]) == pytest.approx(0.5)


def test_classification_report_keys_and_argmax_prediction():
    report = classification_report([0, 1, 1], [[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
    assert set(report) == {"roc_auc", "balanced_accuracy", "f1", "accuracy", "log_loss", "brier"}
    assert report["accuracy"] == pytest.approx(2 / 3) and report["roc_auc"] == 1.0


@pytest.mark.parametrize(("y", "p"), [([0, 2], [[0.5, 0.5], [0.5, 0.5]]), ([0, 1], [[0.5, 0.5]]),
                                      ([0.5, 1], [0.2, 0.3]), ([0, 1], [[np.nan, 1.0], [0.5, 0.5]])])
def test_classification_metrics_refuse_bad_input(y, p):
    with pytest.raises(ValueError):
        log_loss(y, p)


def test_summarize_folds_mean_and_population_std():
    folds = [{"mae": 1.0, "r2": 0.5, "name": "x"}, {"mae": 3.0, "r2": float("nan"), "name": "y"}]
    summary = summarize_folds(folds)
    assert summary["mae_mean"] == 2.0 and summary["mae_std"] == 1.0
    assert summary["r2_mean"] == 0.5 and summary["r2_std"] == 0.0  # NaN folds are left out
    assert "name_mean" not in summary
    with pytest.raises(ValueError):
        summarize_folds([])
