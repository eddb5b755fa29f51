"""CGCNN and SA-GAT: invariance to atom order and batching, attention that sums to one, a fit that learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnsurrogate.crystal.batch import GraphStore
from nnsurrogate.crystal.cgcnn import CGCNN
from nnsurrogate.crystal.encoding import QuantileBinning
from nnsurrogate.crystal.features import atom_features, node_features
from nnsurrogate.crystal.graph import build_graph
from nnsurrogate.crystal.regressor import CrystalRegressor
from nnsurrogate.crystal.sagat import SAGAT
from nnsurrogate.crystal.structures import from_arrays

from .conftest import cscl, perovskite, rocksalt


def _crystals():
    return [perovskite(3.9), rocksalt(5.64), cscl(4.1)]


def _inputs(kind, crystals, binning=None):
    graphs = [build_graph(c) for c in crystals]
    if kind == "cgcnn":
        return graphs, [node_features(g.numbers) for g in graphs]
    feats = [atom_features(g, c.cell) for g, c in zip(graphs, crystals)]
    binning = binning or QuantileBinning.fit(np.vstack(feats), 8)
    return graphs, [binning.transform(f) for f in feats]


def _network(kind):
    torch.manual_seed(0)
    return CGCNN(22, dim=16, n_conv=2, hidden=16).eval() if kind == "cgcnn" else SAGAT(178, 8, dim=16, token_dim=4, n_layers=2, hidden=16).eval()


@pytest.mark.parametrize("kind", ["cgcnn", "sagat"])
def test_prediction_does_not_depend_on_atom_order(kind):
    crystals = _crystals()
    graphs, inputs = _inputs(kind, crystals)
    binning = None
    if kind == "sagat":
        feats = [atom_features(g, c.cell) for g, c in zip(graphs, crystals)]
        binning = QuantileBinning.fit(np.vstack(feats), 8)
    net = _network(kind)
    rng = np.random.default_rng(1)
    permuted = [c.permuted(rng.permutation(c.n_atoms)) for c in crystals]
    with torch.no_grad():
        a = net(GraphStore(*_inputs(kind, crystals, binning)).batch(np.arange(3)))
        b = net(GraphStore(*_inputs(kind, permuted, binning)).batch(np.arange(3)))
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    assert len(set(np.round(a.numpy(), 6))) == 3  # and the three crystals are told apart


@pytest.mark.parametrize("kind", ["cgcnn", "sagat"])
def test_prediction_does_not_depend_on_batch_company(kind):
    store = GraphStore(*_inputs(kind, _crystals()))
    net = _network(kind)
    with torch.no_grad():
        together = net(store.batch(np.array([0, 1, 2]))).numpy()
        alone = np.array([float(net(store.batch(np.array([k])))[0]) for k in range(3)])
        reordered = net(store.batch(np.array([2, 0, 1]))).numpy()
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reordered, together[[2, 0, 1]], rtol=1e-5, atol=1e-6)


def test_feature_attention_rows_sum_to_one():
    store = GraphStore(*_inputs("sagat", _crystals()))
    alpha = _network("sagat").feature_attention(store.batch(np.arange(3)))
    assert alpha.shape == (5 + 8 + 2, 178) and (alpha >= 0).all()
    np.testing.assert_allclose(alpha.sum(dim=1).numpy(), 1.0, rtol=1e-5)


def _lattice_series():
    """CsCl-type cells of 6 elements pairs at 4 lattice constants: target a³ (volume), known exactly."""
    crystals, y = [], []
    for za, zb in [(55, 17), (37, 35), (19, 9), (11, 17), (55, 35), (37, 17)]:
        for a in (3.6, 4.0, 4.4, 4.8):
            crystals.append(from_arrays(f"{za}-{zb}-{a}", [za, zb], [[0, 0, 0], [a / 2] * 3], np.eye(3) * a))
            y.append(a**3)
    return crystals, np.array(y)


@pytest.mark.parametrize("kind", ["cgcnn", "sagat"])
def test_regressor_learns_cell_volume(kind):
    crystals, y = _lattice_series()
    model = CrystalRegressor(model=kind, dim=16, n_layers=2, hidden=32, n_bins=8, max_epochs=60, batch_size=24,
                             learning_rate=1e-2, patience=60, validation_fraction=0.0, random_state=0).fit(crystals, y)
    error = np.abs(model.predict(crystals) - y).mean()
    assert error < 0.2 * np.abs(y - y.mean()).mean()  # far better than predicting the mean
    if kind == "sagat":
        importance = model.feature_importance()
        assert importance["importance"].sum() == pytest.approx(1.0, abs=1e-9)
        assert importance["importance"].is_monotonic_decreasing and len(importance) == 178
        assert importance["importance"].min() >= 0


def test_importances_of_new_structures_sum_to_one():
    crystals, y = _lattice_series()
    model = CrystalRegressor(model="sagat", dim=16, n_layers=1, hidden=16, n_bins=8, max_epochs=2,
                             validation_fraction=0.0, random_state=0).fit(crystals, y)
    table = model.feature_importance([perovskite(3.9)])
    assert table["importance"].sum() == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="CGCNN"):
        CrystalRegressor(model="cgcnn", max_epochs=1, validation_fraction=0.0).fit(crystals, y).feature_importance()
