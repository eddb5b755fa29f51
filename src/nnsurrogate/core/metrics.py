"""Regression metrics that screening needs, including the quality of the uncertainty.

All functions take 1-D arrays of equal length in the units of the target and return plain floats.
Point metrics delegate to :mod:`sklearn.metrics` and :func:`scipy.stats.spearmanr`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from sklearn import metrics as skm


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("metrics need at least one value")
    return y_true, y_pred


def mae(y_true, y_pred) -> float:
    """Mean absolute error, Σ|y − ŷ| / n."""
    return float(skm.mean_absolute_error(*_pair(y_true, y_pred)))


def rmse(y_true, y_pred) -> float:
    """Root-mean-square error, √(Σ(y − ŷ)² / n)."""
    return float(skm.root_mean_squared_error(*_pair(y_true, y_pred)))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination 1 − SS_res/SS_tot (NaN when y_true is constant)."""
    y_true, y_pred = _pair(y_true, y_pred)
    if y_true.size < 2 or np.ptp(y_true) == 0:
        return float("nan")
    return float(skm.r2_score(y_true, y_pred))


def max_error(y_true, y_pred) -> float:
    """Largest absolute error, max |y − ŷ|."""
    return float(skm.max_error(*_pair(y_true, y_pred)))


def spearman(y_true, y_pred) -> float:
    """Spearman rank correlation ρ (NaN when either side is constant)."""
    y_true, y_pred = _pair(y_true, y_pred)
    if y_true.size < 2 or np.ptp(y_true) == 0 or np.ptp(y_pred) == 0:
        return float("nan")
    return float(stats.spearmanr(y_true, y_pred).statistic)


def top_k_recall(y_true, y_pred, k: int, largest: bool = True) -> float:
    """Fraction of the true best *k* samples that the model also ranks in its top *k*.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,)
    k : int
        1 ≤ k ≤ n.
    largest : bool
        ``True`` when larger values are better (e.g. κ for a heat spreader).
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if not 1 <= k <= y_true.size:
        raise ValueError(f"k must be between 1 and {y_true.size}, got {k}")
    sign = -1.0 if largest else 1.0
    best_true = set(np.argsort(sign * y_true, kind="stable")[:k].tolist())
    best_pred = set(np.argsort(sign * y_pred, kind="stable")[:k].tolist())
    return len(best_true & best_pred) / k


def coverage(y_true, y_pred, y_std, n_sigma: float = 1.0) -> float:
    """Fraction of samples with |y − ŷ| ≤ n_sigma·σ.

    For honest Gaussian uncertainties this is ≈ 0.683 at 1σ and ≈ 0.954 at 2σ.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    std = _std(y_std, y_true.size)
    return float(np.mean(np.abs(y_true - y_pred) <= n_sigma * std))


def gaussian_nll(y_true, y_pred, y_std) -> float:
    """Mean Gaussian negative log-likelihood, ½ ln(2πσ²) + (y − ŷ)²/(2σ²), in nats per sample."""
    y_true, y_pred = _pair(y_true, y_pred)
    var = np.maximum(_std(y_std, y_true.size) ** 2, 1e-300)  # floor the variance: 1e-300² underflows to 0
    return float(np.mean(0.5 * np.log(2.0 * math.pi * var) + (y_true - y_pred) ** 2 / (2.0 * var)))


def regression_report(y_true, y_pred, y_std=None, top_k: int | None = None) -> dict[str, float]:
    """All point metrics, plus coverage and NLL when *y_std* is given.

    Returns
    -------
    dict
        Keys ``mae, rmse, r2, max_error, spearman`` and, with *y_std*, ``coverage_1sigma,
        coverage_2sigma, nll``; with *top_k*, ``top_k`` and ``top_k_recall``.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    report = {
        "mae": mae(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "r2": r2(y_true, y_pred),
        "max_error": max_error(y_true, y_pred),
        "spearman": spearman(y_true, y_pred),
    }
    if y_std is not None:
        report["coverage_1sigma"] = coverage(y_true, y_pred, y_std, 1.0)
        report["coverage_2sigma"] = coverage(y_true, y_pred, y_std, 2.0)
        report["nll"] = gaussian_nll(y_true, y_pred, y_std)
    if top_k is not None:
        k = min(top_k, y_true.size)
        report["top_k"] = k
        report["top_k_recall"] = top_k_recall(y_true, y_pred, k)
    return report


def _std(y_std, n: int) -> np.ndarray:
    std = np.asarray(y_std, dtype=np.float64).ravel()
    if std.size != n:
        raise ValueError(f"y_std has {std.size} values, expected {n}")
    if np.any(std < 0) or not np.all(np.isfinite(std)):
        raise ValueError("y_std must be finite and non-negative")
    return std
