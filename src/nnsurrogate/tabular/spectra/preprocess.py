"""Spectra onto one grid: peak lists are rendered as peak profiles, measured curves are resampled.

A spectrum is either a **peak list** (positions and heights, e.g. a powder XRD pattern's reflections)
or a **profile** (intensity sampled on its own x values, e.g. a measured XAS or Raman curve). Models
need every spectrum on the same grid, normalised the same way:

- peaks are rendered as Gaussians of a given full width at half maximum (FWHM, x units);
- profiles are linearly interpolated onto the grid (zero outside their measured range);
- ``normalize="max"`` scales each spectrum to a maximum of 1, ``"area"`` to unit area, ``"none"`` keeps it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NORMALIZATIONS = ("max", "area", "none")


@dataclass(frozen=True)
class SpectrumGrid:
    """An evenly spaced grid ``start, start + step, …, stop`` (x units, e.g. degrees 2θ)."""

    start: float
    stop: float
    step: float

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.start, self.stop, self.step)):
            raise ValueError("grid start, stop and step must be finite numbers")
        if self.step <= 0 or self.stop <= self.start:
            raise ValueError(f"grid needs start < stop and step > 0, got {self.start}:{self.stop}:{self.step}")
        if self.n > 100_000:
            raise ValueError(f"grid of {self.n} points is too fine (at most 100000)")

    @classmethod
    def parse(cls, text: str) -> "SpectrumGrid":
        """``"10:90:0.1"`` → SpectrumGrid(10, 90, 0.1); a malformed text raises ``ValueError``."""
        parts = str(text).split(":")
        try:
            start, stop, step = (float(p) for p in parts)
        except ValueError:
            raise ValueError(f"grid must be START:STOP:STEP, e.g. 10:90:0.1, got '{text}'") from None
        return cls(start, stop, step)

    @property
    def n(self) -> int:
        return int(round((self.stop - self.start) / self.step)) + 1

    @property
    def x(self) -> np.ndarray:
        """Grid points, shape (n,)."""
        return self.start + self.step * np.arange(self.n)


def render_peaks(positions: np.ndarray, heights: np.ndarray, grid: SpectrumGrid, fwhm: float) -> np.ndarray:
    """Sum of Gaussians of full width *fwhm* at *positions* with peak *heights*, on *grid*, shape (n,)."""
    if not (math.isfinite(fwhm) and fwhm > 0):
        raise ValueError(f"peak width must be positive, got {fwhm}")
    x = grid.x
    sigma = fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    out = np.zeros_like(x)
    for p, h in zip(np.asarray(positions, float), np.asarray(heights, float)):
        lo, hi = np.searchsorted(x, [p - 5 * sigma, p + 5 * sigma])
        out[lo:hi] += h * np.exp(-0.5 * ((x[lo:hi] - p) / sigma) ** 2)
    return out


def resample(x: np.ndarray, y: np.ndarray, grid: SpectrumGrid) -> np.ndarray:
    """Linear interpolation of the profile (x, y) onto *grid* (zero outside its range), shape (n,)."""
    order = np.argsort(x)
    x, y = np.asarray(x, float)[order], np.asarray(y, float)[order]
    return np.interp(grid.x, x, y, left=0.0, right=0.0)


def normalize(spectra: np.ndarray, how: str) -> np.ndarray:
    """Each row scaled to maximum 1 (``max``), unit area (``area``) or unchanged (``none``), shape of *spectra*."""
    if how not in NORMALIZATIONS:
        raise ValueError(f"unknown normalisation '{how}'; choose one of {', '.join(NORMALIZATIONS)}")
    S = np.asarray(spectra, dtype=np.float64)
    if how == "none":
        return S.copy()
    scale = np.max(np.abs(S), axis=1, keepdims=True) if how == "max" else np.sum(np.abs(S), axis=1, keepdims=True)
    return S / np.where(scale > 0, scale, 1.0)


def spectra_on_grid(groups: dict, grid: SpectrumGrid, kind: str, fwhm: float) -> np.ndarray:
    """Every spectrum of *groups* ({id: (x, y)}) on *grid*, shape (len(groups), grid.n), in dict order.

    *kind*: ``peaks`` (render with *fwhm*), ``profile`` (resample) or ``auto`` (peaks when a spectrum has
    fewer points than a tenth of the grid).
    """
    rows = []
    for x, y in groups.values():
        as_peaks = kind == "peaks" or (kind == "auto" and len(x) < grid.n / 10)
        rows.append(render_peaks(x, y, grid, fwhm) if as_peaks else resample(x, y, grid))
    return np.vstack(rows) if rows else np.zeros((0, grid.n))
