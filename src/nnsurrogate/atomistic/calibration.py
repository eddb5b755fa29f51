"""Calibration of a committee's force spread, so that σ means an error in eV/Å.

A committee's raw spread σ_{F,i} (:mod:`~nnsurrogate.atomistic.committee`) is a relative measure:
members trained on the same frames agree more than their common error warrants, usually by a factor
of 2–10 (Musil et al., J. Chem. Theory Comput. 15, 906 (2019); Kellner & Ceriotti, Mach. Learn.:
Sci. Technol. 5, 035006 (2024)). The calibration maps it to a predicted error by a power law fitted on
labelled frames the committee has not trained on::

    σ_cal = a · σ^b                                   (b = 1: a plain scale factor)

(a, b) maximise the Gaussian likelihood of the force-component errors e = F_pred − F_ref
(n_atoms × 3 per frame, each atom's three components sharing its σ_{F,i})::

    −log L = Σ log σ_cal + e² / (2 σ_cal²)   ⇒   a² = mean(e² / σ^{2b}) for a given b,

and b is found by a bounded scan. A calibrated σ is judged by its *coverage*: the fraction of
components with |e| ≤ k σ_cal, ideally 0.683 for k = 1 and 0.954 for k = 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nnsurrogate.core.errors import UserInputError

#: Coverage of |e| ≤ kσ for a normal distribution, k = 1 and 2.
GAUSSIAN_COVERAGE = {1: math.erf(1 / math.sqrt(2)), 2: math.erf(2 / math.sqrt(2))}
#: Exponents b scanned by :func:`fit_calibration` (``power=True``).
EXPONENTS = np.linspace(0.25, 1.5, 126)
#: Smallest raw σ used in the fit, eV/Å (members that agree to round-off say nothing about the error).
SIGMA_FLOOR = 1e-8


@dataclass(frozen=True)
class ForceCalibration:
    """σ_cal = ``scale`` · σ^``exponent`` (σ in eV/Å), fitted on ``n_components`` force components.

    ``coverage_1`` / ``coverage_2``: fractions of those components with |e| ≤ 1 σ_cal / 2 σ_cal.
    """

    scale: float
    exponent: float = 1.0
    n_components: int = 0
    coverage_1: float = float("nan")
    coverage_2: float = float("nan")

    def apply(self, sigma: np.ndarray) -> np.ndarray:
        """Calibrated σ (eV/Å) of raw spreads *sigma* (any shape, eV/Å)."""
        sigma = np.asarray(sigma, dtype=np.float64)
        return self.scale * np.power(np.maximum(sigma, 0.0), self.exponent)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict, where: str) -> "ForceCalibration":
        """Read :meth:`to_json`'s dictionary; bad values are a :class:`UserInputError` naming *where*."""
        try:
            calibration = cls(**{k: float(data[k]) for k in ("scale", "exponent")},
                              n_components=int(data.get("n_components", 0)),
                              coverage_1=_number(data.get("coverage_1")),
                              coverage_2=_number(data.get("coverage_2")))
        except (KeyError, TypeError, ValueError):
            raise UserInputError("unreadable force calibration (needs scale and exponent)", where) from None
        if not (math.isfinite(calibration.scale) and calibration.scale > 0 and math.isfinite(calibration.exponent)
                and calibration.exponent > 0):
            raise UserInputError("the force calibration needs a positive scale and exponent", where)
        return calibration


def _number(value) -> float:
    """A float from JSON (``null``, as NaN is written, reads back as NaN)."""
    return float("nan") if value is None else float(value)


def component_errors(pred) -> tuple[np.ndarray, np.ndarray]:
    """Force-component errors e (n,) eV/Å and the raw σ of each component's atom (n,) eV/Å.

    *pred* is a :class:`~nnsurrogate.atomistic.audit_checks.Predictions` of a committee (with
    ``forces_std``); n = 3 × the atoms of all frames.
    """
    if pred.forces_std is None:
        raise UserInputError("the calculator reports no forces_std (calibration needs a committee)", "committee")
    errors = np.concatenate([(p - r).ravel() for p, r in zip(pred.forces_pred, pred.forces_ref)])
    sigma = np.concatenate([np.repeat(np.asarray(s, dtype=np.float64), 3) for s in pred.forces_std])
    return errors, sigma


def coverage(errors: np.ndarray, sigma: np.ndarray, k: float) -> float:
    """Fraction of components with |e| ≤ k σ (*sigma* already calibrated)."""
    errors, sigma = np.asarray(errors, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    return float(np.mean(np.abs(errors) <= k * sigma)) if errors.size else float("nan")


def fit_calibration(errors: np.ndarray, sigma: np.ndarray, power: bool = True,
                    exponent: float | None = None) -> ForceCalibration:
    """Maximum-likelihood (a, b) of σ_cal = a σ^b (module docstring); ``power=False`` fixes b = 1,
    *exponent* fixes b to that value (only the scale a is fitted).

    Parameters
    ----------
    errors : numpy.ndarray, shape (n,), eV/Å
        Force-component errors on frames the committee did not train on.
    sigma : numpy.ndarray, shape (n,), eV/Å
        The raw committee σ of each component's atom.
    power : bool
        Fit the exponent b as well as the scale a.
    exponent : float, optional
        The exponent b to keep (e.g. an earlier fit's, when few new components are at hand).
    """
    errors, sigma = np.asarray(errors, dtype=np.float64).ravel(), np.asarray(sigma, dtype=np.float64).ravel()
    if errors.shape != sigma.shape:
        raise ValueError(f"errors {errors.shape} and sigma {sigma.shape} differ in shape")
    keep = np.isfinite(errors) & np.isfinite(sigma) & (sigma > SIGMA_FLOOR)
    if keep.sum() < 2:
        raise UserInputError("calibration needs labelled atoms on which the committee members disagree",
                             "calibration frames")
    e2, log_s = errors[keep] ** 2, np.log(sigma[keep])

    def nll(b: float) -> tuple[float, float]:
        a2 = float(np.mean(e2 * np.exp(-2 * b * log_s)))
        a2 = max(a2, 1e-300)
        return 0.5 * math.log(a2) + b * float(log_s.mean()), a2  # per component, constants dropped

    exponents = np.array([exponent]) if exponent is not None else EXPONENTS if power else np.array([1.0])
    b = min(exponents, key=lambda x: nll(float(x))[0])
    a = math.sqrt(nll(float(b))[1])
    calibration = ForceCalibration(scale=a, exponent=float(b), n_components=int(keep.sum()))
    calibrated = calibration.apply(sigma[keep])
    return ForceCalibration(a, float(b), int(keep.sum()), coverage(errors[keep], calibrated, 1),
                            coverage(errors[keep], calibrated, 2))


def raw_errors(calculator, frames: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Force-component errors (n,) eV/Å of a committee *calculator* on labelled *frames*, and the raw
    (uncalibrated) σ of each component's atom (n,) eV/Å: the data :func:`fit_calibration` fits."""
    from nnsurrogate.atomistic import audit_checks as C

    if not frames:
        raise UserInputError("no labelled frames to calibrate on", "calibration frames")
    previous = getattr(calculator, "calibration", None)
    calculator.calibration = None  # the raw spread
    calculator.reset()  # no cached (calibrated) results
    try:
        return component_errors(C.predict(calculator, list(frames)))
    finally:
        calculator.calibration = previous
        calculator.reset()


def calibrate(calculator, frames: Sequence, power: bool = True) -> ForceCalibration:
    """Fit the calibration of a committee *calculator* (raw σ) on labelled *frames*."""
    return fit_calibration(*raw_errors(calculator, frames), power)


def coverage_report(errors: np.ndarray, sigma_calibrated: np.ndarray) -> dict:
    """Coverage at 1σ and 2σ, the RMS of e/σ, and how many components (for ``metrics.json``)."""
    z = np.abs(errors) / np.maximum(sigma_calibrated, 1e-300)
    return {"n_components": int(errors.size), "coverage_1sigma": coverage(errors, sigma_calibrated, 1),
            "coverage_2sigma": coverage(errors, sigma_calibrated, 2), "rms_z": float(np.sqrt(np.mean(z**2))),
            "gaussian_coverage_1sigma": GAUSSIAN_COVERAGE[1], "gaussian_coverage_2sigma": GAUSSIAN_COVERAGE[2]}


def calibration_plot(path: str | Path, errors: np.ndarray, sigma: np.ndarray, bins: int = 12) -> None:
    """Predicted σ against observed RMS error in σ bins (left) and coverage against k (right), as a PNG.

    *sigma* is the σ being judged (calibrated or raw), eV/Å; the axes are in meV/Å.
    """
    from nnsurrogate.core.plots import new_figure, save_figure

    errors, sigma = np.abs(np.asarray(errors, dtype=np.float64)), np.asarray(sigma, dtype=np.float64)
    order = np.argsort(sigma)
    groups = [g for g in np.array_split(order, min(bins, max(1, sigma.size))) if g.size]
    predicted = [1000 * float(np.sqrt(np.mean(sigma[g] ** 2))) for g in groups]
    observed = [1000 * float(np.sqrt(np.mean(errors[g] ** 2))) for g in groups]
    fig, (left, right) = new_figure(figsize=(9, 3.8), dpi=120, ncols=2)
    left.loglog(predicted, observed, "o-", label="binned atoms")
    span = [min(predicted + observed), max(predicted + observed)]
    left.loglog(span, span, "k--", lw=1, label="ideal")
    left.set_xlabel("predicted σ (meV/Å)")
    left.set_ylabel("observed RMS force error (meV/Å)")
    left.legend()
    k = np.linspace(0, 3, 61)
    z = errors / np.maximum(sigma, 1e-300)
    right.plot(k, [np.mean(z <= x) for x in k], label="observed")
    right.plot(k, [math.erf(x / math.sqrt(2)) for x in k], "k--", lw=1, label="normal")
    right.set_xlabel("k (error ≤ k σ)")
    right.set_ylabel("fraction of force components")
    right.legend()
    fig.tight_layout()
    save_figure(fig, path)
