"""vesin neighbour lists against ASE's own (periodic, triclinic, tiny cells, molecules)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.neighborlist import neighbor_list

from nnsurrogate.atomistic.neighbors import atoms_pairs, max_neighbors


def _as_set(i, j, shifts):
    return set(zip(i.tolist(), j.tolist(), map(tuple, np.asarray(shifts).tolist())))


@pytest.mark.parametrize("atoms", [
    bulk("Cu", "fcc", a=3.61),  # one atom: 42 neighbours, all periodic images
    bulk("Si", "diamond", a=5.43).repeat((1, 2, 1)),
    bulk("Ti", "hcp", a=2.95, c=4.68),
])
def test_pairs_match_ase(atoms):
    atoms = atoms.copy()
    rng = np.random.default_rng(0)
    atoms.set_cell(atoms.cell.array + rng.normal(0, 0.1, (3, 3)), scale_atoms=True)  # triclinic
    atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
    pairs = atoms_pairs(atoms, 5.0)
    i, j, S, D = neighbor_list("ijSD", atoms, 5.0)
    assert _as_set(pairs.i, pairs.j, pairs.shifts) == _as_set(i, j, S)
    expected = atoms.positions[pairs.j] - atoms.positions[pairs.i] + pairs.shifts @ atoms.cell.array
    np.testing.assert_allclose(pairs.vectors, expected, atol=1e-10)
    assert np.all(np.diff(pairs.i) >= 0)  # sorted by centre atom


def test_fcc_shells_and_counts():
    pairs = atoms_pairs(bulk("Cu", "fcc", a=3.61), 5.0)
    shells = np.unique(np.round(pairs.distances, 4))
    np.testing.assert_allclose(shells, [3.61 / np.sqrt(2), 3.61, 3.61 * np.sqrt(1.5)], atol=1e-4)
    assert max_neighbors(pairs, 1) == 12 + 6 + 24


def test_molecule_without_cell():
    atoms = molecule("CH3CH2OH")
    pairs = atoms_pairs(atoms, 10.0)
    n = len(atoms)
    assert len(pairs.i) == n * (n - 1)  # every other atom, no images
    assert not pairs.shifts.any()
