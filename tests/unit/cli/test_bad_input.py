"""Every bad input gives one line 'error: …' naming what and where, exit code 2, and no output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.cli.main import run

FAST = ["--epochs", "8", "--members", "2", "--quiet"]


def _run_error(capsys, argv):
    code = run([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    error_lines = [line for line in err if line.startswith("error:")]
    assert code == 2, err
    assert len(error_lines) == 1 and "Traceback" not in "\n".join(err)
    return error_lines[0]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("a,b,y\n1,2,3\n4,oops,6\n7,8,9\n", ["'b'", "'oops'", "row 2"]),
        ("a,b,y\n1,2,3\n4,,6\n7,8,9\n", ["'b'", "missing or NaN", "row 2"]),
        ("a,b,y\n1,2,3\n4,5,6\n7,inf,9\n", ["'b'", "infinite", "row 3"]),
        ("a,b,y\n1,2,3\n4,5,nan\n", ["'y'", "row 2"]),
        ("", ["empty"]),
        ("a,b,y\n", ["no rows"]),
        ("a,b,y\n1,2,3\n", ["at least 2 rows", "found 1"]),
    ],
    ids=["text", "missing", "inf", "nan-target", "empty", "header-only", "single-row"],
)
def test_train_rejects_bad_tables(tmp_path, capsys, content, expected):
    data = _write(tmp_path, "data.csv", content)
    line = _run_error(capsys, ["table", "train", data, "--target", "y", "--out", tmp_path / "out", *FAST])
    for piece in expected:
        assert piece in line
    assert str(data) in line or "--" in line
    assert not (tmp_path / "out").exists()


def test_misspelled_target_suggests_the_column(tmp_path, capsys, films_csv):
    line = _run_error(capsys, ["table", "train", films_csv, "--target", "kapa_W_mK", "--out", tmp_path / "o"])
    assert "'kapa_W_mK' not found" in line and "did you mean 'kappa_W_mK'" in line
    assert not (tmp_path / "o").exists()


def test_missing_file_and_bad_format(tmp_path, capsys):
    assert "file not found" in _run_error(capsys, ["table", "train", tmp_path / "nope.csv", "--target", "y", "--out", tmp_path / "o"])
    other = _write(tmp_path, "data.txt", "a,y\n1,2\n")
    assert "unsupported table format" in _run_error(capsys, ["table", "train", other, "--target", "y", "--out", tmp_path / "o"])


def test_bad_options(tmp_path, capsys, films_csv):
    base = ["table", "train", films_csv, "--target", "kappa_W_mK", "--out", tmp_path / "o"]
    assert "--split" in _run_error(capsys, [*base, "--split", "bogus"])
    assert "activation" in _run_error(capsys, [*base, "--activation", "sigmoidish", *FAST])
    assert "--hidden" in _run_error(capsys, [*base, "--hidden", "64,x"])
    assert "Missing option" in _run_error(capsys, ["table", "train", films_csv, "--out", tmp_path / "o"])
    assert not (tmp_path / "o" / "model").exists()


def test_log_target_needs_positive_values(tmp_path, capsys):
    data = _write(tmp_path, "d.csv", "x,y\n1,2\n2,0\n3,4\n4,5\n")
    line = _run_error(capsys, ["table", "train", data, "--target", "y", "--log-target", "--out", tmp_path / "o"])
    assert "positive" in line and "row 2" in line


@pytest.fixture
def trained(tmp_path_factory, films_csv):
    out = tmp_path_factory.mktemp("trained") / "run"
    assert run([str(a) for a in ["table", "train", films_csv, "--target", "kappa_W_mK", "--log-target", "--out", out, *FAST]]) == 0
    return out


def test_predict_file_missing_an_input(tmp_path, capsys, trained):
    new = _write(tmp_path, "new.csv", "thickness_nm,temperature_K\n100,300\n")
    line = _run_error(capsys, ["table", "predict", trained, new, "--out", tmp_path / "pred.csv"])
    assert "roughness_nm" in line and "missing input column" in line
    assert not (tmp_path / "pred.csv").exists()


def test_tampered_and_foreign_models_are_refused(tmp_path, capsys, trained):
    new = _write(tmp_path, "new.csv", "thickness_nm,roughness_nm,temperature_K\n100,0.5,300\n")
    weights = trained / "model" / "weights.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-3] ^= 0xFF
    weights.write_bytes(bytes(blob))
    assert "checksum" in _run_error(capsys, ["table", "predict", trained, new, "--out", tmp_path / "p.csv"])
    header = trained / "model" / "model.json"
    header.write_text(json.dumps({"format": "something-else"}))
    assert "not an nnsurrogate model" in _run_error(capsys, ["table", "predict", trained, new, "--out", tmp_path / "p.csv"])
    assert "no model here" in _run_error(capsys, ["table", "predict", tmp_path, new, "--out", tmp_path / "p.csv"])
    assert not (tmp_path / "p.csv").exists()


def test_constant_target_and_duplicates_warn_but_train(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 40)
    frame = pd.DataFrame({"x": np.concatenate([x, x[:5]]), "y": 3.0})
    data = tmp_path / "const.csv"
    frame.to_csv(data, index=False)
    code = run([str(a) for a in ["table", "train", data, "--target", "y", "--out", tmp_path / "o",
                                 "--epochs", "300", "--members", "2", "--quiet"]])
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: target 'y' is constant" in err
    assert "warning: 5 rows repeat the inputs" in err
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["mae"] < 0.005 * 3.0  # the constant is recovered to 0.5 %
