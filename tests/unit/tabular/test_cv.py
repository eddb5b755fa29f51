"""Cross-validation of table models: folds without leaks, fitting inside folds, outputs, resuming."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.core.errors import DataWarning, UserInputError
from nnsurrogate.core.splits import CVSpec
from nnsurrogate.tabular.cv import CVOptions, cross_validate, fit_table_model, make_folds
from nnsurrogate.tabular.dataset import TableSpec, load_dataset
from nnsurrogate.tabular.estimators import ModelOptions

TINY = ModelOptions(hidden=(8,), ensemble=2, epochs=15, seed=0)
ELEMENTS = ["Li", "Na", "K", "Mg", "Ca", "Al", "Si", "Ti", "Fe", "Ni", "Cu", "Zn"]


def _binary_compounds(n, seed):
    """Distinct AₓB_{1−x} compounds; the target is the mean atomic number (exactly computable)."""
    rng = np.random.default_rng(seed)
    z = {el: i for i, el in enumerate(ELEMENTS)}
    rows, seen = [], set()
    while len(rows) < n:
        a, b = rng.choice(ELEMENTS, 2, replace=False)
        x = int(rng.integers(1, 5))
        key = (min(a, b), max(a, b), x if a < b else 5 - x)
        if key in seen:
            continue
        seen.add(key)
        rows.append((f"{a}{x}{b}{5 - x}", (x * z[a] + (5 - x) * z[b]) / 5))
    return pd.DataFrame(rows, columns=["formula", "y"])


@pytest.fixture
def repeated_csv(tmp_path):
    """40 compounds, each measured at 3 loads (written two ways), target depends on compound and load."""
    base = _binary_compounds(40, seed=0)
    rows = []
    for formula, y in zip(base["formula"], base["y"]):
        for load in (0.5, 1.0, 2.0):
            rows.append((formula if load != 1.0 else f"({formula})2", load, y + 0.3 * np.log(load)))
    path = tmp_path / "repeated.csv"
    pd.DataFrame(rows, columns=["formula", "load", "y"]).to_csv(path, index=False)
    return str(path)


def test_grouped_folds_keep_every_compound_on_one_side(repeated_csv):
    ds = load_dataset(repeated_csv, TableSpec("y", ("load",), "formula"))
    assert len(ds) == 120 and len(set(ds.groups)) == 40  # "(A1B4)2" is the same compound as "A1B4"
    folds = make_folds(ds, CVOptions(CVSpec("kfold", 4), "formula"), seed=0)
    tested = np.zeros(len(ds), dtype=int)
    for train, test in folds:
        train_compounds = set(ds.groups[train])
        assert not any(g in train_compounds for g in ds.groups[test])
        tested[test] += 1
    assert np.all(tested == 1)
    # the random folds, by contrast, put nearly every compound on both sides
    random_folds = make_folds(ds, CVOptions(CVSpec("kfold", 4), "none"), seed=0)
    shared = sum(np.isin(ds.groups[te], ds.groups[tr]).sum() for tr, te in random_folds)
    assert shared > 0.8 * len(ds)


def test_cluster_folds_on_composition_features(repeated_csv):
    ds = load_dataset(repeated_csv, TableSpec("y", ("load",), "formula"))
    folds = make_folds(ds, CVOptions(CVSpec("kfold", 3), "cluster"), seed=0)
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(len(ds)))
    with pytest.raises(UserInputError, match="matbench"):
        CVOptions(CVSpec("matbench", 5), "formula")


def test_featurizer_and_scalers_see_only_training_rows(tmp_path):
    frame = _binary_compounds(30, seed=1)
    frame.loc[len(frame)] = ["Pb2Se3", 50.0]  # the only lead and selenium compound
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    ds = load_dataset(str(path), TableSpec("y", formula_column="formula"))
    train = np.arange(len(ds) - 1)
    model = fit_table_model(ds, train, TINY, "y")
    assert "Pb" not in model.featurizer.seen_elements_ and "Fe" in model.featurizer.seen_elements_
    names = list(model.featurizer.get_feature_names_out())
    scaler = model.estimator.network_.x_scaler_  # the network inside the default blend
    # the held-out row is the only one with Pb: a scaler that had seen it would have a non-zero mean there
    assert scaler.mean[names.index("frac_Pb")] == 0.0 and scaler.mean[names.index("frac_Se")] == 0.0
    assert scaler.mean[names.index("frac_Fe")] > 0.0
    out = model.predict_frame(ds.frame.iloc[[len(ds) - 1, 0]], "test")
    assert out["in_domain"].tolist()[0] is False  # an element never seen in training


@pytest.mark.slow
def test_cross_validate_writes_metrics_predictions_and_plot(tmp_path, repeated_csv):
    out = tmp_path / "cv"
    messages = []
    metrics = cross_validate(repeated_csv, str(out), TableSpec("y", ("load",), "formula"), TINY,
                             CVOptions(CVSpec("kfold", 3), "formula"), log=messages.append)
    assert messages[0].startswith("leak report: 120 rows, 40 distinct compounds") and "0 test rows" in messages[0]
    saved = json.loads((out / "metrics.json").read_text())
    assert len(saved["folds"]) == 3 and saved["leak_report"]["n_test_rows_seen_in_train"] == 0
    maes = [f["mae"] for f in saved["folds"]]
    assert saved["mae_mean"] == pytest.approx(np.mean(maes)) and saved["mae_std"] == pytest.approx(np.std(maes))
    pred = pd.read_csv(out / "predictions.csv")
    assert sorted(pred["fold"].unique()) == [0, 1, 2] and len(pred) == 120
    assert saved["pooled"]["mae"] == pytest.approx(np.mean(np.abs(pred["y_pred"] - pred["y"])))
    assert (out / "plots" / "parity.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / ".checkpoint").exists() and metrics["cpu_seconds"] > 0


@pytest.mark.slow
def test_random_folds_warn_about_the_leak(tmp_path, repeated_csv):
    with pytest.warns(DataWarning, match="test rows have their compound on the training side"):
        metrics = cross_validate(repeated_csv, str(tmp_path / "cv"), TableSpec("y", ("load",), "formula"),
                                 TINY, CVOptions(CVSpec("kfold", 3), "none"))
    assert metrics["leak_report"]["fraction_test_rows_seen_in_train"] > 0.8


@pytest.mark.slow
def test_resume_reuses_finished_folds(tmp_path, repeated_csv):
    out = tmp_path / "cv"
    ckpt = out / ".checkpoint"
    ckpt.mkdir(parents=True)
    ds = load_dataset(repeated_csv, TableSpec("y", ("load",), "formula"))
    test0 = make_folds(ds, CVOptions(CVSpec("kfold", 3), "formula"), seed=0)[0][1]
    np.savez(ckpt / "fold0.npz", pred=np.full(len(test0), 123.0), second=np.ones(len(test0)))
    cross_validate(repeated_csv, str(out), TableSpec("y", ("load",), "formula"), TINY,
                   CVOptions(CVSpec("kfold", 3), "formula"), resume=True)
    pred = pd.read_csv(out / "predictions.csv")
    assert np.all(pred.loc[pred["fold"] == 0, "y_pred"] == 123.0)  # fold 0 was not retrained
    assert not np.any(pred.loc[pred["fold"] != 0, "y_pred"] == 123.0)


@pytest.mark.slow
def test_classification_cv_reports_roc_auc(tmp_path):
    frame = _binary_compounds(60, seed=2)
    frame["heavy"] = np.where(frame["y"] > frame["y"].median(), "yes", "no")
    path = tmp_path / "c.csv"
    frame[["formula", "heavy"]].to_csv(path, index=False)
    metrics = cross_validate(str(path), str(tmp_path / "cv"), TableSpec("heavy", formula_column="formula"),
                             ModelOptions(hidden=(16,), ensemble=2, epochs=60, seed=0), CVOptions(CVSpec("matbench", 5)))
    assert metrics["task"] == "classify" and metrics["classes"] == ["no", "yes"]
    assert {"roc_auc_mean", "roc_auc_std", "balanced_accuracy_mean", "f1_mean"} <= metrics.keys()
    assert metrics["roc_auc_mean"] > 0.7  # "heavy" is a function of the composition
    pred = pd.read_csv(tmp_path / "cv" / "predictions.csv")
    np.testing.assert_allclose(pred["p_no"] + pred["p_yes"], 1.0, rtol=1e-12)
    assert (tmp_path / "cv" / "plots" / "reliability.png").is_file()
