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


def _copper_small(n: int, seed: int = 0):
    frames = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.62, cubic=True).repeat((2, 1, 1))
        atoms.rattle(0.08, seed=seed + k)
        atoms.calc = EMT()
        labels = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    return frames


def test_sevennet_model_matches_its_calculator_and_round_trips(tmp_path):
    """The wrapped network gives sevenn's own calculator results on a batch of two frames; its model
    folder (JSON configuration + safetensors, no pickle) reloads to identical predictions."""
    import torch
    from ase.stress import voigt_6_to_full_3x3_stress

    from nnsurrogate.atomistic.models import load_potential, save_potential
    from nnsurrogate.atomistic.sevennet import SevenNetModel

    model = SevenNetModel.pretrained()
    frames = _copper_small(2)
    out = model(model.collate(model.featurize(frames, torch.float32)), forces=True, virial=True)
    reference = labeler("sevennet-0")()
    for k, frame in enumerate(frames):
        atoms = frame.copy()
        atoms.calc = reference
        assert float(out["energy"][k].detach()) == pytest.approx(atoms.get_potential_energy(), abs=1e-4)
        np.testing.assert_allclose(out["forces"][8 * k:8 * k + 8].detach().numpy(), atoms.get_forces(), atol=1e-4)
        virial = -atoms.get_volume() * voigt_6_to_full_3x3_stress(atoms.get_stress())
        np.testing.assert_allclose(out["virial"][k].detach().numpy(), virial, atol=1e-3)
    save_potential(model, tmp_path / "m")
    assert "sevenn_config" in json.loads((tmp_path / "m" / "model.json").read_text())
    again = load_potential(tmp_path / "m")
    batch = again.collate(again.featurize(frames, torch.float32))
    twice = again(batch, forces=True, virial=True)
    for key in ("energy", "forces", "virial"):
        np.testing.assert_array_equal(twice[key].detach().numpy(), out[key].detach().numpy())


def test_fine_tuning_sevennet_lowers_the_error_and_freezing_keeps_the_interactions(tmp_path):
    """potential train --from sevennet-0 on EMT copper: the training force error falls; with
    --freeze interactions every layer but the output head keeps its pretrained weights."""
    import torch

    from nnsurrogate.atomistic.models import load_potential
    from nnsurrogate.atomistic.sevennet import HEAD, SevenNetModel

    write(tmp_path / "train.xyz", _copper_small(6, 20))
    common = ["--from", "sevennet-0", "--epochs", "4", "--batch-size", "2", "--valid-fraction", "0", "--quiet"]
    assert run(["potential", "train", str(tmp_path / "train.xyz"), *common, "--out", str(tmp_path / "all")]) == 0
    rows = json.loads((tmp_path / "all" / "history.json").read_text())
    force = rows["columns"].index(next(c for c in rows["columns"] if "force" in c and "train" in c))
    assert rows["rows"][-1][force] < rows["rows"][0][force]
    assert run(["potential", "md", str(tmp_path / "all"), str(tmp_path / "train.xyz"), "--steps", "2", "--quiet",
                "--out", str(tmp_path / "md")]) == 0  # the fine-tuned folder runs MD with the guards
    assert run(["potential", "train", str(tmp_path / "train.xyz"), *common, "--freeze", "interactions",
                "--out", str(tmp_path / "head")]) == 0
    tuned, start = load_potential(tmp_path / "head").net.state_dict(), SevenNetModel.pretrained().net.state_dict()
    changed = {k for k in start if not torch.equal(tuned[k], start[k])}
    assert changed and all(k.split(".")[0] in HEAD for k in changed)
