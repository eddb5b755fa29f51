"""Prediction intervals at a requested level: Gaussian from σ, or conformal with guaranteed coverage.

A Gaussian interval ŷ ± Φ⁻¹((1 + level)/2)·σ has its nominal coverage only when the standardised
errors (y − ŷ)/σ are normal; real errors are often heavy-tailed (a Student-t with ν ≈ 4 puts 77 % of
the errors inside ±1σ instead of 68 %). Split-conformal prediction (Vovk et al., 2005; Lei et al.,
JASA 2018) instead takes the nonconformity scores of rows no model saw in training,

    s_i = |y_i − ŷ_i| / σ_i        (normalised)     or     s_i = |y_i − ŷ_i|        (absolute),

and uses their ⌈(n + 1)·level⌉-th smallest value q as the half-width multiplier: ŷ ± q·σ (or ŷ ± q).
For exchangeable rows the interval covers a new y with probability ≥ level (and < level + 1/(n + 1)).
(The quantile is computed here: crepes' ``ConformalRegressor`` takes the next larger score when
(1 − level)(n + 1) is an integer, because of floating-point rounding.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

#: The 1σ and 2σ levels of a normal distribution, the levels reported beside every σ.
SIGMA_LEVELS = (0.6827, 0.9545)


def check_level(level: float) -> float:
    """*level* as a float in (0, 1); anything else raises ``ValueError``."""
    value = float(level)
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise ValueError(f"interval level must be between 0 and 1 (e.g. 0.9), got {level}")
    return value


def gaussian_interval(mean: np.ndarray, std: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """ŷ ± z·σ with z = Φ⁻¹((1 + level)/2); both arrays shape (n,), in target units."""
    z = NormalDist().inv_cdf(0.5 + 0.5 * check_level(level))  # the standard library: no scipy at start-up
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    return mean - z * std, mean + z * std


@dataclass(frozen=True)
class ConformalScores:
    """Nonconformity scores of held-out rows and the intervals they imply.

    Attributes
    ----------
    scores : numpy.ndarray, shape (n,)
        |y − ŷ|/σ (``normalized``, dimensionless) or |y − ŷ| (target units), on rows the model that
        produced ŷ did not train on.
    normalized : bool
    """

    scores: np.ndarray
    normalized: bool

    @classmethod
    def fit(cls, residuals: np.ndarray, sigma: np.ndarray | None = None) -> "ConformalScores":
        """Scores from residuals y − ŷ (n,) and, for normalised scores, σ (n,) at the same rows."""
        r = np.abs(np.asarray(residuals, dtype=np.float64).ravel())
        if r.size == 0 or not np.all(np.isfinite(r)):
            raise ValueError("conformal calibration needs at least one finite residual")
        if sigma is None:
            return cls(np.sort(r), False)
        s = np.asarray(sigma, dtype=np.float64).ravel()
        if s.shape != r.shape:
            raise ValueError(f"{r.size} residuals but {s.size} standard deviations")
        return cls(np.sort(r / _floored(s)), True)

    @property
    def n(self) -> int:
        return int(self.scores.size)

    def max_level(self) -> float:
        """The highest level with a finite interval: n/(n + 1)."""
        return self.n / (self.n + 1.0)

    def interval(self, mean: np.ndarray, level: float, sigma: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds, each shape (n,), in target units.

        Parameters
        ----------
        mean : numpy.ndarray, shape (n,)
            Point predictions ŷ.
        level : float
            Requested coverage in (0, 1), at most :meth:`max_level`.
        sigma : numpy.ndarray, shape (n,), optional
            σ at the same rows; required when the scores are normalised.
        """
        level = check_level(level)
        if level > self.max_level() + 1e-12:
            raise ValueError(f"a {level:g} interval needs at least {math.ceil(level / (1 - level))} calibration rows, "
                             f"the model has {self.n}")
        mean = np.asarray(mean, dtype=np.float64).ravel()
        q = self.quantile(level)
        if not self.normalized:
            return mean - q, mean + q
        if sigma is None:
            raise ValueError("normalised conformal scores need the predictive σ of every row")
        half = q * _floored(np.asarray(sigma, dtype=np.float64).ravel())
        return mean - half, mean + half

    def quantile(self, level: float) -> float:
        """The ⌈(n + 1)·level⌉-th smallest score (the half-width multiplier at *level*)."""
        k = math.ceil((self.n + 1) * check_level(level) - 1e-9)  # the tolerance keeps 10 × 0.8 at 8
        if k > self.n:
            raise ValueError(f"a {level:g} interval needs more than {self.n} calibration rows")
        return float(self.scores[max(k, 1) - 1])


def interval_coverage(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of rows with low ≤ y ≤ high."""
    y = np.asarray(y, dtype=np.float64)
    return float(np.mean((y >= low) & (y <= high)))


def _floored(sigma: np.ndarray) -> np.ndarray:
    """σ with zeros lifted to a tiny positive floor (so that |r|/σ stays finite)."""
    positive = sigma[sigma > 0]
    floor = 1e-12 * (float(np.median(positive)) if positive.size else 1.0)
    return np.maximum(sigma, floor)
