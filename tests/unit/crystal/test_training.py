"""The graph training loop: schedules, early stopping on the best epoch, and exact resumption."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnsurrogate.core.training import TrainConfig
from nnsurrogate.crystal.batch import GraphStore
from nnsurrogate.crystal.cgcnn import CGCNN
from nnsurrogate.crystal.features import node_features
from nnsurrogate.crystal.graph import build_graph
from nnsurrogate.crystal.structures import from_arrays
from nnsurrogate.crystal.training import cosine_factor, even_batches, predict_store, train_graph_model


def _problem():
    crystals = [from_arrays(str(a), [55, 17], [[0, 0, 0], [a / 2] * 3], np.eye(3) * a) for a in np.linspace(3.6, 4.8, 12)]
    graphs = [build_graph(c) for c in crystals]
    store = GraphStore(graphs, [node_features(g.numbers) for g in graphs])
    y = torch.linspace(-1.5, 1.5, 12)
    return store, y


def _fit(store, y, config, stop_at=None):
    torch.manual_seed(0)
    model = CGCNN(22, dim=8, n_conv=1, hidden=8)

    def progress(epoch, *_):
        if stop_at is not None and epoch == stop_at:
            raise KeyboardInterrupt

    result = train_graph_model(model, store, y, np.arange(0, 12, 2), np.arange(1, 12, 2), config,
                               torch.Generator().manual_seed(0), "mse", progress)
    return model, result


def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    store, y = _problem()
    config = TrainConfig(max_epochs=6, batch_size=3, learning_rate=3e-3, patience=100,
                         checkpoint=str(tmp_path / "ck.pt"), checkpoint_every=1)
    with pytest.raises(KeyboardInterrupt):
        _fit(store, y, config, stop_at=4)
    resumed, result = _fit(store, y, config)
    assert result.epochs_run == 6
    fresh, _ = _fit(store, y, TrainConfig(max_epochs=6, batch_size=3, learning_rate=3e-3, patience=100))
    np.testing.assert_allclose(predict_store(resumed, store), predict_store(fresh, store), rtol=1e-6, atol=1e-7)


def test_best_epoch_weights_are_kept_and_training_stops_early():
    store, y = _problem()
    config = TrainConfig(max_epochs=200, batch_size=6, learning_rate=1e-2, patience=5)
    model, result = _fit(store, y, config)
    assert result.epochs_run <= 200 and result.epochs_run - result.best_epoch <= 5
    val = np.arange(1, 12, 2)
    val_mae = np.abs(predict_store(model, store, val) - y.numpy()[val]).mean()
    assert val_mae == pytest.approx(result.best_val_mae, rel=1e-5)
    assert result.best_val_mae == pytest.approx(min(h[2] for h in result.history))


def test_cosine_schedule_shape_and_even_batches():
    assert cosine_factor(0, 100, 10, 0.0) == pytest.approx(0.1)
    assert cosine_factor(9, 100, 10, 0.0) == pytest.approx(1.0)
    assert cosine_factor(55, 100, 10, 0.0) == pytest.approx(0.5)  # half way through the decay
    assert cosine_factor(100, 100, 10, 0.01) == pytest.approx(0.01)
    sizes = [len(b) for b in even_batches(np.arange(130), 64)]
    assert sizes == [44, 43, 43] and sum(sizes) == 130


def test_plateau_run_resumes_bit_for_bit_and_foreign_checkpoints_are_refused(tmp_path):
    from nnsurrogate.core.errors import UserInputError

    store, y = _problem()
    path = tmp_path / "ck.pt"

    def config(**kw):
        return TrainConfig(max_epochs=8, batch_size=3, learning_rate=3e-3, patience=100, lr_patience=1,
                           checkpoint_every=1, **kw)

    def fit(cfg, stop_at=None):
        torch.manual_seed(0)
        model = CGCNN(22, dim=8, n_conv=1, hidden=8)

        def progress(epoch, *_):
            if epoch == stop_at:
                raise KeyboardInterrupt

        result = train_graph_model(model, store, y, np.arange(0, 12, 2), np.arange(1, 12, 2), cfg,
                                   torch.Generator().manual_seed(0), "l1", progress, "plateau")
        return model, result

    with pytest.raises(KeyboardInterrupt):
        fit(config(checkpoint=str(path)), stop_at=3)
    resumed, result = fit(config(checkpoint=str(path)))
    fresh, fresh_result = fit(config())
    assert result.history == fresh_result.history and result.best_epoch == fresh_result.best_epoch
    for name, value in fresh.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], value), name
    # other settings, or a file of the old format, end in one clean error instead of a wrong resume
    with pytest.raises(UserInputError, match="other data or settings"):
        fit(TrainConfig(max_epochs=9, batch_size=3, patience=100, checkpoint=str(path)))
    torch.save({"model": fresh.state_dict(), "scalars": torch.zeros(4)}, path)
    with pytest.raises(UserInputError, match="not a checkpoint"):
        fit(config(checkpoint=str(path)))


def test_time_limit_stops_early_and_keeps_the_best_epoch():
    store, y = _problem()
    torch.manual_seed(0)
    model = CGCNN(22, dim=8, n_conv=1, hidden=8)
    config = TrainConfig(max_epochs=100_000, batch_size=3, learning_rate=3e-3, patience=10**9)
    result = train_graph_model(model, store, y, np.arange(0, 12, 2), np.arange(1, 12, 2), config,
                               torch.Generator().manual_seed(0), "mse", time_limit=0.3)
    assert 1 <= result.epochs_run < 100_000 and len(result.history) == result.epochs_run
    val = np.arange(1, 12, 2)
    val_mae = np.abs(predict_store(model, store, val) - y.numpy()[val]).mean()
    assert val_mae == pytest.approx(result.best_val_mae, rel=1e-5)


def test_regressor_time_limit_ends_the_fit_before_max_epochs():
    from nnsurrogate.core.errors import UserInputError
    from nnsurrogate.crystal.regressor import CrystalRegressor

    crystals = [from_arrays(str(a), [55, 17], [[0, 0, 0], [a / 2] * 3], np.eye(3) * a) for a in np.linspace(3.6, 4.8, 12)]
    target = np.linspace(1.0, 2.0, 12)
    reg = CrystalRegressor(model="cgcnn", dim=8, n_layers=1, hidden=8, max_epochs=100_000, batch_size=4,
                           patience=10**9, time_limit=0.3, random_state=0).fit(crystals, target)
    assert 1 <= reg.n_epochs_ < 100_000 and 1 <= reg.best_epoch_ <= reg.n_epochs_
    assert reg.get_params()["time_limit"] == 0.3 and np.all(np.isfinite(reg.predict(crystals)))
    with pytest.raises(UserInputError, match="time_limit"):
        CrystalRegressor(time_limit=0).fit(crystals, target)
