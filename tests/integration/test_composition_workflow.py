"""Formula tables through the command line: train → predict → evaluate → screen, cv, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.cli.main import run
from nnsurrogate.tabular.table_model import TableModel

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "tables"
FAST = ["--members", "2", "--epochs", "40", "--hidden", "16", "--quiet"]


def _cli(*argv) -> int:
    return run([str(a) for a in argv])


@pytest.fixture(scope="module")
def hardness_csv(tmp_path_factory):
    """The first 240 rows of the hardness table (with its byte-order mark): compounds at several loads."""
    src = DATA / "hardness_with_load.csv"
    if not src.is_file():
        pytest.skip(f"shared data folder not found: {src}")
    lines = src.read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path_factory.mktemp("hardness") / "hardness.csv"
    path.write_text("\ufeff" + "\n".join(lines[:241]) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_train_predict_evaluate_screen_with_formula_and_load(tmp_path, hardness_csv, capsys):
    out = tmp_path / "run"
    assert _cli("table", "train", hardness_csv, "--target", "hardness", "--formula-column", "composition",
                "--inputs", "load", "--split", "group:composition", "--out", out, *FAST) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["formula_column"] == "composition" and metrics["inputs"] == ["load"]
    assert metrics["task"] == "regress" and metrics["n_train"] + metrics["n_test"] <= 240
    header = json.loads((out / "model" / "model.json").read_text())
    assert header["formula"]["column"] == "composition" and "Ti" in header["formula"]["seen_elements"]

    frame = pd.read_csv(hardness_csv, encoding="utf-8-sig")
    candidates = frame[["composition", "load"]].head(30).copy()
    candidates.loc[len(candidates)] = ["PuO2", 1.0]  # an element the model never saw
    cand_path = tmp_path / "candidates.csv"
    candidates.to_csv(cand_path, index=False)
    pred_path = tmp_path / "pred.csv"
    assert _cli("table", "predict", out, cand_path, "--out", pred_path) == 0
    pred = pd.read_csv(pred_path)
    assert list(pred.columns) == ["composition", "load", "hardness_pred", "hardness_std", "in_domain"]
    assert not pred["in_domain"].iloc[-1] and pred["in_domain"].iloc[:-1].mean() > 0.5
    model = TableModel.load(out / "model")
    np.testing.assert_allclose(pred["hardness_pred"], model.estimator.predict(model.input_matrix(candidates, "c")),
                               rtol=1e-12)

    assert _cli("table", "evaluate", out, hardness_csv, "--out", tmp_path / "eval") == 0
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["n_test"] == len(frame)

    capsys.readouterr()
    ranked_path = tmp_path / "ranked.csv"
    assert _cli("table", "screen", out, cand_path, "--top", "5", "--kappa", "1.0", "--out", ranked_path) == 0
    ranked = pd.read_csv(ranked_path)
    assert ranked["rank"].tolist() == list(range(1, 32))
    ucb = ranked["hardness_pred"] + ranked["hardness_std"]
    assert np.all(np.diff(ucb.to_numpy()) <= 1e-12)  # sorted by μ + κσ, best first
    assert "top 5 candidates" in capsys.readouterr().out


@pytest.mark.slow
def test_cv_command_random_against_grouped(tmp_path, hardness_csv, capsys):
    for groups in ("none", "formula"):
        assert _cli("table", "cv", hardness_csv, "--target", "hardness", "--formula-column", "composition",
                    "--inputs", "load", "--folds", "3", "--groups", groups, "--out", tmp_path / groups, *FAST) == 0
    captured = capsys.readouterr()
    assert "leak report" in captured.out and "warning:" in captured.err  # the random folds leak compounds
    random = json.loads((tmp_path / "none" / "metrics.json").read_text())
    grouped = json.loads((tmp_path / "formula" / "metrics.json").read_text())
    assert random["leak_report"]["n_test_rows_seen_in_train"] > 0
    assert grouped["leak_report"]["n_test_rows_seen_in_train"] == 0
    assert {"mae_mean", "mae_std", "folds"} <= grouped.keys() and len(grouped["folds"]) == 3


def test_classification_train_predict(tmp_path):
    src = DATA / "matbench_glass.csv"
    if not src.is_file():
        pytest.skip(f"shared data folder not found: {src}")
    frame = pd.read_csv(src).iloc[::40].reset_index(drop=True)  # 142 rows
    data = tmp_path / "glass.csv"
    frame.to_csv(data, index=False)
    assert _cli("table", "train", data, "--target", "target", "--formula-column", "formula",
                "--out", tmp_path / "run", *FAST) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["task"] == "classify" and 0.0 <= metrics["roc_auc"] <= 1.0
    assert _cli("table", "predict", tmp_path / "run", data, "--out", tmp_path / "p.csv") == 0
    pred = pd.read_csv(tmp_path / "p.csv")
    np.testing.assert_allclose(pred["p_0"] + pred["p_1"], 1.0, rtol=1e-12)
    assert set(pred["target_pred"]) <= {0, 1}


@pytest.mark.parametrize(("rows", "args", "message"), [
    ("formula,y\nSiO2,1\nXy3O,2\nNaCl,3\n", [], "formula 'Xy3O' contains 'Xy'"),
    ("formula,y\nSiO2,1\nH2O),2\nNaCl,3\n", [], "cannot parse formula 'H2O)'"),
    ("formula,y\nSiO2,1\nNaCl,2\n", ["--duplicates", "median"], "unknown duplicates policy"),
    ("formula,y\nSiO2,1\nNaCl,2\nFeO,3\n", ["--task", "guess"], "unknown task"),
])
def test_bad_formula_input_is_one_line_and_writes_nothing(tmp_path, capsys, rows, args, message):
    data = tmp_path / "bad.csv"
    data.write_text(rows)
    out = tmp_path / "out"
    assert _cli("table", "train", data, "--target", "y", "--formula-column", "formula", "--out", out, *args, *FAST) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert "Traceback" not in err[0] and not out.exists()


def test_cv_option_errors(tmp_path, capsys):
    data = tmp_path / "t.csv"
    data.write_text("formula,y\nSiO2,1\nNaCl,2\nFeO,3\nMgO,4\nCaO,5\n")
    code = _cli("table", "cv", data, "--target", "y", "--formula-column", "formula", "--protocol", "matbench",
                "--groups", "formula", "--out", tmp_path / "o")
    assert code == 2 and "drop the grouping (--groups)" in capsys.readouterr().err
    code = _cli("table", "cv", data, "--target", "y", "--protocol", "loco", "--out", tmp_path / "o")
    assert code == 2 and "unknown protocol" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
