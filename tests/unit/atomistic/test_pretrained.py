"""Universal pretrained potentials by name, zero-shot (SevenNet-0 ships its weights inside ``sevenn``):
``potential test/md`` accept the name, the labeler computes with it, a missing package is one line."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

pytest.importorskip("sevenn")

from nnsurrogate.atomistic.labelers import labeler, pretrained_name  # noqa: E402
from nnsurrogate.cli.main import run  # noqa: E402


def _copper(n: int):
    frames = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.62, cubic=True).repeat(2)
        atoms.rattle(0.06, seed=k)
        atoms.calc = EMT()
        labels = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    return frames


def test_names_resolve_but_a_path_wins(tmp_path, monkeypatch):
    assert pretrained_name("SevenNet-0") == "sevennet-0" and pretrained_name("chgnet") == "chgnet"
    assert pretrained_name("nep.txt") is None
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chgnet").mkdir()
    assert pretrained_name("chgnet") is None  # a folder of that name is a model folder


def test_sevennet_zero_shot_through_potential_test_and_md(tmp_path):
    """SevenNet-0 (PBE-trained) on rattled fcc Cu: its forces follow EMT's to well under their spread."""
    frames = _copper(2)
    write(tmp_path / "cu.xyz", frames)
    assert run(["potential", "test", "sevennet-0", str(tmp_path / "cu.xyz"), "--out", str(tmp_path / "t")]) == 0
    metrics = json.loads((tmp_path / "t" / "metrics.json").read_text())
    spread = 1000 * np.sqrt(np.mean(np.concatenate([a.get_forces().ravel() for a in frames]) ** 2))
    assert metrics["n_frames"] == 2 and metrics["force_rmse_meV_A"] < 0.5 * spread
    assert run(["potential", "md", "sevennet-0", str(tmp_path / "cu.xyz"), "--steps", "3", "--quiet",
                "--out", str(tmp_path / "md")]) == 0
    assert json.loads((tmp_path / "md" / "md.json").read_text())["steps_done"] == 3


def test_sevennet_forces_are_the_energy_gradient():
    atoms = _copper(1)[0]
    atoms.calc = labeler("sevennet-0")()
    forces = atoms.get_forces()
    h, k = 1e-2, 5  # float32 energies: a larger step keeps round-off (1e-5 eV) below the tolerance
    energies = []
    for sign in (1, -1):
        moved = atoms.copy()
        moved.calc = atoms.calc
        moved.positions[k, 1] += sign * h
        energies.append(moved.get_potential_energy())
    assert -(energies[0] - energies[1]) / (2 * h) == pytest.approx(forces[k, 1], abs=3e-3)


def test_missing_sevenn_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "sevenn.calculator", None)
    write(tmp_path / "cu.xyz", _copper(1))
    assert run(["potential", "test", "sevennet-0", str(tmp_path / "cu.xyz"), "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "pip install" in lines[0] and "Traceback" not in err
    assert not (tmp_path / "t").exists()
