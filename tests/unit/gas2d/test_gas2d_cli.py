"""``nnsurrogate gas2d generate / train`` end to end, and bad input as one-line errors."""

from __future__ import annotations

import json

import pytest

from nnsurrogate.cli.main import run


def test_generate_then_train_writes_model_metrics_and_plots(tmp_path, capsys, check_report):
    data, out = tmp_path / "data", tmp_path / "run"
    code = run(["gas2d", "generate", "--potential", "lj", "--density", "0.2", "--n-samples", "400",
                "--out", str(data), "--quiet"])
    assert code == 0
    meta = json.loads((data / "dataset.json").read_text())
    assert meta["parts"] == {"train": 320, "test": 80}
    assert meta["spec"]["window_A"] == 5.0 and meta["spec"]["min_distance_A"] == 0.9  # the LJ defaults
    code = run(["gas2d", "train", str(data), "--head", "regress", "--grid", "16", "--classes", "6",
                "--epochs", "1", "--out", str(out), "--quiet"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("accuracy_both", "accuracy_x", "accuracy_y", "force_mae", "force_r2", "force_mae_over_std"):
        assert key in metrics
    assert metrics["n_train"] == 320 and metrics["n_test"] == 80 and metrics["fmax_rule"] == "quantile:0.99"
    assert 0.0 <= metrics["majority_class"]["accuracy_both"] <= 1.0
    assert {p.name for p in (out / "plots").iterdir()} == {"parity.png", "confusion.png"}
    check_report(out, metrics=("accuracy_both", "force_mae", "majority_class.accuracy_both"),
                 images=("plots/parity.png", "plots/confusion.png"))
    assert (out / "model" / "model.json").is_file() and not (out / ".checkpoint").exists()
    assert "both-components accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["gas2d", "generate", "--potential", "morse", "--density", "0.1", "--out", "{tmp}/d"], "unknown potential"),
    (["gas2d", "generate", "--potential", "lj", "--density", "0", "--out", "{tmp}/d"], "density must be positive"),
    (["gas2d", "generate", "--potential", "lj", "--density", "0.1", "--min-distance", "-1", "--out", "{tmp}/d"],
     "got -1.0 (--min-distance)"),
    (["gas2d", "generate", "--potential", "lj", "--density", "2.0", "--n-samples", "8", "--out", "{tmp}/d"],
     "lower the density"),
    (["gas2d", "train", "{tmp}", "--out", "{tmp}/r"], "not a gas2d data folder"),
])
def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, capsys, argv, message):
    code = run([a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists() and not (tmp_path / "r" / "metrics.json").exists()


def test_bad_training_options_are_one_line(tmp_path, capsys):
    data = tmp_path / "data"
    assert run(["gas2d", "generate", "--potential", "coulomb", "--density", "0.01", "--n-samples", "40",
                "--out", str(data), "--quiet"]) == 0
    for extra, message in ((["--head", "cluster"], "head must be one of"), (["--grid", "8"], "too small"),
                           (["--fmax", "quantile:2"], "f_max rule"), (["--recipe", "magic"], "recipe"),
                           (["--time-limit", "0"], "positive seconds, got 0.0 (--time-limit)"),
                           (["--classes", "1"], "≥ 2, got 1 (--classes)"), (["--grid", "8"], "(--grid)")):
        code = run(["gas2d", "train", str(data), "--out", str(tmp_path / "r"), "--quiet", *extra])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (extra, err)
    assert not (tmp_path / "r").exists()
