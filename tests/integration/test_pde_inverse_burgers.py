"""``nnsurrogate pde inverse-heat`` on a synthetic measurement file and a short ``pde burgers`` run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from nnsurrogate.cli.main import run
from nnsurrogate.pde.heat import HeatRod
from nnsurrogate.pde.inverse import synthetic_measurements


def test_inverse_heat_estimates_alpha_from_a_csv(tmp_path, check_report):
    rod = HeatRod(alpha=0.05, length=2.0, t_end=10.0, t_left=1.0, t_right=0.0, t_initial=0.0)
    data = synthetic_measurements(rod, n=50, noise=0.0, seed=4)
    path = tmp_path / "measurements.csv"
    pd.DataFrame({"x": data.x, "t": data.t, "T": data.T}).to_csv(path, index=False)
    out = tmp_path / "inv"
    code = run(["pde", "inverse-heat", str(path), "--length", "2", "--t-end", "10", "--t-left", "1", "--t-right", "0",
                "--members", "2", "--iterations", "50", "--lbfgs-iterations", "150", "--points", "300",
                "--out", str(out), "--quiet"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert abs(metrics["alpha"] - 0.05) / 0.05 < 0.01 and metrics["alpha_std"] >= 0
    assert len(metrics["alpha_members"]) == 2 and metrics["n_measurements"] == 50
    fit = pd.read_csv(out / "fit.csv")
    assert np.sqrt(np.mean((fit["T_fitted"] - fit["T_measured"]) ** 2)) < 5e-3
    assert (out / "plots" / "parity.png").is_file() and (out / "plots" / "field.png").is_file()
    assert metrics["field_max_abs_error"] < 5e-3  # the fitted field is the exact rod's with the α found
    check_report(out, metrics=("alpha", "alpha_std", "field_max_abs_error"),  # the fitted field, its error, spread
                 images=("plots/field.png", "plots/errors.png", "plots/field_spread.png"))


def test_short_burgers_run_writes_its_outputs(tmp_path, check_report):
    out = tmp_path / "burgers"
    code = run(["pde", "burgers", "--hidden", "10,10", "--points", "300", "--iterations", "20",
                "--lbfgs-iterations", "20", "--no-rar", "--out", str(out), "--quiet"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 < metrics["rel_l2"] < 1.0 and metrics["grid"] == {"nx": 256, "nt": 100}
    table = pd.read_csv(out / "solution.csv")
    assert list(table.columns) == ["x", "t", "u_reference", "u_pinn"] and len(table) == 25600
    first = table[table["t"] == 0.0]
    np.testing.assert_allclose(first["u_pinn"], -np.sin(np.pi * first["x"]), atol=1e-6)  # built-in initial value (float32)
    check_report(out, metrics=("rel_l2", "max_abs_error"),  # the field beside the reference, and its error
                 images=("plots/fields.png", "plots/errors.png", "plots/profiles.png"))
