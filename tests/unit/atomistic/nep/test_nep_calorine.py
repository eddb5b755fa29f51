"""Interop with GPUMD's NEP_CPU (through calorine): same descriptors, energies, forces, stresses."""

from __future__ import annotations

import numpy as np
import pytest

from nnsurrogate.atomistic.nep import read_nep, write_nep
from nnsurrogate.atomistic.nep.features import collate
from nnsurrogate.atomistic.nep.model import featurize

calorine = pytest.importorskip("calorine")

CASES = [  # species, hyperparameters: 4- and 5-body terms, unequal cutoffs and basis sizes
    (("Cu", "Au"), {"l_max": (4, 2, 0)}),
    (("Si", "C", "O"), {"l_max": (4, 2, 1), "cutoff": (5.5, 3.7), "n_max": (5, 3), "basis_size": (6, 7)}),
    (("Mo",), {"l_max": (3, 0, 0), "cutoff": (4.6, 4.6), "n_max": (3, 2), "basis_size": (5, 4)}),
    # GPUMD's extended l_max line: every higher-body descriptor (q112, q123, q233, q134), or three of them
    (("Cu", "Au"), {"l_max": (4, 2, 1), "l_max_flags": (4, 1, 1, 1, 1, 1, 1)}),
    (("Si", "O"), {"l_max": (3, 0, 0), "l_max_flags": (3, 0, 0, 1, 1, 1)}),
    # type-wise cutoffs: a pair uses the mean of its two elements' radial / angular cutoffs
    (("Cu", "Au", "Mo"), {"type_cutoffs": ((5.0, 4.0), (4.2, 3.3), (4.6, 4.6)), "l_max": (4, 2, 0)}),
]


@pytest.mark.parametrize("species, hyper", CASES)
def test_descriptors_match_calorine(tmp_path, make_model, make_structure, species, hyper):
    from calorine.nep import get_descriptors

    path = tmp_path / "nep.txt"
    write_nep(make_model(species, seed=1, **hyper), path)
    model = read_nep(path)
    for seed in (0, 1):
        atoms = make_structure(species, seed=seed)
        q = model.full_descriptors(collate(featurize(model, [atoms], dtype=model.q_scaler.dtype)))
        scaled = (q * model.q_scaler).detach().numpy()
        np.testing.assert_allclose(scaled, get_descriptors(atoms, str(path)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("species, hyper", CASES)
def test_cpunep_agrees_with_own_float64_evaluation(tmp_path, make_model, make_structure, species, hyper):
    """|ΔE| < 1e-6 eV/atom, |ΔF| < 1e-5 eV/Å, and the stress, against NEP_CPU on the exported file."""
    from calorine.calculators import CPUNEP

    from nnsurrogate.atomistic.calculator import load_calculator

    path = tmp_path / "nep.txt"
    write_nep(make_model(species, seed=2, **hyper), path)
    ours = load_calculator(path)
    for seed in (3, 4):
        atoms = make_structure(species, seed=seed, repeat=(2, 2, 3))
        reference = atoms.copy()
        reference.calc = CPUNEP(str(path))
        atoms.calc = ours
        n = len(atoms)
        assert abs(atoms.get_potential_energy() - reference.get_potential_energy()) / n < 1e-6
        assert np.abs(atoms.get_forces() - reference.get_forces()).max() < 1e-5
        np.testing.assert_allclose(atoms.get_stress(), reference.get_stress(), atol=1e-7)
        np.testing.assert_allclose(atoms.get_potential_energies(), reference.get_potential_energies(), atol=1e-6)
