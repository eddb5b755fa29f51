"""Quantile binning of scalar features: each value becomes a position on its feature's knots.

For feature f the knots q_f,0 < … < q_f,m are the distinct training quantiles at 0, 1/(B−1), …, 1
(fewer than B when the feature takes few values). A value x maps to the piecewise-linear position
t = k + (x − q_k)/(q_{k+1} − q_k) for q_k ≤ x ≤ q_{k+1}, clamped to [0, m] outside the training
range. The network embeds t by interpolating learned bin vectors, so the encoding adapts to each
feature's distribution and is insensitive to its units and outliers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QuantileBinning:
    """Knots of every feature.

    Attributes
    ----------
    knots : numpy.ndarray, shape (n_features, n_bins)
        Increasing knots of each feature, padded at the end by repeating its last knot.
    counts : numpy.ndarray of int, shape (n_features,)
        Number of distinct knots m_f + 1 of each feature (1 for a constant feature).
    """

    knots: np.ndarray
    counts: np.ndarray

    @property
    def n_bins(self) -> int:
        return int(self.knots.shape[1])

    @classmethod
    def fit(cls, X: np.ndarray, n_bins: int = 16) -> "QuantileBinning":
        """Knots from the rows of X, shape (n_rows, n_features); *n_bins* ≥ 2."""
        if n_bins < 2:
            raise ValueError(f"n_bins must be at least 2, got {n_bins}")
        X = np.asarray(X, dtype=np.float64)
        quantiles = np.quantile(X, np.linspace(0.0, 1.0, n_bins), axis=0).T  # (F, B)
        knots = np.empty_like(quantiles)
        counts = np.empty(X.shape[1], dtype=np.int64)
        for f, row in enumerate(quantiles):
            distinct = _distinct(row)
            counts[f] = distinct.size
            knots[f] = np.concatenate([distinct, np.full(n_bins - distinct.size, distinct[-1])])
        return cls(knots, counts)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Positions t, shape (n_rows, n_features), in [0, counts − 1] per feature."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.knots.shape[0]:
            raise ValueError(f"expected {self.knots.shape[0]} feature columns, got shape {X.shape}")
        out = np.zeros(X.shape, dtype=np.float64)
        for f, (row, m) in enumerate(zip(self.knots, self.counts)):
            if m > 1:
                out[:, f] = np.interp(X[:, f], row[:m], np.arange(m, dtype=np.float64))
        return out


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted values with near-duplicates (relative 1e-9) merged."""
    values = np.sort(values)
    keep = np.concatenate([[True], np.diff(values) > 1e-9 * np.maximum(np.abs(values[1:]), 1.0)])
    return values[keep]
