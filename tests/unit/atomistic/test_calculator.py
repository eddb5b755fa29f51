"""The ASE calculator: finite-difference forces and stress, invariances, caching, float32."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule

from nnsurrogate.atomistic.calculator import PotentialCalculator, load_calculator
from nnsurrogate.atomistic.models import save_potential
from nnsurrogate.atomistic.nep import NEPModel, NEPSpec, write_nep



def _model(species=("Cu", "Au"), reference=None) -> NEPModel:
    model = NEPModel(NEPSpec(species=species, neurons=6, l_max=(4, 2, 1), n_max=(3, 3), basis_size=(5, 5)), reference)
    gen = torch.Generator().manual_seed(0)
    model.reset_parameters(gen)
    with torch.no_grad():
        model.w1.normal_(generator=gen)
        model.b0.normal_(generator=gen)
        model.q_scaler.uniform_(0.2, 1.0, generator=gen)
    return model


def _alloy(seed=0):
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((2, 2, 1))
    atoms.set_cell(atoms.cell.array + rng.normal(0, 0.2, (3, 3)), scale_atoms=True)
    atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
    atoms.set_chemical_symbols(rng.choice(["Cu", "Au"], len(atoms)).tolist())
    return atoms


@pytest.fixture(scope="module")
def calc():
    return PotentialCalculator(_model(reference=(-3.0, -4.0)))


def test_forces_are_minus_energy_gradient(calc):
    atoms = _alloy(1)
    atoms.calc = calc
    forces = atoms.get_forces()
    h = 1e-5
    for a, c in [(0, 0), (3, 1), (7, 2), (11, 0)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[a, c] += h
        minus.positions[a, c] -= h
        plus.calc = minus.calc = calc
        fd = -(plus.get_potential_energy() - minus.get_potential_energy()) / (2 * h)
        assert forces[a, c] == pytest.approx(fd, abs=1e-6)


def test_stress_is_strain_derivative(calc):
    """σ_ij = (1/V) ∂E/∂ε_ij under the homogeneous deformation r → (1 + ε) r."""
    atoms = _alloy(2)
    atoms.calc = calc
    stress = atoms.get_stress(voigt=False)
    h = 1e-6
    for i, j in [(0, 0), (1, 2), (0, 1), (2, 2)]:
        energies = []
        for sign in (1, -1):
            eps = np.eye(3)
            eps[i, j] += sign * h / 2
            eps[j, i] += sign * h / 2
            strained = atoms.copy()
            strained.set_cell(atoms.cell.array @ eps, scale_atoms=True)
            strained.calc = calc
            energies.append(strained.get_potential_energy())
        assert stress[i, j] == pytest.approx((energies[0] - energies[1]) / (2 * h) / atoms.get_volume(), abs=1e-7)


def test_newton_and_invariances(calc):
    atoms = _alloy(3)
    atoms.calc = calc
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    assert np.abs(forces.sum(0)).max() < 1e-10  # Σ F = 0
    assert atoms.get_potential_energies().sum() == pytest.approx(energy, abs=1e-9)
    moved = atoms.copy()
    moved.translate([0.3, -1.1, 2.0])
    rotation = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]
    moved.set_cell(moved.cell.array @ rotation.T)
    moved.positions = moved.positions @ rotation.T
    order = np.random.default_rng(1).permutation(len(atoms))
    moved = moved[order]
    moved.calc = calc
    assert moved.get_potential_energy() == pytest.approx(energy, abs=1e-9)
    np.testing.assert_allclose(moved.get_forces(), (forces @ rotation.T)[order], atol=1e-9)


def test_reference_energies_are_added(calc):
    atoms = _alloy(4)
    atoms.calc = calc
    plain = PotentialCalculator(_model())
    other = atoms.copy()
    other.calc = plain
    n_cu = atoms.get_chemical_symbols().count("Cu")
    expected = other.get_potential_energy() - 3.0 * n_cu - 4.0 * (len(atoms) - n_cu)
    assert atoms.get_potential_energy() == pytest.approx(expected, abs=1e-9)
    np.testing.assert_allclose(atoms.get_forces(), other.get_forces(), atol=1e-12)


def test_recomputes_only_on_changes(calc, monkeypatch):
    atoms = _alloy(5)
    atoms.calc = calc
    calls = []
    original = calc.model.forward
    monkeypatch.setattr(calc.model, "forward", lambda *a, **k: calls.append(1) or original(*a, **k))
    atoms.get_potential_energy()
    atoms.get_forces()
    atoms.get_stress()
    assert len(calls) == 1
    atoms.positions[0, 0] += 0.01
    atoms.get_forces()
    assert len(calls) == 2


def test_molecule_has_no_stress_and_float32_is_close(tmp_path):
    model = _model(("C", "H", "O"))
    save_potential(model, tmp_path / "model")
    write_nep(model, tmp_path / "nep.txt")
    mol = molecule("CH3CH2OH")
    results = {}
    for dtype in ("float64", "float32"):
        mol.calc = load_calculator(tmp_path / "model", dtype=dtype)
        results[dtype] = (mol.get_potential_energy(), mol.get_forces())
        assert "stress" not in mol.calc.results
    assert results["float32"][0] == pytest.approx(results["float64"][0], abs=1e-4)
    np.testing.assert_allclose(results["float32"][1], results["float64"][1], atol=1e-4)
    mol.calc = load_calculator(tmp_path / "nep.txt")
    assert mol.get_potential_energy() == pytest.approx(results["float64"][0], abs=1e-5)


def test_reports_the_shortest_pair_it_sees(calc):
    from ase.neighborlist import neighbor_list

    atoms = _alloy(3)
    atoms.calc = calc
    atoms.get_potential_energy()
    assert calc.results["shortest_pair"] == pytest.approx(neighbor_list("d", atoms, 5.0).min(), rel=1e-12)


@pytest.mark.parametrize("committee", [False, True])
def test_parallel_centre_blocks_add_up_to_one_evaluation(committee):
    """threads > 1 on a large enough cell: blocks of centre atoms (with ghost neighbours) on parallel
    threads give the same site energies, forces, stress and shortest pair as one evaluation."""
    from nnsurrogate.atomistic.calculator import MIN_ATOMS_PER_THREAD

    rng = np.random.default_rng(4)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((8, 8, 8))  # 2048 atoms: 2 blocks of 1024
    atoms.set_cell(atoms.cell.array + rng.normal(0, 0.2, (3, 3)), scale_atoms=True)
    atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
    atoms.set_chemical_symbols(rng.choice(["Cu", "Au"], len(atoms)).tolist())
    assert len(atoms) >= 2 * MIN_ATOMS_PER_THREAD
    models = [_model(reference=(-3.0, -4.0))]
    if committee:
        other = _model(reference=(-3.0, -4.0))
        with torch.no_grad():
            other.w1.mul_(1.3)
        models.append(other)
    results = []
    for threads in (1, 2):
        copy = atoms.copy()
        copy.calc = PotentialCalculator(models, threads=threads)
        assert copy.calc.parallel_blocks(copy) == threads
        results.append((copy.get_potential_energies(), copy.get_forces(), copy.get_stress(),
                        copy.calc.results["shortest_pair"]))
    for one, blocks in zip(*results):
        np.testing.assert_allclose(blocks, one, rtol=0, atol=1e-10)
    assert torch.get_num_threads() == 1  # the setting is left as it was


def test_block_evaluation_leaves_blas_one_thread(monkeypatch):
    """Parallel centre blocks claim the cores: BLAS is limited to one thread from then on (its threads
    spin after every small call, such as ASE's kinetic energy, and slowed MD on two threads 1.6×)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from nnsurrogate.core import threads as thread_control

    monkeypatch.setattr(thread_control, "_BLAS_LIMIT", None)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((8, 8, 8))
    atoms.calc = PotentialCalculator([_model(reference=(-3.0, -4.0))], threads=2)
    with threadpool_limits(2, user_api="blas"):
        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        if not blas or all(p["num_threads"] == 1 for p in blas):
            pytest.skip("this NumPy's BLAS has a single thread")
        atoms.get_forces()
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
