"""Regression and classification metrics that screening needs, including the quality of the uncertainty.

All functions take 1-D arrays of equal length in the units of the target and return plain floats.
Point metrics delegate to :mod:`sklearn.metrics` and :func:`scipy.stats.spearmanr`.
"""

from __future__ import annotations

import math

import numpy as np
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
    from scipy import stats  # here, not at import: reading metrics helpers should not load scipy.stats

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


def conformal_report(y_true, bounds) -> dict[str, float]:
    """Coverage of conformal intervals at the 1σ and 2σ levels (ideal 0.683 and 0.954).

    Parameters
    ----------
    y_true : array-like, shape (n,)
    bounds : array-like, shape (n, 4)
        Low and high bound at level 0.6827, then at 0.9545; all NaN for a model without conformal scores.

    Returns
    -------
    dict
        ``conformal_coverage_1sigma`` and ``conformal_coverage_2sigma`` (NaN at a level without bounds),
        or empty when every bound is NaN (a model without conformal scores).
    """
    b = np.asarray(bounds, dtype=np.float64)
    if b.size == 0 or np.all(np.isnan(b)):
        return {}
    y = np.asarray(y_true, dtype=np.float64).ravel()

    def inside(lo: int, hi: int) -> float:
        if np.all(np.isnan(b[:, lo])):
            return float("nan")
        return float(np.mean((y >= b[:, lo]) & (y <= b[:, hi])))

    return {"conformal_coverage_1sigma": inside(0, 1), "conformal_coverage_2sigma": inside(2, 3)}


def _std(y_std, n: int) -> np.ndarray:
    std = np.asarray(y_std, dtype=np.float64).ravel()
    if std.size != n:
        raise ValueError(f"y_std has {std.size} values, expected {n}")
    if np.any(std < 0) or not np.all(np.isfinite(std)):
        raise ValueError("y_std must be finite and non-negative")
    return std


# ------------------------------------------------------------------ classification
def _labels_and_proba(y_true, proba) -> tuple[np.ndarray, np.ndarray]:
    """Class indices (n,) in 0 … K−1 and probabilities (n, K); a 1-D *proba* is P(class 1) of a binary task."""
    y = np.asarray(y_true).ravel()
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2 or p.shape[0] != y.size:
        raise ValueError(f"probabilities have shape {p.shape}, expected ({y.size}, n_classes)")
    if y.size == 0:
        raise ValueError("metrics need at least one value")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("probabilities must be finite and non-negative")
    y_int = y.astype(np.int64)
    if np.any(y_int != y.astype(np.float64)) or y_int.min() < 0 or y_int.max() >= p.shape[1]:
        raise ValueError(f"class labels must be integers 0 … {p.shape[1] - 1}")
    return y_int, p


def roc_auc(y_true, proba) -> float:
    """Area under the ROC curve: P(score of a random positive > score of a random negative).

    Binary tasks use P(class 1); K > 2 classes give the unweighted mean of the one-vs-rest AUCs.
    NaN when a class is absent from *y_true*.
    """
    y, p = _labels_and_proba(y_true, proba)
    k = p.shape[1]
    if k == 2:
        return float(skm.roc_auc_score(y, p[:, 1])) if len(np.unique(y)) == 2 else float("nan")
    aucs = [skm.roc_auc_score(y == c, p[:, c]) for c in range(k) if 0 < np.sum(y == c) < y.size]
    return float(np.mean(aucs)) if len(aucs) == k else float("nan")


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean over classes of the recall (fraction of each true class predicted as that class)."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    return float(skm.balanced_accuracy_score(y_true, y_pred))


def f1(y_true, y_pred, n_classes: int = 2) -> float:
    """F1 = 2PR/(P + R) of class 1 for binary tasks; the unweighted mean over classes otherwise."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if n_classes == 2:
        return float(skm.f1_score(y_true, y_pred, pos_label=1, average="binary", labels=[0, 1], zero_division=0.0))
    return float(skm.f1_score(y_true, y_pred, average="macro", labels=list(range(n_classes)), zero_division=0.0))


def log_loss(y_true, proba) -> float:
    """Mean −ln p(true class), in nats (probabilities clipped at 10⁻¹⁵)."""
    y, p = _labels_and_proba(y_true, proba)
    return float(-np.mean(np.log(np.clip(p[np.arange(y.size), y], 1e-15, 1.0))))


def brier(y_true, proba) -> float:
    """Mean over samples of Σ_k (p_k − [y = k])²; 0 is perfect, a constant ½ guess scores 0.5 on two classes."""
    y, p = _labels_and_proba(y_true, proba)
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def classification_report(y_true, proba) -> dict[str, float]:
    """ROC-AUC, balanced accuracy, F1, accuracy, log loss and Brier score of predicted probabilities.

    Parameters
    ----------
    y_true : array-like, shape (n,)
        Class indices 0 … K−1.
    proba : array-like, shape (n, K) or (n,)
        Predicted class probabilities (or P(class 1) for two classes); the predicted class is the argmax.
    """
    y, p = _labels_and_proba(y_true, proba)
    pred = np.argmax(p, axis=1)
    return {
        "roc_auc": roc_auc(y, p),
        "balanced_accuracy": balanced_accuracy(y, pred),
        "f1": f1(y, pred, p.shape[1]),
        "accuracy": float(np.mean(pred == y)),
        "log_loss": log_loss(y, p),
        "brier": brier(y, p),
    }


def summarize_folds(reports: list[dict]) -> dict:
    """``<metric>_mean`` and ``<metric>_std`` (population std over folds) of every numeric metric.

    Parameters
    ----------
    reports : list of dict
        One metric dict per fold (e.g. from :func:`regression_report`); non-numeric entries are skipped.
    """
    if not reports:
        raise ValueError("need at least one fold")
    summary: dict[str, float] = {}
    for key, value in reports[0].items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        values = np.array([float(r[key]) for r in reports])
        finite = values[np.isfinite(values)]
        summary[f"{key}_mean"] = float(finite.mean()) if finite.size else float("nan")
        summary[f"{key}_std"] = float(finite.std()) if finite.size else float("nan")
    return summary
