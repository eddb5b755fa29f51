"""The Cole–Hopf reference for Burgers' equation: a published value, the PDE, symmetry and convergence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnsurrogate.pde.burgers import NU, burgers_problem, burgers_reference, reference_grid


def test_steepest_slope_matches_basdevant_et_al():
    # Basdevant et al. (1986): max |∂u/∂x| = 152.00516 at x = 0, t = 1.6037/π for ν = 0.01/π
    slope = burgers_reference(0.0, 1.6037 / math.pi, derivative=True)
    assert abs(slope) == pytest.approx(152.00516, abs=1e-4)
    nearby = [abs(burgers_reference(0.0, t, derivative=True)) for t in (1.58 / math.pi, 1.63 / math.pi)]
    assert max(nearby) < abs(slope)


def test_reference_satisfies_burgers_equation_by_finite_differences():
    x, t = np.array([-0.6, -0.2, 0.35, 0.8]), np.array([0.1, 0.3, 0.6, 0.9])
    h, k = 1e-4, 1e-5
    u = burgers_reference(x, t)
    u_t = (burgers_reference(x, t + k) - burgers_reference(x, t - k)) / (2 * k)
    u_x = burgers_reference(x, t, derivative=True)
    u_xx = (burgers_reference(x + h, t, derivative=True) - burgers_reference(x - h, t, derivative=True)) / (2 * h)
    np.testing.assert_allclose(u_t + u * u_x - NU * u_xx, 0.0, atol=2e-6)
    np.testing.assert_allclose(u_x, (burgers_reference(x + h, t) - burgers_reference(x - h, t)) / (2 * h),
                               rtol=1e-6, atol=1e-6)


def test_initial_value_zero_boundaries_and_odd_symmetry():
    x = np.linspace(-1.0, 1.0, 41)
    np.testing.assert_allclose(burgers_reference(x, 0.0), -np.sin(np.pi * x))
    np.testing.assert_allclose(burgers_reference(np.array([-1.0, 0.0, 1.0]), 0.7), 0.0, atol=1e-12)
    np.testing.assert_allclose(burgers_reference(x, 0.5), -burgers_reference(-x, 0.5), atol=1e-12)


def test_quadrature_is_converged_on_the_evaluation_grid():
    x, t = reference_grid(64, 12)
    X, T = np.meshgrid(x, t)
    coarse, fine = burgers_reference(X, T, nodes_per_width=5), burgers_reference(X, T, nodes_per_width=20)
    assert np.max(np.abs(coarse - fine)) < 1e-12


def test_hard_constraint_gives_initial_and_boundary_values_for_any_network():
    from nnsurrogate.pde import PINNSolver

    problem = burgers_problem()
    result_model = PINNSolver(hidden=(5,), dtype="float64").build(problem)
    import torch

    X = torch.tensor([[-1.0, 0.3], [1.0, 0.8], [0.25, 0.0], [-0.6, 0.0]], dtype=torch.float64)
    with torch.no_grad():
        u = result_model(X)[:, 0].numpy()
    np.testing.assert_allclose(u, [0.0, 0.0, -np.sin(np.pi * 0.25), np.sin(np.pi * 0.6)], atol=1e-12)
