"""Universal pretrained potentials by name, zero-shot (SevenNet-0 ships its weights inside ``sevenn``):
``potential test/md`` accept the name, the labeler computes with it, a missing package is one line.
SevenNet-0 and CHGNet behind the PotentialModel interface: each gives its package's own calculator
results, its model folder round-trips, ``potential train --from sevennet-0|chgnet`` fine-tunes it (all
weights, or with ``--freeze interactions`` the head only)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

pytest.importorskip("sevenn")

from nnsurrogate.atomistic.labelers import labeler, pretrained_name  # noqa: E402
from nnsurrogate.atomistic.models import load_potential, save_potential  # noqa: E402
from nnsurrogate.cli.main import run  # noqa: E402
from nnsurrogate.core.errors import UserInputError  # noqa: E402


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


def _matches_its_calculator_and_round_trips(model, name: str, header_key: str, folder, virial_atol: float):
    """*model* (a wrapped pretrained network) gives its package's own calculator (the *name* labeler)
    results on a batch of two 8-atom frames — energy, forces, and stress as the virial W = −σV —, and its
    model folder (JSON configuration under *header_key* + safetensors, no pickle) reloads to identical
    predictions."""
    from ase.stress import voigt_6_to_full_3x3_stress

    frames = _copper_small(2)
    out = model(model.collate(model.featurize(frames, torch.float32)), forces=True, virial=True)
    reference = labeler(name)()
    for k, frame in enumerate(frames):
        atoms = frame.copy()
        atoms.calc = reference
        assert float(out["energy"][k].detach()) == pytest.approx(atoms.get_potential_energy(), abs=1e-4)
        np.testing.assert_allclose(out["forces"][8 * k:8 * k + 8].detach().numpy(), atoms.get_forces(), atol=1e-4)
        virial = -atoms.get_volume() * voigt_6_to_full_3x3_stress(atoms.get_stress())
        np.testing.assert_allclose(out["virial"][k].detach().numpy(), virial, atol=virial_atol)
    save_potential(model, folder)
    assert header_key in json.loads((folder / "model.json").read_text())
    again = load_potential(folder)
    twice = again(again.collate(again.featurize(frames, torch.float32)), forces=True, virial=True)
    for key in ("energy", "forces", "virial"):
        np.testing.assert_array_equal(twice[key].detach().numpy(), out[key].detach().numpy())
    return out


def test_sevennet_model_matches_its_calculator_and_round_trips(tmp_path):
    from nnsurrogate.atomistic.sevennet import SevenNetModel

    _matches_its_calculator_and_round_trips(SevenNetModel.pretrained(), "sevennet-0", "sevenn_config", tmp_path / "m",
                                            1e-3)


def test_fine_tuning_sevennet_lowers_the_error_and_freezing_keeps_the_interactions(tmp_path):
    """potential train --from sevennet-0 on EMT copper: the training force error falls; with
    --freeze interactions every layer but the output head keeps its pretrained weights."""
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


# ----------------------------------------------------------------------------- CHGNet (weights inside chgnet)
@pytest.fixture(scope="module")
def pretrained():
    pytest.importorskip("chgnet")
    from nnsurrogate.atomistic.chgnet import CHGNetModel

    return CHGNetModel.pretrained()


def test_chgnet_model_matches_its_calculator_and_round_trips(pretrained, tmp_path):
    """As SevenNet-0: chgnet's own CHGNetCalculator results, an exact round trip; site energies sum to the
    energy."""
    out = _matches_its_calculator_and_round_trips(pretrained, "chgnet", "chgnet_args", tmp_path / "m", 2e-3)
    assert float(out["energies"].sum().detach()) == pytest.approx(float(out["energy"].sum().detach()), abs=1e-3)


def test_energy_shift_moves_every_site(pretrained):
    frames = _copper_small(1)
    model = type(pretrained)(pretrained.net.__class__(**pretrained.net.model_args))
    model.net.load_state_dict(pretrained.net.state_dict())
    batch = model.collate(model.featurize(frames))
    before = float(model(batch, forces=False)["energy"][0].detach())
    model.shift_energy(0.25)
    assert float(model(batch, forces=False)["energy"][0].detach()) == pytest.approx(before + 0.25 * 8, abs=1e-4)


def test_a_frame_without_a_cell_is_one_line(pretrained):
    atoms = _copper_small(1)[0]
    atoms.set_cell([0, 0, 0])
    atoms.pbc = False
    with pytest.raises(UserInputError, match="needs a cell"):
        pretrained.featurize([atoms], where="x.xyz")


def test_fine_tuning_chgnet_lowers_the_error_and_freezing_keeps_the_interactions(pretrained, tmp_path):
    """potential train --from chgnet on EMT copper: the training force error falls and the folder runs
    MD; with --freeze interactions only the last atom convolution and the readout change."""
    write(tmp_path / "train.xyz", _copper_small(6, 20))
    common = ["--from", "chgnet", "--epochs", "4", "--batch-size", "2", "--lr", "1e-3", "--valid-fraction", "0",
              "--quiet"]
    assert run(["potential", "train", str(tmp_path / "train.xyz"), *common, "--out", str(tmp_path / "all")]) == 0
    rows = json.loads((tmp_path / "all" / "history.json").read_text())
    force = rows["columns"].index(next(c for c in rows["columns"] if "force" in c and "train" in c))
    assert rows["rows"][-1][force] < rows["rows"][0][force]
    assert json.loads((tmp_path / "all" / "metrics.json").read_text())["model"] == "atomistic.chgnet"
    assert run(["potential", "md", str(tmp_path / "all"), str(tmp_path / "train.xyz"), "--steps", "2", "--quiet",
                "--out", str(tmp_path / "md")]) == 0
    assert run(["potential", "train", str(tmp_path / "train.xyz"), *common, "--freeze", "interactions",
                "--out", str(tmp_path / "head")]) == 0
    tuned, start = load_potential(tmp_path / "head").net.state_dict(), pretrained.net.state_dict()
    changed = {k for k in start if not torch.equal(tuned[k], start[k])}
    last = f"atom_conv_layers.{len(pretrained.net.atom_conv_layers) - 1}."
    allowed = (last, "mlp.", "readout_norm.", "composition_model.")  # the closed-form shift moves the last
    assert changed and all(k.startswith(allowed) for k in changed), sorted(changed)
    assert any(k.startswith("mlp.") for k in changed)


def test_missing_chgnet_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "chgnet.model", None)
    write(tmp_path / "train.xyz", _copper_small(2))
    assert run(["potential", "train", str(tmp_path / "train.xyz"), "--from", "chgnet", "--epochs", "1",
                "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "pip install" in lines[0] and "Traceback" not in err
    assert not (tmp_path / "x").exists()
