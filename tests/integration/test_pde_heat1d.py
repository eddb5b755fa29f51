"""``nnsurrogate pde heat1d`` end to end: every method, the files it promises, a model that reloads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.cli.main import run
from nnsurrogate.pde.heat import HeatRod, field_errors, heat_analytic
from nnsurrogate.pde.savefile import load_heat1d


@pytest.fixture(scope="module")
def heat_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("heat") / "run"
    code = run(["pde", "heat1d", "--method", "all", "--nx", "20", "--iterations", "40", "--lbfgs-iterations", "60",
                "--hidden", "12,12", "--points", "300", "--t-right", "2", "--t-initial", "0.5", "--out", str(out),
                "--quiet"])
    assert code == 0
    return out


def test_outputs_and_columns(heat_run, check_report):
    assert {p.name for p in heat_run.iterdir()} >= {"metrics.json", "solution.csv", "plots", "model"}
    assert not (heat_run / ".checkpoint").exists()
    assert {p.name for p in (heat_run / "plots").iterdir()} >= {"fields.png", "errors.png", "profiles.png",
                                                                 "pinn_loss.png"}
    table = pd.read_csv(heat_run / "solution.csv")
    assert list(table.columns) == ["x", "t", "T_analytic", "T_pinn", "T_fd", "T_cn"]
    metrics = json.loads((heat_run / "metrics.json").read_text())
    nx, nt = metrics["grid"]["nx"], metrics["grid"]["nt"]
    assert nx == 20 and nt == 100 and len(table) == (nx + 1) * (nt + 1)  # nt: max(100, stable count 80)
    for method in ("pinn", "fd", "cn"):
        assert set(metrics[method]) >= {"rel_l2", "rel_l2_t_ge_1pct", "max_abs_error", "wall_s"}
    check_report(heat_run, metrics=("pinn.rel_l2", "cn.max_abs_error"),  # the fields and their errors
                 images=("plots/fields.png", "plots/errors.png", "plots/pinn_loss.png"))


def test_metrics_agree_with_the_written_solution(heat_run):
    rod = HeatRod(0.1, 1.0, 1.0, 0.0, 2.0, 0.5)
    table = pd.read_csv(heat_run / "solution.csv")
    metrics = json.loads((heat_run / "metrics.json").read_text())
    np.testing.assert_allclose(table["T_analytic"], heat_analytic(rod, table["x"].to_numpy(), table["t"].to_numpy()),
                               atol=1e-12)
    shape = (metrics["grid"]["nt"] + 1, metrics["grid"]["nx"] + 1)
    t = table["t"].to_numpy().reshape(shape)[:, 0]
    for method in ("pinn", "fd", "cn"):
        errors = field_errors(table[f"T_{method}"].to_numpy().reshape(shape),
                              table["T_analytic"].to_numpy().reshape(shape), t, 1.0)
        assert errors["rel_l2"] == pytest.approx(metrics[method]["rel_l2"], rel=1e-6)
    assert metrics["pinn"]["rel_l2_t_ge_1pct"] < 5e-3  # a 100-iteration PINN with the corner handled


def test_saved_model_reproduces_the_pinn_column(heat_run):
    result = load_heat1d(heat_run / "model")
    table = pd.read_csv(heat_run / "solution.csv")
    pred = result.predict({"x": table["x"].to_numpy(), "t": table["t"].to_numpy()})
    np.testing.assert_allclose(pred, table["T_pinn"], rtol=1e-9, atol=1e-12)


def test_tampered_model_is_refused(heat_run, tmp_path, capsys):
    import shutil

    from nnsurrogate.core.errors import ModelFileError

    copy = tmp_path / "model"
    shutil.copytree(heat_run / "model", copy)
    weights = copy / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\x00" * 8)
    with pytest.raises(ModelFileError, match="checksum"):
        load_heat1d(copy)
