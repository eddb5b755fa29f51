"""SNES, GPUMD's gradient-free optimizer: it learns, is reproducible, resumes exactly, and checks its settings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from ase.io import write

from nnsurrogate.core.engine.checkpoint import read_checkpoint
from nnsurrogate.atomistic.training import (PotentialTrainConfig, evaluate_sums, rmse_from_sums, snes_update,
                                            snes_utilities, train_potential, weighted_loss)
from nnsurrogate.cli.main import run
from nnsurrogate.core.errors import UserInputError

from .test_train import _kill_after, _Killed, emt_frames
from .test_train import setup as nep_and_data

CPU = torch.device("cpu")



@pytest.fixture(scope="module")
def frames():
    return emt_frames(8, seed=0)


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_utilities_are_ranked_log_weights_summing_to_zero():
    for population in (2, 7, 50):
        u = snes_utilities(population)
        assert u.shape == (population,) and abs(float(u.sum())) < 1e-12
        assert bool((u[:-1] >= u[1:]).all()) and float(u[0]) > 0 > float(u[-1])
        raw = u + 1.0 / population  # max(0, ln(P/2 + 1) − ln k), normalised: > 0 for the better half
        assert float(raw.min()) > -1e-15 and int((raw > 1e-15).sum()) == math.ceil(population / 2)
    np.testing.assert_allclose(snes_utilities(2).numpy(), [0.5, -0.5])


def test_update_moves_the_mean_towards_better_samples_and_adapts_sigma():
    """Exact numbers of one update, then convergence on the sphere function."""
    mu, sigma = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    z = torch.tensor([[1.0, 0.0], [-1.0, 2.0]], dtype=torch.float64)
    new_mu, new_sigma = snes_update(mu, sigma, z, torch.tensor([2.0, 1.0]))  # the second sample is better
    np.testing.assert_allclose(new_mu.numpy(), [-1.0, 1.0])  # 0.5·z_2 − 0.5·z_1
    eta = (3 + math.log(2)) / (5 * math.sqrt(2))
    np.testing.assert_allclose(new_sigma.numpy(), np.exp(0.5 * eta * np.array([0.0, 2.0])))
    same_mu, _ = snes_update(mu, sigma, z, torch.tensor([float("nan"), 1.0]))  # non-finite ranks last
    torch.testing.assert_close(same_mu, new_mu)

    gen = torch.Generator().manual_seed(0)
    mu, sigma = torch.full((10,), 3.0, dtype=torch.float64), torch.full((10,), 0.1, dtype=torch.float64)
    for _ in range(300):
        z = torch.randn(20, 10, generator=gen, dtype=torch.float64)
        mu, sigma = snes_update(mu, sigma, z, ((mu + sigma * z) ** 2).sum(1))
    assert float((mu * mu).sum()) < 1e-4 and float(sigma.max()) < 1e-2


def test_snes_lowers_the_training_errors(frames):
    """30 generations (15 epochs of two 4-frame batches, population 50) cut the force RMSE and loss."""
    model, data = nep_and_data(frames)
    config = PotentialTrainConfig(epochs=15, batch_size=4, optimizer="snes", dtype="float64")
    before = rmse_from_sums(evaluate_sums(model, data, 8, CPU, torch.float64, True))
    result = train_potential(model, data, None, config)
    after = rmse_from_sums(evaluate_sums(model, data, 8, CPU, torch.float64, True))
    assert after[1] < 0.5 * before[1]  # force RMSE, eV/Å
    assert weighted_loss(after, config) < 0.5 * weighted_loss(before, config)
    history = np.array(result.history)
    assert history.shape == (15, 10) and result.best_loss < 0.5 * history[0, 9]
    assert 0.05 < history[-1, 2] < 0.2  # the learning-rate column holds mean σ (σ₀ = 0.1)


def test_snes_with_a_fixed_seed_is_reproducible(frames):
    config = PotentialTrainConfig(epochs=2, batch_size=4, optimizer="snes", population=8, dtype="float64", seed=3)
    states = []
    for seed in (3, 3, 4):
        model, data = nep_and_data(frames)
        train_potential(model, data, None, PotentialTrainConfig(**{**config.__dict__, "seed": seed}))
        states.append(_state(model))
    for name, value in states[0].items():
        assert torch.equal(states[1][name], value), name
    assert any(not torch.equal(states[2][name], value) for name, value in states[0].items())  # the seed matters


def test_snes_resumed_after_two_epochs_ends_as_an_uninterrupted_run(frames, tmp_path):
    kwargs = {"epochs": 4, "batch_size": 4, "optimizer": "snes", "population": 8, "dtype": "float64"}
    straight, data = nep_and_data(frames)
    result_straight = train_potential(straight, data, None, PotentialTrainConfig(**kwargs))
    config = PotentialTrainConfig(**kwargs, checkpoint=str(tmp_path / "ckpt.pt"))
    interrupted, data = nep_and_data(frames)
    with pytest.raises(_Killed):
        train_potential(interrupted, data, None, config, _kill_after(2))
    blob = read_checkpoint(tmp_path / "ckpt.pt")
    assert set(blob["state"]["task"]["strategy"]) == {"mu", "sigma"} and blob["state"]["budget"]["epoch"] == 2
    resumed, data = nep_and_data(frames)
    result = train_potential(resumed, data, None, PotentialTrainConfig(**{**config.__dict__, "resume": True}))
    assert result.epochs_run == 4 and len(result.history) == 4
    np.testing.assert_array_equal(np.array(result.history)[:, 2:], np.array(result_straight.history)[:, 2:])
    for name, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)


def test_an_adam_checkpoint_does_not_resume_as_snes(frames, tmp_path):
    ckpt = str(tmp_path / "ckpt.pt")
    model, data = nep_and_data(frames)
    train_potential(model, data, None, PotentialTrainConfig(epochs=1, checkpoint=ckpt))
    model, data = nep_and_data(frames)
    with pytest.raises(UserInputError, match="other data or settings"):
        train_potential(model, data, None, PotentialTrainConfig(epochs=2, optimizer="snes", population=4,
                                                                checkpoint=ckpt, resume=True))


@pytest.mark.parametrize("population", [1, 0, -3])
def test_population_below_two_is_refused(population):
    with pytest.raises(UserInputError, match="population must be at least 2") as info:
        PotentialTrainConfig(optimizer="snes", population=population)
    assert info.value.where == "population"
    assert PotentialTrainConfig(optimizer="snes", population=2).population == 2


def test_cli_snes_run_and_one_line_errors(frames, tmp_path, capsys):
    data = tmp_path / "train.xyz"
    write(data, frames)
    for option, value, message in (("--optimizer", "sgd", "adam, lbfgs or snes"),
                                   ("--population", "1", "population must be at least 2")):
        code = run(["potential", "train", str(data), "--optimizer", "snes", option, value,
                    "--out", str(tmp_path / "x")])
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert code == 2 and len(lines) == 1 and message in lines[0] and "Traceback" not in err, err
    out = tmp_path / "run"
    assert run(["potential", "train", str(data), "--optimizer", "snes", "--population", "6", "--epochs", "2",
                "--valid-fraction", "0.25", "--neurons", "4", "--n-max", "2,2", "--basis-size", "4,4",
                "--l-max", "2,0,0", "--cutoff", "4.5,3.8", "--batch", "3", "--quiet", "--out", str(out)]) == 0
    assert (out / "nep.txt").exists() and (out / "metrics.json").exists()
