"""Quantile binning, segment operations, the distance basis and batching of graphs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnsurrogate.crystal.batch import GraphStore
from nnsurrogate.crystal.encoding import QuantileBinning
from nnsurrogate.crystal.graph import build_graph
from nnsurrogate.crystal.layers import GaussianBasis, segment_mean, segment_softmax, segment_sum

from .conftest import cscl, perovskite, simple_cubic


def test_binning_maps_knots_to_integers_and_interpolates_between():
    x = np.arange(101, dtype=float)  # quantiles at 0, 25, 50, 75, 100 for 5 knots
    binning = QuantileBinning.fit(x[:, None], n_bins=5)
    np.testing.assert_allclose(binning.knots[0], [0, 25, 50, 75, 100])
    t = binning.transform(np.array([[0.0], [25.0], [37.5], [100.0], [-10.0], [1e6]]))[:, 0]
    np.testing.assert_allclose(t, [0, 1, 1.5, 4, 0, 4])  # clamped outside the training range


def test_binning_merges_repeated_quantiles():
    x = np.column_stack([np.repeat([1.0, 2.0], 50), np.full(100, 7.0)])
    binning = QuantileBinning.fit(x, n_bins=8)
    assert binning.counts.tolist() == [2, 1]
    t = binning.transform(np.array([[1.0, 7.0], [2.0, 3.0], [1.5, 7.0]]))
    np.testing.assert_allclose(t, [[0, 0], [1, 0], [0.5, 0]])


def test_segment_softmax_sums_to_one_per_segment():
    scores = torch.tensor([[1.0, 0.0], [3.0, 5.0], [-2.0, 1.0], [1000.0, -1000.0]])
    index = torch.tensor([0, 0, 1, 2])
    weights = segment_softmax(scores, index, 3)
    np.testing.assert_allclose(segment_sum(weights, index, 3).numpy(), np.ones((3, 2)), atol=1e-6)
    expected = np.exp([1.0, 3.0]) / np.exp([1.0, 3.0]).sum()
    np.testing.assert_allclose(weights[:2, 0].numpy(), expected, rtol=1e-6)
    assert torch.isfinite(weights).all()  # large scores do not overflow


def test_segment_mean_and_gaussian_basis():
    values = torch.tensor([[1.0], [3.0], [10.0]])
    np.testing.assert_allclose(segment_mean(values, torch.tensor([0, 0, 2]), 3).numpy(), [[2.0], [0.0], [10.0]])
    basis = GaussianBasis(cutoff=8.0, n_centers=41)  # centres every 0.2 Å, width 0.2 Å
    u = basis(torch.tensor([2.0, 2.1]))
    assert int(u[0].argmax()) == 10 and float(u[0, 10]) == pytest.approx(1.0)
    assert float(u[1, 10]) == pytest.approx(np.exp(-0.25), rel=1e-6)  # half a width away


def test_store_batches_are_the_concatenated_graphs():
    crystals = [simple_cubic(3.0), cscl(4.0), perovskite(3.9)]
    graphs = [build_graph(c) for c in crystals]
    inputs = [np.full((g.n_atoms, 2), float(k)) for k, g in enumerate(graphs)]
    store = GraphStore(graphs, inputs)
    batch = store.batch(np.array([2, 0]))
    assert batch.n_graphs == 2 and batch.nodes.shape == (6, 2)
    np.testing.assert_array_equal(batch.graph.numpy(), [0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(batch.nodes[:, 0].numpy(), [2, 2, 2, 2, 2, 0])
    n_edges = graphs[2].n_edges
    np.testing.assert_array_equal(batch.center[:n_edges].numpy(), graphs[2].center)
    np.testing.assert_array_equal(batch.neighbor[n_edges:].numpy(), graphs[0].neighbor + 5)
    np.testing.assert_allclose(batch.distance[n_edges:].numpy(), graphs[0].distance, rtol=1e-6)
