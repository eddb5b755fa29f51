"""Per-column standardisation z = (x − μ) / σ, stored as plain arrays so model files stay code-free."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Standardizer:
    """Column means and standard deviations.

    Attributes
    ----------
    mean, scale : numpy.ndarray, shape (d,)
        μ and σ per column; a constant column gets σ = 1 so it maps to 0.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> "Standardizer":
        """Estimate μ and σ from X, shape (n, d)."""
        X = np.asarray(X, dtype=np.float64)
        scale = X.std(axis=0)
        scale = np.where(scale > 1e-12 * np.maximum(np.abs(X.mean(axis=0)), 1.0), scale, 1.0)
        return cls(X.mean(axis=0), scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(X − μ) / σ, shape of X."""
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Z σ + μ, shape of Z."""
        return np.asarray(Z, dtype=np.float64) * self.scale + self.mean
