"""CHGNet (weights inside the ``chgnet`` package) behind the PotentialModel interface: the wrapped network
gives chgnet's own calculator results, its model folder round-trips, ``potential train --from chgnet``
fine-tunes it (all weights, or with ``--freeze interactions`` only the last convolution and the readout),
and a missing package is one line."""

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
from ase.stress import voigt_6_to_full_3x3_stress

pytest.importorskip("chgnet")

from nnsurrogate.atomistic.chgnet import CHGNetModel  # noqa: E402
from nnsurrogate.atomistic.labelers import labeler  # noqa: E402
from nnsurrogate.atomistic.models import load_potential, save_potential  # noqa: E402
from nnsurrogate.cli.main import run  # noqa: E402
from nnsurrogate.core.errors import UserInputError  # noqa: E402


def _copper(n: int, seed: int = 0, repeat=(2, 1, 1)):
    frames = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.62, cubic=True).repeat(repeat)
        atoms.rattle(0.08, seed=seed + k)
        atoms.calc = EMT()
        labels = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    return frames


@pytest.fixture(scope="module")
def pretrained():
    return CHGNetModel.pretrained()


def test_chgnet_model_matches_its_calculator_and_round_trips(pretrained, tmp_path):
    """On a batch of two frames the wrapped network gives chgnet's own CHGNetCalculator energy, forces and
    stress (as the virial W = −σV); site energies sum to the energy; the model folder (JSON arguments +
    safetensors, no pickle) reloads to identical predictions."""
    frames = _copper(2)
    out = pretrained(pretrained.collate(pretrained.featurize(frames)), forces=True, virial=True)
    reference = labeler("chgnet")()
    for k, frame in enumerate(frames):
        atoms = frame.copy()
        atoms.calc = reference
        assert float(out["energy"][k].detach()) == pytest.approx(atoms.get_potential_energy(), abs=1e-4)
        np.testing.assert_allclose(out["forces"][8 * k:8 * k + 8].detach().numpy(), atoms.get_forces(), atol=1e-4)
        virial = -atoms.get_volume() * voigt_6_to_full_3x3_stress(atoms.get_stress())
        np.testing.assert_allclose(out["virial"][k].detach().numpy(), virial, atol=2e-3)
    assert float(out["energies"].sum().detach()) == pytest.approx(float(out["energy"].sum().detach()), abs=1e-3)
    save_potential(pretrained, tmp_path / "m")
    assert "chgnet_args" in json.loads((tmp_path / "m" / "model.json").read_text())
    again = load_potential(tmp_path / "m")
    twice = again(again.collate(again.featurize(frames)), forces=True, virial=True)
    for key in ("energy", "forces", "virial"):
        np.testing.assert_array_equal(twice[key].detach().numpy(), out[key].detach().numpy())


def test_energy_shift_moves_every_site(pretrained):
    frames = _copper(1)
    model = CHGNetModel(pretrained.net.__class__(**pretrained.net.model_args))
    model.net.load_state_dict(pretrained.net.state_dict())
    batch = model.collate(model.featurize(frames))
    before = float(model(batch, forces=False)["energy"][0].detach())
    model.shift_energy(0.25)
    assert float(model(batch, forces=False)["energy"][0].detach()) == pytest.approx(before + 0.25 * 8, abs=1e-4)


def test_a_frame_without_a_cell_is_one_line(pretrained):
    atoms = _copper(1)[0]
    atoms.set_cell([0, 0, 0])
    atoms.pbc = False
    with pytest.raises(UserInputError, match="needs a cell"):
        pretrained.featurize([atoms], where="x.xyz")


def test_fine_tuning_chgnet_lowers_the_error_and_freezing_keeps_the_interactions(pretrained, tmp_path):
    """potential train --from chgnet on EMT copper: the training force error falls and the folder runs
    MD; with --freeze interactions only the last atom convolution and the readout change."""
    write(tmp_path / "train.xyz", _copper(6, 20))
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
    write(tmp_path / "train.xyz", _copper(2))
    assert run(["potential", "train", str(tmp_path / "train.xyz"), "--from", "chgnet", "--epochs", "1",
                "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "pip install" in lines[0] and "Traceback" not in err
    assert not (tmp_path / "x").exists()
