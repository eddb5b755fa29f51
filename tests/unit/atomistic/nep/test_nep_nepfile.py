"""nep.txt: GPUMD's layout, byte-stable import → export, one-line errors for foreign files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from nnsurrogate.atomistic.nep import NEPModel, read_nep, write_nep
from nnsurrogate.atomistic.nep.nepfile import round_to_file_precision
from nnsurrogate.core.errors import UserInputError


def test_header_is_gpumd_layout(tmp_path, make_model):
    model = make_model(("Cu", "Au"), l_max=(4, 2, 0), cutoff=(5.0, 4.0))
    path = tmp_path / "nep.txt"
    write_nep(model, path)
    lines = path.read_text().splitlines()
    assert lines[:6] == ["nep4 2 Cu Au ", "cutoff 5 4 100 100", "n_max 4 4", "basis_size 8 8", "l_max 4 2 0", "ANN 8 0"]
    spec = model.spec
    n_numbers = spec.n_types * (spec.n_descriptors + 2) * spec.neurons + 1 + 2 * 5 * 9 * 4 + spec.n_descriptors
    assert len(lines) == 6 + n_numbers
    assert all(len(line) == 15 and "e" in line for line in lines[6:])  # "%15.7e"


def test_import_export_is_byte_stable(tmp_path, make_model):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    write_nep(make_model(("O", "H", "C"), seed=4, l_max=(3, 2, 1), cutoff=(4.5, 3.25)), first)
    write_nep(read_nep(first), second)
    assert first.read_bytes() == second.read_bytes()


def test_round_trip_keeps_the_potential(tmp_path, make_model, make_structure):
    model = make_model(("Cu", "Au"), seed=5)
    round_to_file_precision(model)
    path = tmp_path / "nep.txt"
    write_nep(model, path)
    loaded = read_nep(path)
    for name, tensor in model.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), loaded.state_dict()[name].numpy(), err_msg=name)


def test_shared_reference_energy_folds_into_bias(tmp_path, make_model):
    model = make_model(("Cu",), seed=6)
    shifted = NEPModel(model.spec, reference_energies=[-3.25])
    shifted.load_state_dict(model.state_dict())
    write_nep(shifted, tmp_path / "nep.txt")
    loaded = read_nep(tmp_path / "nep.txt")
    assert float(loaded.b1.detach()) == pytest.approx(float(model.b1.detach()) + 3.25, abs=1e-6)  # U = … − b1


def test_unequal_reference_energies_ride_in_a_constant_neuron(tmp_path, make_model, make_structure):
    """nep.txt has one shared bias: per-element reference energies go into one extra neuron per element
    whose output is exactly 1, so the file's total energies (here through CPUNEP, GPUMD's own code) are
    the model's, forces unchanged."""
    from calorine.calculators import CPUNEP

    from nnsurrogate.atomistic.nep.features import collate
    from nnsurrogate.atomistic.nep.model import featurize

    model = make_model(("Cu", "Au"), seed=6)
    model.reference_energies = (-3.5, -3.8)
    path = tmp_path / "nep.txt"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_nep(model, path)
    assert path.read_text().splitlines()[5] == f"ANN {model.spec.neurons + 1} 0"
    for seed in (0, 1):
        atoms = make_structure(("Cu", "Au"), seed=seed)
        out = model(collate(featurize(model, [atoms], dtype=torch.float64)))
        ours = float(out["energy"][0].detach()) + sum(model.reference_energies[t] for t in
                                             [model.species.index(s) for s in atoms.get_chemical_symbols()])
        atoms.calc = CPUNEP(str(path))
        assert abs(atoms.get_potential_energy() - ours) / len(atoms) < 1e-6
        np.testing.assert_allclose(atoms.get_forces(), out["forces"].detach().numpy(), atol=1e-5)
    write_nep(read_nep(path), tmp_path / "again.txt")  # the file re-exports as it is
    assert (tmp_path / "again.txt").read_bytes() == path.read_bytes()


@pytest.mark.parametrize("mutate, message", [
    (lambda lines: ["nep4_charge4 1 Cu "] + lines[1:], r"found 'nep4_charge4': not a NEP model"),
    (lambda lines: ["nep4_charge1 1 Cu "] + lines[1:], "expected"),  # its charge weights are missing
    (lambda lines: ["nep5 1 Cu "] + lines[1:], "found 'nep5': NEP5"),
    (lambda lines: ["nep9 1 Cu "] + lines[1:], "found 'nep9': not a NEP model"),
    (lambda lines: ["nep4_zbl 1 Cu "] + lines[1:], "line 2 should be 'zbl'"),
    (lambda lines: ["nep4_zbl 1 Cu ", "zbl 2 1"] + lines[1:], "ZBL cutoffs must satisfy"),
    (lambda lines: ["nep4_zbl 1 Cu ", "zbl 0 0"] + lines[1:], "expected"),  # its pair parameters are missing
    (lambda lines: ["nep4_dipole 1 Cu "] + lines[1:-1], "expected"),
    (lambda lines: lines[:1] + ["cutoff 5 4 3 100 100"] + lines[2:], "cutoff line should have 2, 4 or 4 values"),
    (lambda lines: lines[:4] + ["l_max 4 1 0 2"] + lines[5:], r"the l_max flags \(4, 1, 0, 2\) do not match"),
    (lambda lines: lines[:4] + ["l_max 2 0 0 0 1"] + lines[5:], r"the \(1, 2, 3\) descriptor needs l_max ≥ 3"),
    (lambda lines: lines[:4] + ["l_max 4 1 0 1"] + lines[5:], "expected"),  # q112 on: more numbers
    (lambda lines: lines[:-1], "expected"),
    (lambda lines: lines[:3] + ["basis_size 8"] + lines[4:], "basis_size"),
    (lambda lines: lines[:10] + ["abc"] + lines[11:], "line 11 is not a number: 'abc'"),
    (lambda lines: lines[:12] + ["nan"] + lines[13:], "line 13 is not a finite number: 'nan'"),
    (lambda lines: lines[:-1] + ["1e999"], r"line \d+ is not a finite number: .1e999."),
    (lambda lines: lines[:4] + ["l_max 6 2 0"] + lines[5:], "l_max"),
])
def test_foreign_or_broken_files_fail_in_one_line(tmp_path, make_model, mutate, message):
    path = tmp_path / "nep.txt"
    write_nep(make_model(("Cu",)), path)
    path.write_text("\n".join(mutate(path.read_text().splitlines())) + "\n")
    with pytest.raises(UserInputError, match=message) as info:
        read_nep(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
