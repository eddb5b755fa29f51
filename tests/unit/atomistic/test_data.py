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


def test_full_3x3_stress_gives_the_same_virial_as_voigt():
    """Calculators that return the stress as (3, 3) (CHGNet's) give the virial the Voigt form gives."""
    from ase.stress import voigt_6_to_full_3x3_stress

    voigt, full = _frame(0), _frame(0)
    full.calc.results["stress"] = voigt_6_to_full_3x3_stress(voigt.calc.results["stress"])
    np.testing.assert_array_equal(frame_labels(full)["virial"], frame_labels(voigt)["virial"])
    assert frame_labels(full)["virial"][1, 2] == pytest.approx(-full.get_volume() * 3e-3)


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


def _labelled(symbols: str, energy: float) -> Atoms:
    atoms = Atoms(symbols, positions=np.arange(3 * len(Atoms(symbols))).reshape(-1, 3) * 1.5)
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=np.zeros((len(atoms), 3)))
    return atoms


def test_fitted_references_recover_per_element_energies_and_share_the_mean_for_one_composition():
    e = {"W": -12.9, "H": -3.4, "Cu": -4.1}
    frames = [_labelled(s, sum(e[x] for x in Atoms(s).get_chemical_symbols()) + d)
              for s, d in (("W2H", 0.01), ("WH3", -0.02), ("Cu4", 0.0), ("W3Cu", 0.015), ("H2Cu2", -0.01), ("W", 0))]
    fitted = dict(zip(e, reference_energies(frames, list(e))))  # the default is the fit
    assert all(abs(fitted[x] - e[x]) < 0.02 for x in e)
    mean = reference_energies(frames, list(e), "mean")
    residual = [sum(fitted[x] for x in a.get_chemical_symbols()) - a.get_potential_energy() for a in frames]
    shared = [sum(mean) / 3 * len(a) - a.get_potential_energy() for a in frames]
    assert np.abs(residual).max() < 0.05 < np.abs(shared).max()
    molecule = [_labelled("C2H6O", -1000.0 + d) for d in (0.0, 0.3, -0.1)]  # one composition: the mean for all
    refs = reference_energies(molecule, ["C", "H", "O"])
    assert refs[0] == refs[1] == refs[2] == pytest.approx(-1000.0 / 9 + 0.2 / 27)


SPELLINGS = """2
Lattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3:force:R:3 Energy=-7.5 Virial="0.8 0 0 0 0.8 0 0 0 0.8" Weight=2.0 Config_type=bulk pbc="T T T"
Cu 0 0 0 0.1 0 0
Cu 2 2 2 -0.1 0 0
2
Lattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3:REF_forces:R:3 REF_energy=-7.4 REF_stress="0.01 0 0 0 0.02 0 0 0 0.03" config_type=surface pbc="T T T"
Cu 0 0 0 0.2 0 0
Cu 2 2 2.1 -0.2 0 0
2
Lattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3:dft_f:R:3 dft_e=-7.3 pbc="T T T"
Cu 0 0 0 0.3 0 0
Cu 2 2 2.2 -0.3 0 0
"""


def test_gpumd_and_mace_spellings_read_without_conversion(tmp_path):
    path = tmp_path / "mixed.xyz"
    path.write_text(SPELLINGS)
    gpumd, mace = read_frames(path, index="0:2")
    assert gpumd.get_potential_energy() == -7.5 and gpumd.get_forces()[0, 0] == 0.1
    np.testing.assert_allclose(gpumd.get_stress()[:3], -0.8 / 64)  # σ = −W/V
    assert gpumd.info == {"config_type": "bulk", "weight": 2.0}
    assert mace.get_potential_energy() == -7.4 and mace.get_forces()[0, 0] == 0.2
    np.testing.assert_allclose(mace.get_stress()[:3], [0.01, 0.02, 0.03])
    assert mace.info == {"config_type": "surface"}
    with pytest.raises(UserInputError, match=r"frame has no energy \(.*frame 2\)"):
        read_frames(path)
    custom = read_frames(path, index="2:", label_keys={"energy": "dft_e", "forces_key": "dft_f"})[0]
    assert custom.get_potential_energy() == -7.3 and custom.get_forces()[0, 0] == 0.3
    with pytest.raises(UserInputError, match="no label 'charge'"):
        read_frames(path, label_keys={"charge": "q"})


def test_a_bad_frame_weight_is_named(tmp_path):
    path = tmp_path / "w.xyz"
    path.write_text(SPELLINGS.replace("Weight=2.0", "Weight=-1"))
    with pytest.raises(UserInputError, match=r"weight must be a finite number ≥ 0, got -1.0 \(.*frame 0\)"):
        read_frames(path, index="0:1")


def test_gpumd_training_example_reads_as_it_is():
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "atoms" / "gpumd" / "pbte" / "train.xyz"
    if not path.is_file():
        pytest.skip("shared GPUMD data not present")
    frames = read_frames(path)
    assert len(frames) == 25 and all(len(f) == 250 for f in frames)
    assert frames[0].get_forces()[0, 0] == pytest.approx(0.07834588) and frames[0].info["config_type"] == "nep2xyz"
