"""The potential trainer: it learns, keeps the best weights, resumes exactly, and its loss is NEP's."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from nnsurrogate.core.engine.checkpoint import read_checkpoint
from nnsurrogate.atomistic.nep import NEPModel, NEPSpec
from nnsurrogate.atomistic.references import reference_energies
from nnsurrogate.atomistic.training import (ErrorSums, PotentialTrainConfig, error_sums, make_batch, prepare_frames,
                                            surrogate, train_potential)
from nnsurrogate.core.errors import UserInputError



def emt_frames(n, seed=0, symbols=("Cu",)):
    """Rattled, strained 4-atom fcc cells labelled with ASE's EMT."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
        atoms.set_cell(atoms.cell.array @ (np.eye(3) + rng.normal(0, 0.02, (3, 3))), scale_atoms=True)
        atoms.positions += rng.normal(0, 0.12, atoms.positions.shape)
        atoms.set_chemical_symbols(rng.choice(list(symbols), len(atoms)).tolist())
        atoms.calc = EMT()
        labels = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    return frames


def setup(frames, seed=0, dtype=torch.float64):
    spec = NEPSpec(species=("Cu",), neurons=8, n_max=(3, 3), basis_size=(5, 5), l_max=(4, 2, 0), cutoff=(4.5, 3.8))
    model = NEPModel(spec, reference_energies(frames, spec.species))
    model.reset_parameters(torch.Generator().manual_seed(seed))
    data = prepare_frames(model, frames, dtype=dtype)
    batch, _ = make_batch(model, data, range(len(data)), torch.device("cpu"), torch.float64)
    model.initialize(batch, float((data.energy / data.n_atoms).mean()))
    return model, data


@pytest.fixture(scope="module")
def frames():
    return emt_frames(24, seed=0)


def test_surrogate_gradient_equals_gradient_of_the_rmse_loss(frames):
    model, data = setup(frames[:6])
    config = PotentialTrainConfig(lambda_e=1.0, lambda_f=0.7, lambda_v=0.3)
    batch, targets = make_batch(model, data, range(6), torch.device("cpu"), torch.float64)
    pred = model(batch, forces=True, virial=True, create_graph=True)
    sums = error_sums(pred, targets)
    true = sum(lam * torch.sqrt(s / n) for s, n, lam in ((sums.energy_sq, sums.n_energy, 1.0),
                                                       (sums.force_sq, sums.n_force, 0.7),
                                                       (sums.virial_sq, sums.n_virial, 0.3)))
    params = list(model.parameters())
    g_true = torch.autograd.grad(true, params, retain_graph=True)
    g_sur = torch.autograd.grad(surrogate(sums, sums.detach(), config, world=1), params)
    for a, b in zip(g_true, g_sur):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_training_lowers_the_errors_and_keeps_the_best_epoch(frames):
    model, data = setup(frames[:16])
    valid = prepare_frames(model, frames[16:], dtype=torch.float32)
    config = PotentialTrainConfig(epochs=12, batch_size=4, learning_rate=1e-2, min_learning_rate=1e-3)
    result = train_potential(model, data.subset(range(16)), valid, config)
    history = np.array(result.history)
    assert history[-1, 4] < 0.5 * history[0, 4]  # training force RMSE
    best = int(np.argmin(history[:, 9]))
    assert result.best_epoch == best + 1 and result.best_loss == pytest.approx(history[best, 9])
    with torch.no_grad():
        batch, targets = make_batch(model, valid, range(len(valid)), torch.device("cpu"), torch.float32)
    sums = error_sums(model(batch, forces=True, virial=True), targets).detach()
    force_rmse = math.sqrt(float(sums.force_sq / sums.n_force))
    assert force_rmse == pytest.approx(history[best, 7], rel=1e-4)  # the model holds the best weights


class _Killed(Exception):
    pass


def _kill_after(n_epochs):
    def progress(epoch, _max, _info):
        if epoch == n_epochs:
            raise _Killed  # after the epoch's checkpoint, like a kill between epochs
    return progress


def test_resume_after_interruption_gives_the_same_model(frames, tmp_path):
    config = PotentialTrainConfig(epochs=4, batch_size=4, checkpoint=str(tmp_path / "ckpt.pt"), dtype="float64")
    straight, data = setup(frames[:12])
    train_potential(straight, data, None, PotentialTrainConfig(epochs=4, batch_size=4, dtype="float64"))
    interrupted, data = setup(frames[:12])
    with pytest.raises(_Killed):
        train_potential(interrupted, data, None, config, _kill_after(2))
    resumed, data = setup(frames[:12])
    result = train_potential(resumed, data, None, PotentialTrainConfig(**{**config.__dict__, "resume": True}))
    assert result.epochs_run == 4 and len(result.history) == 4
    for name, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=1e-9, atol=1e-12)


def test_checkpoint_from_other_settings_is_refused(frames, tmp_path):
    model, data = setup(frames[:8])
    ckpt = str(tmp_path / "ckpt.pt")
    train_potential(model, data, None, PotentialTrainConfig(epochs=1, checkpoint=ckpt))
    model, data = setup(frames[:8])
    with pytest.raises(UserInputError, match="other data or settings"):
        train_potential(model, data, None, PotentialTrainConfig(epochs=2, batch_size=3, checkpoint=ckpt, resume=True))


def test_lbfgs_option_lowers_the_loss(frames):
    model, data = setup(frames[:8])
    result = train_potential(model, data, None, PotentialTrainConfig(epochs=2, optimizer="lbfgs", dtype="float64"))
    history = np.array(result.history)
    assert history[-1, 9] < history[0, 9]


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizer": "sgd"}, "unknown optimizer .* snes"), ({"population": 1}, "population"), ({"epochs": 0}, "at least 1"),
    ({"schedule": "cosine"}, "schedule"),
    ({"min_learning_rate": 1.0}, "learning rates"),
    ({"time_limit": -1.0}, "positive"), ({"lambda_f": -1.0}, "non-negative"),
])
def test_bad_settings(kwargs, message):
    with pytest.raises(UserInputError, match=message):
        PotentialTrainConfig(**kwargs)


def test_exponential_schedule_decays_geometrically_to_the_floor(frames):
    model, data = setup(frames[:4])
    config = PotentialTrainConfig(epochs=4, batch_size=4, learning_rate=1e-2, min_learning_rate=1e-4,
                                  schedule="exponential")
    result = train_potential(model, data, None, config)
    lrs = [row[2] for row in result.history]
    np.testing.assert_allclose(lrs, [1e-2 * 1e-2 ** (k / 4) for k in range(1, 5)], rtol=1e-12)


@pytest.mark.parametrize("kwargs, setting", [
    ({"optimizer": "sgd"}, "optimizer"), ({"population": 1}, "population"), ({"schedule": "cosine"}, "schedule"),
    ({"min_learning_rate": 1.0}, "learning_rate"), ({"batch_size": 0}, "batch_size"),
    ({"time_limit": 0.0}, "time_limit"), ({"lambda_v": -1.0}, "lambda_v"),
])
def test_bad_settings_name_the_setting_not_a_flag(kwargs, setting):
    with pytest.raises(UserInputError) as info:
        PotentialTrainConfig(**kwargs)
    assert setting in info.value.where and "--" not in info.value.one_line()


def test_error_sums_add_by_name_and_give_nan_rmse_without_data():
    a = ErrorSums.from_tensor(torch.tensor([4.0, 1.0, 9.0, 3.0, 0.0, 0.0, -2.0], dtype=torch.float64))
    total = ErrorSums.zeros() + a + a
    assert float(total.force_sq) == 18.0 and float(total.n_force) == 6.0 and float(total.energy_signed) == -4.0
    energy, force, virial = total.rmse()
    assert energy == pytest.approx(2.0) and force == pytest.approx(math.sqrt(3.0)) and math.isnan(virial)


def test_a_checkpoint_of_another_format_is_a_clean_error_and_replaced_without_resume(frames, tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    torch.save({"signature": "x", "epoch": 3, "history": torch.zeros(3, 10)}, ckpt)  # the format before the engine
    model, data = setup(frames[:4])
    with pytest.raises(UserInputError, match="not a checkpoint of this kind"):
        train_potential(model, data, None, PotentialTrainConfig(epochs=1, checkpoint=str(ckpt), resume=True))
    model, data = setup(frames[:4])
    result = train_potential(model, data, None, PotentialTrainConfig(epochs=1, checkpoint=str(ckpt)))
    assert result.epochs_run == 1 and read_checkpoint(ckpt)["kind"] == "potential"
