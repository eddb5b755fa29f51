"""The 1D heat equation T_t = α T_xx on 0 < x < L: analytic solution and PINN problems.

The rod has fixed end temperatures T(t, 0) = a, T(t, L) = b and starts at T(0, x) = c (the
lecture's problem: a = 0, b = 1, c = 0). Linearity splits the solution into unit responses:

    T = c + (a − c) A(x/L, τ) + (b − c) A(1 − x/L, τ),    τ = α t / L²,

where A solves A(0) = 1, A(1) = 0, A(ξ, 0) = 0 on 0 < ξ < 1. Two series give A:

* Fourier (separation of variables; Carslaw & Jaeger, *Conduction of Heat in Solids*, §3.4):
  A = 1 − ξ − Σₙ 2/(nπ) sin(nπξ) exp(−n²π²τ), fast for large τ;
* images (ibid., §2.9): A = Σₙ≥0 [erfc((2n + ξ)/(2√τ)) − erfc((2n + 2 − ξ)/(2√τ))], fast for small τ.

When a or b differs from c, T jumps at the corners (x, t) = (0, 0) or (L, 0). A PINN cannot fit
that jump; the leading image terms carry it exactly, so the PINN problems here put them into the
particular part P of a hard constraint u = P + D·N and let the network learn only the smooth rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import erfc

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.conditions import DirichletBC, InitialCondition
from nnsurrogate.pde.domain import Interval, TimeInterval
from nnsurrogate.pde.problem import HardConstraint, Problem

_TAU_SWITCH = 0.05  # below: image series (≤ 3 terms matter); above: Fourier series (≤ 10 terms matter)


@dataclass(frozen=True)
class HeatRod:
    """The reference heat problem.

    Parameters
    ----------
    alpha : float
        Thermal diffusivity α (e.g. m²/s; any units consistent with *length* and *t_end*), > 0.
    length : float
        Rod length L, > 0.
    t_end : float
        Final time, > 0.
    t_left, t_right : float
        Fixed temperatures a = T(t, 0) and b = T(t, L) (K or °C).
    t_initial : float
        Initial temperature c = T(0, x) inside the rod.
    initial_profile : callable, optional
        T₀(x) (array → array) replacing the constant *t_initial* (analytic and finite-difference
        solutions only).
    """

    alpha: float = 0.1
    length: float = 1.0
    t_end: float = 1.0
    t_left: float = 0.0
    t_right: float = 1.0
    t_initial: float = 0.0
    initial_profile: Callable[[np.ndarray], np.ndarray] | None = None

    def __post_init__(self) -> None:
        for name, label in (("alpha", "thermal diffusivity alpha"), ("length", "length L"), ("t_end", "t_end")):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UserInputError(f"{label} must be a positive number, got {value}", name)
        for name in ("t_left", "t_right", "t_initial"):
            if not math.isfinite(getattr(self, name)):
                raise UserInputError(f"{name} must be finite, got {getattr(self, name)}", name)

    @property
    def temperature_scale(self) -> float:
        """ΔT: the largest difference between the boundary and initial temperatures (1 when all equal)."""
        a, b, c = self.t_left, self.t_right, self.t_initial
        return max(abs(a - c), abs(b - c), abs(a - b)) or 1.0

    def initial(self, x: np.ndarray) -> np.ndarray:
        """T(0, x) inside the rod, shape of *x*."""
        x = np.asarray(x, dtype=np.float64)
        if self.initial_profile is None:
            return np.full_like(x, self.t_initial)
        return np.broadcast_to(np.asarray(self.initial_profile(x), dtype=np.float64), x.shape).copy()

    def steady(self, x: np.ndarray) -> np.ndarray:
        """The steady state a + (b − a) x / L."""
        return self.t_left + (self.t_right - self.t_left) * np.asarray(x, dtype=np.float64) / self.length


def unit_fourier(xi: np.ndarray, tau: np.ndarray, n_terms: int = 200) -> np.ndarray:
    """A(ξ, τ) by its Fourier sine series (τ > 0), arrays of equal shape."""
    xi, tau = np.broadcast_arrays(np.asarray(xi, float), np.asarray(tau, float))
    out = 1.0 - xi
    for n in range(1, n_terms + 1):
        decay = np.exp(-(n * math.pi) ** 2 * tau)
        if decay.max(initial=0.0) < 1e-18:
            break
        out = out - 2.0 / (n * math.pi) * np.sin(n * math.pi * xi) * decay
    return out


def unit_images(xi: np.ndarray, tau: np.ndarray, n_images: int = 50) -> np.ndarray:
    """A(ξ, τ) by its image (erfc) series (τ > 0), arrays of equal shape."""
    xi, tau = np.broadcast_arrays(np.asarray(xi, float), np.asarray(tau, float))
    s = 2.0 * np.sqrt(tau)
    out = np.zeros_like(xi)
    for n in range(n_images):
        if erfc(2.0 * n / s.max(initial=0.0)) < 1e-18 and n > 0:
            break
        out = out + erfc((2 * n + xi) / s) - erfc((2 * n + 2 - xi) / s)
    return out


def _fourier_profile(rod: HeatRod, xi: np.ndarray, tau: np.ndarray, n_terms: int) -> np.ndarray:
    """Steady line + Σ bₙ sin(nπξ) exp(−n²π²τ), bₙ from the initial profile by Gauss–Legendre quadrature."""
    nodes, w = np.polynomial.legendre.leggauss(4 * n_terms + 64)
    q = 0.5 * (nodes + 1.0)
    f = rod.initial(q * rod.length) - rod.steady(q * rod.length)
    out = rod.steady(xi * rod.length)
    for n in range(1, n_terms + 1):
        b_n = np.sum(w * f * np.sin(n * math.pi * q))  # 2 ∫₀¹ f sin(nπξ) dξ with weights summing to 2
        out = out + b_n * np.sin(n * math.pi * xi) * np.exp(-(n * math.pi) ** 2 * tau)
    return out


def heat_analytic(rod: HeatRod, x: np.ndarray, t: np.ndarray, method: str = "auto", n_terms: int = 200) -> np.ndarray:
    """T(x, t) of the rod, exact to round-off (arrays broadcast together; units of *rod*).

    Parameters
    ----------
    rod : HeatRod
    x, t : numpy.ndarray
        Positions in [0, L] and times in [0, t_end] (any broadcastable shapes).
    method : {"auto", "fourier", "images"}
        Series to use; ``auto`` takes images for τ = αt/L² < 0.05 and Fourier above. A given
        initial profile always uses the Fourier series with quadrature coefficients.
    n_terms : int
        Largest Fourier index.

    Returns
    -------
    numpy.ndarray
        Temperature; at t = 0 the initial value inside and the boundary values at the ends.
    """
    x, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(t, float))
    xi = np.clip(x / rod.length, 0.0, 1.0)
    tau = rod.alpha * t / rod.length ** 2
    pos = tau > 0
    tau_safe = np.where(pos, tau, 1.0)
    if rod.initial_profile is not None:
        out = _fourier_profile(rod, xi, tau_safe, n_terms)
    else:
        a, b, c = rod.t_left, rod.t_right, rod.t_initial

        def unit(z):
            if method == "fourier":
                return unit_fourier(z, tau_safe, n_terms)
            if method == "images":
                return unit_images(z, tau_safe)
            small = tau_safe < _TAU_SWITCH
            return np.where(small, unit_images(z, np.where(small, tau_safe, 1e-3)),
                            unit_fourier(z, np.where(small, 1.0, tau_safe), n_terms))

        out = c + (a - c) * unit(xi) + (b - c) * unit(1.0 - xi)
    initial = np.where(xi <= 0.0, rod.t_left, np.where(xi >= 1.0, rod.t_right, rod.initial(x)))
    return np.where(pos, out, initial)


class ErfcParticular:
    """P(x, t) for a hard constraint: the corner terms of the image series plus a linear correction.

    P = c + (a − c) E(x) + (b − c) E(L − x) − [(1 − x/L)(b − c) + (x/L)(a − c)] erfc(L/s),
    E(q) = erfc(q/s), s = 2√(αt). Each erfc term solves the heat equation; P(t, 0) = a,
    P(t, L) = b, P(0, x) = c, so T − P is smooth and vanishes on the boundary and at t = 0.

    Parameters
    ----------
    rod : HeatRod
    unknown : str, optional
        Read α from the problem's unknown of this name (inverse problems) instead of ``rod.alpha``.
    tiny : float
        Times below ``tiny · t_end`` are clamped (P is exact there to round-off).

    Besides ``P(coords)`` the object gives its derivatives in closed form, :meth:`jets` (with
    φ(z) = 2 e^{−z²}/√π, z = q/s: E_x = −φ q'/s, E_xx = 2 z φ / s², E_t = z φ / (2t)), which saves
    an autograd graph per step when α is trained.
    """

    def __init__(self, rod: HeatRod, unknown: str | None = None, tiny: float = 1e-12) -> None:
        self.a, self.b, self.c, self.L = rod.t_left, rod.t_right, rod.t_initial, rod.length
        self.alpha, self.unknown, self.t_min = rod.alpha, unknown, tiny * rod.t_end

    def _alpha(self, coords):
        return coords.unknown(self.unknown) if self.unknown else self.alpha

    def __call__(self, coords) -> torch.Tensor:
        a, b, c, L = self.a, self.b, self.c, self.L
        x, t = coords["x"], coords["t"]
        s = 2.0 * torch.sqrt(self._alpha(coords) * torch.clamp(t, min=self.t_min))
        return (c + (a - c) * torch.erfc(x / s) + (b - c) * torch.erfc((L - x) / s)
                - ((1.0 - x / L) * (b - c) + (x / L) * (a - c)) * torch.erfc(L / s))

    def jets(self, coords, keys) -> dict | None:
        """P and its derivatives for keys ⊆ {(), (x), (t), (x, x)} (x, t the columns 0, 1), each (n, 1);
        ``None`` for other keys or a spatially varying α (autograd then takes over)."""
        alpha = self._alpha(coords)
        if not set(keys) <= {(), (0,), (1,), (0, 0)} or (torch.is_tensor(alpha) and alpha.dim() > 0):
            return None
        a, b, c, L = self.a, self.b, self.c, self.L
        x, t = coords["x"], torch.clamp(coords["t"], min=self.t_min)
        s = 2.0 * torch.sqrt(alpha * t)
        z1, z2, zf = x / s, (L - x) / s, L / s
        phi1, phi2, phif = (1.1283791670955126 * torch.exp(-z * z) for z in (z1, z2, zf))
        g = (1.0 - x / L) * (b - c) + (x / L) * (a - c)
        out = {(): (c + (a - c) * torch.erfc(z1) + (b - c) * torch.erfc(z2) - g * torch.erfc(zf))}
        out[(0,)] = -(a - c) * phi1 / s + (b - c) * phi2 / s - (a - b) / L * torch.erfc(zf)
        out[(1,)] = ((a - c) * z1 * phi1 + (b - c) * z2 * phi2 - g * zf * phif) / (2.0 * t)
        out[(0, 0)] = 2.0 * ((a - c) * z1 * phi1 + (b - c) * z2 * phi2) / (s * s)
        return {k: out[k].reshape(-1, 1) for k in keys}


def singular_particular(rod: HeatRod, tiny: float = 1e-12) -> ErfcParticular:
    """The erfc particular solution of *rod* with its own α (see :class:`ErfcParticular`)."""
    return ErfcParticular(rod, tiny=tiny)


def heat_problem(rod: HeatRod, corner: str = "erfc", hard: bool = True, scaled: bool = True) -> Problem:
    """The rod as a PINN :class:`Problem` on [0, L] × [0, t_end], coordinates ``x`` and ``t``.

    Parameters
    ----------
    rod : HeatRod
        Constant initial temperature (``initial_profile`` is not supported here).
    corner : {"erfc", "none"}
        ``erfc`` puts the corner singularity into the particular part (:func:`singular_particular`);
        ``none`` leaves it to the network.
    hard : bool
        Build the conditions into the field (u = P + D·N); with ``corner="none"`` only the boundary
        values are hard, the initial condition stays a loss term.
    scaled : bool
        Residual in units of ΔT/t_end, condition losses in units of ΔT, network output times ΔT,
        so that the loss terms are O(1) whatever α, L, t_end and temperatures are.
    """
    if rod.initial_profile is not None:
        raise UserInputError("PINN heat problems need a constant initial temperature", "initial_profile")
    if corner not in ("erfc", "none"):
        raise UserInputError(f"corner must be 'erfc' or 'none', got '{corner}'", "corner")
    L, t_end, alpha, dT = rod.length, rod.t_end, rod.alpha, rod.temperature_scale
    r_scale, w = (t_end / dT, 1.0 / dT ** 2) if scaled else (1.0, 1.0)
    out_scale = dT if scaled else 1.0

    def residual(f):
        return r_scale * (f.d("t") - alpha * f.d("x", "x"))

    bcs = [DirichletBC(rod.t_left, on="x_min", weight=w), DirichletBC(rod.t_right, on="x_max", weight=w)]
    ic = [InitialCondition(rod.t_initial, weight=w)]
    domain = Interval(0.0, L) * TimeInterval(0.0, t_end)
    if corner == "erfc":
        dist = (lambda c: out_scale * (c["x"] / L) * (1.0 - c["x"] / L) * (c["t"] / t_end)) if hard else None
        constraint = HardConstraint(singular_particular(rod), dist or (lambda c: out_scale + 0.0 * c["x"]))
        return Problem(domain, residual, [] if hard else bcs + ic, constraint)
    if hard:
        a, b = rod.t_left, rod.t_right
        constraint = HardConstraint(lambda c: a + (b - a) * c["x"] / L,
                                    lambda c: out_scale * (c["x"] / L) * (1.0 - c["x"] / L))
        return Problem(domain, residual, ic, constraint)
    constraint = HardConstraint(None, (lambda c: out_scale + 0.0 * c["x"])) if scaled else None
    return Problem(domain, residual, bcs + ic, constraint)


def regular_grid(rod: HeatRod, nx: int, nt: int) -> tuple[np.ndarray, np.ndarray]:
    """Node positions x (nx + 1,) and times t (nt + 1,) of the regular grid."""
    return np.linspace(0.0, rod.length, nx + 1), np.linspace(0.0, rod.t_end, nt + 1)


def field_errors(T_pred: np.ndarray, T_true: np.ndarray, t: np.ndarray, t_end: float) -> dict[str, float]:
    """Relative L2 error overall and for t ≥ 0.01·t_end, and the largest absolute error.

    Parameters
    ----------
    T_pred, T_true : numpy.ndarray, shape (nt, nx)
        Fields on a grid, rows are times *t* (nt,).
    """
    err = np.asarray(T_pred, float) - np.asarray(T_true, float)
    late = np.asarray(t) >= 0.01 * t_end

    def rel(mask):
        denom = np.linalg.norm(T_true[mask])
        return float(np.linalg.norm(err[mask]) / denom) if denom > 0 else float(np.linalg.norm(err[mask]))

    return {"rel_l2": rel(np.ones_like(late)), "rel_l2_t_ge_1pct": rel(late),
            "max_abs_error": float(np.abs(err).max()), "max_abs_error_t_ge_1pct": float(np.abs(err[late]).max())}
