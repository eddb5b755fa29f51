"""The training loop: it learns, keeps each member's best weights, and resumes to the same result."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from nnsurrogate.core.nn import EnsembleMLP
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.training import TrainConfig, per_member_mse, train_ensemble


def _linear_data(n=200, noise=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 3, generator=g) * 2 - 1
    Y = (X @ torch.tensor([[1.5], [-2.0], [0.5]]) + 0.3) + noise * torch.randn(n, 1, generator=g)
    return X, Y


def _model(seed=0, members=3, dropout=0.0):
    gen = torch.Generator().manual_seed(seed)
    return EnsembleMLP(members, 3, 1, hidden=(16,), activation="tanh", dropout=dropout, generator=gen), gen


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_per_member_mse_by_hand():
    pred = torch.tensor([[[1.0], [2.0]], [[0.0], [0.0]]])  # (M=2, B=2, k=1)
    target = torch.tensor([[[1.0], [4.0]]])  # (1, 2, 1)
    torch.testing.assert_close(per_member_mse(pred, target), torch.tensor([(0 + 4) / 2, (1 + 16) / 2]))


def test_learns_a_linear_map():
    X, Y = _linear_data()
    Xv, Yv = _linear_data(100, seed=1)
    model, gen = _model()
    with torch.no_grad():
        before = per_member_mse(model(Xv), Yv.unsqueeze(0))
    result = train_ensemble(model, X, Y, Xv, Yv, TrainConfig(max_epochs=150, batch_size=32, learning_rate=1e-2), gen)
    model.eval()
    with torch.no_grad():
        after = per_member_mse(model(Xv), Yv.unsqueeze(0))
    assert torch.all(before > 0.5)
    # the target variance is 2.25/3 + 4/3 + 0.25/3 ≈ 2.17: every member explains > 99.5 % of it
    assert torch.all(after < 1e-2)
    assert torch.all(after < before / 100)
    assert result.epochs_run == 150 and len(result.history) == 150
    epochs, train_losses, val_losses = zip(*result.history)
    assert list(epochs) == list(range(1, 151))
    assert val_losses[-1] < val_losses[0] / 100


def test_early_stopping_keeps_each_members_best_weights():
    # few noisy rows, a large step: validation loss bottoms out and then wanders, so members stop early
    X, Y = _linear_data(40, noise=0.5, seed=2)
    Xv, Yv = _linear_data(40, noise=0.5, seed=3)
    model, gen = _model(members=4)
    config = TrainConfig(max_epochs=400, batch_size=8, learning_rate=3e-2, patience=15, lr_patience=1000)
    calls = []
    result = train_ensemble(model, X, Y, Xv, Yv, config, gen, progress=lambda *a: calls.append(a))
    assert result.epochs_run < config.max_epochs
    # training ends when the last member has gone `patience` epochs without improvement
    assert result.epochs_run == int(result.best_epoch.max()) + config.patience
    assert np.all(result.best_epoch >= 1)
    assert np.any(result.best_epoch < result.epochs_run - config.patience)  # some member stopped earlier
    model.eval()
    with torch.no_grad():
        recomputed = per_member_mse(model(Xv), Yv.unsqueeze(0)).numpy()
    np.testing.assert_allclose(result.best_val_loss, recomputed, rtol=1e-6)
    # the mean over members of the best losses cannot exceed the best recorded mean validation loss
    assert result.best_val_loss.mean() <= min(v for _, _, v in result.history) + 1e-7
    assert len(calls) == result.epochs_run
    assert calls[-1][0] == result.epochs_run and calls[-1][1] == config.max_epochs


def test_without_validation_keeps_training_to_max_epochs():
    X, Y = _linear_data(64)
    model, gen = _model(members=2)
    result = train_ensemble(model, X, Y, None, None, TrainConfig(max_epochs=30, batch_size=16), gen)
    assert result.epochs_run == 30
    assert np.all(np.isfinite(result.best_val_loss))


def _run(config, seed=0, bootstrap=False, dropout=0.0, X_val=True):
    X, Y = _linear_data(96, noise=0.2)
    Xv, Yv = _linear_data(32, noise=0.2, seed=5)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)  # dropout masks come from the global generator
        model, gen = _model(seed=seed, dropout=dropout)
        config = dataclasses.replace(config, bootstrap=bootstrap)
        result = train_ensemble(model, X, Y, Xv if X_val else None, Yv if X_val else None, config, gen)
    return model, result


@pytest.mark.parametrize(("bootstrap", "stop_at"), [(False, 20), (True, 25)])
def test_resume_from_checkpoint_ends_with_the_same_weights(tmp_path, bootstrap, stop_at):
    base = TrainConfig(max_epochs=40, batch_size=16, learning_rate=1e-2, patience=8, lr_patience=3)
    straight, res_straight = _run(base, bootstrap=bootstrap)

    ckpt = tmp_path / "state.pt"
    # an "interrupted" run: stops after `stop_at` epochs; the last checkpoint is from epoch 20
    first = dataclasses.replace(base, max_epochs=stop_at, checkpoint=str(ckpt), checkpoint_every=10)
    _run(first, bootstrap=bootstrap)
    assert ckpt.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"]  # written atomically, no temp files
    resumed, res_resumed = _run(dataclasses.replace(first, max_epochs=40), bootstrap=bootstrap)

    assert res_resumed.epochs_run == res_straight.epochs_run
    np.testing.assert_array_equal(res_resumed.best_epoch, res_straight.best_epoch)
    np.testing.assert_allclose(res_resumed.best_val_loss, res_straight.best_val_loss, rtol=1e-6)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(b, a), name  # bitwise: same arithmetic in the same order
    assert [h[0] for h in res_resumed.history] == [h[0] for h in res_straight.history]
    np.testing.assert_allclose(np.array(res_resumed.history), np.array(res_straight.history), rtol=1e-6)


def test_resume_with_dropout_ends_with_the_same_weights(tmp_path):
    base = TrainConfig(max_epochs=30, batch_size=16, learning_rate=1e-2)
    straight, _ = _run(base, dropout=0.2)
    ckpt = tmp_path / "state.pt"
    first = dataclasses.replace(base, max_epochs=15, checkpoint=str(ckpt), checkpoint_every=5)
    _run(first, dropout=0.2)
    resumed, _ = _run(dataclasses.replace(first, max_epochs=30), dropout=0.2)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-7)


def test_different_seeds_give_different_weights():
    base = TrainConfig(max_epochs=5, batch_size=16)
    a, _ = _run(base, seed=0)
    b, _ = _run(base, seed=1)
    assert not torch.allclose(a.layers[0].weight, b.layers[0].weight)


def test_resuming_a_finished_run_changes_nothing(tmp_path):
    config = TrainConfig(max_epochs=20, batch_size=16, checkpoint=str(tmp_path / "c.pt"), checkpoint_every=10)
    a, res_a = _run(config)
    b, res_b = _run(config)  # the checkpoint already holds epoch 20: nothing left to train
    assert res_b.epochs_run == 20
    for x, y in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(x, y)


class _Killed(Exception):
    """Stands in for the process being killed in the middle of a run."""


def _kill_at(epoch):
    def progress(step, total, metrics):
        if step == epoch:
            raise _Killed

    return progress


def test_killed_and_resumed_run_ends_with_the_same_weights(tmp_path):
    X, Y = _linear_data(96, noise=0.2)
    Xv, Yv = _linear_data(32, noise=0.2, seed=5)
    config = TrainConfig(max_epochs=30, batch_size=16, learning_rate=1e-2, patience=8, lr_patience=3, bootstrap=True,
                         checkpoint=str(tmp_path / "state.pt"), checkpoint_every=5)

    def run(cfg, progress=None):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(123)
            model, gen = _model(dropout=0.2)
            return model, train_ensemble(model, X, Y, Xv, Yv, cfg, gen, progress=progress)

    straight, res_straight = run(dataclasses.replace(config, checkpoint=None))
    with pytest.raises(_Killed):
        run(config, progress=_kill_at(17))  # killed after epoch 17; the last checkpoint is from epoch 15
    steps = []
    resumed, res_resumed = run(config, progress=lambda step, total, metrics: steps.append(step))
    assert res_straight.epochs_run > 17
    assert steps == list(range(16, res_straight.epochs_run + 1))  # it went on from the checkpoint
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(b, a), name  # bitwise, dropout masks included
    assert res_resumed.epochs_run == res_straight.epochs_run
    np.testing.assert_array_equal(res_resumed.best_epoch, res_straight.best_epoch)
    np.testing.assert_array_equal(res_resumed.best_val_loss, res_straight.best_val_loss)
    assert res_resumed.history == res_straight.history


@pytest.mark.parametrize("change", [{"batch_size": 8}, {"learning_rate": 2e-2}, {"bootstrap": True},
                                    {"patience": 3}, "rows", "width"])
def test_checkpoint_with_other_settings_is_refused(tmp_path, change):
    X, Y = _linear_data(64)
    ckpt = str(tmp_path / "state.pt")
    config = TrainConfig(max_epochs=4, batch_size=16, checkpoint=ckpt, checkpoint_every=2)
    model, gen = _model()
    train_ensemble(model, X, Y, None, None, config, gen)
    if change == "rows":
        X, Y = _linear_data(48)
    elif change == "width":
        gen = torch.Generator().manual_seed(0)
        model = EnsembleMLP(3, 3, 1, hidden=(8,), activation="tanh", generator=gen)
    else:
        config = dataclasses.replace(config, **change)
    with pytest.raises(UserInputError, match="other data or settings"):
        train_ensemble(model, X, Y, None, None, dataclasses.replace(config, max_epochs=8), gen)


def test_a_file_that_is_not_an_ensemble_checkpoint_is_refused(tmp_path):
    X, Y = _linear_data(64)
    ckpt = tmp_path / "state.pt"
    torch.save({"model": {}, "epoch": 3}, ckpt)  # e.g. the format before the engine
    model, gen = _model()
    with pytest.raises(UserInputError, match="not a checkpoint of this kind"):
        train_ensemble(model, X, Y, None, None, TrainConfig(max_epochs=4, checkpoint=str(ckpt)), gen)


def test_zero_epochs_is_a_clean_error():
    X, Y = _linear_data(16)
    model, gen = _model()
    with pytest.raises(UserInputError, match="max_epochs"):
        train_ensemble(model, X, Y, None, None, TrainConfig(max_epochs=0), gen)
