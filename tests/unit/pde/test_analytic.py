"""The analytic rod solution: the two series agree, and the result solves the heat problem."""

from __future__ import annotations

import numpy as np
import pytest

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.heat import HeatRod, heat_analytic, unit_fourier, unit_images


@pytest.mark.parametrize("tau", [0.002, 0.02, 0.05, 0.2, 1.0])
def test_fourier_and_image_series_agree(tau):
    xi = np.linspace(0.0, 1.0, 201)
    assert np.max(np.abs(unit_fourier(xi, tau, n_terms=4000) - unit_images(xi, tau))) < 1e-10


def test_unit_solution_meets_its_boundary_values_and_starts_at_zero():
    assert unit_images(0.0, 0.3) == pytest.approx(1.0, abs=1e-14)
    assert unit_images(1.0, 0.3) == pytest.approx(0.0, abs=1e-14)
    assert np.max(np.abs(unit_images(np.linspace(0.05, 1.0, 20), 1e-8))) < 1e-14


def test_solution_satisfies_the_heat_equation_by_finite_differences():
    rod = HeatRod(alpha=0.3, length=2.0, t_end=1.0, t_left=2.0, t_right=-1.0, t_initial=0.5)
    x, t = np.array([0.3, 0.9, 1.7]), np.array([0.01, 0.2, 0.9])
    h, k = 2e-4, 1e-6
    T_t = (heat_analytic(rod, x, t + k) - heat_analytic(rod, x, t - k)) / (2 * k)
    T_xx = (heat_analytic(rod, x + h, t) - 2 * heat_analytic(rod, x, t) + heat_analytic(rod, x - h, t)) / h ** 2
    np.testing.assert_allclose(T_t, rod.alpha * T_xx, rtol=2e-5, atol=1e-6)


def test_boundary_initial_and_steady_state():
    rod = HeatRod(alpha=0.1, length=1.0, t_end=1.0, t_left=3.0, t_right=1.0, t_initial=-2.0)
    t = np.array([1e-4, 0.1, 1.0])
    np.testing.assert_allclose(heat_analytic(rod, 0.0, t), 3.0, atol=1e-12)
    np.testing.assert_allclose(heat_analytic(rod, 1.0, t), 1.0, atol=1e-12)
    x = np.linspace(0.0, 1.0, 11)
    at_zero = heat_analytic(rod, x, 0.0)
    assert at_zero[0] == 3.0 and at_zero[-1] == 1.0 and np.all(at_zero[1:-1] == -2.0)
    np.testing.assert_allclose(heat_analytic(rod, x, 1e4), 3.0 - 2.0 * x, atol=1e-12)  # steady line


def test_default_problem_matches_hand_computed_series():
    # T(0.5, 1) = 0.5 + Σ 2(−1)ⁿ/(nπ) sin(nπ/2) exp(−0.1 n²π²), dominated by n = 1 (and n = 3)
    n = np.arange(1, 50)
    expected = 0.5 + np.sum(2 * (-1.0) ** n / (n * np.pi) * np.sin(n * np.pi / 2) * np.exp(-0.1 * n ** 2 * np.pi ** 2))
    assert heat_analytic(HeatRod(), 0.5, 1.0) == pytest.approx(expected, abs=1e-14)
    assert expected == pytest.approx(0.5 - 2 / np.pi * np.exp(-0.1 * np.pi ** 2), abs=1e-4)


def test_sine_initial_profile_decays_as_one_mode():
    rod = HeatRod(alpha=0.05, length=1.0, t_end=1.0, t_left=0.0, t_right=0.0,
                  initial_profile=lambda x: np.sin(np.pi * x))
    x = np.linspace(0.0, 1.0, 21)
    exact = np.sin(np.pi * x) * np.exp(-0.05 * np.pi ** 2 * 0.7)
    np.testing.assert_allclose(heat_analytic(rod, x, 0.7), exact, atol=1e-12)


@pytest.mark.parametrize("field,value", [("alpha", 0.0), ("alpha", -1.0), ("length", 0.0), ("t_end", -2.0),
                                         ("alpha", float("nan"))])
def test_rod_refuses_non_positive_parameters(field, value):
    with pytest.raises(UserInputError) as err:
        HeatRod(**{field: value})
    assert err.value.where == field and "positive" in err.value.what
