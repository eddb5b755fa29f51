"""Reading labelled frames: every bad input is a one-line error naming the file and frame."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from nnsurrogate.atomistic.data import frame_labels, read_frames
from nnsurrogate.atomistic.references import reference_energies
from nnsurrogate.core.errors import UserInputError


def _frame(seed=0, forces=True, stress=True, symbols="Cu"):
    atoms = bulk(symbols, "fcc", a=3.61, cubic=True)
    atoms.positions += np.random.default_rng(seed).normal(0, 0.05, atoms.positions.shape)
    labels = {"energy": -3.5 * len(atoms) + seed}
    if forces:
        labels["forces"] = np.random.default_rng(seed).normal(size=(len(atoms), 3))
    if stress:
        labels["stress"] = np.arange(6) * 1e-3
    atoms.calc = SinglePointCalculator(atoms, **labels)
    return atoms


def _write(tmp_path, frames, name="data.xyz"):
    path = tmp_path / name
    write(path, frames, format="extxyz")
    return path


def test_reads_labels(tmp_path):
    frames = read_frames(_write(tmp_path, [_frame(0), _frame(1)]))
    assert len(frames) == 2
    labels = frame_labels(frames[1])
    assert labels["energy"] == pytest.approx(-3.5 * 4 + 1)
    # virial W = −V σ (3×3) from the Voigt stress
    voigt = np.arange(6) * 1e-3
    assert labels["virial"][1, 2] == pytest.approx(-frames[1].get_volume() * voigt[3])
    assert labels["virial"][0, 0] == pytest.approx(0.0)


def test_gpumd_virial_becomes_stress(tmp_path):
    path = tmp_path / "gpumd.xyz"
    atoms = _frame(0, stress=False)
    write(path, atoms, format="extxyz")
    text = path.read_text().splitlines()
    text[1] += ' virial="1 0 0 0 2 0 0 0 3"'
    path.write_text("\n".join(text) + "\n")
    frame = read_frames(path)[0]
    np.testing.assert_allclose(frame.get_stress(voigt=False), -np.diag([1, 2, 3]) / frame.get_volume())


def test_frame_without_forces_is_named(tmp_path):
    path = _write(tmp_path, [_frame(0), _frame(1, forces=False)])
    with pytest.raises(UserInputError, match=r"frame has no forces \(.*data.xyz, frame 1\)"):
        read_frames(path)


def test_nan_is_named(tmp_path):
    bad = _frame(2)
    bad.calc.results["forces"][1, 2] = np.nan
    with pytest.raises(UserInputError, match=r"forces contains NaN or infinity \(.*frame 2\)"):
        read_frames(_write(tmp_path, [_frame(0), _frame(1), bad]))


def test_atoms_at_one_place_are_named(tmp_path):
    bad = _frame(1)
    bad.positions[3] = bad.positions[1] + [0.0, 0.0, 0.004]
    with pytest.raises(UserInputError, match=r"atoms 1 and 3 are 0.00 Å apart \(.*data.xyz, frame 1\)"):
        read_frames(_write(tmp_path, [_frame(0), bad]))


def test_a_split_keeps_every_element_on_the_training_side():
    from nnsurrogate.atomistic.workflow import _split
    from nnsurrogate.core.errors import DataWarning

    frames = [_frame(k) for k in range(9)] + [_frame(9, symbols="Au")]
    seed = next(s for s in range(100) if 9 in set(np.random.default_rng(s).permutation(10)[:3].tolist()))
    with pytest.warns(DataWarning, match=r"1 frame\(s\) moved .* \(frames 9\)"):
        train, valid = _split(frames, 0.3, seed)
    assert len(train) == 8 and len(valid) == 2 and "Au" in {s for f in train for s in f.get_chemical_symbols()}


def test_element_not_in_model(tmp_path):
    with pytest.raises(UserInputError, match=r"element Au is not in the model \(Cu\) \(.*frame 1\)"):
        read_frames(_write(tmp_path, [_frame(0), _frame(1, symbols="Au")]), species=["Cu"])


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(UserInputError, match="no such file"):
        read_frames(tmp_path / "nope.xyz")
    garbage = tmp_path / "garbage.xyz"
    garbage.write_text("3\nnot an xyz\nCu 0 0\n")
    with pytest.raises(UserInputError, match="cannot read structures"):
        read_frames(garbage)


def test_non_periodic_frame_gets_a_vacuum_box_wider_than_the_cutoff(tmp_path):
    mol = molecule("CH3CH2OH")
    mol.calc = SinglePointCalculator(mol, energy=-10.0, forces=np.zeros((len(mol), 3)))
    frame = read_frames(_write(tmp_path, [mol]), cutoff=5.0)[0]
    extent = np.ptp(frame.positions, axis=0)
    assert not frame.pbc.any()
    assert np.all(frame.cell.lengths() >= extent + 5.0)
    np.testing.assert_allclose(frame.get_all_distances(), mol.get_all_distances(), atol=1e-12)


def test_periodic_frame_needs_a_cell(tmp_path):
    atoms = Atoms("Cu2", positions=[[0, 0, 0], [2, 0, 0]], pbc=True)
    atoms.calc = SinglePointCalculator(atoms, energy=-1.0, forces=np.zeros((2, 3)))
    with pytest.raises(UserInputError, match="without a full 3-D cell"):
        read_frames(_write(tmp_path, [atoms]))


def test_reference_energies(tmp_path):
    frames = read_frames(_write(tmp_path, [_frame(0), _frame(1)]))
    assert reference_energies(frames, ["Cu"], "mean") == pytest.approx((-3.5 + 0.5 / 4,))
    assert reference_energies(frames, ["Cu"], "fit") == pytest.approx((-3.5 + 0.5 / 4,))
    iso = Atoms("Cu")
    iso.calc = SinglePointCalculator(iso, energy=-0.25)
    assert reference_energies(frames, ["Cu"], _write(tmp_path, [iso], "iso.xyz")) == (-0.25,)
    with pytest.raises(UserInputError, match="no isolated-atom energy for Au"):
        reference_energies(frames, ["Cu", "Au"], tmp_path / "iso.xyz")
