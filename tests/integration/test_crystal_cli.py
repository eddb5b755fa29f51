"""crystal train → save → load → predict / evaluate / distill through the command line, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.cli.main import run
from nnsurrogate.core import metrics as M

PEROV = Path(__file__).resolve().parents[1] / ".." / ".." / "shared" / "data" / "crystals" / "perov5" / "val.csv"
FAST = ["--epochs", "2", "--quiet"]


def _cli(*argv) -> int:
    return run([str(a) for a in argv])


@pytest.fixture(scope="module")
def perov_small(tmp_path_factory):
    if not PEROV.is_file():
        pytest.skip(f"shared data not found at {PEROV}")
    path = tmp_path_factory.mktemp("data") / "perov_small.csv"
    pd.read_csv(PEROV, nrows=40).to_csv(path, index=False)
    return path


def _error_line(capsys, argv):
    code = _cli(*argv)
    err = capsys.readouterr().err.strip().splitlines()
    lines = [line for line in err if line.startswith("error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in "\n".join(err), err
    return lines[0]


@pytest.mark.parametrize("model", ["cgcnn", "sagat"])
def test_train_predict_evaluate_round_trip(tmp_path, perov_small, model, check_report):
    from nnsurrogate.crystal.model_file import load_crystal_model
    from nnsurrogate.crystal.io import read_crystals

    out = tmp_path / "run"
    assert _cli("crystal", "train", perov_small, "--target", "heat_all", "--model", model, "--out", out, *FAST) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"mae", "rmse", "r2", "n_train", "n_test", "skipped"} <= metrics.keys()
    assert metrics["n_train"] + metrics["n_test"] == 40 and metrics["skipped"] == []
    assert (out / "plots" / "parity.png").read_bytes()[:4] == b"\x89PNG"
    check_report(out, metrics=("mae", "r2", "n_train"), images=("plots/parity.png",))
    table = pd.read_csv(out / "predictions.csv")
    held = table[table["split"] == "test"]
    assert metrics["mae"] == pytest.approx(M.mae(held["target"], held["prediction"]), rel=1e-9)
    if model == "sagat":
        importance = pd.read_csv(out / "feature_importance.csv")
        assert len(importance) == 178 and importance["importance"].sum() == pytest.approx(1.0, abs=1e-9)

    pred_path = tmp_path / "pred.csv"
    assert _cli("crystal", "predict", out, perov_small, "--out", pred_path) == 0
    pred = pd.read_csv(pred_path, dtype={"id": str})
    columns = list(pred.columns)
    assert columns[0] == "id" and columns[-1] == "heat_all_pred" and len(pred) == 40
    assert "cif" not in columns and {"formula", "heat_ref", "dir_gap"} <= set(columns)  # the table's own columns
    source = pd.read_csv(perov_small)
    assert pred["formula"].tolist() == source["formula"].tolist()
    # the saved model reproduces the training run's predictions and the CLI's
    loaded, _ = load_crystal_model(out / "model")
    again = loaded.predict(read_crystals(perov_small).crystals)
    np.testing.assert_allclose(pred["heat_all_pred"], again, rtol=1e-6)
    np.testing.assert_allclose(table["prediction"], again, rtol=1e-5, atol=1e-6)

    assert _cli("crystal", "evaluate", out, perov_small, "--out", tmp_path / "eval") == 0
    ev = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    truth = pd.read_csv(perov_small)["heat_all"]
    assert ev["mae"] == pytest.approx(M.mae(truth, pred["heat_all_pred"]), rel=1e-6)
    assert ev["r2"] == pytest.approx(M.r2(truth, pred["heat_all_pred"]), rel=1e-6)


def test_bad_cif_is_one_line_and_skip_bad_lists_it(tmp_path, perov_small, capsys):
    frame = pd.read_csv(perov_small)
    frame.loc[3, "cif"] = "data_x\nnot a cif at all\n"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    entry = str(frame.loc[3, "material_id"])
    line = _error_line(capsys, ["crystal", "train", bad, "--target", "heat_all", "--out", tmp_path / "o", *FAST])
    assert "unreadable CIF" in line and f"entry {entry}" in line and "bad.csv" in line
    assert not (tmp_path / "o").exists()
    assert _cli("crystal", "train", bad, "--target", "heat_all", "--model", "cgcnn", "--skip-bad",
                "--out", tmp_path / "o", *FAST) == 0
    assert f"{entry}: unreadable CIF" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert [s["id"] for s in metrics["skipped"]] == [entry] and metrics["n_train"] + metrics["n_test"] == 39


def test_unphysical_structures_are_named(tmp_path, capsys):
    from pymatgen.core import Lattice, Structure

    good = Structure(Lattice.cubic(3.9), ["Sr", "Ti", "O", "O", "O"],
                     [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    overlap = Structure(Lattice.cubic(4.0), ["O", "O"], [[0, 0, 0], [0.02, 0, 0]])
    unknown = Structure(Lattice.cubic(3.0), ["Pu"], [[0, 0, 0]])
    rows = [("ok1", good), ("overlap", overlap), ("ok2", good), ("unknown", unknown), ("ok3", good)]
    path = tmp_path / "s.csv"
    pd.DataFrame({"id": [r[0] for r in rows], "cif": [s.to(fmt="cif") for _, s in rows],
                  "y": [1.0, 2.0, 3.0, 4.0, 5.0]}).to_csv(path, index=False)
    line = _error_line(capsys, ["crystal", "train", path, "--target", "y", "--out", tmp_path / "o", *FAST])
    assert "overlapping atoms" in line and "entry overlap" in line
    pred = tmp_path / "p.csv"
    line = _error_line(capsys, ["crystal", "train", path, "--target", "y", "--test-fraction", "0.34",
                                "--skip-bad", "--out", tmp_path / "o", *FAST])
    assert "need" in line or "split" in line  # 3 good structures cannot be split 2 + 1 with validation
    assert not pred.exists()


def test_missing_target_and_model_dir_errors(tmp_path, perov_small, capsys):
    line = _error_line(capsys, ["crystal", "train", perov_small, "--target", "heat", "--out", tmp_path / "o", *FAST])
    assert "'heat' not found" in line
    line = _error_line(capsys, ["crystal", "train", perov_small, "--target", "heat_all", "--model", "gcn",
                                "--out", tmp_path / "o", *FAST])
    assert "unknown model 'gcn'" in line
    line = _error_line(capsys, ["crystal", "predict", tmp_path, perov_small, "--out", tmp_path / "p.csv"])
    assert "no model here" in line
    line = _error_line(capsys, ["crystal", "distill", tmp_path])
    assert "structure_features.parquet" in line


def test_distill_writes_formulas_for_top_k_and_all_features(tmp_path, perov_small):
    pytest.importorskip("pyoperon")
    out = tmp_path / "run"
    assert _cli("crystal", "train", perov_small, "--target", "heat_all", "--model", "sagat", "--out", out, *FAST) == 0
    assert _cli("crystal", "distill", out, "--top-k", "3", "--time-limit", "2", "--quiet") == 0
    report = json.loads((out / "distill" / "metrics.json").read_text())
    assert len(report["top_k"]["columns"]) == 3 and len(report["all_features"]["columns"]) >= 100
    importance = pd.read_csv(out / "feature_importance.csv")
    assert set(report["top_k"]["columns"]) <= set(importance["feature"].head(10))
    for key in ("top_k", "all_features"):
        assert isinstance(report[key]["formula"], str) and report[key]["complexity"] >= 1
        front = pd.read_csv(out / "distill" / f"pareto_{key}.csv")
        assert {"complexity", "formula", "r2_test", "mae_test"} <= set(front.columns)
        assert front["complexity"].is_monotonic_increasing
    # the reported test R² is the chosen formula's, recomputed on the test structures
    chosen = pd.read_csv(out / "distill" / "pareto_top_k.csv").query("selected")
    assert report["top_k"]["r2_test"] == pytest.approx(float(chosen["r2_test"].iloc[0]), rel=1e-6, abs=1e-9)


def test_kfold_reports_out_of_fold_predictions_and_test_data_option(tmp_path, perov_small):
    out = tmp_path / "cv"
    assert _cli("crystal", "train", perov_small, "--target", "heat_all", "--model", "cgcnn", "--split", "kfold:3",
                "--out", out, *FAST) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    table = pd.read_csv(out / "predictions.csv")
    assert metrics["n_test"] == 40 and metrics["n_train"] == 0 and (table["split"] == "test").all()
    assert metrics["mae"] == pytest.approx(M.mae(table["target"], table["prediction"]), rel=1e-9)
    frame = pd.read_csv(perov_small)
    frame.head(30).to_csv(tmp_path / "a.csv", index=False)
    frame.tail(10).to_csv(tmp_path / "b.csv", index=False)
    assert _cli("crystal", "train", tmp_path / "a.csv", "--target", "heat_all", "--model", "cgcnn",
                "--test-data", tmp_path / "b.csv", "--out", tmp_path / "tt", *FAST) == 0
    metrics = json.loads((tmp_path / "tt" / "metrics.json").read_text())
    assert (metrics["n_train"], metrics["n_test"], metrics["split"]) == (30, 10, "test file")


def test_time_limit_stops_training_before_the_epochs_run_out(tmp_path, perov_small):
    out = tmp_path / "timed"
    assert _cli("crystal", "train", perov_small, "--target", "heat_all", "--model", "cgcnn", "--epochs", "100000",
                "--time-limit", "0.5", "--quiet", "--out", out) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 1 <= metrics["epochs_run"] < 100000 and metrics["best_epoch"] <= metrics["epochs_run"]
    assert json.loads((out / "model" / "model.json").read_text())["params"]["time_limit"] == 0.5


def test_time_limit_must_be_positive(tmp_path, perov_small, capsys):
    line = _error_line(capsys, ["crystal", "train", perov_small, "--target", "heat_all", "--time-limit", "0",
                                "--out", tmp_path / "o", *FAST])
    assert "time_limit must be positive" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("model", ["cgcnn", "sagat"])
def test_embed_finds_a_supercell_and_a_strained_copy_of_a_structure_first(tmp_path, perov_small, model):
    from pymatgen.core import Structure

    out = tmp_path / "run"
    assert _cli("crystal", "train", perov_small, "--target", "heat_all", "--model", model, "--out", out, *FAST) == 0
    frame = pd.read_csv(perov_small)
    first = Structure.from_str(frame["cif"].iloc[0], fmt="cif")
    supercell = first.copy()
    supercell.make_supercell([2, 1, 1])
    strained = first.copy()
    strained.apply_strain(0.01)
    extra = pd.DataFrame({"material_id": ["supercell", "strained"], "heat_all": [frame["heat_all"].iloc[0]] * 2,
                          "cif": [s.to(fmt="cif") for s in (supercell, strained)]})
    data = tmp_path / "with_copies.csv"
    pd.concat([frame[["material_id", "heat_all", "cif"]], extra]).to_csv(data, index=False)
    emb = tmp_path / "emb"
    assert _cli("crystal", "embed", out, data, "--out", emb, "--neighbors", "3", "--map", "pca") == 0
    report = json.loads((emb / "embedding.json").read_text())
    assert report["n_structures"] == 42 and report["map"] == "pca"
    vectors = pd.read_parquet(emb / "embeddings.parquet")
    assert len(vectors) == 42 and vectors.shape[1] == 1 + report["dim"]
    neighbors = pd.read_csv(emb / "neighbors.csv", dtype={"id": str, "neighbor": str})
    own = neighbors[neighbors["id"] == str(frame["material_id"].iloc[0])].sort_values("rank")
    assert own["neighbor"].iloc[0] == "supercell" and own["distance"].iloc[0] < 1e-6  # the same crystal
    assert set(own["neighbor"].iloc[:2]) == {"supercell", "strained"}
    assert (emb / "map.png").read_bytes()[:4] == b"\x89PNG"
    pytest.importorskip("plotly")
    assert "plotly" in (emb / "map.html").read_text()[:100000].lower()


def test_xrd_patterns_train_and_predict_through_the_spectra_commands(tmp_path, perov_small, check_report):
    spectra = tmp_path / "xrd.parquet"
    assert _cli("spectra", "xrd", perov_small, "--target", "heat_all", "--target", "ind_gap", "--out", spectra) == 0
    table = pd.read_parquet(spectra)
    assert {"id", "x", "intensity", "heat_all", "ind_gap"} <= set(table.columns) and table["id"].nunique() == 40
    assert np.allclose(table.groupby("id")["intensity"].max(), 100.0) and table["x"].between(10, 90).all()
    out = tmp_path / "run"
    assert _cli("spectra", "train", spectra, "--target", "heat_all", "--epochs", "3", "--members", "2",
                "--out", out, "--quiet") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] + metrics["n_test"] == 40
    held = pd.read_csv(out / "predictions.csv").query("split == 'test'")
    assert metrics["mae"] == pytest.approx(M.mae(held["target"], held["prediction"]), rel=1e-9)
    check_report(out, metrics=("mae", "n_test"))
    assert _cli("spectra", "predict", out, spectra, "--out", tmp_path / "p.csv") == 0
    pred = pd.read_csv(tmp_path / "p.csv")
    all_rows = pd.read_csv(out / "predictions.csv")
    np.testing.assert_allclose(pred["heat_all_pred"], all_rows["prediction"], rtol=1e-6)
