"""Finite differences for the rod: the explicit scheme and Crank–Nicolson.

Explicit (forward time, centred space; the lecture's eq. 4):

    Tᵢᵏ⁺¹ = Tᵢᵏ + γ (Tᵢ₊₁ᵏ − 2Tᵢᵏ + Tᵢ₋₁ᵏ),    γ = α Δt / Δx²,

stable only for γ ≤ 1/2 (von Neumann analysis), second order in Δx at fixed γ.

Crank–Nicolson (J. Crank & P. Nicolson, Proc. Camb. Phil. Soc. 43, 50 (1947)) averages the
explicit and implicit steps, (I − γ/2 Δ) Tᵏ⁺¹ = (I + γ/2 Δ) Tᵏ: unconditionally stable and second
order in Δt and Δx. Its undamped high modes ring after the corner jump of the default problem, so
the first steps are each replaced by two implicit-Euler half steps (Rannacher, Numer. Math. 43, 309
(1984)), which keeps second order.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_banded

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.heat import HeatRod, regular_grid


@dataclass(frozen=True)
class GridSolution:
    """A field on the regular grid.

    Attributes
    ----------
    x : numpy.ndarray, shape (nx + 1,)
    t : numpy.ndarray, shape (nt + 1,)
    T : numpy.ndarray, shape (nt + 1, nx + 1)
        Temperature; row k is time t[k].
    gamma : float
        γ = α Δt / Δx² of the time step actually taken.
    substeps : int
        Time steps per grid interval in t (> 1 when ``auto_dt`` refined Δt).
    wall_s : float
        Seconds spent.
    """

    x: np.ndarray
    t: np.ndarray
    T: np.ndarray
    gamma: float
    substeps: int
    wall_s: float


def max_stable_dt(alpha: float, dx: float) -> float:
    """The largest explicit time step, Δx² / (2α) (γ = 1/2)."""
    return dx * dx / (2.0 * alpha)


def check_stability(rod: HeatRod, nx: int, nt: int) -> None:
    """Refuse γ = α Δt / Δx² > 1/2 for the explicit scheme, naming γ and the largest stable Δt."""
    dx, dt = rod.length / nx, rod.t_end / nt
    gamma = rod.alpha * dt / dx ** 2
    if gamma > 0.5 * (1 + 1e-12):
        dt_max = max_stable_dt(rod.alpha, dx)
        raise UserInputError(
            f"explicit scheme unstable: gamma = alpha*dt/dx^2 = {gamma:.4g} > 1/2; the largest stable dt is "
            f"{dt_max:.4g} (nt >= {math.ceil(rod.t_end / dt_max * (1 - 1e-12))}), or let auto_dt refine dt", "nt")


def _check_grid(nx: int, nt: int) -> None:
    if nx < 2:
        raise UserInputError(f"need at least 2 space intervals, got nx = {nx}", "nx")
    if nt < 1:
        raise UserInputError(f"need at least 1 time step, got nt = {nt}", "nt")


def _initial_row(rod: HeatRod, x: np.ndarray) -> np.ndarray:
    row = rod.initial(x)
    row[0], row[-1] = rod.t_left, rod.t_right
    return row


def explicit_heat(rod: HeatRod, nx: int, nt: int, auto_dt: bool = False) -> GridSolution:
    """The explicit scheme on nx space intervals and nt time steps.

    Parameters
    ----------
    rod : HeatRod
    nx, nt : int
        Grid intervals in x and t; Δx = L/nx, Δt = t_end/nt.
    auto_dt : bool
        When Δt is unstable (γ > 1/2), take ⌈2γ⌉ substeps per grid step instead of refusing.

    Raises
    ------
    UserInputError
        γ > 1/2 without *auto_dt*; the message gives γ and the largest stable Δt.
    """
    _check_grid(nx, nt)
    started = time.perf_counter()
    x, t = regular_grid(rod, nx, nt)
    dx, dt = rod.length / nx, rod.t_end / nt
    gamma = rod.alpha * dt / dx ** 2
    substeps = 1
    if gamma > 0.5 * (1 + 1e-12):
        if not auto_dt:
            check_stability(rod, nx, nt)
        substeps = math.ceil(gamma / 0.5 * (1 - 1e-12))
        gamma = gamma / substeps
    T = np.empty((nt + 1, nx + 1))
    u = _initial_row(rod, x)
    T[0] = u
    for k in range(1, nt + 1):
        for _ in range(substeps):
            u[1:-1] = u[1:-1] + gamma * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        T[k] = u
    return GridSolution(x, t, T, gamma, substeps, time.perf_counter() - started)


def crank_nicolson_heat(rod: HeatRod, nx: int, nt: int, rannacher_steps: int = 2) -> GridSolution:
    """Crank–Nicolson on nx space intervals and nt time steps (any γ), with Rannacher start-up.

    Parameters
    ----------
    rannacher_steps : int
        Leading time steps taken as two implicit-Euler half steps each (0: plain Crank–Nicolson).
    """
    _check_grid(nx, nt)
    started = time.perf_counter()
    x, t = regular_grid(rod, nx, nt)
    gamma = rod.alpha * (rod.t_end / nt) / (rod.length / nx) ** 2
    m = nx - 1  # interior nodes
    h = gamma / 2.0
    lhs = np.zeros((3, m))  # banded I − h Δ, the same matrix for an implicit-Euler half step
    lhs[0, 1:], lhs[1, :], lhs[2, :-1] = -h, 1.0 + 2.0 * h, -h
    bc = np.zeros(m)
    bc[0], bc[-1] = rod.t_left, rod.t_right
    T = np.empty((nt + 1, nx + 1))
    u = _initial_row(rod, x)
    T[0] = u
    for k in range(1, nt + 1):
        v = u[1:-1]
        if k <= rannacher_steps:
            for _ in range(2):
                v = solve_banded((1, 1), lhs, v + h * bc)
        else:
            rhs = (1.0 - 2.0 * h) * v + h * (np.concatenate(([u[0]], v[:-1])) + np.concatenate((v[1:], [u[-1]])))
            v = solve_banded((1, 1), lhs, rhs + h * bc)
        u = np.concatenate(([rod.t_left], v, [rod.t_right]))
        T[k] = u
    return GridSolution(x, t, T, gamma, 1, time.perf_counter() - started)
