"""metrics.json numbers: hand-computed errors for known prediction offsets."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from nnsurrogate.atomistic.evaluation import Predictions, error_metrics


def _frame(n_rep, energy, forces, stress):
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((n_rep, 1, 1))
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces, stress=stress)
    return atoms


def test_error_metrics_by_hand():
    f1, f2 = np.zeros((4, 3)), np.ones((8, 3))
    frames = [_frame(1, -10.0, f1, np.zeros(6)), _frame(2, -20.0, f2, np.zeros(6))]
    # energy errors: +0.04 eV on 4 atoms (10 meV/atom), −0.16 eV on 8 atoms (−20 meV/atom)
    # force errors: +0.03 eV/Å on the first frame's 12 components, 0 on the second's 24
    virial = np.zeros((2, 3, 3))
    virial[1, 0, 1] = virial[1, 1, 0] = 0.8  # 0.1 eV/atom in one of six components of frame 2
    pred = Predictions(np.array([-9.96, -20.16]), [f1 + 0.03, f2], virial)
    m = error_metrics(pred, frames)
    assert m["energy_mae_meV_atom"] == pytest.approx(15.0)
    assert m["energy_rmse_meV_atom"] == pytest.approx(np.sqrt((10.0**2 + 20.0**2) / 2))
    assert m["force_mae_meV_A"] == pytest.approx(30.0 * 12 / 36)
    assert m["force_rmse_meV_A"] == pytest.approx(np.sqrt(30.0**2 * 12 / 36))
    assert m["virial_rmse_meV_atom"] == pytest.approx(np.sqrt(100.0**2 / 12))
    assert m["n_frames"] == 2 and m["n_atoms"] == 12 and m["n_frames_with_virial"] == 2
    from nnsurrogate.core.units import unit_from_name

    units = {k: unit_from_name(k) for k in m if k.startswith(("energy", "force", "virial"))}
    assert units == {"energy_mae_meV_atom": "meV/atom", "energy_rmse_meV_atom": "meV/atom",
                     "force_mae_meV_A": "meV/Å", "force_rmse_meV_A": "meV/Å", "virial_rmse_meV_atom": "meV/atom"}


def test_frame_weights_scale_each_frames_errors_and_counts():
    import torch

    from nnsurrogate.atomistic.losses import error_sums

    g = torch.Generator().manual_seed(0)
    n_atoms = torch.tensor([2, 3])
    pred = {"energy": torch.randn(2, generator=g, dtype=torch.float64),
            "forces": torch.randn(5, 3, generator=g, dtype=torch.float64),
            "virial": torch.randn(2, 3, 3, generator=g, dtype=torch.float64)}
    targets = {"energy": torch.zeros(2, dtype=torch.float64), "forces": torch.zeros(5, 3, dtype=torch.float64),
               "virial": torch.zeros(2, 3, 3, dtype=torch.float64), "has_virial": torch.tensor([True, True]),
               "n_atoms": n_atoms}
    plain = error_sums(pred, targets)
    first = error_sums({k: v[:2] if k == "forces" else v[:1] for k, v in pred.items()},
                       {k: (v[:2] if k == "forces" else v[:1]) for k, v in targets.items()})
    weighted = error_sums(pred, {**targets, "weight": torch.tensor([2.0, 0.0], dtype=torch.float64)})
    for a, b in zip(weighted.values(), first.values()):
        assert float(a) == pytest.approx(2.0 * float(b), rel=1e-12)  # frame 2 drops out, frame 1 counts twice
    assert weighted.rmse() == pytest.approx(first.rmse(), rel=1e-12)
    ones = error_sums(pred, {**targets, "weight": torch.ones(2, dtype=torch.float64)})
    assert all(float(a) == pytest.approx(float(b), rel=1e-14) for a, b in zip(ones.values(), plain.values()))
