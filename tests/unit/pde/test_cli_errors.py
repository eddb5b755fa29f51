"""Bad input to ``nnsurrogate pde …``: one line 'error: …' naming what and where, exit code 2, no output."""

from __future__ import annotations

import pytest

from nnsurrogate.cli.main import run


def _error_line(capsys, argv):
    code = run([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    lines = [line for line in err if line.startswith("error:")]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in "\n".join(err)
    return lines[0]


@pytest.mark.parametrize(("args", "pieces"), [
    (["--alpha", "0"], ["alpha", "positive", "(--alpha)"]),
    (["--alpha", "-0.5"], ["alpha", "-0.5", "(--alpha)"]),
    (["--length", "0"], ["length", "(--length)"]),
    (["--t-end", "-1"], ["t_end", "(--t-end)"]),
    (["--alpha", "nan"], ["alpha", "(--alpha)"]),
    (["--method", "fd", "--nt", "100"], ["gamma", "2.5 > 1/2", "largest stable dt is 0.002", "nt >= 500", "(--nt)"]),
    (["--method", "spectral"], ["unknown method 'spectral'", "(--method)"]),
    (["--nx", "1", "--method", "fd"], ["at least 2 space intervals", "(--nx)"]),
    (["--corner", "smooth", "--method", "pinn"], ["corner", "smooth"]),
], ids=["alpha-zero", "alpha-negative", "length", "t-end", "alpha-nan", "unstable", "method", "nx", "corner"])
def test_heat1d_rejects_bad_input(tmp_path, capsys, args, pieces):
    out = tmp_path / "out"
    line = _error_line(capsys, ["pde", "heat1d", *args, "--out", out, "--quiet", "--iterations", "1",
                                "--lbfgs-iterations", "0"])
    for piece in pieces:
        assert piece in line, line
    assert not out.exists()


def test_auto_dt_accepts_the_same_step(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(["pde", "heat1d", "--method", "fd", "--nt", "100", "--auto-dt", "--out", str(out), "--quiet"]) == 0
    assert (out / "metrics.json").is_file()


@pytest.mark.parametrize(("content", "pieces"), [
    ("x,t,T\n0.2,0.5,0.1\n0.5,0.4,nan\n", ["'T'", "NaN", "row 2"]),
    ("x,t,T\n0.2,0.5,0.1\n1.5,0.4,0.3\n", ["outside the domain", "row 2"]),
    ("x,t,T\n0.2,-0.5,0.1\n", ["outside the domain", "row 1"]),
    ("x,t,T\n0.2,abc,0.1\n", ["'t'", "'abc'", "row 1"]),
    ("x,t\n0.2,0.5\n", ["column 'T' not found"]),
], ids=["nan", "outside-x", "negative-t", "text", "missing-column"])
def test_inverse_heat_rejects_bad_measurements(tmp_path, capsys, content, pieces):
    data = tmp_path / "m.csv"
    data.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    line = _error_line(capsys, ["pde", "inverse-heat", data, "--length", "1", "--t-end", "1", "--out", out, "--quiet"])
    for piece in pieces:
        assert piece in line, line
    assert str(data) in line and not out.exists()


def test_inverse_heat_rejects_bad_geometry_and_missing_file(tmp_path, capsys):
    data = tmp_path / "m.csv"
    data.write_text("x,t,T\n0.2,0.5,0.1\n", encoding="utf-8")
    line = _error_line(capsys, ["pde", "inverse-heat", data, "--length", "-1", "--t-end", "1", "--out", tmp_path / "o"])
    assert "(--length)" in line
    line = _error_line(capsys, ["pde", "inverse-heat", tmp_path / "none.csv", "--length", "1", "--t-end", "1",
                                "--out", tmp_path / "o"])
    assert "file not found" in line
    line = _error_line(capsys, ["pde", "inverse-heat", data, "--length", "1", "--t-end", "1", "--members", "0",
                                "--out", tmp_path / "o", "--quiet"])
    assert "ensemble member" in line and "(--members)" in line
    assert not (tmp_path / "o").exists()


def test_burgers_rejects_bad_options(tmp_path, capsys):
    line = _error_line(capsys, ["pde", "burgers", "--hidden", "32,x", "--out", tmp_path / "o"])
    assert "--hidden" in line
    line = _error_line(capsys, ["pde", "burgers", "--points", "0", "--out", tmp_path / "o", "--quiet"])
    assert "collocation points" in line
    assert not (tmp_path / "o" / "metrics.json").exists()
