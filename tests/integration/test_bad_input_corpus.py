"""The bad-input corpus: malformed files, tampered model folders, impossible options and colliding
outputs across every command group.

Each case runs the command line in this process (the CLI is imported once) and asserts what the
README promises: exit code 2, exactly one stderr line starting ``error:`` (naming what and where),
no traceback and no "unexpected" (a bug caught by the last-resort handler says so), and an output
that is absent or unchanged afterwards. The hypothesis tests at the end add generated corruptions
of valid CSV, extended-XYZ and ``nep.txt`` files and out-of-range numbers.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from nnsurrogate.cli.main import run

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


# ----------------------------------------------------------------------------------- checking
def _snapshot(path: Path) -> dict[str, str] | None:
    """``None`` if *path* is absent, else the SHA-256 of every file under it (or of the file)."""
    if not path.exists():
        return None
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _assert_clean_error(capsys, argv: list, out: Path | None) -> str:
    before = _snapshot(out) if out is not None else None
    code = run([str(a) for a in argv])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2, f"exit {code} for {argv}: {err}"
    assert len(errors) == 1 and "Traceback" not in err, err
    assert "unexpected" not in errors[0], errors[0]
    if out is not None:
        assert _snapshot(out) == before, f"{out} changed: {argv}"
    return errors[0]


# ----------------------------------------------------------------------------------- inputs
def _labelled_copper(n: int = 8, seed: int = 0) -> list[Atoms]:
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.positions += rng.normal(0, 0.08, atoms.positions.shape)
        atoms.calc = EMT()
        labels = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    return frames


def _cif_table(path: Path, n: int = 24) -> None:
    rng = np.random.default_rng(1)
    rows = []
    for k in range(n):
        a = 3.8 + 0.3 * rng.random()
        atoms = Atoms("SrTiO3", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5],
                                                  [0, 0.5, 0.5]], cell=np.eye(3) * a, pbc=True)
        text = io.BytesIO()
        write(text, atoms, format="cif")
        rows.append({"id": f"s{k}", "cif": text.getvalue().decode(), "gap_eV": 1.0 + a - 3.8})
    pd.DataFrame(rows).to_csv(path, index=False)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, Path]:
    """Valid inputs and small trained models of every kind, made once through the command line."""
    from nnsurrogate.tabular.thin_film import sample_thin_film

    root = tmp_path_factory.mktemp("corpus")
    films = root / "films.csv"
    sample_thin_film(60, seed=3).to_csv(films, index=False)
    cu = root / "cu.xyz"
    write(cu, _labelled_copper(), format="extxyz")
    cifs = root / "cifs.csv"
    _cif_table(cifs)
    x = np.linspace(0, 1, 6)
    t = np.linspace(0.05, 0.5, 5)
    xx, tt = np.meshgrid(x, t)
    measurements = root / "heat.csv"
    pd.DataFrame({"x": xx.ravel(), "t": tt.ravel(), "T": xx.ravel()}).to_csv(measurements, index=False)
    assert run(["table", "train", str(films), "--target", "kappa_W_mK", "--epochs", "2", "--members", "1",
                "--quiet", "--out", str(root / "table_run")]) == 0
    assert run(["potential", "train", str(cu), "--epochs", "2", "--neurons", "4", "--n-max", "2,2",
                "--basis-size", "4,4", "--l-max", "2,0,0", "--valid-fraction", "0", "--quiet",
                "--out", str(root / "nep_run")]) == 0
    assert run(["crystal", "train", str(cifs), "--target", "gap_eV", "--model", "cgcnn", "--epochs", "2",
                "--batch-size", "8", "--quiet", "--out", str(root / "crystal_run")]) == 0
    assert run(["gas2d", "generate", "--potential", "lj", "--density", "0.5", "--n-samples", "200",
                "--quiet", "--out", str(root / "gas")]) == 0
    return {"root": root, "films": films, "cu": cu, "cifs": cifs, "heat": measurements,
            "table_run": root / "table_run", "nep_run": root / "nep_run", "crystal_run": root / "crystal_run",
            "gas": root / "gas"}


# ----------------------------------------------------------------------------------- tampering
def _copy_model(run_dir: Path, tmp: Path) -> Path:
    copy = tmp / run_dir.name
    shutil.copytree(run_dir, copy)
    return copy


def _header(model: Path) -> dict:
    return json.loads((model / "model.json").read_text())


def _write_header(model: Path, header: dict) -> None:
    (model / "model.json").write_text(json.dumps(header))


def _rewrite_weights(model: Path, change: Callable[[dict], None], manifest_too: bool = False) -> None:
    """Apply *change* to the weights and recompute the checksum (a deliberate edit, not corruption)."""
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(model / "weights.safetensors"))
    change(tensors)
    save_file(tensors, str(model / "weights.safetensors"))
    header = _header(model)
    header["weights_sha256"] = hashlib.sha256((model / "weights.safetensors").read_bytes()).hexdigest()
    if manifest_too:
        header["tensors"] = {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in tensors.items()}
    _write_header(model, header)


def _reshape_first_matrix(tensors: dict) -> None:
    """The first tensor with more than one value gets another shape with the same values."""
    name = next(k for k in sorted(tensors) if tensors[k].size > 1)
    value = tensors[name]
    shape = value.shape[::-1] if value.ndim > 1 and value.shape[::-1] != value.shape else (1, value.size)
    tensors[name] = np.ascontiguousarray(value.reshape(shape))


def _drop_first(tensors: dict) -> None:
    tensors.pop(sorted(tensors)[0])


TAMPERINGS: dict[str, Callable[[Path], None]] = {
    "reshaped-weight": lambda m: _rewrite_weights(m, _reshape_first_matrix),
    "reshaped-weight-and-manifest": lambda m: _rewrite_weights(m, _reshape_first_matrix, manifest_too=True),
    "dropped-tensor-and-manifest": lambda m: _rewrite_weights(m, _drop_first, manifest_too=True),
    "flipped-byte": lambda m: (m / "weights.safetensors").write_bytes(
        (lambda b: b[:-9] + bytes([b[-9] ^ 0xFF]) + b[-8:])((m / "weights.safetensors").read_bytes())),
    "truncated-weights": lambda m: (m / "weights.safetensors").write_bytes(
        (m / "weights.safetensors").read_bytes()[:100]),
    "no-weights": lambda m: (m / "weights.safetensors").unlink(),
    "header-not-json": lambda m: (m / "model.json").write_text("{ not json"),
    "header-a-list": lambda m: (m / "model.json").write_text("[1, 2]"),
    "foreign-kind": lambda m: _write_header(m, {**_header(m), "kind": "something.Else"}),
    "future-format": lambda m: _write_header(m, {**_header(m), "format_version": 99}),
    "no-tensor-list": lambda m: _write_header(m, {k: v for k, v in _header(m).items() if k != "tensors"}),
}


def _tampered_table_params(model: Path) -> None:
    """One more ensemble member in model.json than the weights hold (checksum still right)."""
    header = _header(model)

    def bump(node) -> bool:
        if isinstance(node, dict):
            if isinstance(node.get("params"), dict) and "ensemble" in node["params"]:
                node["params"]["ensemble"] += 1
                return True
            return any(bump(v) for v in node.values())
        return False

    assert bump(header)
    _write_header(model, header)


# ----------------------------------------------------------------------------------- cases
Case = Callable[[dict, Path], tuple[list, Path | None]]


def _table(*extra, data="films", target="kappa_W_mK") -> Case:
    def make(env, tmp):
        source = env[data] if isinstance(data, str) and data in env else data(tmp)
        return ["table", "train", source, "--target", target, "--epochs", "2", "--members", "1", "--quiet",
                *extra, "--out", tmp / "out"], tmp / "out"
    return make


def _csv(text: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / "bad.csv"
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        return path
    return make


def _formula_table(tmp: Path) -> bool:
    """A small valid table of formulas and a target, at tmp/f.csv."""
    rows = "".join(f"Cu{k + 1}Ni{12 - k},{k * 0.1:.2f}\n" for k in range(12))
    (tmp / "f.csv").write_text("formula,y\n" + rows)
    return True


def _spectra_table(tmp: Path, bad: str | None = None) -> bool:
    """A small long table of spectra at tmp/s.csv (one intensity replaced by *bad* if given)."""
    rows = [f"s{k},{x},{(k + 1) * (x % 7)},{k}" for k in range(6) for x in range(10, 90, 5)]
    if bad is not None:
        rows[3] = rows[3].rsplit(",", 2)[0] + f",{bad},0"
    (tmp / "s.csv").write_text("id,x,intensity,y\n" + "\n".join(rows) + "\n")
    return True


GOOD_ROWS = "".join(f"{k},{2 * k + 1},{k % 3}\n" for k in range(12))

TABLE_TRAIN: dict[str, Case] = {
    "epochs-negative": _table("--epochs", "-5"),
    "time-limit-negative": _table("--time-limit", "-1"),
    "time-limit-zero": _table("--time-limit", "0"),
    "epochs-zero": _table("--epochs", "0"),
    "members-zero": _table("--members", "0"),
    "members-negative": _table("--members", "-2"),
    "test-fraction-above-one": _table("--test-fraction", "1.5"),
    "test-fraction-zero": _table("--test-fraction", "0"),
    "test-fraction-nan": _table("--test-fraction", "nan"),
    "test-fraction-text": _table("--test-fraction", "half"),
    "activation-unknown": _table("--activation", "sigmoidx"),
    "hidden-zero": _table("--hidden", "0"),
    "hidden-text": _table("--hidden", "64,x"),
    "split-unknown": _table("--split", "bogus"),
    "split-group-missing-column": _table("--split", "group:nowhere"),
    "target-missing": _table(target="kapa"),
    "inputs-missing": _table("--inputs", "thickness_nm,nowhere"),
    "duplicate-column": _table(data=_csv("a,b,a,y\n" + "".join(f"{k},{k},{k},{k}\n" for k in range(12))), target="y"),
    "huge-target": _table(data=_csv("a,b,y\n" + GOOD_ROWS + "13,27,1e308\n"), target="y"),
    "nan-target": _table(data=_csv("a,b,y\n" + GOOD_ROWS + "13,27,nan\n"), target="y"),
    "inf-input": _table(data=_csv("a,b,y\n" + GOOD_ROWS + "13,inf,1\n"), target="y"),
    "text-input": _table(data=_csv("a,b,y\n" + GOOD_ROWS + "13,oops,1\n"), target="y"),
    "empty-file": _table(data=_csv(""), target="y"),
    "header-only": _table(data=_csv("a,b,y\n"), target="y"),
    "single-row": _table(data=_csv("a,b,y\n1,2,3\n"), target="y"),
    "ragged-rows": _table(data=_csv("a,b,y\n1,2,3\n4,5,6,7,8\n"), target="y"),
    "binary-garbage": _table(data=_csv(bytes(range(256)) * 4), target="y"),
    "latin1-bytes": _table(data=_csv("a,b,y\n1,2,3\n".encode() + b"\xe9\xe8,1,2\n"), target="y"),
    "log-target-negative": _table("--log-target", data=_csv("a,b,y\n" + GOOD_ROWS + "13,27,-1\n"), target="y"),
    "constant-no-inputs": _table(data=_csv("y\n" + "1\n" * 12), target="y"),
    "conformal-unknown": _table("--conformal", "jackknife"),
    "fidelity-method-unknown": _table("--fidelity-method", "cokriging"),
    "low-fidelity-without-formulas": _table("--low-fidelity", "films_low.csv"),
    "low-fidelity-missing-file": lambda env, tmp: _formula_table(tmp) and _table(
        "--formula-column", "formula", "--low-fidelity", tmp / "absent.csv", data=lambda t: t / "f.csv",
        target="y")(env, tmp),
    "low-fidelity-target-missing": lambda env, tmp: _formula_table(tmp) and _table(
        "--formula-column", "formula", "--low-fidelity", tmp / "f.csv", "--low-fidelity-target", "dft",
        data=lambda t: t / "f.csv", target="y")(env, tmp),
    "conformal-on-classes": _table("--conformal", "split", data=_csv("a,b,y\n" + "".join(
        f"{k},{k % 5},{'hi' if k % 2 else 'lo'}\n" for k in range(20))), target="y"),
    "file-missing": lambda env, tmp: (["table", "train", tmp / "absent.csv", "--target", "y", "--out", tmp / "o"],
                                      tmp / "o"),
    "wrong-suffix": _table(data=lambda tmp: (tmp / "films.txt").write_text("a,y\n1,2\n") and tmp / "films.txt",
                           target="y"),
    "out-under-a-file": lambda env, tmp: ((tmp / "file").write_text("x") and
                                          ["table", "train", env["films"], "--target", "kappa_W_mK", "--epochs", "1",
                                           "--members", "1", "--quiet", "--out", tmp / "file" / "out"], tmp / "file"),
    "config-missing": _table("--config", "/nonexistent/config.yaml"),
    "config-not-yaml": lambda env, tmp: ((tmp / "c.yaml").write_text("{{{: [") and _table("--config", tmp / "c.yaml")(env, tmp)),
    "config-other-command": lambda env, tmp: ((tmp / "c.yaml").write_text(
        "format: 1\ncommand: pde heat1d\nsettings: {nx: 10}\n") and _table("--config", tmp / "c.yaml")(env, tmp)),
    "config-unknown-setting": lambda env, tmp: ((tmp / "c.yaml").write_text(
        "format: 1\ncommand: table train\nsettings: {colour: blue}\n") and _table("--config", tmp / "c.yaml")(env, tmp)),
    "config-wrong-type": lambda env, tmp: ((tmp / "c.yaml").write_text(
        "format: 1\ncommand: table train\nsettings: {members: many}\n") and _table("--config", tmp / "c.yaml")(env, tmp)),
}


def _cv(*extra) -> Case:
    return lambda env, tmp: (["table", "cv", env["films"], "--target", "kappa_W_mK", "--epochs", "2",
                              "--members", "1", "--quiet", *extra, "--out", tmp / "cv"], tmp / "cv")


TABLE_CV: dict[str, Case] = {
    "cv-members-zero": _cv("--members", "0"),
    "cv-epochs-negative": _cv("--epochs", "-1"),
    "cv-time-limit-zero": _cv("--time-limit", "0"),
    "cv-scheme-unknown": _cv("--scheme", "loo"),
    "cv-groups-missing": _cv("--groups", "nowhere"),
    "cv-activation": _cv("--activation", "cube"),
    "cv-conformal-unknown": _cv("--conformal", "cqr"),
}


def _model_case(command: list, kind: str, tamper: Callable[[Path], None], data_key: str, out_name: str) -> Case:
    def make(env, tmp):
        run_dir = _copy_model(env[kind], tmp)
        tamper(run_dir / "model")
        out = tmp / out_name
        return [*command[:2], run_dir, env[data_key], *command[2:], "--out", out], out
    return make


MODEL_FILES: dict[str, Case] = {}
for _name, _tamper in TAMPERINGS.items():
    MODEL_FILES[f"table-predict-{_name}"] = _model_case(["table", "predict"], "table_run", _tamper, "films", "p.csv")
    MODEL_FILES[f"crystal-predict-{_name}"] = _model_case(["crystal", "predict"], "crystal_run", _tamper, "cifs",
                                                          "p.csv")
    MODEL_FILES[f"potential-test-{_name}"] = _model_case(["potential", "test"], "nep_run", _tamper, "cu", "t")
MODEL_FILES["table-evaluate-header-ensemble-edited"] = _model_case(
    ["table", "evaluate"], "table_run", _tampered_table_params, "films", "e")


def _nep_text(env, change: Callable[[list[str]], list[str]], tmp: Path) -> Path:
    lines = (env["nep_run"] / "nep.txt").read_text().splitlines()
    path = tmp / "nep.txt"
    path.write_text("\n".join(change(lines)) + "\n")
    return path


def _nep(change: Callable[[list[str]], list[str]]) -> Case:
    return lambda env, tmp: (["potential", "test", _nep_text(env, change, tmp), env["cu"], "--out", tmp / "t"],
                             tmp / "t")


NEP_FILES: dict[str, Case] = {
    "nep-nan-weight": _nep(lambda ls: ls[:12] + ["nan"] + ls[13:]),
    "nep-inf-weight": _nep(lambda ls: ls[:12] + ["-inf"] + ls[13:]),
    "nep-text-weight": _nep(lambda ls: ls[:12] + ["0.1.2"] + ls[13:]),
    "nep-one-short": _nep(lambda ls: ls[:-1]),
    "nep-one-extra": _nep(lambda ls: ls + ["0.5"]),
    "nep-empty": _nep(lambda ls: []),
    "nep-header-only": _nep(lambda ls: ls[:6]),
    "nep-zbl-variant": _nep(lambda ls: ["nep4_zbl 1 Cu"] + ls[1:]),
    "nep-unknown-element": _nep(lambda ls: ["nep4 1 Xx"] + ls[1:]),
    "nep-bad-cutoff": _nep(lambda ls: [ls[0], "cutoff -4 3"] + ls[2:]),
    "nep-lmax-out-of-range": _nep(lambda ls: [line if not line.startswith("l_max") else "l_max 9 0 0" for line in ls]),
    "nep-garbled-header": _nep(lambda ls: ["%%%%"] + ls[1:]),
}


def _frames_file(tmp: Path, change: Callable[[list[Atoms]], None] | None = None, text: str | None = None) -> Path:
    path = tmp / "frames.xyz"
    if text is not None:
        path.write_text(text)
        return path
    frames = _labelled_copper(4, seed=7)
    if change is not None:
        change(frames)
    write(path, frames, format="extxyz")
    return path


def _train_frames(change=None, text=None, *extra) -> Case:
    return lambda env, tmp: (["potential", "train", _frames_file(tmp, change, text), "--epochs", "1", "--neurons", "4",
                              "--quiet", *extra, "--out", tmp / "run"], tmp / "run")


def _potential(*extra) -> Case:
    return lambda env, tmp: (["potential", "train", env["cu"], "--epochs", "1", "--neurons", "4", "--quiet", *extra,
                              "--out", tmp / "run"], tmp / "run")


def _no_forces(frames):
    for a in frames:
        a.calc = SinglePointCalculator(a, energy=a.get_potential_energy())


def _nan_force(frames):
    f = frames[2].get_forces()
    f[1, 0] = np.nan
    frames[2].calc = SinglePointCalculator(frames[2], energy=frames[2].get_potential_energy(), forces=f)


def _overlap(frames):
    frames[1].positions[2] = frames[1].positions[0]


def _oxygen_only_in_one(frames):
    frames[3].numbers[0] = 8


POTENTIAL: dict[str, Case] = {
    "frames-without-forces": _train_frames(_no_forces),
    "frame-with-nan-force": _train_frames(_nan_force),
    "atoms-at-one-place": _train_frames(_overlap),
    "xyz-garbage": _train_frames(text="this is not\nan xyz file\n"),
    "xyz-empty": _train_frames(text=""),
    "xyz-count-too-large": _train_frames(text="5\nProperties=species:S:1:pos:R:3 energy=1.0 pbc=\"F F F\"\n"
                                              "Cu 0 0 0\nCu 1 1 1\n"),
    "xyz-missing": lambda env, tmp: (["potential", "train", tmp / "absent.xyz", "--out", tmp / "run"], tmp / "run"),
    "cutoff-text": _potential("--cutoff", "five"),
    "cutoff-negative": _potential("--cutoff", "-5,4"),
    "n-max-one-number": _potential("--n-max", "4"),
    "l-max-too-large": _potential("--l-max", "7,2,0"),
    "basis-size-text": _potential("--basis-size", "a,b"),
    "neurons-zero": _potential("--neurons", "0"),
    "batch-size-zero": _potential("--batch-size", "0"),
    "valid-fraction-one": _potential("--valid-fraction", "1.0"),
    "valid-fraction-negative": _potential("--valid-fraction", "-0.1"),
    "optimizer-unknown": _potential("--optimizer", "sgdx"),
    "schedule-unknown": _potential("--schedule", "cosine-ish"),
    "dtype-half": _potential("--dtype", "float16"),
    "device-cuda-without-gpu": _potential("--device", "cuda"),
    "device-unknown": _potential("--device", "tpu"),
    "model-unknown": _potential("--model", "schnet"),
    "lr-negative": _potential("--lr", "-1e-3"),
    "epochs-negative-potential": _potential("--epochs", "-3"),
    "population-one": _potential("--optimizer", "snes", "--population", "1"),
    "reference-file-missing": _potential("--reference", "/nonexistent/isolated.xyz"),
    "init-missing": _potential("--init", "/nonexistent/model"),
    "bp-angular-unknown": _potential("--model", "bp", "--angular", "g3"),
    "bp-hidden-text": _potential("--model", "bp", "--hidden", "20,x"),
    "bp-sf-file-missing": _potential("--model", "bp", "--sf-file", "/nonexistent/sf.yaml"),
    "lambda-text": _potential("--lambda-f", "lots"),
}


def _md(*extra, start="cu") -> Case:
    return lambda env, tmp: (["potential", "md", env["nep_run"], env[start] if start in env else start, "--steps", "2",
                              "--quiet", *extra, "--out", tmp / "md"], tmp / "md")


MD: dict[str, Case] = {
    "md-timestep-zero": _md("--timestep", "0"),
    "md-timestep-nan": _md("--timestep", "nan"),
    "md-steps-negative": _md("--steps", "-1"),
    "md-ensemble-unknown": _md("--ensemble", "nvx"),
    "md-thermostat-unknown": _md("--ensemble", "nvt", "--thermostat", "berendsen"),
    "md-barostat-unknown": _md("--ensemble", "npt", "--barostat", "triclinic"),
    "md-temperature-negative": _md("--temperature", "-5"),
    "md-bussi-at-zero-kelvin": _md("--ensemble", "nvt", "--thermostat", "bussi", "--temperature", "0"),
    "md-frame-out-of-range": _md("--frame", "99"),
    "md-supercell-zero": _md("--supercell", "0,1,1"),
    "md-supercell-text": _md("--supercell", "2,x,2"),
    "md-min-distance-negative": _md("--min-distance", "-1"),
    "md-max-temperature-zero": _md("--max-temperature", "0"),
    "md-max-force-negative": _md("--max-force", "-1"),
    "md-uncertainty-stop-negative": _md("--uncertainty-stop", "-0.1"),
    "md-on-the-fly-without-threshold": _md("--label-on-the-fly", "emt"),
    "md-on-the-fly-not-a-committee": _md("--label-on-the-fly", "emt", "--uncertainty-stop", "0.1"),
    "md-on-the-fly-calculator-unknown": _md("--label-on-the-fly", "nwchem", "--uncertainty-stop", "0.1"),
    "md-resume-without-on-the-fly": _md("--resume"),
    "md-start-missing": _md(start="/nonexistent/start.xyz"),
    "md-model-missing": lambda env, tmp: (["potential", "md", tmp / "nomodel", env["cu"], "--out", tmp / "md"],
                                          tmp / "md"),
    "md-ase-calculator-unknown": lambda env, tmp: (["potential", "md", "ase:nothing", env["cu"], "--out", tmp / "md"],
                                                   tmp / "md"),
    "md-element-not-in-model": lambda env, tmp: ((write(tmp / "au.xyz", bulk("Au", "fcc", a=4.08)) or True) and
                                                 ["potential", "md", env["nep_run"], tmp / "au.xyz", "--steps", "2",
                                                  "--out", tmp / "md"], tmp / "md"),
}


OTHER_POTENTIAL: dict[str, Case] = {
    "audit-test-missing": lambda env, tmp: (["potential", "audit", env["nep_run"], tmp / "absent.xyz",
                                             "--out", tmp / "a"], tmp / "a"),
    "audit-nve-steps-few": lambda env, tmp: (["potential", "audit", env["nep_run"], env["cu"], "--nve-steps", "3",
                                              "--out", tmp / "a"], tmp / "a"),
    "committee-one-member": lambda env, tmp: (["potential", "committee", env["cu"], "--members", "1",
                                               "--out", tmp / "c"], tmp / "c"),
    "committee-model-unknown": lambda env, tmp: (["potential", "committee", env["cu"], "--model", "schnet",
                                                  "--out", tmp / "c"], tmp / "c"),
    "committee-time-limit-zero": lambda env, tmp: (["potential", "committee", env["cu"], "--time-limit", "0",
                                                    "--out", tmp / "c"], tmp / "c"),
    "active-learn-time-limit-negative": lambda env, tmp: (["potential", "active-learn", "--initial", env["cu"],
                                                           "--time-limit", "-1", "--out", tmp / "al"], tmp / "al"),
    "active-learn-strategy": lambda env, tmp: (["potential", "active-learn", "--initial", env["cu"], "--strategy",
                                                "greedy", "--out", tmp / "al"], tmp / "al"),
    "active-learn-calibration-frames-negative": lambda env, tmp: (["potential", "active-learn", "--initial", env["cu"],
                                                                   "--calibration-frames", "-1", "--out", tmp / "al"],
                                                                  tmp / "al"),
    "active-learn-pool-missing": lambda env, tmp: (["potential", "active-learn", "--initial", env["cu"], "--pool",
                                                    tmp / "absent.xyz", "--out", tmp / "al"], tmp / "al"),
    "calibrate-not-a-committee": lambda env, tmp: (["potential", "calibrate", env["nep_run"], env["cu"]],
                                                   Path(env["nep_run"])),
    "calibrate-frames-missing": lambda env, tmp: (["potential", "calibrate", tmp / "nocommittee", tmp / "absent.xyz"],
                                                  None),
    "active-learn-one-member": lambda env, tmp: (["potential", "active-learn", "--initial", env["cu"], "--members",
                                                  "1", "--out", tmp / "al"], tmp / "al"),
    "active-learn-temperatures-text": lambda env, tmp: (["potential", "active-learn", "--initial", env["cu"],
                                                         "--temperatures", "300,hot", "--out", tmp / "al"], tmp / "al"),
    "active-learn-threshold-zero": lambda env, tmp: (["potential", "active-learn", "--initial", env["cu"],
                                                      "--threshold", "0", "--out", tmp / "al"], tmp / "al"),
    "active-learn-calculator-unknown": lambda env, tmp: (["potential", "active-learn", "--initial", env["cu"],
                                                          "--calculator", "vasp", "--out", tmp / "al"], tmp / "al"),
    "label-calculator-unknown": lambda env, tmp: (["potential", "label", env["cu"], "--calculator", "vasp",
                                                   "--out", tmp / "l.xyz"], tmp / "l.xyz"),
    "label-workers-zero": lambda env, tmp: (["potential", "label", env["cu"], "--calculator", "emt", "--workers", "0",
                                             "--out", tmp / "l.xyz"], tmp / "l.xyz"),
    "label-out-is-input": lambda env, tmp: ((shutil.copy(env["cu"], tmp / "in.xyz") or True) and
                                            ["potential", "label", tmp / "in.xyz", "--calculator", "emt",
                                             "--out", tmp / "in.xyz"], tmp / "in.xyz"),
    "sample-element-unknown": lambda env, tmp: (["potential", "sample", "Xx", "--out", tmp / "s.xyz"], tmp / "s.xyz"),
    "sample-supercell-text": lambda env, tmp: (["potential", "sample", "Cu", "--supercell", "a", "--out",
                                                tmp / "s.xyz"], tmp / "s.xyz"),
    "sample-rattle-negative": lambda env, tmp: (["potential", "sample", "Cu", "--rattle", "-0.1", "--out",
                                                 tmp / "s.xyz"], tmp / "s.xyz"),
    "sample-label-without-calculator": lambda env, tmp: (["potential", "sample", "Cu", "--label", "--out",
                                                          tmp / "s.xyz"], tmp / "s.xyz"),
}


def _crystal(*extra, data="cifs", target="gap_eV") -> Case:
    def make(env, tmp):
        source = env[data] if data in env else _crystal_data(tmp, data)
        return ["crystal", "train", source, "--target", target, "--model", "cgcnn", "--epochs", "1", "--quiet",
                *extra, "--out", tmp / "cr"], tmp / "cr"
    return make


def _crystal_data(tmp: Path, which: str) -> Path:
    if which == "poscar4":
        folder = tmp / "poscars"
        folder.mkdir()
        (folder / "POSCAR").write_text("cubic cell\n1.0\n3.6 0 0\n0 3.6 0\n0 0 3.6\n4\nDirect\n0 0 0\n0.5 0.5 0\n"
                                       "0.5 0 0.5\n0 0.5 0.5\n")
        return folder / "POSCAR"
    path = tmp / "bad_cifs.csv"
    if which == "garbled-cif":
        pd.DataFrame({"cif": ["data_x\n_cell_length_a oops\n"] * 12, "gap_eV": np.arange(12.0)}).to_csv(path, index=False)
    elif which == "no-cif-column":
        pd.DataFrame({"structure": ["x"] * 12, "gap_eV": np.arange(12.0)}).to_csv(path, index=False)
    return path


CRYSTAL: dict[str, Case] = {
    "crystal-target-missing": _crystal(target="band_gap"),
    "crystal-model-unknown": lambda env, tmp: (["crystal", "train", env["cifs"], "--target", "gap_eV", "--model",
                                                "megnet", "--out", tmp / "cr"], tmp / "cr"),
    "crystal-lr-negative": _crystal("--lr", "-0.1"),
    "crystal-test-fraction-two": _crystal("--test-fraction", "2"),
    "crystal-cutoff-zero": _crystal("--cutoff", "0"),
    "crystal-max-neighbors-zero": _crystal("--max-neighbors", "0"),
    "crystal-batch-size-zero": _crystal("--batch-size", "0"),
    "crystal-loss-unknown": _crystal("--loss", "cauchy"),
    "crystal-split-unknown": _crystal("--split", "kfold:1"),
    "crystal-garbled-cif": _crystal(data="garbled-cif"),
    "crystal-no-cif-column": _crystal(data="no-cif-column"),
    "crystal-poscar-vasp4": _crystal(data="poscar4"),
    "crystal-data-missing": lambda env, tmp: (["crystal", "train", tmp / "absent.csv", "--target", "gap_eV",
                                               "--out", tmp / "cr"], tmp / "cr"),
    "crystal-predict-out-is-input": lambda env, tmp: ((shutil.copy(env["cifs"], tmp / "c.csv") or True) and
                                                      ["crystal", "predict", env["crystal_run"], tmp / "c.csv",
                                                       "--out", tmp / "c.csv"], tmp / "c.csv"),
    "crystal-predict-out-suffix": lambda env, tmp: (["crystal", "predict", env["crystal_run"], env["cifs"],
                                                     "--out", tmp / "p.txt"], tmp / "p.txt"),
    "crystal-evaluate-target-missing": lambda env, tmp: ((pd.read_csv(env["cifs"]).drop(columns=["gap_eV"]).to_csv(
        tmp / "nolabel.csv", index=False) or True) and ["crystal", "evaluate", env["crystal_run"], tmp / "nolabel.csv",
                                                        "--out", tmp / "ev"], tmp / "ev"),
    "crystal-embed-neighbors-zero": lambda env, tmp: (["crystal", "embed", env["crystal_run"], env["cifs"], "--out",
                                                       tmp / "em", "--neighbors", "0"], tmp / "em"),
    "crystal-embed-map-unknown": lambda env, tmp: (["crystal", "embed", env["crystal_run"], env["cifs"], "--out",
                                                    tmp / "em", "--map", "isomap"], tmp / "em"),
    "table-embed-id-column-missing": lambda env, tmp: (["table", "embed", env["table_run"], env["films"], "--out",
                                                        tmp / "em", "--id-column", "nowhere"], tmp / "em"),
    "spectra-grid-malformed": lambda env, tmp: _spectra_table(tmp) and (["spectra", "train", tmp / "s.csv",
                                                                         "--target", "y", "--grid", "10:90",
                                                                         "--out", tmp / "sp"], tmp / "sp"),
    "spectra-time-limit-zero": lambda env, tmp: _spectra_table(tmp) and (["spectra", "train", tmp / "s.csv",
                                                                          "--target", "y", "--time-limit", "0",
                                                                          "--out", tmp / "sp"], tmp / "sp"),
    "spectra-kind-unknown": lambda env, tmp: _spectra_table(tmp) and (["spectra", "train", tmp / "s.csv", "--target",
                                                                       "y", "--kind", "image", "--out", tmp / "sp"],
                                                                      tmp / "sp"),
    "spectra-target-missing": lambda env, tmp: _spectra_table(tmp) and (["spectra", "train", tmp / "s.csv",
                                                                         "--target", "gap", "--out", tmp / "sp"],
                                                                        tmp / "sp"),
    "spectra-text-intensity": lambda env, tmp: _spectra_table(tmp, "oops") and (["spectra", "train", tmp / "s.csv",
                                                                                 "--target", "y", "--out", tmp / "sp"],
                                                                                tmp / "sp"),
    "spectra-xrd-two-theta": lambda env, tmp: (["spectra", "xrd", env["cifs"], "--two-theta", "90:10", "--out",
                                                tmp / "x.csv"], tmp / "x.csv"),
    "spectra-xrd-wavelength": lambda env, tmp: (["spectra", "xrd", env["cifs"], "--wavelength", "XKa", "--out",
                                                 tmp / "x.csv"], tmp / "x.csv"),
    "table-embed-map-unknown": lambda env, tmp: (["table", "embed", env["table_run"], env["films"], "--out",
                                                  tmp / "em", "--map", "mds"], tmp / "em"),
}


def _screen(*extra) -> Case:
    return lambda env, tmp: (["table", "screen", env["table_run"], env["films"], *extra], None)


TABLE_USE: dict[str, Case] = {
    "screen-kappa-nan": _screen("--kappa", "nan"),
    "screen-kappa-negative": _screen("--kappa", "-1"),
    "screen-top-zero": _screen("--top", "0"),
    "screen-class-on-regression": _screen("--class", "high"),
    "screen-out-is-input": lambda env, tmp: ((shutil.copy(env["films"], tmp / "c.csv") or True) and
                                             ["table", "screen", env["table_run"], tmp / "c.csv", "--out", tmp / "c.csv"],
                                             tmp / "c.csv"),
    "predict-out-is-input": lambda env, tmp: ((shutil.copy(env["films"], tmp / "c.csv") or True) and
                                              ["table", "predict", env["table_run"], tmp / "c.csv", "--out",
                                               tmp / "c.csv"], tmp / "c.csv"),
    "predict-out-suffix": lambda env, tmp: (["table", "predict", env["table_run"], env["films"], "--out",
                                             tmp / "p.txt"], tmp / "p.txt"),
    "predict-input-column-missing": lambda env, tmp: ((pd.read_csv(env["films"]).drop(columns=["thickness_nm"]).to_csv(
        tmp / "x.csv", index=False) or True) and ["table", "predict", env["table_run"], tmp / "x.csv", "--out",
                                                  tmp / "p.csv"], tmp / "p.csv"),
    "predict-nan-input": lambda env, tmp: ((pd.read_csv(env["films"]).assign(thickness_nm=np.nan).to_csv(
        tmp / "x.csv", index=False) or True) and ["table", "predict", env["table_run"], tmp / "x.csv", "--out",
                                                  tmp / "p.csv"], tmp / "p.csv"),
    "predict-model-missing": lambda env, tmp: (["table", "predict", tmp / "nomodel", env["films"], "--out",
                                                tmp / "p.csv"], tmp / "p.csv"),
    "predict-level-above-one": lambda env, tmp: (["table", "predict", env["table_run"], env["films"], "--out",
                                                  tmp / "p.csv", "--level", "1.5"], tmp / "p.csv"),
    "predict-level-zero": lambda env, tmp: (["table", "predict", env["table_run"], env["films"], "--out",
                                             tmp / "p.csv", "--level", "0"], tmp / "p.csv"),
    "evaluate-target-missing": lambda env, tmp: ((pd.read_csv(env["films"]).drop(columns=["kappa_W_mK"]).to_csv(
        tmp / "x.csv", index=False) or True) and ["table", "evaluate", env["table_run"], tmp / "x.csv", "--out",
                                                  tmp / "e"], tmp / "e"),
}


def _pde(command: str, *extra) -> Case:
    return lambda env, tmp: (["pde", command, *extra, "--quiet", "--out", tmp / "pde"], tmp / "pde")


def _inverse(*extra, data=None) -> Case:
    def make(env, tmp):
        source = env["heat"] if data is None else data(tmp)
        return ["pde", "inverse-heat", source, "--length", "1", "--t-end", "0.5", "--members", "1", "--iterations",
                "5", "--lbfgs-iterations", "0", "--quiet", *extra, "--out", tmp / "inv"], tmp / "inv"
    return make


PDE: dict[str, Case] = {
    "heat-nx-zero": _pde("heat1d", "--nx", "0"),
    "heat-nt-negative": _pde("heat1d", "--method", "fd", "--nt", "-5"),
    "heat-unstable-explicit": _pde("heat1d", "--method", "fd", "--nt", "2"),
    "heat-alpha-negative": _pde("heat1d", "--alpha", "-0.1"),
    "heat-length-zero": _pde("heat1d", "--length", "0"),
    "heat-t-end-nan": _pde("heat1d", "--t-end", "nan"),
    "heat-method-unknown": _pde("heat1d", "--method", "fem"),
    "heat-hidden-text": _pde("heat1d", "--method", "pinn", "--hidden", "20,x"),
    "heat-points-zero": _pde("heat1d", "--method", "pinn", "--points", "0"),
    "heat-iterations-negative": _pde("heat1d", "--method", "pinn", "--iterations", "-1"),
    "heat-corner-unknown": _pde("heat1d", "--method", "pinn", "--corner", "sharp"),
    "heat-dtype-unknown": _pde("heat1d", "--method", "pinn", "--dtype", "float16"),
    "heat-time-limit-zero": _pde("heat1d", "--method", "pinn", "--time-limit", "0"),
    "burgers-time-limit-negative": _pde("burgers", "--time-limit", "-1"),
    "burgers-hidden-zero": _pde("burgers", "--hidden", "0"),
    "burgers-points-negative": _pde("burgers", "--points", "-10"),
    "inverse-data-missing": _inverse(data=lambda tmp: tmp / "absent.csv"),
    "inverse-column-missing": _inverse(data=lambda tmp: (pd.DataFrame({"x": [0.1], "t": [0.1]}).to_csv(
        tmp / "m.csv", index=False) or True) and tmp / "m.csv"),
    "inverse-outside-rod": _inverse(data=lambda tmp: (pd.DataFrame({"x": [0.1, 2.0], "t": [0.1, 0.2], "T": [0, 1]})
                                                      .to_csv(tmp / "m.csv", index=False) or True) and tmp / "m.csv"),
    "inverse-members-zero": _inverse("--members", "0"),
    "inverse-time-limit-zero": _inverse("--time-limit", "0"),
    "inverse-alpha-guess-negative": _inverse("--alpha-guess", "-1"),
}


SYMBOLIC_GAS_DATA: dict[str, Case] = {
    "symbolic-target-missing": lambda env, tmp: (["symbolic", "fit", env["films"], "--target", "nowhere", "--quiet",
                                                  "--out", tmp / "sr"], tmp / "sr"),
    "symbolic-test-fraction-zero": lambda env, tmp: (["symbolic", "fit", env["films"], "--target", "kappa_W_mK",
                                                      "--test-fraction", "0", "--quiet", "--out", tmp / "sr"], tmp / "sr"),
    "symbolic-backend-unknown": lambda env, tmp: (["symbolic", "fit", env["films"], "--target", "kappa_W_mK",
                                                   "--backend", "pysr", "--quiet", "--out", tmp / "sr"], tmp / "sr"),
    "symbolic-function-unknown": lambda env, tmp: (["symbolic", "fit", env["films"], "--target", "kappa_W_mK",
                                                    "--functions", "add,gamma", "--quiet", "--out", tmp / "sr"],
                                                   tmp / "sr"),
    "symbolic-max-length-zero": lambda env, tmp: (["symbolic", "fit", env["films"], "--target", "kappa_W_mK",
                                                   "--max-length", "0", "--quiet", "--out", tmp / "sr"], tmp / "sr"),
    "symbolic-time-limit-negative": lambda env, tmp: (["symbolic", "fit", env["films"], "--target", "kappa_W_mK",
                                                       "--time-limit", "-1", "--quiet", "--out", tmp / "sr"], tmp / "sr"),
    "gas2d-generate-potential-unknown": lambda env, tmp: (["gas2d", "generate", "--potential", "morse", "--density",
                                                           "0.5", "--out", tmp / "g"], tmp / "g"),
    "gas2d-generate-density-negative": lambda env, tmp: (["gas2d", "generate", "--potential", "lj", "--density",
                                                          "-0.5", "--out", tmp / "g"], tmp / "g"),
    "gas2d-generate-box-factor-small": lambda env, tmp: (["gas2d", "generate", "--potential", "lj", "--density",
                                                          "0.5", "--box-factor", "0.5", "--out", tmp / "g"], tmp / "g"),
    "gas2d-train-data-missing": lambda env, tmp: (["gas2d", "train", tmp / "absent", "--quiet", "--out", tmp / "g"],
                                                  tmp / "g"),
    "gas2d-train-head-unknown": lambda env, tmp: (["gas2d", "train", env["gas"], "--head", "segment", "--quiet",
                                                   "--out", tmp / "g"], tmp / "g"),
    "gas2d-train-grid-zero": lambda env, tmp: (["gas2d", "train", env["gas"], "--grid", "0", "--quiet",
                                                "--out", tmp / "g"], tmp / "g"),
    "gas2d-train-classes-one": lambda env, tmp: (["gas2d", "train", env["gas"], "--classes", "1", "--quiet",
                                                  "--out", tmp / "g"], tmp / "g"),
    "gas2d-train-fmax-text": lambda env, tmp: (["gas2d", "train", env["gas"], "--fmax", "lots", "--quiet",
                                                "--out", tmp / "g"], tmp / "g"),
    "gas2d-train-recipe-unknown": lambda env, tmp: (["gas2d", "train", env["gas"], "--recipe", "mine", "--quiet",
                                                     "--out", tmp / "g"], tmp / "g"),
    "data-thin-film-n-zero": lambda env, tmp: (["data", "thin-film", "--n", "0", "--out", tmp / "f.csv"], tmp / "f.csv"),
    "data-thin-film-suffix": lambda env, tmp: (["data", "thin-film", "--n", "10", "--out", tmp / "f.txt"], tmp / "f.txt"),
}

GROUPS = {"table train": TABLE_TRAIN, "table cv": TABLE_CV, "table predict/screen/evaluate": TABLE_USE,
          "model files": MODEL_FILES, "nep.txt": NEP_FILES, "potential train": POTENTIAL, "potential md": MD,
          "potential other": OTHER_POTENTIAL, "crystal": CRYSTAL, "pde": PDE, "symbolic, gas2d, data": SYMBOLIC_GAS_DATA}
CASES = {name: case for group in GROUPS.values() for name, case in group.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_clean_error(name, env, tmp_path, capsys):
    argv, out = CASES[name](env, tmp_path)
    _assert_clean_error(capsys, argv, out)


def test_the_corpus_covers_every_command_group(env, tmp_path):
    assert len(CASES) + 4 * _SETTINGS.max_examples >= 150
    commands = set()
    for k, case in enumerate(CASES.values()):
        (tmp_path / str(k)).mkdir()
        commands.add(" ".join(map(str, case(env, tmp_path / str(k))[0][:2])))
    for command in ("table train", "table cv", "table predict", "table evaluate", "table screen", "potential train",
                    "potential test", "potential md", "potential audit", "potential label", "potential sample",
                    "potential committee", "potential active-learn", "potential calibrate", "crystal train",
                    "crystal predict",
                    "crystal evaluate", "symbolic fit", "pde heat1d", "pde inverse-heat", "pde burgers",
                    "gas2d generate", "gas2d train", "data thin-film"):
        assert command in commands, command


# ----------------------------------------------------------------------------------- generated
def _not_a_number(text: str) -> bool:
    from nnsurrogate.core.tables import is_number

    return not is_number(text)


_JUNK = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Po", "Sm"), blacklist_characters=',"\'\n\r'),
                min_size=1, max_size=8).filter(lambda s: s.strip() != "" and _not_a_number(s))
_BAD_CELL = st.one_of(_JUNK, st.sampled_from(["nan", "NaN", "inf", "-inf", "1e999", "-1e400", "", "1e200", "-3e160"]))
_SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@_SETTINGS
@given(row=st.integers(0, 59), column=st.sampled_from(["thickness_nm", "temperature_K", "kappa_W_mK"]), cell=_BAD_CELL)
def test_generated_bad_cells_in_a_table(env, capsys, row, column, cell):
    frame = pd.read_csv(env["films"]).astype({column: object})
    frame.loc[row, column] = cell
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "films.csv"
        frame.to_csv(path, index=False)
        line = _assert_clean_error(capsys, ["table", "train", path, "--target", "kappa_W_mK", "--epochs", "1",
                                            "--members", "1", "--quiet", "--out", Path(tmp) / "out"], Path(tmp) / "out")
        assert f"row {row + 1}" in line and column in line


@_SETTINGS
@given(frame=st.integers(0, 7), atom=st.integers(0, 3), field=st.integers(1, 6), junk=_JUNK)
def test_generated_bad_fields_in_an_extxyz_file(env, capsys, frame, atom, field, junk):
    lines = env["cu"].read_text().splitlines()
    per_frame = 4 + 2
    k = frame * per_frame + 2 + atom
    words = lines[k].split()
    words[field] = junk
    lines[k] = " ".join(words)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bad.xyz"
        path.write_text("\n".join(lines) + "\n")
        _assert_clean_error(capsys, ["potential", "train", path, "--epochs", "1", "--quiet", "--out",
                                     Path(tmp) / "run"], Path(tmp) / "run")


@_SETTINGS
@given(drop=st.integers(1, 500), how=st.sampled_from(["junk", "delete", "nan"]), junk=_JUNK)
def test_generated_broken_nep_files(env, capsys, drop, how, junk):
    lines = (env["nep_run"] / "nep.txt").read_text().splitlines()
    k = 6 + drop % (len(lines) - 6)
    lines = lines[:k] + ([] if how == "delete" else [junk if how == "junk" else "nan"]) + lines[k + 1:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nep.txt"
        path.write_text("\n".join(lines) + "\n")
        line = _assert_clean_error(capsys, ["potential", "test", path, env["cu"], "--out", Path(tmp) / "t"],
                                   Path(tmp) / "t")
        assert str(path) in line


@_SETTINGS
@given(option=st.sampled_from([("pde", "heat1d", "--nx"), ("pde", "heat1d", "--points"),
                               ("pde", "burgers", "--iterations"), ("potential", "md", "--steps"),
                               ("table", "train", "--epochs"), ("crystal", "train", "--batch-size"),
                               ("gas2d", "train", "--epochs"), ("symbolic", "fit", "--max-length")]),
       value=st.integers(-10**6, 0))
def test_generated_out_of_range_counts(env, capsys, option, value):
    group, verb, flag = option
    value = value if flag != "--steps" else min(value, -1)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        inputs = {("potential", "md"): [env["nep_run"], env["cu"]], ("table", "train"): [env["films"], "--target",
                                                                                          "kappa_W_mK"],
                  ("crystal", "train"): [env["cifs"], "--target", "gap_eV"], ("gas2d", "train"): [env["gas"]],
                  ("symbolic", "fit"): [env["films"], "--target", "kappa_W_mK"]}.get((group, verb), [])
        _assert_clean_error(capsys, [group, verb, *inputs, flag, str(value), "--quiet", "--out", out], out)
