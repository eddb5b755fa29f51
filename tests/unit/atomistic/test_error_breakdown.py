"""Errors per element and per config_type: known offsets give known errors, and the plots are written."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from nnsurrogate.atomistic.error_breakdown import (CONFIG_TYPE_PLOT, ELEMENT_PLOT, as_predictions,
                                                   breakdown_metrics, write_breakdown)
from nnsurrogate.atomistic.evaluation import Predictions, error_metrics

#: Force error added to every component of an atom of the element, eV/Å.
OFFSET = {"H": 0.010, "Cu": -0.030}


def _frames(config_types):
    rng = np.random.default_rng(0)
    frames = []
    for k, kind in enumerate(config_types):
        atoms = Atoms("CuH3" if k % 2 else "Cu3H", positions=rng.uniform(0, 3, (4, 3)), cell=[4, 4, 4], pbc=True)
        atoms.calc = SinglePointCalculator(atoms, energy=-3.0 * k, forces=rng.normal(0, 1, (4, 3)),
                                           stress=rng.normal(0, 0.01, 6))
        if kind:
            atoms.info["config_type"] = kind
        frames.append(atoms)
    return frames


def _offset_predictions(frames, energy_error_per_atom=0.002):
    forces = [a.get_forces() + np.array([[OFFSET[s]] * 3 for s in a.get_chemical_symbols()]) for a in frames]
    energy = np.array([a.get_potential_energy() + energy_error_per_atom * len(a) for a in frames])
    return Predictions(energy, forces, np.zeros((len(frames), 3, 3)))


def test_per_element_errors_are_the_offsets_and_add_up_to_the_total():
    frames = _frames(["bulk", "surface", "bulk", "surface", "bulk"])
    pred = _offset_predictions(frames)
    metrics = breakdown_metrics(pred, frames)
    assert list(metrics["force_rmse_meV_A_per_element"]) == ["H", "Cu"]  # by atomic number
    for element, offset in OFFSET.items():
        assert metrics["force_rmse_meV_A_per_element"][element] == pytest.approx(1000 * abs(offset))
        assert metrics["force_mae_meV_A_per_element"][element] == pytest.approx(1000 * abs(offset))
    count = metrics["n_atoms_per_element"]
    total = error_metrics(pred, frames)
    assert sum(count.values()) == total["n_atoms"] == 20
    mean_square = sum(count[e] * metrics["force_rmse_meV_A_per_element"][e] ** 2 for e in count) / total["n_atoms"]
    assert mean_square == pytest.approx(total["force_rmse_meV_A"] ** 2)
    parts = metrics["by_config_type"]
    assert {k: v["n_frames"] for k, v in parts.items()} == {"bulk": 3, "surface": 2}
    assert parts["bulk"]["energy_mae_meV_atom"] == pytest.approx(2.0)  # 2 meV/atom on every frame


def test_plots_are_written_also_without_config_types(tmp_path):
    frames = _frames(["", "", ""])
    metrics = write_breakdown(tmp_path, _offset_predictions(frames), frames, title="valid set")
    assert "by_config_type" not in metrics  # one "all frames" bar instead
    for name in (ELEMENT_PLOT, CONFIG_TYPE_PLOT):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_committee_predictions_convert_with_the_virial_from_the_stress():
    from nnsurrogate.atomistic.audit_checks import Predictions as CalculatorPredictions
    from nnsurrogate.atomistic.data import frame_labels

    frames = _frames(["a", "b"])
    pred = CalculatorPredictions(np.array([4, 4]), np.zeros(2), np.array([a.get_potential_energy() for a in frames]),
                                 [a.get_forces() for a in frames], [a.get_forces() for a in frames], None,
                                 [a.get_stress() for a in frames], [a.get_stress() for a in frames])
    converted = as_predictions(pred, frames)
    np.testing.assert_allclose(converted.virial[1], frame_labels(frames[1])["virial"])  # W = −V σ
    assert error_metrics(converted, frames)["virial_rmse_meV_atom"] == pytest.approx(0.0, abs=1e-9)
