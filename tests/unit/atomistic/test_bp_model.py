"""The Behler–Parrinello model: forces and stress are energy derivatives, model files round-trip,
training lowers the error, and ``potential train --model bp`` works end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import write

from nnsurrogate.atomistic.bp import BPModel, build_bp_model
from nnsurrogate.atomistic.calculator import PotentialCalculator, load_calculator
from nnsurrogate.atomistic.models import model_classes, save_potential
from nnsurrogate.atomistic.training import PotentialTrainConfig, evaluate_sums, make_batch, prepare_frames, \
    rmse_from_sums, train_potential



def _alloy(seed: int = 0):
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((2, 1, 1))
    atoms.set_cell(atoms.cell.array + rng.normal(0, 0.15, (3, 3)), scale_atoms=True)
    atoms.rattle(0.1, seed=seed + 3)
    atoms.set_chemical_symbols(rng.choice(["Cu", "Au"], len(atoms)).tolist())
    return atoms


def _random_model(kind: str = "g4", activation: str = "tanh") -> BPModel:
    model = build_bp_model([_alloy()], ("Cu", "Au"), {"cutoff": (4.5, 3.6), "n_radial": 5, "angular_kind": kind,
                                                      "activation": activation, "hidden": (8, 6)}, (-3.0, -4.0), seed=1)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3, generator=gen)
    return model


@pytest.mark.parametrize("kind, activation", [("g4", "tanh"), ("g5", "silu")])
def test_forces_and_stress_are_energy_derivatives(kind, activation):
    calc = PotentialCalculator(_random_model(kind, activation))
    atoms = _alloy(1)
    atoms.calc = calc
    forces, stress = atoms.get_forces(), atoms.get_stress()
    h = 1e-5
    for a, c in [(0, 0), (3, 1), (5, 2), (7, 0)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[a, c] += h
        minus.positions[a, c] -= h
        plus.calc = minus.calc = calc
        fd = -(plus.get_potential_energy() - minus.get_potential_energy()) / (2 * h)
        assert forces[a, c] == pytest.approx(fd, abs=1e-7)
    for v, (i, j) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
        eps = np.eye(3)
        strained = []
        for sign in (1, -1):
            e = np.zeros((3, 3))
            e[i, j] = e[j, i] = sign * h
            s = atoms.copy()
            s.set_cell(atoms.cell.array @ (eps + e), scale_atoms=True)
            s.calc = calc
            strained.append(s.get_potential_energy())
        shear = 2.0 if i != j else 1.0  # ε_ij = ε_ji = h moves E by 2 h σ_ij V
        assert stress[v] == pytest.approx((strained[0] - strained[1]) / (2 * h * shear) / atoms.get_volume(), abs=1e-8)
    np.testing.assert_allclose(forces.sum(0), 0.0, atol=1e-12)  # Newton's third law


def test_energy_is_sum_of_site_energies_with_references():
    model = _random_model()
    atoms = _alloy(2)
    atoms.calc = PotentialCalculator(model)
    energies = atoms.get_potential_energies()
    assert atoms.get_potential_energy() == pytest.approx(energies.sum(), rel=1e-12)
    with torch.no_grad():
        model.shift_energy(0.25)
    atoms.calc = PotentialCalculator(model)
    assert atoms.get_potential_energies() == pytest.approx(energies + 0.25, rel=1e-12)


def test_model_file_round_trip(tmp_path):
    model = _random_model("g5")
    save_potential(model, tmp_path / "model")
    assert model_classes()["atomistic.bp"] is BPModel
    atoms = _alloy(3)
    atoms.calc = PotentialCalculator(model)
    expected = atoms.get_forces().copy(), atoms.get_potential_energy()
    atoms.calc = load_calculator(tmp_path / "model")
    np.testing.assert_array_equal(atoms.get_forces(), expected[0])
    assert atoms.get_potential_energy() == expected[1]


def _emt_frames(n: int, seed: int = 0):
    frames = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
        atoms.rattle(0.08, seed=seed + k)
        atoms.calc = EMT()
        atoms.get_forces()
        frames.append(atoms)
    return frames


def test_training_lowers_the_force_error():
    frames = _emt_frames(8)
    model = build_bp_model(frames, ("Cu",), {"cutoff": (4.5, 3.5), "n_radial": 4, "hidden": (10,)}, (-0.01,), seed=0)
    data = prepare_frames(model, frames, None, torch.float64)
    batch, _ = make_batch(model, data, range(len(data)), torch.device("cpu"), torch.float64)
    model.initialize(batch, float((data.energy / data.n_atoms).mean()))
    before = rmse_from_sums(evaluate_sums(model, data, 8, torch.device("cpu"), torch.float64, False))[1]
    train_potential(model, data, None, PotentialTrainConfig(epochs=20, batch_size=4, dtype="float64", lambda_v=0.0))
    after = rmse_from_sums(evaluate_sums(model, data, 8, torch.device("cpu"), torch.float64, False))[1]
    assert after < 0.5 * before


def test_cli_train_and_test_bp(tmp_path):
    from nnsurrogate.cli.main import run

    write(tmp_path / "train.xyz", _emt_frames(6))
    write(tmp_path / "test.xyz", _emt_frames(2, seed=50))
    code = run(["potential", "train", str(tmp_path / "train.xyz"), "--model", "bp", "--cutoff", "4.5,3.5",
                "--hidden", "8", "--activation", "silu", "--epochs", "3", "--valid-fraction", "0", "--quiet",
                "--out", str(tmp_path / "run")])
    assert code == 0
    assert (tmp_path / "run" / "model" / "model.json").is_file() and not (tmp_path / "run" / "nep.txt").exists()
    assert run(["potential", "test", str(tmp_path / "run"), str(tmp_path / "test.xyz"),
                "--out", str(tmp_path / "eval")]) == 0
    assert (tmp_path / "eval" / "metrics.json").is_file()


def test_cli_bad_bp_options_are_one_line_errors(tmp_path, capsys):
    from nnsurrogate.cli.main import run

    write(tmp_path / "train.xyz", _emt_frames(2))
    for extra, message in ((["--angular", "g3"], "--angular"), (["--activation", "relu"], "activation"),
                           (["--sf-file", str(tmp_path / "none.json")], "no such")):
        code = run(["potential", "train", str(tmp_path / "train.xyz"), "--model", "bp", "--out",
                    str(tmp_path / "run"), "--quiet", "--valid-fraction", "0", *extra])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
