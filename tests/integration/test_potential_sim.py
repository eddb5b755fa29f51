"""sample → label → md → audit through the command line, with reference calculators (ase:emt)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.emt import EMT
from ase.io import read, write

from nnsurrogate.atomistic import labelers
from nnsurrogate.cli.main import run


def _cli(*argv) -> int:
    return run([str(a) for a in argv])


def _error_line(capsys, code_expected, *argv):
    code = _cli(*argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == code_expected, err
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """5 copper frames made by 'potential sample' and labelled by 'potential label' with EMT."""
    folder = tmp_path_factory.mktemp("sim")
    sampled, labelled = folder / "sampled.xyz", folder / "labelled.xyz"
    assert _cli("potential", "sample", "Cu", "--cubic", "--supercell", "2,1,1", "--n-rattle", "3", "--calculator",
                "emt", "--md-steps", "20", "--md-every", "10", "--out", sampled, "--quiet") == 0
    assert _cli("potential", "label", sampled, "--calculator", "emt", "--out", labelled, "--quiet") == 0
    return labelled


def test_sample_and_label_write_what_emt_computes(labelled):
    frames = read(labelled, ":")
    assert [f.info["config_type"] for f in frames] == ["rattle_strain"] * 3 + ["md_300K"] * 2
    for frame in frames:
        direct = frame.copy()
        direct.calc = EMT()
        assert frame.get_potential_energy() == pytest.approx(direct.get_potential_energy(), abs=1e-9)
        np.testing.assert_allclose(frame.get_forces(), direct.get_forces(), atol=1e-7)
        np.testing.assert_allclose(frame.get_stress(), direct.get_stress(), atol=1e-9)


def test_md_writes_trajectory_thermo_and_speed(labelled, tmp_path):
    out = tmp_path / "md"
    assert _cli("potential", "md", "ase:emt", labelled, "--ensemble", "nvt", "--temperature", "500", "--steps", "30",
                "--log-every", "5", "--traj-every", "10", "--supercell", "1,2,1", "--out", out, "--quiet") == 0
    thermo = np.genfromtxt(out / "thermo.csv", delimiter=",", names=True)
    assert list(thermo["step"]) == [0, 5, 10, 15, 20, 25, 30]
    np.testing.assert_allclose(thermo["etot_eV"], thermo["epot_eV"] + thermo["ekin_eV"], atol=1e-8)
    assert np.all(np.isfinite(thermo["pressure_GPa"]))
    trajectory = read(out / "trajectory.xyz", ":")
    assert len(trajectory) == 4 and len(trajectory[0]) == 16
    summary = json.loads((out / "md.json").read_text())
    assert summary["steps_done"] == 30 and summary["stopped"] is None and summary["atom_steps_per_s"] > 0
    assert (out / "final.xyz").exists() and (out / "plots" / "thermo.png").read_bytes()[:4] == b"\x89PNG"


def test_md_stops_on_a_force_limit_and_keeps_the_last_good_frame(labelled, tmp_path, capsys):
    out = tmp_path / "md"
    line = _error_line(capsys, 1, "potential", "md", "ase:emt", labelled, "--ensemble", "nvt", "--temperature", "900",
                       "--steps", "200", "--max-force", "1.5", "--out", out, "--quiet")
    assert "MD stopped" in line and "exceeds 1.5 eV/Å" in line and "last_good.xyz" in line
    last = read(out / "last_good.xyz")
    assert np.linalg.norm(last.get_forces(), axis=1).max() <= 1.5
    assert json.loads((out / "md.json").read_text())["stopped"].startswith("force of")


def test_audit_passes_emt_and_writes_audit_json(labelled, tmp_path, capsys):
    out = tmp_path / "audit"
    assert _cli("potential", "audit", "ase:emt", labelled, "--out", out, "--nve-steps", "30", "--heated-steps", "20",
                "--quiet") == 0
    report = json.loads((out / "audit.json").read_text())
    assert report["passed"] and report["n_failed"] == 0 and report["test"] == str(labelled)
    assert "pass" in capsys.readouterr().out


def test_a_label_failure_is_retried_reported_and_exits_1(tmp_path, capsys, monkeypatch):
    class BreaksOnGold(EMT):
        def calculate(self, atoms=None, properties=("energy",), system_changes=()):
            if "Au" in atoms.get_chemical_symbols():
                raise RuntimeError("calculation crashed")
            super().calculate(atoms, properties, ["positions", "numbers", "cell", "pbc"])

    monkeypatch.setattr(labelers, "make_calculator", lambda spec: BreaksOnGold())
    data = tmp_path / "in.xyz"
    write(data, [bulk("Cu"), bulk("Au"), bulk("Ni")], format="extxyz")
    line = _error_line(capsys, 1, "potential", "label", data, "--calculator", "emt", "--out", tmp_path / "o.xyz",
                       "--quiet")
    assert "1 frame(s) failed after 2 attempt(s)" in line and "o.failed.json" in line
    failed = json.loads((tmp_path / "o.failed.json").read_text())["failed"]
    assert failed == [{"index": 1, "error": "RuntimeError: calculation crashed", "attempts": 2}]
    assert [a.get_chemical_formula() for a in read(tmp_path / "o.xyz", ":")] == ["Cu", "Ni"]


def test_bad_inputs_are_one_line_errors_with_nothing_written(tmp_path, capsys):
    water = tmp_path / "water.xyz"
    write(water, molecule("H2O"))
    silicon = tmp_path / "si.xyz"
    write(silicon, bulk("Si"))
    out = tmp_path / "out"
    cases = [
        (("potential", "md", "ase:emt", tmp_path / "missing.xyz", "--out", out), "file not found"),
        (("potential", "md", "ase:emt", silicon, "--out", out), "cannot evaluate this structure"),
        (("potential", "md", "ase:emt", water, "--ensemble", "npt", "--out", out), "NPT needs a cell"),
        (("potential", "md", "ase:emt", water, "--supercell", "2,2,2", "--out", out), "non-periodic"),
        (("potential", "md", tmp_path / "no-model", water, "--out", out), "model not found"),
        (("potential", "md", "ase:emtt", water, "--out", out), "did you mean 'emt'"),
        (("potential", "label", water, "--calculator", "dft", "--out", out / "l.xyz"), "unknown calculator"),
        (("potential", "label", silicon, "--calculator", "emt", "--out", out / "l.xyz"), "EMT has no parameters"),
        (("potential", "audit", "ase:emt", water, "--out", out), "no energy"),
        (("potential", "sample", "Qq", "--out", out / "s.xyz"), "not a file"),
        (("potential", "sample", "Cu", "--label", "--out", out / "s.xyz"), "--label needs --calculator"),
    ]
    for argv, expected in cases:
        assert expected in _error_line(capsys, 2, *argv)
        assert not out.exists(), argv


def test_md_and_audit_run_a_trained_nep_model(labelled, tmp_path, capsys):
    """A (deliberately tiny, under-trained) NEP from 'potential train' drives MD and the audit; the audit
    finds the training errors beside the model and still holds it to the symmetry and gradient checks."""
    run_dir = tmp_path / "run"
    assert _cli("potential", "train", labelled, "--out", run_dir, "--epochs", "3", "--n-max", "2,2", "--basis-size",
                "4,4", "--l-max", "2,0,0", "--neurons", "4", "--valid-fraction", "0", "--quiet") == 0
    md_dir = tmp_path / "md"
    assert _cli("potential", "md", run_dir / "nep.txt", labelled, "--ensemble", "nve", "--steps", "10",
                "--temperature", "100", "--out", md_dir, "--quiet") == 0
    thermo = np.genfromtxt(md_dir / "thermo.csv", delimiter=",", names=True)
    assert abs(thermo["etot_eV"][-1] - thermo["etot_eV"][0]) / 8 < 1e-3  # NVE: E_tot conserved
    audit_dir = tmp_path / "audit"
    _cli("potential", "audit", run_dir, labelled, "--out", audit_dir, "--nve-steps", "20", "--heated-steps", "10",
         "--quiet")
    checks = {c["key"]: c for c in json.loads((audit_dir / "audit.json").read_text())["checks"]}
    train = json.loads((run_dir / "metrics.json").read_text())["train"]
    ratio = checks["force_mae"]["value"] / train["force_mae_meV_A"]
    assert checks["force_vs_train"]["value"] == pytest.approx(ratio, rel=1e-9)
    for key in ("translation_energy", "rotation_forces", "permutation_forces", "force_sum", "forces_gradient",
                "stress_gradient"):
        assert checks[key]["passed"], checks[key]
    # the model folder knows the shortest training distance; MD stops where two atoms come much closer
    from ase.io import read, write

    from nnsurrogate.atomistic.workflow import shortest_training_distance

    shortest = json.loads((run_dir / "model" / "model.json").read_text())["training"]["shortest_distance_A"]
    assert shortest == pytest.approx(shortest_training_distance(read(labelled, ":")))
    squeezed = read(labelled, 0)
    squeezed.positions[1] = squeezed.positions[0] + [0.5 * shortest, 0.0, 0.0]
    write(tmp_path / "squeezed.xyz", squeezed)
    line = _error_line(capsys, 1, "potential", "md", run_dir, tmp_path / "squeezed.xyz", "--steps", "10",
                       "--out", tmp_path / "md_squeezed", "--quiet")
    assert f"atoms 0 and 1 are {0.5 * shortest:.2f} Å apart at step 0 (min_distance {0.75 * shortest:.2f} Å)" in line
    assert _cli("potential", "md", run_dir, tmp_path / "squeezed.xyz", "--steps", "2", "--min-distance", "0",
                "--out", tmp_path / "md_free", "--quiet") == 0
