"""Starting configurations: structures from names and files, rattled/strained copies, MD snapshots."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.emt import EMT
from ase.io import write

from nnsurrogate.atomistic.sampling import (SampleOptions, build_structure, md_snapshots, rattle_strain,
                                            read_structures, sample, supercell)
from nnsurrogate.core.errors import UserInputError


def test_structures_from_names_and_files(tmp_path):
    (cu,) = build_structure("Cu")
    assert cu.get_chemical_formula() == "Cu" and cu.pbc.all()
    (si,) = build_structure("Si:diamond:5.43", cubic=True)
    assert len(si) == 8 and si.cell.lengths() == pytest.approx([5.43] * 3)
    (water,) = build_structure("molecule:H2O")
    assert water.get_chemical_formula() == "H2O" and not water.pbc.any()
    write(tmp_path / "two.xyz", [cu, si], format="extxyz")
    assert [len(a) for a in build_structure(str(tmp_path / "two.xyz"))] == [1, 8]


@pytest.mark.parametrize(("spec", "message"), [("Xx", "not a file"), ("molecule:XYZ123", "no molecule")])
def test_unknown_structures_are_user_errors(spec, message):
    with pytest.raises(UserInputError, match=message):
        build_structure(spec)


def test_reading_bad_files(tmp_path):
    with pytest.raises(UserInputError, match="file not found"):
        read_structures(tmp_path / "missing.xyz")
    (tmp_path / "junk.xyz").write_text("3\nnot a comment line\nCu 0 0\n")
    with pytest.raises(UserInputError, match="cannot read structures"):
        read_structures(tmp_path / "junk.xyz")
    (tmp_path / "nan.xyz").write_text("1\nProperties=species:S:1:pos:R:3\nCu nan 0 0\n")
    with pytest.raises(UserInputError, match="NaN"):
        read_structures(tmp_path / "nan.xyz")


def test_supercell():
    cell = supercell(bulk("Cu", cubic=True), (2, 3, 1))
    assert len(cell) == 24 and cell.cell.lengths() == pytest.approx([7.22, 10.83, 3.61])
    assert len(supercell(bulk("Cu", cubic=True), (2,))) == 32
    with pytest.raises(UserInputError, match="non-periodic"):
        supercell(molecule("H2O"), (2, 2, 2))
    with pytest.raises(UserInputError, match="three positive integers"):
        supercell(bulk("Cu"), (2, 2))


def test_rattle_and_strain_have_the_requested_size():
    base = bulk("Cu", cubic=True).repeat((2, 2, 2))
    frames = rattle_strain(base, 20, rattle=0.04, max_strain=0.03, rng=np.random.default_rng(0))
    displacements = []
    for frame in frames:
        strain = np.linalg.solve(base.cell[:], frame.cell[:]) - np.eye(3)  # h' = h (1 + ε)
        np.testing.assert_allclose(strain, strain.T, atol=1e-12)
        assert np.abs(strain).max() <= 0.03 + 1e-12
        affine = base.get_scaled_positions(wrap=False) @ frame.cell[:]
        displacements.append(frame.positions - affine)
        assert frame.info["config_type"] == "rattle_strain"
    d = np.concatenate(displacements)
    assert d.std() == pytest.approx(0.04, rel=0.08) and abs(d.mean()) < 0.005
    (only,) = rattle_strain(molecule("H2O"), 1, rattle=0.04, max_strain=0.03, rng=np.random.default_rng(1))
    assert only.info["config_type"] == "rattle" and not only.cell.any()


def test_md_snapshots_keep_every_nth_step():
    atoms = bulk("Cu", cubic=True)
    frames = md_snapshots(atoms, EMT(), temperature=500.0, steps=40, every=10, timestep=1.0, seed=0)
    assert len(frames) == 4 and {f.info["config_type"] for f in frames} == {"md_500K"}
    moved = [np.abs(f.positions - atoms.positions).max() for f in frames]
    assert all(m > 1e-3 for m in moved)
    reference = frames[-1].copy()
    reference.calc = EMT()
    assert frames[-1].get_potential_energy() == pytest.approx(reference.get_potential_energy(), abs=1e-10)


def test_sample_combines_rattle_and_md_and_returns_unlabelled_frames():
    options = SampleOptions(n_rattle=3, temperatures=(300.0, 900.0), md_steps=20, md_every=10, seed=4)
    frames = sample([bulk("Cu", cubic=True)], options, EMT())
    kinds = [f.info["config_type"] for f in frames]
    assert kinds == ["rattle_strain"] * 3 + ["md_300K"] * 2 + ["md_900K"] * 2
    assert all(f.calc is None and "momenta" not in f.arrays for f in frames)
    assert len(sample([bulk("Cu", cubic=True)], options, None)) == 3
    with pytest.raises(UserInputError, match=r"\(rattle, max_strain\)"):
        sample([bulk("Cu")], SampleOptions(rattle=-1.0))
