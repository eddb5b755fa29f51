"""``nnsurrogate symbolic fit``: outputs, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from nnsurrogate.cli.main import run


def _run_error(capsys, argv):
    code = run([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    error_lines = [line for line in err if line.startswith("error:")]
    assert code == 2, err
    assert len(error_lines) == 1 and "Traceback" not in "\n".join(err)
    return error_lines[0]


def test_fit_writes_metrics_front_and_plots(tmp_path, capsys, law_csv):
    out = tmp_path / "run"
    code = run([str(a) for a in ["symbolic", "fit", law_csv, "--target", "y", "--time-limit", "3",
                                 "--max-length", "20", "--seed", "1", "--out", out, "--quiet"]])
    assert code == 0
    assert "warning: ignoring non-numeric column 'sample'" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("formula", "complexity", "r2_test", "mae_test"):
        assert key in metrics
    assert metrics["inputs"] == ["alpha", "beta", "gamma"]  # the text column 'sample' is not an input
    assert metrics["n_train"] == 160 and metrics["n_test"] == 40 and metrics["r2_test"] > 0.99
    front = pd.read_csv(out / "pareto.csv")
    assert {"complexity", "formula", "r2_validation", "mae_validation", "r2_test", "mae_test"} <= set(front.columns)
    chosen = front[front["selected"]]
    assert len(chosen) == 1 and chosen["formula"].iloc[0] == metrics["formula"]
    assert chosen["r2_test"].iloc[0] == pytest.approx(metrics["r2_test"])
    names = {"alpha", "beta", "gamma"}
    assert any(n in metrics["formula"] for n in names) and "x0" not in metrics["formula"]
    assert (out / "plots" / "parity.png").stat().st_size > 0 and (out / "plots" / "pareto.png").stat().st_size > 0


@pytest.mark.parametrize(("content", "args", "expected"), [
    ("a,b,y\n" + "1,2,3\n" * 5 + "4,oops,6\n" + "1,2,3\n" * 6, [], ["'b'", "'oops'", "row 6"]),
    ("a,b,y\n" + "1,2,3\n" * 5 + "4,5,\n" + "1,2,4\n" * 6, [], ["'y'", "missing or NaN", "row 6"]),
    ("a,b,y\n" + "1,2,3\n4,5,6\n" * 6, ["--target", "z"], ["column 'z' not found"]),
    ("a,b,y\n1,2,3\n4,5,6\n", [], ["at least 10 rows", "found 2"]),
    ("a,b,y\n" + "1,2,3\n" * 12, [], ["constant"]),
    ("a,b,y\n" + "1,2,3\n4,5,6\n" * 6, ["--inputs", "a,y"], ["also listed as an input"]),
    ("a,b,y\n" + "1,2,3\n4,5,6\n" * 6, ["--backend", "pysr"], ["unknown back end 'pysr'", "--backend"]),
    ("a,b,y\n" + "1,2,3\n4,5,6\n" * 6, ["--functions", "add,erf"], ["unknown function 'erf'", "--functions"]),
    ("a,b,y\n" + "1,2,3\n4,5,6\n" * 6, ["--time-limit", "0"], ["--time-limit"]),
    ("name,y\n" + "x,1\nz,2\n" * 6, [], ["no numeric column besides the target"]),
], ids=["text", "nan-target", "missing-target", "too-few-rows", "constant-target", "target-as-input",
        "backend", "functions", "time-limit", "no-inputs"])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, content, args, expected):
    data = tmp_path / "data.csv"
    data.write_text(content, encoding="utf-8")
    argv = ["symbolic", "fit", data, "--out", tmp_path / "out", "--quiet", *args]
    if "--target" not in args:
        argv += ["--target", "y"]
    line = _run_error(capsys, argv)
    for piece in expected:
        assert piece in line, line
    assert not (tmp_path / "out").exists()
