"""Committee uncertainty: the spread on trivial cases, the ASE calculator, committee folders, training."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.emt import EMT

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.bp import build_bp_model
from nnsurrogate.atomistic.calculator import PotentialCalculator, load_calculator
from nnsurrogate.atomistic.committee import (CommitteeCalculator, committee_statistics, is_committee, load_committee,
                                             member_subsets, save_committee, train_committee)
from nnsurrogate.atomistic.training import PotentialTrainConfig
from nnsurrogate.core.errors import ModelFileError, UserInputError



def _frames(n: int, seed: int = 0):
    out = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
        atoms.rattle(0.1, seed=seed + k)
        atoms.calc = EMT()
        atoms.get_forces()
        out.append(atoms)
    return out


def _model(seed: int = 0):
    model = build_bp_model(_frames(1), ("Cu",), {"cutoff": (4.5, 3.5), "n_radial": 4, "hidden": (6,)}, (-0.5,),
                           seed=seed)
    with torch.no_grad():
        model.w1.normal_(0.0, 0.5, generator=torch.Generator().manual_seed(seed))
    return model


def test_statistics_of_identical_members_are_zero():
    forces = np.random.default_rng(0).normal(size=(1, 5, 3)).repeat(3, axis=0)
    stats = committee_statistics(np.array([-1.5, -1.5, -1.5]), forces)
    assert stats[keys.ENERGY_STD] == 0.0
    np.testing.assert_allclose(stats[keys.FORCES_STD], np.zeros(5), atol=1e-15)  # up to rounding of the mean
    np.testing.assert_allclose(stats[keys.FORCES], forces[0], rtol=1e-15)


def test_statistics_of_two_known_members():
    """E = 1 and 3 eV → mean 2, σ = 1; atom 0 forces (0,0,0) and (2,4,−4) → σ² = (1 + 4 + 4)/3 = 3."""
    forces = np.zeros((2, 2, 3))
    forces[1, 0] = [2.0, 4.0, -4.0]
    stats = committee_statistics(np.array([1.0, 3.0]), forces)
    assert stats[keys.ENERGY] == 2.0 and stats[keys.ENERGY_STD] == 1.0
    np.testing.assert_allclose(stats[keys.FORCES_STD], [np.sqrt(3.0), 0.0])
    np.testing.assert_allclose(stats[keys.FORCES][0], [1.0, 2.0, -2.0])


def test_calculator_identical_members_match_the_single_model():
    model = _model()
    atoms = _frames(1, seed=7)[0]
    atoms.calc = PotentialCalculator(model)
    single_e, single_f = atoms.get_potential_energy(), atoms.get_forces().copy()
    atoms.calc = CommitteeCalculator([model, copy.deepcopy(model)])
    assert atoms.get_potential_energy() == pytest.approx(single_e, rel=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), single_f, atol=1e-12)
    assert atoms.calc.get_property(keys.ENERGY_STD, atoms) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(atoms.calc.get_property(keys.FORCES_STD, atoms), 0.0, atol=1e-12)


def test_members_shifted_by_a_constant_differ_only_in_energy():
    """Site energies shifted by ±δ: σ_E = N δ exactly, the forces (and their spread) do not change."""
    base = _model()
    low, high = copy.deepcopy(base), copy.deepcopy(base)
    low.shift_energy(-0.01)
    high.shift_energy(0.01)
    atoms = _frames(1, seed=9)[0]
    atoms.calc = CommitteeCalculator([low, high])
    atoms.get_forces()
    assert atoms.calc.results[keys.ENERGY_STD] == pytest.approx(len(atoms) * 0.01, rel=1e-10)
    np.testing.assert_allclose(atoms.calc.results[keys.FORCES_STD], 0.0, atol=1e-12)
    stress = atoms.get_stress()
    atoms.calc = PotentialCalculator(base)
    np.testing.assert_allclose(stress, atoms.get_stress(), atol=1e-12)


def test_committee_folder_round_trip_and_audit_calibration(tmp_path):
    from nnsurrogate.atomistic import audit_checks

    models = [_model(0), _model(1), _model(2)]
    save_committee(models, tmp_path / "committee")
    assert is_committee(tmp_path) and is_committee(tmp_path / "committee")
    calc = load_calculator(tmp_path / "committee")
    assert isinstance(calc, CommitteeCalculator) and len(load_committee(tmp_path)) == 3
    frames = _frames(2, seed=20)
    pred = audit_checks.predict(calc, frames)
    check = audit_checks.calibration_check(pred, 0.5, 2.0)
    assert check.passed is not None and check.value > 0  # applies to a committee (n/a for one model)
    atoms = frames[0].copy()
    atoms.calc = calc
    direct = CommitteeCalculator(models)
    ref = frames[0].copy()
    ref.calc = direct
    np.testing.assert_allclose(atoms.get_forces(), ref.get_forces(), atol=1e-12)


def test_broken_committee_folder_is_a_model_file_error(tmp_path):
    save_committee([_model(0), _model(1)], tmp_path / "c")
    (tmp_path / "c" / "committee.json").write_text('{"kind": "atomistic.committee", "members": ["member_00", "../x"]}')
    with pytest.raises(ModelFileError, match="missing"):
        load_committee(tmp_path / "c")


def test_member_subsets():
    assert member_subsets(5, 3, False, 0) == [list(range(5))] * 3
    boot = member_subsets(50, 4, True, 0)
    assert all(len(s) == 50 for s in boot) and len({tuple(s) for s in boot}) == 4
    assert all(len(set(s)) < 50 for s in boot)  # drawn with replacement
    with pytest.raises(UserInputError):
        member_subsets(5, 0, False, 0)


def test_trained_members_disagree_most_far_from_the_data():
    """Members trained from different seeds agree near the training data (atoms rattled by 0.1 Å) and
    spread apart on configurations unlike it (rattled by 0.35 Å)."""
    frames = _frames(6)
    config = PotentialTrainConfig(epochs=30, batch_size=3, dtype="float64", lambda_v=0.0, seed=3)
    members, results = train_committee(frames, lambda seed: build_bp_model(frames, ("Cu",),
                                       {"cutoff": (4.5, 3.5), "n_radial": 4, "hidden": (8,)}, None, seed), 3, config)
    assert len(members) == 3 and len(results) == 3
    calc = CommitteeCalculator(members)
    near = _frames(1, seed=40)[0]
    far = bulk("Cu", "fcc", a=3.61, cubic=True)
    far.rattle(0.35, seed=41)
    spread = []
    for atoms in (near, far):
        atoms.calc = calc
        atoms.get_forces()
        spread.append(float(np.mean(calc.results[keys.FORCES_STD])))
    assert 0 < spread[0] < spread[1]


def test_cli_committee_then_audit_reports_calibration(tmp_path):
    from ase.io import write

    from nnsurrogate.cli.main import run

    write(tmp_path / "train.xyz", _frames(4))
    write(tmp_path / "test.xyz", _frames(2, seed=30))
    code = run(["potential", "committee", str(tmp_path / "train.xyz"), "--members", "2", "--model", "bp",
                "--cutoff", "4.5,3.5", "--hidden", "6", "--epochs", "3", "--test", str(tmp_path / "test.xyz"),
                "--quiet", "--out", str(tmp_path / "c")])
    assert code == 0 and is_committee(tmp_path / "c")
    metrics = __import__("json").loads((tmp_path / "c" / "metrics.json").read_text())
    assert metrics["test"]["mean_force_std_meV_A"] > 0 and metrics["train"]["n_frames"] == 4
    calc = load_calculator(tmp_path / "c" / "committee")
    from nnsurrogate.atomistic import audit_checks

    pred = audit_checks.predict(calc, _frames(2, seed=30))
    assert audit_checks.calibration_check(pred, 0.5, 2.0).value > 0
