"""``--time-limit`` on the training commands: the run ends at the limit, exits 0 and says so in
``metrics.json`` (``stopped_by``, with the epochs or iterations it reached); without a limit the
epoch (or iteration) budget decides and the record says that instead."""

from __future__ import annotations

import json

import numpy as np

from nnsurrogate.cli.main import run

TINY = "0.001"  # seconds: spent by the set-up alone, so every run ends after its first epoch


def _cli(*argv) -> int:
    return run([str(a) for a in argv])


def _metrics(out) -> dict:
    return json.loads((out / "metrics.json").read_text())


def test_table_train_stops_at_the_time_limit_and_says_so(tmp_path, films_csv):
    out = tmp_path / "timed"
    assert _cli("table", "train", films_csv, "--target", "kappa_W_mK", "--members", "2", "--epochs", "100000",
                "--time-limit", TINY, "--quiet", "--out", out) == 0
    metrics = _metrics(out)
    assert metrics["stopped_by"] == "time limit" and metrics["time_limit"] == 0.001
    assert metrics["epochs_run"] == 1  # the set-up spent the limit: one epoch, never untrained weights
    assert np.isfinite(metrics["mae"])


def test_table_train_without_a_limit_records_the_epoch_budget(tmp_path, films_csv):
    out = tmp_path / "default"
    assert _cli("table", "train", films_csv, "--target", "kappa_W_mK", "--members", "2", "--epochs", "5",
                "--quiet", "--out", out) == 0
    metrics = _metrics(out)
    assert (metrics["stopped_by"], metrics["epochs_run"], metrics["time_limit"]) == ("epochs", 5, None)


def test_table_cv_shares_the_limit_over_the_folds_and_reports_each(tmp_path, films_csv):
    out = tmp_path / "cv"
    assert _cli("table", "cv", films_csv, "--target", "kappa_W_mK", "--folds", "2", "--members", "1",
                "--epochs", "100000", "--time-limit", TINY, "--quiet", "--out", out) == 0
    metrics = _metrics(out)
    assert metrics["stopped_by"] == ["time limit", "time limit"] and metrics["epochs_run"] == [1, 1]
    assert "stopped_by_mean" not in metrics and metrics["time_limit"] == 0.001


def _spectra(path) -> None:
    rows = [f"s{k},{x},{(k + 1) * (x % 7)},{k}" for k in range(8) for x in range(10, 90, 5)]
    path.write_text("id,x,intensity,y\n" + "\n".join(rows) + "\n")


def test_spectra_train_stops_at_the_time_limit(tmp_path):
    _spectra(tmp_path / "s.csv")
    out = tmp_path / "sp"
    assert _cli("spectra", "train", tmp_path / "s.csv", "--target", "y", "--grid", "10:90:1", "--members", "1",
                "--epochs", "100000", "--time-limit", TINY, "--quiet", "--out", out) == 0
    metrics = _metrics(out)
    assert (metrics["stopped_by"], metrics["epochs_run"]) == ("time limit", 1)


def test_pinn_stops_within_its_adam_phase_and_notes_it(tmp_path):
    out = tmp_path / "pinn"
    assert _cli("pde", "heat1d", "--method", "pinn", "--iterations", "100000", "--lbfgs-iterations", "10",
                "--points", "64", "--hidden", "8", "--time-limit", TINY, "--quiet", "--out", out) == 0
    pinn = _metrics(out)["pinn"]
    assert pinn["stopped_by"] == "time limit" and pinn["time_limit"] == 0.001
    assert (pinn["adam_iterations"], pinn["lbfgs_iterations"]) == (1, 0)
    plain = tmp_path / "plain"
    assert _cli("pde", "heat1d", "--method", "pinn", "--iterations", "3", "--lbfgs-iterations", "0",
                "--points", "64", "--hidden", "8", "--quiet", "--out", plain) == 0
    assert _metrics(plain)["pinn"]["stopped_by"] == "iterations"


def test_inverse_heat_records_each_members_reason(tmp_path):
    x, t = np.meshgrid(np.linspace(0, 1, 6), np.linspace(0.05, 0.5, 5))
    data = tmp_path / "heat.csv"
    data.write_text("x,t,T\n" + "\n".join(f"{a},{b},{a}" for a, b in zip(x.ravel(), t.ravel())) + "\n")
    out = tmp_path / "inv"
    assert _cli("pde", "inverse-heat", data, "--length", "1", "--t-end", "0.5", "--members", "2", "--iterations",
                "100000", "--lbfgs-iterations", "0", "--points", "64", "--time-limit", TINY, "--quiet",
                "--out", out) == 0
    metrics = _metrics(out)
    assert metrics["stopped_by"] == ["time limit", "time limit"] and metrics["adam_iterations"] == [1, 1]


def test_gas2d_train_counts_the_set_up_and_says_so(tmp_path):
    data, out = tmp_path / "data", tmp_path / "run"
    assert _cli("gas2d", "generate", "--potential", "lj", "--density", "0.5", "--n-samples", "120", "--quiet",
                "--out", data) == 0
    assert _cli("gas2d", "train", data, "--head", "regress", "--grid", "16", "--classes", "6", "--epochs", "3",
                "--time-limit", TINY, "--quiet", "--out", out) == 0
    metrics = _metrics(out)
    assert (metrics["stopped_by"], metrics["epochs_run"]) == ("time limit", 1)


def _copper(path) -> None:
    """Six rattled copper cells labelled with EMT, made as a user makes them (potential sample, label)."""
    configs = path.with_name("configs.xyz")
    assert _cli("potential", "sample", "Cu", "--cubic", "--n-rattle", "6", "--calculator", "emt", "--quiet",
                "--out", configs) == 0
    assert _cli("potential", "label", configs, "--calculator", "emt", "--quiet", "--out", path) == 0


def test_potential_committee_lists_each_members_reason(tmp_path):
    _copper(tmp_path / "cu.xyz")
    out = tmp_path / "c"
    assert _cli("potential", "committee", tmp_path / "cu.xyz", "--members", "2", "--epochs", "100000",
                "--time-limit", TINY, "--neurons", "4", "--n-max", "2,2", "--basis-size", "4,4", "--l-max", "2,0,0",
                "--quiet", "--out", out) == 0
    metrics = _metrics(out)
    assert metrics["stopped_by"] == ["time limit", "time limit"] and metrics["epochs_run"] == [1, 1]
