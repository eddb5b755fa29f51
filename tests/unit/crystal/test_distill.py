"""Distillation inputs from a run folder, and the scoring of a formula finder against the truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.crystal.distill import distill, load_distill_inputs
from nnsurrogate.crystal.features import feature_names


def _run_folder(tmp_path, n_train=40, n_test=10):
    rng = np.random.default_rng(0)
    names = list(feature_names())
    n = n_train + n_test
    table = pd.DataFrame(rng.normal(size=(n, len(names))), columns=names)
    truth = 2.0 * table["cell_vpa"] - table["env_econ"]
    table.insert(0, "id", [f"s{i}" for i in range(n)])
    table.insert(1, "split", ["train"] * n_train + ["test"] * n_test)
    table.insert(2, "target", truth + rng.normal(scale=0.01, size=n))
    table.insert(3, "prediction", truth)
    table.to_parquet(tmp_path / "structure_features.parquet", index=False)
    weights = np.full(len(names), 1.0)
    weights[names.index("cell_vpa")], weights[names.index("env_econ")], weights[names.index("el_mp_Row")] = 50, 40, 30
    pd.DataFrame({"rank": range(1, len(names) + 1), "feature": names, "importance": weights / weights.sum()}).to_csv(
        tmp_path / "feature_importance.csv", index=False)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text(json.dumps({"target": {"name": "heat_all"}}))
    return tmp_path


def test_inputs_follow_the_split_and_the_ranking(tmp_path):
    inputs = load_distill_inputs(_run_folder(tmp_path))
    assert len(inputs.train) == 40 and len(inputs.test) == 10 and inputs.target == "heat_all"
    assert inputs.top(2) == ["cell_vpa", "env_econ"]
    assert inputs.top(3)[2] == "el_mp_Row"
    assert inputs.network_scores()["r2_test"] > 0.99


def test_a_linear_formula_on_the_right_features_matches_the_network(tmp_path):
    inputs = load_distill_inputs(_run_folder(tmp_path))
    report = distill(inputs, inputs.top(2), LinearRegression, "network")
    assert report["fidelity_r2_test"] == pytest.approx(1.0, abs=1e-12)  # the network is exactly linear here
    net = inputs.network_scores()
    assert report["r2_test"] == pytest.approx(net["r2_test"], abs=1e-9)
    worse = distill(inputs, ["el_mp_Row"], LinearRegression, "target")
    assert worse["r2_test"] < 0.1 and worse["fit_to"] == "target"


def test_errors_name_the_folder(tmp_path):
    with pytest.raises(UserInputError, match="feature_importance.csv"):
        load_distill_inputs(tmp_path)
    folder = _run_folder(tmp_path, n_train=40, n_test=0)
    with pytest.raises(UserInputError, match="hold-out run"):
        load_distill_inputs(folder)
    (tmp_path / "ok").mkdir()
    inputs = load_distill_inputs(_run_folder(tmp_path / "ok"))
    with pytest.raises(UserInputError, match="top_k"):
        inputs.top(0)
    with pytest.raises(UserInputError, match="fit_to"):
        distill(inputs, inputs.top(2), LinearRegression, "teacher")


def test_the_distill_recipe_runs_from_python_without_the_command_line(tmp_path):
    from nnsurrogate.recipes.distill import distill_run

    with pytest.raises(UserInputError, match="feature_importance.csv"):
        distill_run(tmp_path)
    pytest.importorskip("pyoperon")
    folder = _run_folder(tmp_path)
    outcome = distill_run(folder, top_k=2, time_limit=1.0, max_length=7, compare_all=False, out=tmp_path / "d")
    assert outcome.folder == tmp_path / "d" and set(outcome.fronts) == {"top_k"}
    assert outcome.report["top_k"]["columns"] == ["cell_vpa", "env_econ"] and outcome.report["target"] == "heat_all"
    assert json.loads((tmp_path / "d" / "metrics.json").read_text())["top_k"]["columns"] == ["cell_vpa", "env_econ"]
    front = pd.read_csv(tmp_path / "d" / "pareto_top_k.csv")
    assert len(front) == len(outcome.fronts["top_k"]) and not (tmp_path / "d" / "pareto_all_features.csv").exists()
