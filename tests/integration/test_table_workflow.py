"""train → save → load → predict / evaluate through the command line, on real generator data."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.cli.main import run
from nnsurrogate.core import metrics as M
from nnsurrogate.tabular.table_model import TableModel
from nnsurrogate.tabular.thin_film import kappa_film

FAST = ["--members", "3", "--epochs", "120", "--quiet"]
KEYS = {"mae", "rmse", "r2", "max_error", "spearman", "coverage_1sigma", "coverage_2sigma", "n_train", "n_test"}


def _cli(*argv) -> int:
    return run([str(a) for a in argv])


def test_data_command_writes_the_generator_table(tmp_path):
    out = tmp_path / "films.csv"
    assert _cli("data", "thin-film", "--n", "40", "--seed", "0", "--out", out) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["thickness_nm", "roughness_nm", "temperature_K", "kappa_W_mK"]
    expected = kappa_film(frame["thickness_nm"], frame["roughness_nm"], frame["temperature_K"])
    np.testing.assert_allclose(frame["kappa_W_mK"], expected, rtol=1e-9)


def test_train_predict_evaluate_round_trip(tmp_path, films_csv):
    out = tmp_path / "run"
    assert _cli("table", "train", films_csv, "--target", "kappa_W_mK", "--log-target", "--out", out, *FAST) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert KEYS <= metrics.keys() and metrics["n_train"] + metrics["n_test"] == 60
    assert metrics["units"] == {"thickness_nm": "nm", "roughness_nm": "nm", "temperature_K": "K", "kappa_W_mK": "W/(m·K)"}
    assert (out / "plots" / "parity.png").read_bytes()[:4] == b"\x89PNG"
    header = json.loads((out / "model" / "model.json").read_text())
    assert header["package_version"] and header["params"]["ensemble"] == 3
    assert [i["unit"] for i in header["inputs"]] == ["nm", "nm", "K"]

    pred_path = tmp_path / "pred.csv"
    assert _cli("table", "predict", out, films_csv, "--out", pred_path) == 0
    pred = pd.read_csv(pred_path)
    assert list(pred.columns) == ["thickness_nm", "roughness_nm", "temperature_K", "kappa_W_mK",  # every input column
                                  "kappa_W_mK_pred", "kappa_W_mK_std", "in_domain"]
    assert (pred["kappa_W_mK_std"] > 0).all() and (pred["kappa_W_mK_pred"] > 0).all()

    # loading the saved model gives exactly the predictions the CLI wrote
    model = TableModel.load(out / "model")
    again = model.regressor.predict(pred[model.inputs].to_numpy())
    np.testing.assert_allclose(pred["kappa_W_mK_pred"], again, rtol=1e-12)

    # evaluate reports the metrics of those same predictions
    assert _cli("table", "evaluate", out, films_csv, "--out", tmp_path / "eval") == 0
    ev = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    truth = pd.read_csv(films_csv)["kappa_W_mK"]
    assert ev["mae"] == pytest.approx(M.mae(truth, pred["kappa_W_mK_pred"]), rel=1e-9)
    assert ev["coverage_1sigma"] == pytest.approx(M.coverage(truth, pred["kappa_W_mK_pred"], pred["kappa_W_mK_std"]), abs=1e-12)


def test_predict_flags_rows_outside_the_training_box(tmp_path, films_csv):
    out = tmp_path / "run"
    assert _cli("table", "train", films_csv, "--target", "kappa_W_mK", "--log-target", "--out", out, *FAST) == 0
    new = pd.DataFrame({"thickness_nm": [300.0, 2.0, 300.0], "roughness_nm": [0.8, 0.8, 9.0], "temperature_K": [400.0, 400.0, 400.0]})
    new.to_parquet(tmp_path / "new.parquet")
    assert _cli("table", "predict", out, tmp_path / "new.parquet", "--out", tmp_path / "pred.parquet") == 0
    flags = pd.read_parquet(tmp_path / "pred.parquet")["in_domain"].tolist()
    assert flags == [True, False, False]


@pytest.mark.parametrize("split", ["kfold:3", "group:batch", "time:day"])
def test_other_splits(tmp_path, smooth_csv, split):
    frame = pd.read_csv(smooth_csv)
    frame["batch"] = np.arange(len(frame)) % 12
    frame["day"] = np.arange(len(frame))
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "run"
    assert _cli("table", "train", data, "--target", "y", "--inputs", "x1,x2", "--split", split, "--out", out, *FAST) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["r2"] > 0.8
    if split.startswith("kfold"):
        assert metrics["n_test"] == len(frame)  # every row is predicted out of fold once
    if split.startswith("time"):
        assert metrics["n_test"] == 24


def test_interrupted_training_resumes_to_the_same_model(tmp_path, films_csv, monkeypatch):
    import nnsurrogate.tabular.regressor as reg

    args = ["table", "train", films_csv, "--target", "kappa_W_mK", "--log-target", "--members", "2", "--epochs", "60", "--seed", "4"]
    assert _cli(*args, "--quiet", "--out", tmp_path / "straight") == 0

    @contextlib.contextmanager
    def interrupting_bar(description, enabled=True):
        def progress(epoch, max_epochs, metrics):
            if epoch == 25:
                raise KeyboardInterrupt

        yield progress

    monkeypatch.setattr(reg, "epoch_bar", interrupting_bar)
    assert _cli(*args, "--out", tmp_path / "resumed") == 130
    assert not (tmp_path / "resumed" / "model").exists() and not (tmp_path / "resumed" / "metrics.json").exists()
    assert (tmp_path / "resumed" / ".checkpoint" / "holdout.pt").is_file()
    monkeypatch.undo()
    assert _cli(*args, "--quiet", "--resume", "--out", tmp_path / "resumed") == 0
    assert not (tmp_path / "resumed" / ".checkpoint").exists()
    a = TableModel.load(tmp_path / "straight" / "model").regressor
    b = TableModel.load(tmp_path / "resumed" / "model").regressor
    X = pd.read_csv(films_csv)[["thickness_nm", "roughness_nm", "temperature_K"]].to_numpy()
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-6)


def test_demo_runs_end_to_end(tmp_path):
    from nnsurrogate.tabular.demo import run_demo

    result = run_demo(tmp_path / "demo", verbose=0, epochs=40)
    for name in ("films.csv", "metrics.json", "plots/parity.png", "model/model.json", "new_films.csv"):
        assert (tmp_path / "demo" / name).is_file()
    assert result.metrics["n_test"] == 400 and result.metrics["n_train"] == 1600
    assert not result.films["in_domain"].iloc[-1]  # the 5-nm film lies below the 10-nm training range
    again = run_demo(tmp_path / "demo", verbose=0, epochs=5)
    assert again.data_reused


@pytest.mark.parametrize("method", ["split", "cv"])
def test_conformal_train_reports_coverage_and_predict_writes_intervals(tmp_path, films_csv, method):
    out = tmp_path / "run"
    assert _cli("table", "train", films_csv, "--target", "kappa_W_mK", "--log-target", "--conformal", method,
                "--out", out, *FAST) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["conformal"] == method
    c1, c2 = metrics["conformal_coverage_1sigma"], metrics["conformal_coverage_2sigma"]
    if method == "split":  # 60 rows: 10 calibration rows support levels up to 10/11, not 0.9545
        assert 0.0 <= c1 <= 1.0 and c2 is None
    else:
        assert 0.0 <= c1 <= c2 <= 1.0
    pred_path = tmp_path / "pred.csv"
    assert _cli("table", "predict", out, films_csv, "--out", pred_path, "--level", "0.5", "--level", "0.9") == 0
    pred = pd.read_csv(pred_path)
    lo50, hi50, lo90, hi90 = (pred[f"kappa_W_mK_{side}_{pct}"] for pct in ("50", "90") for side in ("low", "high"))
    assert (lo90 <= lo50).all() and (lo50 < pred["kappa_W_mK_pred"]).all() and (pred["kappa_W_mK_pred"] < hi50).all()
    assert (hi50 <= hi90).all()
    # the written intervals are the saved model's conformal intervals
    model = TableModel.load(out / "model")
    band = model.estimator.predict_interval(pred[model.inputs].to_numpy(), 0.9)
    np.testing.assert_allclose(np.column_stack([lo90, hi90]), band, rtol=1e-12)


def test_gaussian_intervals_without_conformal_scores(tmp_path, films_csv):
    out = tmp_path / "run"
    assert _cli("table", "train", films_csv, "--target", "kappa_W_mK", "--out", out, *FAST) == 0
    assert "conformal_coverage_1sigma" not in json.loads((out / "metrics.json").read_text())
    assert _cli("table", "predict", out, films_csv, "--out", tmp_path / "p.csv", "--level", "0.6827") == 0
    pred = pd.read_csv(tmp_path / "p.csv")
    half = (pred["kappa_W_mK_high_68.27"] - pred["kappa_W_mK_low_68.27"]) / 2
    np.testing.assert_allclose(half, pred["kappa_W_mK_std"], rtol=1e-3)  # ±1σ is the 68.27 % Gaussian interval


def _fidelity_tables(tmp_path):
    """A 'measured' property 1.2 × the 'computed' one + 0.3 over binary Cu–Ni–Al–Fe alloys; few measured rows."""
    rng = np.random.default_rng(0)
    elements = ["Cu", "Ni", "Al", "Fe", "Zn", "Ti"]
    rows = []
    for a in range(len(elements)):
        for b in range(a + 1, len(elements)):
            for x in np.linspace(0.1, 0.9, 9):
                rows.append((f"{elements[a]}{x:.2f}{elements[b]}{1 - x:.2f}", a + b * x + np.sin(3 * x) * (a - b)))
    low = pd.DataFrame(rows, columns=["formula", "value"])
    high = low.sample(n=40, random_state=1).assign(value=lambda f: 1.2 * f["value"] + 0.3 + rng.normal(0, 0.01, 40))
    low.to_csv(tmp_path / "low.csv", index=False)
    high.to_csv(tmp_path / "high.csv", index=False)
    return tmp_path / "high.csv", tmp_path / "low.csv"


def test_low_fidelity_table_trains_a_multi_fidelity_model_that_uses_known_calculations(tmp_path):
    high, low = _fidelity_tables(tmp_path)
    out = tmp_path / "run"
    assert _cli("table", "train", high, "--target", "value", "--formula-column", "formula", "--low-fidelity", low,
                "--fidelity-method", "delta", "--out", out, *FAST) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["low_fidelity"]["method"] == "delta" and metrics["low_fidelity"]["n_rows"] == 135
    model = TableModel.load(out / "model")
    assert type(model.estimator).__name__ == "MultiFidelityRegressor" and len(model.low_fidelity) == 135
    # every compound has a calculation: the saved model reads it from its lookup, row by row
    frame = pd.read_csv(low)
    X = model.input_matrix(frame, "low.csv")
    np.testing.assert_allclose(X[:, -1], frame["value"])
    # and a compound nobody computed gets the low-fidelity model's estimate instead (NaN in the column)
    novel = pd.DataFrame({"formula": ["Cu0.5Ni0.3Zn0.2", "CuNiAl", "Cu0.10Ni0.90"]})  # only the last one is computed
    column = model.input_matrix(novel, "novel")[:, -1]
    assert np.isnan(column[:2]).all() and column[2] == pytest.approx(frame["value"].iloc[0])
    assert np.isfinite(model.estimator.predict(model.input_matrix(novel, "novel"))).all()
    assert _cli("table", "predict", out, low, "--out", tmp_path / "p.csv") == 0
    pred = pd.read_csv(tmp_path / "p.csv")
    truth = 1.2 * frame["value"] + 0.3
    assert M.mae(truth, pred["value_pred"]) < 0.25 * M.mae(truth, np.full(len(truth), truth.mean()))


def test_table_embed_puts_the_same_compound_written_twice_side_by_side(tmp_path):
    high, low = _fidelity_tables(tmp_path)
    out = tmp_path / "run"
    assert _cli("table", "train", low, "--target", "value", "--formula-column", "formula", "--out", out, *FAST) == 0
    frame = pd.read_csv(low)
    first = frame["formula"].iloc[0]  # e.g. Cu0.10Ni0.90: the same compound as Cu1Ni9
    rewritten = pd.DataFrame({"formula": ["Cu1Ni9" if first == "Cu0.10Ni0.90" else first + "1"],
                              "value": [frame["value"].iloc[0]]})
    data = tmp_path / "embed.csv"
    pd.concat([frame, rewritten]).to_csv(data, index=False)
    emb = tmp_path / "emb"
    assert _cli("table", "embed", out, data, "--out", emb, "--neighbors", "2", "--map", "pca") == 0
    report = json.loads((emb / "embedding.json").read_text())
    assert report["n"] == len(frame) + 1 and report["dim"] == 3 * 64  # 3 members × 64 hidden units
    neighbors = pd.read_csv(emb / "neighbors.csv")
    own = neighbors[neighbors["id"] == first].sort_values("rank")
    assert own["neighbor"].iloc[0] == rewritten["formula"].iloc[0] and own["distance"].iloc[0] < 1e-9
    assert (emb / "map.png").is_file() and len(pd.read_csv(emb / "map.csv")) == len(frame) + 1


def test_conformal_intervals_around_a_multi_fidelity_model(tmp_path):
    high, low = _fidelity_tables(tmp_path)
    out = tmp_path / "run"
    assert _cli("table", "train", high, "--target", "value", "--formula-column", "formula", "--low-fidelity", low,
                "--conformal", "cv", "--out", out, *FAST) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["conformal"] == "cv" and 0.0 <= metrics["conformal_coverage_1sigma"] <= 1.0
    model = TableModel.load(out / "model")
    assert type(model.estimator.estimator_).__name__ == "MultiFidelityRegressor"
    assert _cli("table", "predict", out, low, "--out", tmp_path / "p.csv", "--level", "0.8") == 0
    pred = pd.read_csv(tmp_path / "p.csv")
    assert (pred["value_low_80"] < pred["value_pred"]).all() and (pred["value_pred"] < pred["value_high_80"]).all()


def test_predict_keeps_every_input_column_and_replaces_old_predictions(tmp_path, films_csv):
    out = tmp_path / "run"
    assert _cli("table", "train", films_csv, "--target", "kappa_W_mK", "--log-target", "--members", "2", "--epochs", "20",
                "--out", out, "--quiet") == 0
    frame = pd.read_csv(films_csv).head(12)
    frame.insert(0, "film_id", [f"F{i:03d}" for i in range(len(frame))])
    frame["note"] = "batch A"
    frame["kappa_W_mK_pred"] = -1.0  # a stale prediction from an earlier run
    source = tmp_path / "new.csv"
    frame.to_csv(source, index=False)
    pred_path = tmp_path / "pred.csv"
    assert _cli("table", "predict", out, source, "--out", pred_path) == 0
    pred = pd.read_csv(pred_path)
    assert pred["film_id"].tolist() == frame["film_id"].tolist() and (pred["note"] == "batch A").all()
    assert list(pred.columns).count("kappa_W_mK_pred") == 1 and (pred["kappa_W_mK_pred"] > 0).all()


def test_training_writes_a_report_that_embeds_its_plots(tmp_path, films_csv, check_report):
    out = tmp_path / "run"
    assert _cli("table", "train", films_csv, "--target", "kappa_W_mK", "--log-target", "--members", "2",
                "--epochs", "20", "--out", out, "--quiet") == 0
    page = check_report(out, metrics=("mae", "coverage_1sigma"), images=("plots/parity.png",))
    assert ">log_target<" in page  # the settings of the run
