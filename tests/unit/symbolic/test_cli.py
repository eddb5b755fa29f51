"""``nnsurrogate symbolic fit``: outputs, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import json

import numpy as np
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


def test_fit_writes_metrics_front_and_plots(tmp_path, capsys, law_csv, check_report):
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
    check_report(out, metrics=("formula", "r2_test", "mae_test"), images=("plots/parity.png", "plots/pareto.png"))


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


def _gas_csv(path, noise: float, seed: int = 1):
    """p = nRT/V (kPa, V in L) on 300 rows as a newcomer would tabulate it; relative Gaussian noise *noise*."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"n_mol": rng.uniform(0.1, 5, 300), "T_K": rng.uniform(200, 1000, 300),
                          "V_L": rng.uniform(1, 100, 300)})
    frame["p_kPa"] = 8.314462618 * frame["n_mol"] * frame["T_K"] / frame["V_L"] * (1 + noise * rng.normal(size=300))
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("noise", [0.0, 0.01], ids=["exact", "noisy-1pc"])
def test_ideal_gas_default_choice_is_the_law_and_repeats_exactly(tmp_path, noise):
    """The chosen formula is the simplest within noise (p = nRT/V, complexity 7 plus at most an offset),
    and with the default generation budget the same seed gives the same formula twice."""
    import sympy

    data = _gas_csv(tmp_path / "gas.csv", noise)
    reports = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        assert run([str(a) for a in ["symbolic", "fit", data, "--target", "p_kPa", "--generations", "40",
                                     "--out", out, "--quiet"]]) == 0
        reports.append(json.loads((out / "metrics.json").read_text()))
        front = pd.read_csv(out / "pareto.csv")
        assert reports[-1]["r2_test"] >= front["r2_test"].max() - 1e-3  # nothing on the front is clearly better
    first, second = reports
    assert first["formula"] == second["formula"] and first["stopped_by"] == "generations" == second["stopped_by"]
    assert first["generations"] == 40 and first["time_limit"] is None
    assert first["complexity"] <= 9 and first["r2_test"] > 0.999
    n, T, V = sympy.symbols("n_mol T_K V_L", positive=True)
    found = sympy.sympify(first["formula"], locals={"n_mol": n, "T_K": T, "V_L": V})
    slope = sympy.simplify((found - found.subs(T, 0)) / (n * T / V))
    assert slope.is_number and abs(float(slope) - 8.3145) < 0.05 * (1 + 10 * noise)


def test_fit_writes_a_numpy_function_and_latex_that_match_the_predictions(tmp_path, law_csv):
    out = tmp_path / "run"
    assert run([str(a) for a in ["symbolic", "fit", law_csv, "--target", "y", "--generations", "30",
                                 "--out", out, "--quiet"]]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    namespace: dict = {}
    exec((out / "formula.py").read_text(encoding="utf-8"), namespace)  # noqa: S102 - our own output
    frame = pd.read_csv(law_csv)
    values = namespace["formula"](frame["alpha"].to_numpy(), frame["beta"].to_numpy(), frame["gamma"].to_numpy())
    truth = 3.0 * frame["alpha"] * frame["beta"] + frame["gamma"]
    assert np.corrcoef(values, truth)[0, 1] > 0.999 and values.shape == (200,)
    tex = (out / "formula.tex").read_text(encoding="utf-8").strip()
    assert tex == metrics["latex"] and "alpha" in tex and "Traceback" not in tex
