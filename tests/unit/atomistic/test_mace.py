"""The MACE potential (mace-torch's modules behind the PotentialModel interface): equivariance, finite
differences, the model file, the trainer, resume after a kill, the CLI, the LAMMPS export and the
missing-package error."""

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
from scipy.spatial.transform import Rotation

pytest.importorskip("mace.modules")

from nnsurrogate.atomistic.calculator import PotentialCalculator  # noqa: E402
from nnsurrogate.atomistic.mace import MACEModel, MACESpec, build_mace_model  # noqa: E402
from nnsurrogate.atomistic.models import load_potential, save_potential  # noqa: E402
from nnsurrogate.cli.main import run  # noqa: E402
from nnsurrogate.core.errors import UserInputError  # noqa: E402

#: Small enough to build in under a second; two layers, so messages reach beyond one cutoff.
TINY = {"cutoff": 4.0, "hidden_irreps": "4x0e + 4x1o", "max_ell": 2, "correlation": 2, "radial_mlp": (8, 8)}
CLI_TINY = ["--model", "mace", "--cutoff", "4", "--hidden-irreps", "4x0e + 4x1o", "--max-ell", "2",
            "--correlation", "2", "--batch", "4", "--quiet"]


def _alloy(seed: int, repeat=(2, 2, 1)):
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.65, cubic=True).repeat(repeat)
    atoms.set_cell(atoms.cell.array @ (np.eye(3) + rng.normal(0, 0.02, (3, 3))), scale_atoms=True)
    atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
    atoms.set_chemical_symbols(rng.choice(["Cu", "Au"], len(atoms)).tolist())
    return atoms


def _labelled(n: int, seed: int):
    frames = []
    for k in range(n):
        atoms = _alloy(seed + k, (2, 1, 1))
        atoms.calc = EMT()
        labels = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    return frames


@pytest.fixture(scope="module")
def model():
    """A random two-element MACE with a non-zero scale and shift, in float64."""
    net = build_mace_model([_alloy(0)], ("Cu", "Au"), TINY, (-3.5, -3.8), seed=3)
    with torch.no_grad():
        net.net.scale_shift.scale.fill_(0.7)
    net.shift_energy(0.2)
    return net.double().eval()


def _evaluate(model, atoms):
    atoms = atoms.copy()
    atoms.calc = PotentialCalculator([model])
    return atoms.get_potential_energy(), atoms.get_forces(), voigt_6_to_full_3x3_stress(atoms.get_stress())


def test_energy_invariant_forces_and_stress_rotate(model):
    """Rotating the cell and positions leaves E unchanged and rotates F (R f) and σ (R σ Rᵀ), to round-off."""
    atoms = _alloy(1)
    e, f, s = _evaluate(model, atoms)
    R = Rotation.random(random_state=7).as_matrix()
    turned = atoms.copy()
    turned.set_cell(atoms.cell.array @ R.T, scale_atoms=False)
    turned.positions = atoms.positions @ R.T
    e2, f2, s2 = _evaluate(model, turned)
    assert abs(e2 - e) < 1e-10 * max(1.0, abs(e))
    np.testing.assert_allclose(f2, f @ R.T, atol=1e-10)
    np.testing.assert_allclose(s2, R @ s @ R.T, atol=1e-11)
    assert np.abs(f).max() > 1e-3  # a real test: the forces are not zero


def test_forces_and_stress_match_finite_differences(model):
    atoms = _alloy(2)
    e, f, s = _evaluate(model, atoms)
    h = 1e-5
    for k, x in ((0, 0), (5, 2), (11, 1)):
        energies = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[k, x] += sign * h
            energies.append(_evaluate(model, moved)[0])
        assert -(energies[0] - energies[1]) / (2 * h) == pytest.approx(f[k, x], abs=1e-7)
    for i, j in ((0, 0), (1, 2), (2, 1)):
        energies = []
        for sign in (1, -1):
            strained = atoms.copy()
            D = np.eye(3)
            D[i, j] += sign * 1e-6
            strained.set_cell(atoms.cell.array @ D, scale_atoms=True)
            energies.append(_evaluate(model, strained)[0])
        sigma = (energies[0] - energies[1]) / 2e-6 / atoms.get_volume()
        assert sigma == pytest.approx(0.5 * (s[i, j] + s[j, i]), abs=1e-8)


def test_site_energies_sum_and_messages_reach_two_cutoffs(model):
    """Site energies (with the references) add up to E; with two layers an atom 1–2 cutoffs away
    changes a site energy (what NEP's one-cutoff descriptor cannot see)."""
    from ase import Atoms

    atoms = Atoms("CuAuCu", positions=[(0.0, 0.0, 0.0), (2.7, 0.4, 0.0), (5.4, 0.0, 0.3)], pbc=False)
    atoms.center(vacuum=6.0)
    atoms.calc = PotentialCalculator([model])
    assert atoms.get_potential_energies().sum() == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
    assert model.cutoff < atoms.get_distance(0, 2) < 2 * model.cutoff
    base = atoms.get_potential_energies()[0]
    moved = atoms.copy()
    moved.calc = PotentialCalculator([model])
    moved.positions[2] += (0.05, 0.03, 0.0)
    assert abs(moved.get_potential_energies()[0] - base) > 1e-9


def test_model_file_round_trip_is_exact(model, tmp_path):
    save_potential(model, tmp_path / "m")
    header = json.loads((tmp_path / "m" / "model.json").read_text())
    assert header["kind"] == MACEModel.kind and header["spec"]["hidden_irreps"] == "4x0e + 4x1o"
    loaded = load_potential(tmp_path / "m")
    atoms = _alloy(4)
    for a, b in zip(_evaluate(model, atoms), _evaluate(loaded, atoms)):
        np.testing.assert_array_equal(a, b)


def test_training_lowers_the_force_error_and_resumes_after_a_kill(tmp_path, killed_training):
    """potential train --model mace learns EMT forces; a killed run resumes from its checkpoint."""
    write(tmp_path / "train.xyz", _labelled(16, 10))
    out = tmp_path / "run"
    done = killed_training(["potential", "train", tmp_path / "train.xyz", "--epochs", "400", *CLI_TINY, "--out", out],
                           out, settle_s=3.0)
    assert 1 <= done < 400
    target = done + 25
    assert run(["potential", "train", str(tmp_path / "train.xyz"), "--epochs", str(target), *CLI_TINY, "--resume",
                "--out", str(out)]) == 0
    history = json.loads((out / "history.json").read_text())
    assert [row[0] for row in history["rows"]] == list(range(1, target + 1))
    columns = history["columns"]
    force = columns.index(next(c for c in columns if "force" in c and "train" in c))
    assert history["rows"][-1][force] < 0.7 * history["rows"][0][force]
    assert run(["potential", "test", str(out), str(tmp_path / "train.xyz"), "--out", str(tmp_path / "t")]) == 0


def test_missing_mace_torch_is_one_line(monkeypatch, capsys, tmp_path):
    """Without mace-torch the model says which package to install: a UserInputError, exit code 2."""
    monkeypatch.setitem(sys.modules, "mace", None)  # what an uninstalled package looks like to import
    monkeypatch.setitem(sys.modules, "mace.modules", None)
    with pytest.raises(UserInputError, match="mace-torch"):
        MACEModel(MACESpec(species=("Cu",)))
    write(tmp_path / "train.xyz", _labelled(4, 0))
    assert run(["potential", "train", str(tmp_path / "train.xyz"), *CLI_TINY, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "pip install" in lines[0] and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_bad_mace_options_are_one_line(capsys, tmp_path):
    write(tmp_path / "train.xyz", _labelled(4, 0))
    for flag, value, words in (("--hidden-irreps", "lots", "irreps"), ("--interactions", "0", "--interactions")):
        options = [o for o in CLI_TINY]
        if flag in options:
            options[options.index(flag) + 1] = value
        else:
            options += [flag, value]
        assert run(["potential", "train", str(tmp_path / "train.xyz"), *options, "--out", str(tmp_path / "x")]) == 2
        lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and words in lines[0], lines


def test_a_committee_joins_nep_and_mace(tmp_path):
    """potential join: a NEP and a MACE trained on the same frames act as one committee whose forces
    are the members' mean and whose spread is their disagreement; it loads like any model."""
    from nnsurrogate.atomistic.calculator import load_calculator

    frames = _labelled(8, 30)
    write(tmp_path / "train.xyz", frames)
    nep = ["--neurons", "6", "--n-max", "3,3", "--basis-size", "5,5", "--cutoff", "4,3.5", "--batch-size", "4", "--quiet"]
    assert run(["potential", "train", str(tmp_path / "train.xyz"), "--epochs", "3", *nep, "--out", str(tmp_path / "n")]) == 0
    assert run(["potential", "train", str(tmp_path / "train.xyz"), "--epochs", "3", *CLI_TINY,
                "--out", str(tmp_path / "m")]) == 0
    assert run(["potential", "join", str(tmp_path / "n"), str(tmp_path / "m"), "--test", str(tmp_path / "train.xyz"),
                "--out", str(tmp_path / "c")]) == 0
    report = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert report["kinds"] == ["atomistic.nep", "atomistic.mace"] and report["test"]["mean_force_std_meV_A"] > 0
    atoms = frames[0].copy()
    atoms.calc = load_calculator(tmp_path / "c" / "committee")
    members = []
    for path in ("n", "m"):
        one = frames[0].copy()
        one.calc = load_calculator(tmp_path / path)
        members.append(one.get_forces())
    np.testing.assert_allclose(atoms.get_forces(), np.mean(members, axis=0), atol=1e-10)
    spread = np.sqrt(((np.array(members) - np.mean(members, axis=0)) ** 2).mean(axis=(0, 2)))
    np.testing.assert_allclose(atoms.calc.results["forces_std"], spread, atol=1e-10)


def test_cli_model_choices_are_the_trainable_kinds():
    """The CLI keeps its own literal (it starts without torch); it must name what the library builds."""
    from nnsurrogate.atomistic.models import TRAINABLE
    from nnsurrogate.cli.potential_options import MODELS

    assert MODELS == TRAINABLE


def test_lammps_export_gives_the_models_energy_and_forces(model, tmp_path):
    """``export_lammps`` (mace-torch's LAMMPS_MACE wrapper, TorchScript): the file, loaded back with
    torch.jit.load and fed the graph LAMMPS's ML-MACE would give it (all atoms local), returns the model's
    energy (reference energies included) and forces to round-off; ghost atoms (local_or_ghost = 0) leave
    the local total; the model itself is not changed by the export."""
    from nnsurrogate.atomistic.mace.lammps import export_lammps, lammps_data

    atoms = _alloy(2)
    energy, forces, _ = _evaluate(model, atoms)
    module = torch.jit.load(str(export_lammps(model, tmp_path / "model-lammps.pt")))
    out = module(lammps_data(model, atoms), torch.ones(len(atoms), dtype=torch.float64), False)
    assert abs(float(out["total_energy_local"].sum()) - energy) < 1e-9 * max(1.0, abs(energy))
    np.testing.assert_allclose(out["forces"].detach().numpy(), forces, atol=1e-10)
    assert [int(z) for z in module.atomic_numbers] == [29, 79] and float(module.r_max) == TINY["cutoff"]
    mask = torch.ones(len(atoms), dtype=torch.float64)
    mask[::2] = 0.0
    half = module(lammps_data(model, atoms), mask, False)
    sites = half["node_energy"].detach()
    assert float(half["total_energy_local"].sum()) == pytest.approx(float((sites * mask).sum()), abs=1e-10)
    assert float(half["total_energy_local"].sum()) != pytest.approx(energy, abs=1e-3)
    assert _evaluate(model, atoms)[0] == energy


def test_cli_export_formats_and_one_line_errors(model, tmp_path, capsys):
    """potential export writes a MACE's LAMMPS file and a NEP run's nep.txt (equal to the one training
    wrote); a MACE asked for nep.txt, a NEP asked for lammps-mace and an unknown format are each one
    ``error:`` line, exit code 2, with nothing written."""
    save_potential(model, tmp_path / "mace")
    assert run(["potential", "export", str(tmp_path / "mace"), "--out", str(tmp_path / "m-lammps.pt")]) == 0
    assert int(torch.jit.load(str(tmp_path / "m-lammps.pt")).num_interactions) == 2
    write(tmp_path / "train.xyz", _labelled(8, 0))
    nep = ["--neurons", "4", "--n-max", "2,2", "--basis-size", "4,4", "--cutoff", "4,3.5", "--batch-size", "4", "--quiet"]
    assert run(["potential", "train", str(tmp_path / "train.xyz"), "--epochs", "2", *nep,
                "--out", str(tmp_path / "n")]) == 0
    assert run(["potential", "export", str(tmp_path / "n"), "--format", "nep", "--out", str(tmp_path / "x.txt")]) == 0
    assert (tmp_path / "x.txt").read_text() == (tmp_path / "n" / "nep.txt").read_text()
    capsys.readouterr()
    for source, fmt, words in (("mace", "nep", "NEP models only"), ("n", "lammps-mace", "MACE models only"),
                               ("mace", "gromacs", "unknown format")):
        target = tmp_path / f"bad-{fmt}"
        assert run(["potential", "export", str(tmp_path / source), "--format", fmt, "--out", str(target)]) == 2
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in err, err
        assert not target.exists()
