"""Behler–Parrinello symmetry functions: values against DScribe's ACSF, derivatives by finite
differences, the cutoff function, invariances, and the automatic / file-given parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk, molecule

from nnsurrogate.atomistic.bp import (SymmetryFunctions, auto_parameters, choose_parameters, cutoff_function,
                                      read_parameter_file, symmetry_functions)
from nnsurrogate.atomistic.neighbors import atoms_pairs
from nnsurrogate.core.errors import UserInputError

SF = SymmetryFunctions(cutoff=4.5, radial=((0.5, 1.0), (1.2, 2.5), (0.3, 0.0)),
                       angular=((0.05, 1.0, 1.0), (0.2, 4.0, -1.0), (0.0, 2.0, 1.0)))


def _descriptors(atoms: Atoms, species: tuple[str, ...], sf: SymmetryFunctions = SF) -> dict:
    types = np.array([species.index(s) for s in atoms.get_chemical_symbols()])
    return symmetry_functions(sf, types, len(species), atoms_pairs(atoms, sf.cutoff))


def _ethanol() -> Atoms:
    return molecule("CH3CH2OH")


def _silicon() -> Atoms:
    atoms = bulk("Si", "diamond", a=5.43).repeat((2, 1, 1))
    atoms.rattle(0.1, seed=1)
    return atoms


def _cuau() -> Atoms:
    rng = np.random.default_rng(2)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True)
    atoms.set_cell(atoms.cell.array + rng.normal(0, 0.1, (3, 3)), scale_atoms=True)
    atoms.set_chemical_symbols(["Cu", "Au", "Cu", "Au"])
    atoms.rattle(0.1, seed=2)
    return atoms


@pytest.mark.parametrize("kind", ["g4", "g5"])
@pytest.mark.parametrize("case", ["ethanol", "silicon", "cuau"])
def test_values_match_dscribe_acsf(kind, case):
    """Same functions, same parameters: DScribe's ACSF (an independent C++ implementation) agrees to 1e-12."""
    acsf_module = pytest.importorskip("dscribe.descriptors")
    atoms, species, periodic = {"ethanol": (_ethanol(), ("H", "C", "O"), False),
                                "silicon": (_silicon(), ("Si",), True),
                                "cuau": (_cuau(), ("Cu", "Au"), True)}[case]
    sf = SymmetryFunctions(SF.cutoff, SF.radial, SF.angular, kind)
    mine = _descriptors(atoms, species, sf)["G"].numpy()
    kwargs = {"g2_params": [list(p) for p in sf.radial], f"{kind}_params": [list(p) for p in sf.angular]}
    ref = acsf_module.ACSF(r_cut=sf.cutoff, species=list(species), periodic=periodic, **kwargs).create(atoms)
    # DScribe: per element [G1, G2 …], then per element pair the angular block; we have no G1
    r, t = sf.n_radial, len(species)
    radial = np.concatenate([ref[:, s * (r + 1) + 1:(s + 1) * (r + 1)] for s in range(t)], axis=1)
    expected = np.concatenate([radial, ref[:, t * (r + 1):]], axis=1)
    assert mine.shape == expected.shape
    np.testing.assert_allclose(mine, expected, rtol=1e-10, atol=1e-12)


def test_g2_of_an_isolated_pair_by_hand():
    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 1.7]], cell=[20, 20, 20])
    out = _descriptors(atoms, ("H",))["G"].numpy()
    fc = 0.5 * (np.cos(np.pi * 1.7 / SF.cutoff) + 1)
    expected = [np.exp(-eta * (1.7 - rs) ** 2) * fc for eta, rs in SF.radial]
    np.testing.assert_allclose(out[0, :3], expected, rtol=1e-14)
    np.testing.assert_allclose(out[:, 3:], 0.0)  # no angular term without a third atom


def _gradient(desc: dict, n_atoms: int) -> np.ndarray:
    """∂G_i,d/∂r_k (A, D, A, 3) assembled from the per-slot derivatives ∂G_i/∂r_ij (r_ij = r_j − r_i)."""
    dG, j = desc["dG"].numpy(), desc["r_j"].numpy()
    out = np.zeros((n_atoms, dG.shape[2], n_atoms, 3))
    for i in range(n_atoms):
        for m in range(j.shape[1]):
            if j[i, m] >= 0:
                out[i, :, j[i, m]] += dG[i, m]
                out[i, :, i] -= dG[i, m]
    return out


@pytest.mark.parametrize("kind", ["g4", "g5"])
def test_derivatives_match_finite_differences(kind):
    sf = SymmetryFunctions(4.0, ((0.8, 1.2), (2.0, 2.6)), ((0.1, 1.0, 1.0), (0.3, 4.0, -1.0), (0.0, 2.5, 1.0)),
                           kind, angular_cutoff=3.3)
    atoms = _cuau()
    species = ("Cu", "Au")
    grad = _gradient(_descriptors(atoms, species, sf), len(atoms))
    h = 1e-5
    for k in range(len(atoms)):
        for x in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[k, x] += h
            minus.positions[k, x] -= h
            fd = (_descriptors(plus, species, sf)["G"] - _descriptors(minus, species, sf)["G"]).numpy() / (2 * h)
            np.testing.assert_allclose(grad[:, :, k, x], fd, atol=1e-8, rtol=1e-6)


def test_angular_cutoff_drops_far_triplets():
    """With r_c,ang below every distance, the angular block vanishes; the radial one is untouched."""
    atoms = _silicon()
    full = _descriptors(atoms, ("Si",))
    sf = SymmetryFunctions(SF.cutoff, SF.radial, SF.angular, angular_cutoff=1.0)
    short = _descriptors(atoms, ("Si",), sf)
    np.testing.assert_allclose(short["G"][:, :3], full["G"][:, :3])
    assert float(short["G"][:, 3:].abs().max()) == 0.0
    assert float(full["G"][:, 3:].abs().max()) > 0.0


def test_invariant_under_rotation_translation_and_permutation():
    atoms = _ethanol()
    species = ("H", "C", "O")
    reference = _descriptors(atoms, species)["G"].numpy()
    moved = atoms.copy()
    moved.rotate(37, (1, 2, 3), center="COM")
    moved.translate((0.3, -1.1, 2.0))
    np.testing.assert_allclose(_descriptors(moved, species)["G"].numpy(), reference, atol=1e-12)
    order = [1, 0, 2, 4, 3, 6, 5, 8, 7]  # swaps atoms of the same element only
    assert [atoms[i].symbol for i in order] == atoms.get_chemical_symbols()
    np.testing.assert_allclose(_descriptors(atoms[order], species)["G"].numpy(), reference[order], atol=1e-12)


def test_cutoff_function_values_and_slope():
    r = torch.linspace(0.0, 6.0, 601, dtype=torch.float64)
    fc, dfc = cutoff_function(r, 5.0)
    assert float(fc[0]) == 1.0 and float(fc[500]) == pytest.approx(0.0, abs=1e-15)
    assert float(fc[501:].abs().max()) == 0.0 and float(dfc[501:].abs().max()) == 0.0
    fd = (fc[2:] - fc[:-2]) / (r[2] - r[0])
    np.testing.assert_allclose(dfc[1:-1][:498].numpy(), fd[:498].numpy(), atol=1e-4)
    assert float(dfc[500]) == pytest.approx(0.0, abs=1e-12)  # smooth at r_c: f_c'(r_c) = 0


def test_auto_parameters_span_the_data():
    frames = [bulk("Cu", "fcc", a=3.61, cubic=True)]
    sf = auto_parameters(frames, cutoff=5.0, n_radial=6)
    shortest = 3.61 / np.sqrt(2)
    rs = np.array([r for _, r in sf.radial])
    spacing = np.diff(rs)
    np.testing.assert_allclose(spacing, spacing[0])
    assert rs[0] == pytest.approx(shortest - 0.2) and rs[-1] + spacing[0] == pytest.approx(5.0)
    assert all(eta == pytest.approx(1 / (2 * spacing[0] ** 2)) for eta, _ in sf.radial)
    assert {lam for _, _, lam in sf.angular} == {1.0, -1.0} and len(sf.angular) == 8


def test_override_file_json_and_yaml(tmp_path):
    frames = [bulk("Cu", "fcc", a=3.61, cubic=True)]
    (tmp_path / "sf.json").write_text(json.dumps({"cutoff": 4.0, "angular_kind": "g5",
                                                  "angular": [{"eta": 0.1, "zeta": 2, "lambda": -1}]}))
    sf = choose_parameters(frames, overrides=read_parameter_file(tmp_path / "sf.json"))
    assert sf.cutoff == 4.0 and sf.angular_kind == "g5" and sf.angular == ((0.1, 2.0, -1.0),)
    assert sf.n_radial == 8 and max(r for _, r in sf.radial) < 4.0  # the radial grid is still automatic
    pytest.importorskip("yaml")
    (tmp_path / "sf.yaml").write_text("radial:\n  - [0.5, 1.0]\n  - [0.5, 2.0]\nn_radial: 3\n")
    sf = choose_parameters(frames, overrides=read_parameter_file(tmp_path / "sf.yaml"))
    assert sf.radial == ((0.5, 1.0), (0.5, 2.0)) and sf.n_angular == 8


@pytest.mark.parametrize("text, message", [
    ('{"radial": [[1.0]]}', "expected 2 numbers"),
    ('{"angular": [[0.1, 0.5, 1]]}', "ζ ≥ 1"),
    ('{"cutoff": 5, "wrong": 1}', "unknown key"),
    ('[1, 2]', "mapping"),
    ('{"radial": ', "cannot parse"),
])
def test_bad_override_file_is_one_line_error(tmp_path, text, message):
    path = tmp_path / "sf.json"
    path.write_text(text)
    frames = [bulk("Cu", "fcc", a=3.61, cubic=True)]
    with pytest.raises(UserInputError, match=message):
        choose_parameters(frames, overrides=read_parameter_file(path))
