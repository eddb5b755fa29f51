"""Reference calculators: choice and validation, labels attached to frames, PySCF / xTB / CHGNet physics."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms, units
from ase.build import bulk, molecule
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.calculators.fd import calculate_numerical_forces

from nnsurrogate.atomistic.labelers import LabelingError, label_atoms, labeler
from nnsurrogate.core.errors import UserInputError


class NaNForces(EMT):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results["forces"] = self.results["forces"] * np.nan


@pytest.mark.parametrize(("name", "settings", "message"), [
    ("emtt", {}, "did you mean 'emt'"),
    ("dft", {}, "unknown calculator 'dft'"),
    ("xtb", {"xtb_method": "GFN3-xTB"}, "unknown xTB method"),
    ("pyscf", {"pyscf_xc": "NOT-A-FUNCTIONAL"}, "does not know the functional"),
    ("pyscf", {"pyscf_basis": "no-such-basis"}, "does not know the basis set"),
    ("lj", {"lj_sigma": -1.0}, "must be positive"),
])
def test_bad_labeler_settings_are_user_errors(name, settings, message):
    with pytest.raises(UserInputError, match=message):
        labeler(name, **settings)


def test_structures_a_labeler_cannot_treat_are_refused_before_any_work():
    with pytest.raises(UserInputError, match="EMT has no parameters for Si"):
        labeler("emt").check_structure(bulk("Si"), "frame 3")
    with pytest.raises(UserInputError, match="molecules only"):
        labeler("pyscf", pyscf_basis="sto-3g").check_structure(bulk("Cu"), "frame 0")


def test_label_atoms_attaches_emt_labels_and_replaces_old_ones():
    atoms = bulk("Cu", cubic=True)
    atoms.rattle(0.05, seed=0)
    atoms.info.update({"config_type": "rattle", "energy": 99.0, "virial": np.eye(3).ravel().tolist()})
    atoms.arrays["forces"] = np.ones((4, 3))
    labelled = label_atoms(atoms, EMT())
    reference = atoms.copy()
    reference.calc = EMT()
    assert labelled.get_potential_energy() == pytest.approx(reference.get_potential_energy(), abs=1e-12)
    np.testing.assert_allclose(labelled.get_forces(), reference.get_forces(), atol=1e-12)
    np.testing.assert_allclose(labelled.get_stress(), reference.get_stress(), atol=1e-12)
    assert labelled.info == {"config_type": "rattle"} and "forces" not in labelled.arrays
    np.testing.assert_array_equal(labelled.positions, atoms.positions)


def test_molecules_get_no_stress_and_nan_is_an_error():
    water = molecule("H2O")
    labelled = label_atoms(water, EMT())
    assert set(labelled.calc.results) == {"energy", "forces"}
    with pytest.raises(LabelingError, match="non-finite forces"):
        label_atoms(water, NaNForces())


@pytest.fixture(scope="module")
def water_hf():
    """Water with PySCF Hartree–Fock / STO-3G (fast, no integration grid)."""
    water = molecule("H2O")
    water.calc = labeler("pyscf", pyscf_xc="HF", pyscf_basis="sto-3g")()
    return water


def test_pyscf_energy_is_the_known_hartree_fock_value(water_hf):
    """HF/STO-3G water near its equilibrium geometry: E ≈ −74.96 Hartree (Szabo & Ostlund, table 3.13)."""
    assert water_hf.get_potential_energy() / units.Hartree == pytest.approx(-74.96, abs=0.01)


def test_pyscf_forces_are_minus_the_energy_gradient(water_hf):
    analytic = water_hf.get_forces()
    numeric = calculate_numerical_forces(water_hf, eps=1e-4, iatoms=[1], icarts=[1, 2])
    np.testing.assert_allclose(numeric[0], analytic[1, 1:], atol=2e-4)  # columns: y, z
    np.testing.assert_allclose(analytic.sum(axis=0), 0.0, atol=1e-6)  # no grid in HF: exact Σ F = 0


def test_pyscf_open_shell_and_periodic_frames():
    """A hydrogen atom (one electron) runs unrestricted: HF/STO-3G gives −0.4666 Hartree."""
    hydrogen = Atoms("H", positions=[[0, 0, 0]])
    hydrogen.calc = labeler("pyscf", pyscf_xc="HF", pyscf_basis="sto-3g")()
    assert hydrogen.get_potential_energy() / units.Hartree == pytest.approx(-0.46658, abs=1e-4)
    crystal = bulk("Cu")
    crystal.calc = labeler("pyscf", pyscf_xc="HF", pyscf_basis="sto-3g")()
    with pytest.raises(UserInputError, match="molecules only"):
        crystal.get_potential_energy()


def test_xtb_gives_the_gfn2_energy_of_water_and_consistent_forces():
    """GFN2-xTB water: E ≈ −5.070 Hartree (the xtb program's value at its minimum)."""
    water = molecule("H2O")
    water.calc = labeler("xtb")()
    assert water.get_potential_energy() / units.Hartree == pytest.approx(-5.070, abs=0.005)
    analytic = water.get_forces()
    numeric = calculate_numerical_forces(water, eps=1e-4, iatoms=[0], icarts=[2])
    assert numeric[0, 0] == pytest.approx(analytic[0, 2], abs=1e-4)


def test_chgnet_loads_its_packaged_weights_and_labels_a_cell():
    """CHGNet on fcc copper: close to the Materials Project energy of Cu (−4.1 eV/atom), Σ F ≈ 0."""
    cell = bulk("Cu", "fcc", a=3.62, cubic=True)
    cell.rattle(0.03, seed=1)
    labelled = label_atoms(cell, labeler("chgnet")())
    assert labelled.get_potential_energy() / len(cell) == pytest.approx(-4.1, abs=0.2)
    np.testing.assert_allclose(labelled.get_forces().sum(axis=0), 0.0, atol=1e-3)
    assert labelled.get_stress().shape == (6,)


def test_pyscf_dft_converts_hartree_and_bohr_to_ev_and_angstrom():
    """The PBE path against PySCF called directly: E in eV = E_h × 27.211…, F = −∇E × E_h/a₀."""
    from pyscf import dft, gto

    from nnsurrogate.atomistic.pyscf_calculator import PySCFCalculator

    water = molecule("H2O")
    water.calc = PySCFCalculator(xc="PBE", basis="sto-3g", grid_level=1)
    mol = gto.M(atom=[(s, tuple(p)) for s, p in zip(water.get_chemical_symbols(), water.positions)],
                basis="sto-3g", unit="Angstrom", verbose=0)
    mf = dft.RKS(mol)
    mf.xc, mf.grids.level, mf.conv_tol = "PBE", 1, 1e-9
    energy_hartree = mf.kernel()
    gradient = mf.nuc_grad_method().kernel()
    assert water.get_potential_energy() == pytest.approx(energy_hartree * 27.211386, rel=1e-6)
    np.testing.assert_allclose(water.get_forces(), -gradient * 27.211386 / 0.529177, rtol=1e-5, atol=1e-6)
