"""Finite differences: the explicit scheme's stability limit and convergence orders against the exact solution."""

from __future__ import annotations

import numpy as np
import pytest

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.fd import crank_nicolson_heat, explicit_heat, max_stable_dt
from nnsurrogate.pde.heat import HeatRod, heat_analytic

ROD = HeatRod()  # α = 0.1, L = 1, t_end = 1, T: 0 | 0 | 1


def _max_error_after(sol, rod, t_min):
    X, T = np.meshgrid(sol.x, sol.t)
    late = sol.t >= t_min
    return np.max(np.abs(sol.T[late] - heat_analytic(rod, X, T)[late]))


def test_unstable_step_is_refused_naming_gamma_and_the_largest_stable_dt():
    # nx = 50: Δx = 0.02, largest stable Δt = Δx²/(2α) = 0.002, i.e. nt ≥ 500
    assert max_stable_dt(0.1, 0.02) == pytest.approx(0.002)
    with pytest.raises(UserInputError) as err:
        explicit_heat(ROD, nx=50, nt=400)
    msg = err.value.one_line()
    # Δt = 0.0025: γ = 0.1 · 0.0025 / 0.02² = 0.625
    assert "gamma" in msg and "0.625" in msg and "0.002" in msg and "nt >= 500" in msg and "auto_dt" in msg
    explicit_heat(ROD, nx=50, nt=500)  # γ = 1/2 exactly is stable


def test_auto_dt_refines_the_step_and_stays_bounded():
    sol = explicit_heat(ROD, nx=50, nt=100, auto_dt=True)  # requested γ = 2.5
    assert sol.substeps == 5 and sol.gamma == pytest.approx(0.5)
    assert np.all(np.abs(sol.T) <= 1.0 + 1e-12)  # maximum principle


def test_stable_explicit_scheme_keeps_the_maximum_principle():
    rod = HeatRod(alpha=1.0, length=1.0, t_end=0.2)
    ok = explicit_heat(rod, nx=20, nt=800)  # γ = 0.1
    assert np.all(np.isfinite(ok.T)) and ok.T.max() <= 1.0 + 1e-12 and ok.T.min() >= -1e-12


def test_explicit_scheme_is_second_order_in_dx():
    # fixed γ = 0.4: Δt ∝ Δx², so the error ∝ Δx²; measured at t ≥ 0.1 (past the corner transient)
    errors = []
    for nx in (20, 40, 80):
        nt = int(round(ROD.t_end * ROD.alpha / (0.4 * (ROD.length / nx) ** 2)))
        errors.append(_max_error_after(explicit_heat(ROD, nx, nt), ROD, 0.1))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.8) & (orders < 2.2)), orders


def test_crank_nicolson_is_second_order_in_dt_and_dx_and_stable_for_large_gamma():
    errors = []
    for n in (40, 80, 160):
        sol = crank_nicolson_heat(ROD, nx=n, nt=n)  # Δt ∝ Δx, γ = 0.1·n from 4 to 16, far beyond 1/2
        errors.append(_max_error_after(sol, ROD, 0.1))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.8) & (orders < 2.3)), orders


def test_rannacher_start_removes_crank_nicolson_ringing_at_the_corner():
    # large γ: plain CN leaves an oscillating, slowly damped high mode after the corner jump
    plain = crank_nicolson_heat(ROD, nx=100, nt=20, rannacher_steps=0)
    smooth = crank_nicolson_heat(ROD, nx=100, nt=20)
    assert np.max(plain.T[1]) > 1.5  # overshoot far above every boundary and initial value
    assert np.max(smooth.T[1]) < 1.0 + 1e-12 and np.min(smooth.T[1]) > -1e-12
    assert _max_error_after(smooth, ROD, 0.1) < _max_error_after(plain, ROD, 0.1)


def test_grid_must_have_intervals():
    with pytest.raises(UserInputError, match="at least 2 space"):
        explicit_heat(ROD, nx=1, nt=10)
    with pytest.raises(UserInputError, match="at least 1 time step"):
        crank_nicolson_heat(ROD, nx=10, nt=0)
