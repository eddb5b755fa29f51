"""Viscous Burgers' equation u_t + u u_x = ν u_xx on [−1, 1] × [0, 1], u(0, x) = −sin πx, u(t, ±1) = 0.

The benchmark of Raissi, Perdikaris & Karniadakis (J. Comput. Phys. 378, 686 (2019)) with
ν = 0.01/π: a shock forms at x = 0 near t = 1/π.

Reference solution by the Cole–Hopf transformation (Basdevant et al., Computers & Fluids 14, 23
(1986), eq. 3): with f(y) = exp(−cos(πy) / (2πν)),

    u(x, t) = −∫ sin π(x − η) f(x − η) exp(−η²/4νt) dη / ∫ f(x − η) exp(−η²/4νt) dη.

The integrands are analytic, so the trapezoidal rule on a fine uniform grid converges
exponentially; the sums are taken in log space (largest exponent factored out) because f spans
e^{±50} at this ν. Basdevant et al. report max |u_x| = 152.00516 (at x = 0, t = 1.6037/π), which
:func:`burgers_reference` reproduces.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.domain import Interval, TimeInterval
from nnsurrogate.pde.problem import HardConstraint, Problem

NU = 0.01 / math.pi


def burgers_reference(x: np.ndarray, t: np.ndarray, nu: float = NU, nodes_per_width: int = 10,
                      derivative: bool = False) -> np.ndarray:
    """u(x, t) (or ∂u/∂x) of the Burgers benchmark by Cole–Hopf quadrature.

    Parameters
    ----------
    x, t : numpy.ndarray
        Broadcastable positions in [−1, 1] and times ≥ 0.
    nu : float
        Viscosity ν > 0.
    nodes_per_width : int
        Quadrature nodes per √(4νt) (the heat-kernel width) and per feature width of f.
    derivative : bool
        Return ∂u/∂x (differentiated under the integral) instead of u.

    Returns
    -------
    numpy.ndarray
        Shape of the broadcast inputs.
    """
    if not nu > 0:
        raise UserInputError(f"viscosity must be positive, got {nu}", "nu")
    x, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(t, float))
    out = np.empty(x.shape)
    flat_x, flat_t, flat_out = x.ravel(), t.ravel(), out.reshape(-1)
    for tk in np.unique(flat_t):
        sel = flat_t == tk
        flat_out[sel] = _at_time(flat_x[sel], float(tk), nu, nodes_per_width, derivative)
    return out


def _at_time(x: np.ndarray, t: float, nu: float, per_width: int, derivative: bool) -> np.ndarray:
    """Cole–Hopf quadrature for points x (m,) at one time t."""
    if t <= 0:
        return -math.pi * np.cos(math.pi * x) if derivative else -np.sin(math.pi * x)
    width = math.sqrt(4.0 * nu * t)
    # f spans a factor e^{1/(πν)}, so the kernel is cut where it drops below e^{−40} times that span
    half = width * math.sqrt(40.0 + 1.0 / (math.pi * nu))
    h = min(width, math.sqrt(2.0 * nu) / 2.0) / per_width
    eta = np.linspace(-half, half, 2 * math.ceil(half / h) + 1)
    y = x[:, None] - eta[None, :]
    expo = -np.cos(math.pi * y) / (2.0 * math.pi * nu) - eta[None, :] ** 2 / (4.0 * nu * t)
    w = np.exp(expo - expo.max(axis=1, keepdims=True))
    den = w.sum(axis=1)
    s = np.sin(math.pi * y)
    u = -(w * s).sum(axis=1) / den
    if not derivative:
        return u
    # ∂/∂x of num/den, with ∂w/∂x = w · sin(πy)/(2ν) and ∂sin(πy)/∂x = π cos(πy)
    g = s / (2.0 * nu)
    num_x = (w * (math.pi * np.cos(math.pi * y) + s * g)).sum(axis=1)
    den_x = (w * g).sum(axis=1)
    return -num_x / den + (w * s).sum(axis=1) * den_x / den ** 2


def reference_grid(nx: int = 256, nt: int = 100, t_max: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """The evaluation grid of Raissi et al.: x (nx,) on [−1, 1], t (nt,) on [0, t_max]."""
    return np.linspace(-1.0, 1.0, nx), np.linspace(0.0, t_max, nt)


def burgers_problem(nu: float = NU, hard: bool = True) -> Problem:
    """The Burgers benchmark as a :class:`Problem`; coordinates ``x``, ``t``.

    With ``hard`` (default) the initial and boundary values are built in:
    u = −sin πx + t (1 − x²) N(x, t); otherwise they are loss terms.
    """
    from nnsurrogate.pde.conditions import DirichletBC, InitialCondition

    domain = Interval(-1.0, 1.0) * TimeInterval(0.0, 1.0)

    def residual(f):
        return f.d("t") + f.u() * f.d("x") - nu * f.d("x", "x")

    if hard:
        constraint = HardConstraint(lambda c: -torch.sin(math.pi * c["x"]), lambda c: c["t"] * (1.0 - c["x"] ** 2))
        return Problem(domain, residual, (), constraint)
    conditions = [DirichletBC(0.0), InitialCondition(lambda c: -np.sin(math.pi * c["x"]))]
    return Problem(domain, residual, conditions)
