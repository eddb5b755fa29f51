"""Inverse heat problem: α from sparse measurements and the PDE, with bootstrap ensemble spread."""

from __future__ import annotations

import numpy as np
import pytest

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.heat import HeatRod
from nnsurrogate.pde.inverse import Measurements, estimate_alpha, read_measurements, synthetic_measurements
from nnsurrogate.pde.pinn import SolverConfig

ROD = HeatRod()  # α = 0.1
TINY = SolverConfig(hidden=(16, 16), n_domain=300, adam_iterations=50, lbfgs_iterations=150)
SMALLER = SolverConfig(hidden=(12, 12), n_domain=200, adam_iterations=30, lbfgs_iterations=100)


def test_noiseless_measurements_pin_alpha():
    data = synthetic_measurements(ROD, n=50, noise=0.0, seed=1)
    result = estimate_alpha(ROD, data, n_members=1, config=SMALLER, alpha_guess=0.03)
    assert result.alpha == pytest.approx(0.1, rel=1e-3)
    assert result.alpha_std == 0.0 and result.data_rmse < 1e-3


def test_noisy_measurements_give_alpha_within_a_few_percent_with_a_spread():
    data = synthetic_measurements(ROD, n=50, noise=0.01, seed=1)
    result = estimate_alpha(ROD, data, n_members=2, config=TINY, seed=0)
    assert result.alpha == pytest.approx(0.1, rel=0.03)
    assert result.alpha_std > 0 and len(set(result.members)) == 2
    assert 0.005 < result.data_rmse < 0.02  # about the noise level (σ = 0.01)


def test_uniform_diffusivity_is_recovered_as_a_flat_field():
    # α(x) as a small network in T_t = ∂x(α Tx): the data of a uniform rod must give α(x) ≈ 0.1 everywhere
    data = synthetic_measurements(ROD, n=50, noise=0.0, seed=1)
    config = SolverConfig(hidden=(16, 16), n_domain=300, adam_iterations=50, lbfgs_iterations=250)
    result = estimate_alpha(ROD, data, n_members=1, config=config, alpha_field=True)
    x, alpha_x = result.alpha_x[0], result.alpha_x[1]
    assert x[0] == 0.0 and x[-1] == 1.0
    assert np.max(np.abs(alpha_x - 0.1)) < 0.002


def test_measurements_with_nan_or_outside_the_rod_are_refused(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("x,t,T\n0.1,0.5,0.2\n0.4,,0.3\n", encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        read_measurements(str(bad))
    assert "'t'" in err.value.what and err.value.where.endswith("row 2")
    outside = Measurements(np.array([0.2, 1.4]), np.array([0.5, 0.5]), np.array([0.1, 0.2]), where="m.csv")
    with pytest.raises(UserInputError) as err:
        outside.check(ROD)
    assert "outside the domain" in err.value.what and err.value.where == "m.csv, row 2"
    late = Measurements(np.array([0.2]), np.array([1.5]), np.array([0.1]))
    with pytest.raises(UserInputError, match="outside"):
        estimate_alpha(ROD, late, config=TINY)


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("x,time,T\n0.1,0.5,0.2\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="column 't' not found"):
        read_measurements(str(path))
