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
