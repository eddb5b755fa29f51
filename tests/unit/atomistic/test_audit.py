"""The audit: every check passes on EMT and fails on a calculator broken in the matching way."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.geometry import find_mic

from nnsurrogate.atomistic import audit_checks as C
from nnsurrogate.atomistic.audit import AuditOptions, read_train_metrics, run_audit, write_audit
from nnsurrogate.core.errors import UserInputError

RNG = np.random.default_rng


class Broken(Calculator):
    """EMT with a modification; subclasses override :meth:`modify` (energy eV, forces eV/Å, stress eV/Å³)."""

    implemented_properties = ["energy", "forces", "stress"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        work = self.atoms.copy()
        work.calc = EMT()
        energy, forces, stress = work.get_potential_energy(), work.get_forces(), work.get_stress()
        self.results = dict(zip(("energy", "forces", "stress"), self.modify(self.atoms, energy, forces, stress)))

    def modify(self, atoms, energy, forces, stress):
        return energy, forces, stress


class ExternalField(Broken):
    """E + k Σ x_i: a uniform field; not translation invariant, Σ F = −N k x̂."""

    def modify(self, atoms, energy, forces, stress):
        return energy + 0.05 * atoms.positions[:, 0].sum(), forces - [0.05, 0.0, 0.0], stress


class Anisotropic(Broken):
    """EMT of the structure stretched 3 % along z: a preferred direction, so not rotation invariant."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        Calculator.calculate(self, atoms, properties, system_changes)
        stretch = np.diag([1.0, 1.0, 1.03])
        work = self.atoms.copy()
        work.set_cell(self.atoms.cell[:] @ stretch, scale_atoms=False)
        work.positions = self.atoms.positions @ stretch
        work.calc = EMT()
        self.results = {"energy": work.get_potential_energy(), "forces": work.get_forces() @ stretch,
                        "stress": work.get_stress()}


class IndexSprings(Broken):
    """Springs between atoms i and i+1 (by index): invariant under translation and rotation, not permutation."""

    def modify(self, atoms, energy, forces, stress):
        d = atoms.positions[1:] - atoms.positions[:-1]
        if atoms.pbc.all():
            d = find_mic(d, atoms.cell, pbc=True)[0]
        extra = np.zeros_like(forces)
        extra[1:] -= 2 * 0.5 * d
        extra[:-1] += 2 * 0.5 * d
        return energy + 0.5 * float((d**2).sum()), forces + extra, stress


class ScaledForces(Broken):
    """Forces 1.3 × −∂E/∂r: not conservative."""

    def modify(self, atoms, energy, forces, stress):
        return energy, 1.3 * forces, stress


class ForceOffset(Broken):
    """A constant push on every atom with the energy untouched: Σ F ≠ 0."""

    def modify(self, atoms, energy, forces, stress):
        return energy, forces + [0.02, -0.01, 0.0], stress


class AntiSpring(Broken):
    """EMT − k Σ|r − r₀|²: unstable, forces grow without bound once atoms move."""

    def modify(self, atoms, energy, forces, stress):
        if not hasattr(self, "sites"):
            self.sites = atoms.positions.copy()
        d = atoms.positions - self.sites
        return energy - 4.0 * float((d**2).sum()), forces + 8.0 * d, stress


class NoisyCommittee(Broken):
    """EMT forces plus Gaussian noise of σ = 0.05 eV/Å, reporting ``forces_std`` = factor × σ."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def modify(self, atoms, energy, forces, stress):
        rng = RNG(abs(hash(atoms.positions.tobytes())) % 2**32)
        self.std = np.full(len(atoms), 0.05 * self.factor)
        return energy, forces + rng.normal(0.0, 0.05, forces.shape), stress

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results["forces_std"] = self.std


def _labelled(atoms):
    atoms.calc = EMT()
    results = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
    atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


@pytest.fixture(scope="module")
def frames():
    """Three rattled 8-atom copper cells (one strained) labelled with EMT."""
    out = []
    for seed in range(3):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1))
        if seed == 2:
            atoms.set_cell(atoms.cell[:] * 1.02, scale_atoms=True)
        atoms.rattle(0.08, seed=seed)
        out.append(_labelled(atoms))
    return out


def _checks(checks):
    return {c.key: c for c in checks}


def test_symmetry_checks_pass_on_emt_and_fail_on_the_matching_breakage(frames):
    good = _checks(C.symmetry_checks(EMT(), frames[:2], 0.01, 0.1, RNG(0)))
    assert all(c.passed for c in good.values()) and len(good) == 6
    field = _checks(C.symmetry_checks(ExternalField(), frames[:2], 0.01, 0.1, RNG(0)))
    assert not field["translation_energy"].passed and field["permutation_energy"].passed
    aniso = _checks(C.symmetry_checks(Anisotropic(), frames[:2], 0.01, 0.1, RNG(0)))
    assert aniso["translation_energy"].passed and aniso["permutation_energy"].passed
    assert not aniso["rotation_energy"].passed and not aniso["rotation_forces"].passed
    springs = _checks(C.symmetry_checks(IndexSprings(), frames[:2], 0.01, 0.1, RNG(0)))
    assert springs["translation_energy"].passed and springs["rotation_energy"].passed
    assert springs["rotation_forces"].passed
    assert not springs["permutation_energy"].passed and not springs["permutation_forces"].passed


def test_force_sum_check(frames):
    assert C.force_sum_check(C.predict(EMT(), frames), 1.0).passed
    offset = C.force_sum_check(C.predict(ForceOffset(), frames), 1.0)
    # 8 atoms × (0.02, −0.01, 0) eV/Å → |Σ F| = 8 √(0.02² + 0.01²) eV/Å = 179 meV/Å
    assert not offset.passed and offset.value == pytest.approx(8000 * np.hypot(0.02, 0.01), rel=1e-6)
    assert not C.force_sum_check(C.predict(ExternalField(), frames), 1.0).passed


def test_gradient_checks_catch_non_conservative_forces(frames):
    good = _checks(C.gradient_checks(EMT(), frames[0], 1.0, 0.01, RNG(1)))
    assert good["forces_gradient"].passed and good["stress_gradient"].passed
    bad = _checks(C.gradient_checks(ScaledForces(), frames[0], 1.0, 0.01, RNG(1)))
    assert not bad["forces_gradient"].passed
    field = _checks(C.gradient_checks(ExternalField(), frames[0], 1.0, 0.01, RNG(1)))
    assert field["forces_gradient"].passed  # a field is conservative; the symmetry checks catch it


def test_nve_drift_is_small_for_emt_and_large_for_non_conservative_forces(frames):
    good = C.nve_drift_check(EMT(), frames[0], 300.0, 1.0, 100, 1.0, seed=0)
    bad = C.nve_drift_check(ScaledForces(), frames[0], 300.0, 1.0, 100, 1.0, seed=0)
    assert good.passed and good.value < 0.5
    assert not bad.passed and bad.value > 5.0


def test_heated_md_fails_on_a_potential_that_blows_up(frames):
    good = C.heated_md_check(EMT(), frames[0], 1000.0, 1.0, 60, 10.0, seed=0)
    assert good.passed and 0 < good.value < 10
    bad = C.heated_md_check(AntiSpring(), frames[0], 1000.0, 1.0, 600, 10.0, seed=0)
    assert not bad.passed and "stopped" in bad.detail


def test_uncertainty_calibration(frames):
    assert C.calibration_check(C.predict(EMT(), frames), 0.5, 2.0).passed is None
    honest = C.calibration_check(C.predict(NoisyCommittee(1.0), frames), 0.5, 2.0)
    assert honest.passed and honest.value == pytest.approx(1.0, abs=0.25)
    overconfident = C.calibration_check(C.predict(NoisyCommittee(0.1), frames), 0.5, 2.0)
    assert not overconfident.passed and overconfident.value == pytest.approx(10.0, rel=0.25)


def test_accuracy_and_train_ratio(frames, tmp_path):
    metrics = C.error_metrics(C.predict(ScaledForces(), frames))
    forces = np.concatenate([f.calc.results["forces"].ravel() for f in frames])
    assert metrics["energy_mae_meV_atom"] == pytest.approx(0.0, abs=1e-9)
    assert metrics["force_mae_meV_A"] == pytest.approx(300.0 * np.abs(forces).mean(), rel=1e-9)
    train = {"energy_mae_meV_atom": 1.0, "force_mae_meV_A": metrics["force_mae_meV_A"] / 3}
    checks = _checks(C.accuracy_checks(metrics, train, 5.0, 1e6, 2.0))
    assert checks["energy_mae"].passed and checks["force_mae"].passed
    assert checks["force_vs_train"].value == pytest.approx(3.0) and not checks["force_vs_train"].passed
    assert checks["energy_vs_train"].passed
    absent = _checks(C.accuracy_checks(metrics, None, 5.0, 10.0, 2.0))
    assert absent["energy_vs_train"].passed is None and not absent["force_mae"].passed


def test_train_metrics_are_found_beside_the_model(tmp_path):
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "nep.txt").write_text("nep4 1 Cu\n")
    (run / "metrics.json").write_text(json.dumps({"train": {"energy_mae_meV_atom": 1.5,
                                                             "force_mae_meV_A": 40.0}, "validation": {}}))
    expected = {"energy_mae_meV_atom": 1.5, "force_mae_meV_A": 40.0}
    for model in (run, run / "model", run / "nep.txt"):
        assert read_train_metrics(model) == expected
    (run / "metrics.json").write_text(json.dumps({"train_energy_mae_meV_atom": 2.0}))
    assert read_train_metrics(run) == {"energy_mae_meV_atom": 2.0}
    (run / "metrics.json").unlink()
    assert read_train_metrics(run) is None


def test_full_audit_passes_on_emt_and_is_written(frames, tmp_path):
    options = AuditOptions(nve_steps=40, heated_steps=30, symmetry_frames=1)
    report = run_audit(EMT(), frames, options)
    assert report.passed, [c for c in report.checks if c.passed is False]
    keys = {c.key for c in report.checks}
    assert {"energy_mae", "force_mae", "nve_drift", "rotation_forces", "force_sum", "forces_gradient",
            "stress_gradient", "heated_md_max_force", "uncertainty_calibration"} <= keys
    write_audit(tmp_path / "audit.json", report, {"model": "ase:emt"})
    saved = json.loads((tmp_path / "audit.json").read_text())
    assert saved["passed"] is True and saved["model"] == "ase:emt" and saved["n_not_applicable"] == 3
    assert saved["test_metrics"]["n_atoms"] == 24


def test_full_audit_reports_failures(frames):
    report = run_audit(ScaledForces(), frames, AuditOptions(nve_steps=40, heated_steps=10, symmetry_frames=1))
    failed = {c.key for c in report.failed}
    assert not report.passed and {"force_mae", "forces_gradient", "nve_drift"} <= failed


def test_frames_without_labels_are_rejected(frames):
    bare = frames[0].copy()
    with pytest.raises(UserInputError, match="no reference energy"):
        run_audit(EMT(), [bare])
    with pytest.raises(UserInputError, match="must be positive"):
        AuditOptions(max_drift=0.0).validate()


def test_training_metrics_written_before_the_unit_suffixes_are_read(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"train": {"energy_mae_mev_per_atom": 2.0,
                                                                 "force_mae_mev_per_a": 30.0}}))
    assert read_train_metrics(tmp_path) == {"energy_mae_meV_atom": 2.0, "force_mae_meV_A": 30.0}
