"""Crystal graphs against neighbours counted by hand in periodic cells."""

from __future__ import annotations

import numpy as np
import pytest

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.crystal.graph import GraphSettings, build_graph
from nnsurrogate.crystal.structures import from_arrays

from .conftest import cscl, perovskite, rocksalt, simple_cubic


def _shells(graph, atom):
    """Sorted distances (rounded) of the edges of *atom*."""
    return np.round(np.sort(graph.distance[graph.center == atom]), 4)


def test_single_atom_cell_neighbours_are_its_own_images():
    # simple cubic, a = 3 Å: 6 images at a, 12 at a√2 (4.243 Å), 8 at a√3 (5.196 Å)
    graph = build_graph(simple_cubic(3.0), GraphSettings(cutoff=4.5, max_neighbors=100))
    assert graph.n_edges == 18
    assert np.all(graph.center == 0) and np.all(graph.neighbor == 0)
    np.testing.assert_allclose(_shells(graph, 0), [3.0] * 6 + [round(3 * np.sqrt(2), 4)] * 12)
    graph = build_graph(simple_cubic(3.0), GraphSettings(cutoff=5.5, max_neighbors=100))
    assert graph.n_edges == 6 + 12 + 8


def test_cap_keeps_the_k_nearest_and_their_ties():
    crystal = simple_cubic(3.0)
    assert build_graph(crystal, GraphSettings(cutoff=8.0, max_neighbors=6)).n_edges == 6
    # the 4th nearest is tied with the 5th and 6th: all six are kept, never an arbitrary four
    assert build_graph(crystal, GraphSettings(cutoff=8.0, max_neighbors=4)).n_edges == 6
    assert build_graph(crystal, GraphSettings(cutoff=8.0, max_neighbors=7)).n_edges == 18


def test_cscl_first_and_second_shells():
    # each atom: 8 of the other species at a√3/2 = 3.464 Å, then 6 of its own at a = 4 Å
    graph = build_graph(cscl(4.0), GraphSettings(cutoff=4.2, max_neighbors=100))
    for atom in (0, 1):
        mine = graph.center == atom
        assert mine.sum() == 14
        other = graph.neighbor[mine] != atom
        assert other.sum() == 8
        np.testing.assert_allclose(graph.distance[mine][other], 2 * np.sqrt(3), atol=1e-9)
        np.testing.assert_allclose(graph.distance[mine][~other], 4.0, atol=1e-9)
    capped = build_graph(cscl(4.0), GraphSettings(cutoff=8.0, max_neighbors=8))
    assert capped.n_edges == 16 and np.all(capped.neighbor != capped.center)


def test_rocksalt_counts_and_symmetry():
    a = 5.64
    graph = build_graph(rocksalt(a), GraphSettings(cutoff=0.75 * a, max_neighbors=100))
    # first shell: 6 unlike ions at a/2; second shell: 12 like ions at a/√2 (3.99 Å < 4.23 Å)
    for atom in range(8):
        np.testing.assert_allclose(_shells(graph, atom), [round(a / 2, 4)] * 6 + [round(a / np.sqrt(2), 4)] * 12)
    # an uncapped list holds every pair in both directions
    forward = sorted(zip(graph.center.tolist(), graph.neighbor.tolist(), np.round(graph.distance, 6).tolist()))
    backward = sorted(zip(graph.neighbor.tolist(), graph.center.tolist(), np.round(graph.distance, 6).tolist()))
    assert forward == backward


def test_perovskite_site_coordination():
    # the B site (Ti) has 6 O at a/2; the A site (Sr) 12 O at a/√2
    a = 3.9
    graph = build_graph(perovskite(a), GraphSettings(cutoff=8.0, max_neighbors=12))
    ti = graph.neighbor[(graph.center == 1) & (graph.distance < a / 2 + 1e-6)]
    assert len(ti) == 6 and set(graph.numbers[ti]) == {8}
    sr = graph.neighbor[(graph.center == 0) & (graph.distance < a / np.sqrt(2) + 1e-6)]
    assert len(sr) == 12 and set(graph.numbers[sr]) == {8}


def test_graph_does_not_depend_on_atom_order():
    crystal = perovskite(3.9)
    order = np.array([3, 0, 4, 2, 1])
    g1 = build_graph(crystal)
    g2 = build_graph(crystal.permuted(order))
    edges1 = sorted(zip(g1.numbers[g1.center], g1.numbers[g1.neighbor], np.round(g1.distance, 8)))
    edges2 = sorted(zip(g2.numbers[g2.center], g2.numbers[g2.neighbor], np.round(g2.distance, 8)))
    assert edges1 == edges2
    # atom k of the permuted crystal is atom order[k] of the original, with the same neighbour distances
    for k, original in enumerate(order):
        np.testing.assert_allclose(_shells(g2, k), _shells(g1, original))


def test_positions_outside_the_cell_are_wrapped():
    a = 4.0
    inside = cscl(a)
    outside = from_arrays("shifted", inside.numbers, inside.positions + [a, -2 * a, 3 * a], inside.cell)
    np.testing.assert_allclose(build_graph(outside).distance, build_graph(inside).distance)


def test_overlapping_atoms_are_an_error_naming_the_entry():
    crystal = from_arrays("mp-bad", [8, 8], [[0, 0, 0], [0.1, 0, 0]], np.eye(3) * 4)
    with pytest.raises(UserInputError, match=r"overlapping atoms.*0\.100 Å.*\(mp-bad\)"):
        build_graph(crystal)


def test_tiny_cell_overlaps_its_own_image():
    with pytest.raises(UserInputError, match="own periodic image"):
        build_graph(simple_cubic(0.3))


def test_isolated_atom_is_an_error():
    crystal = from_arrays("gas", [2, 2], [[0, 0, 0], [5, 5, 5]], np.eye(3) * 20)
    with pytest.raises(UserInputError, match=r"isolated atom 1 \(He\).*6 Å cutoff.*\(gas\)"):
        build_graph(crystal, GraphSettings(cutoff=6.0))


def test_settings_are_validated():
    with pytest.raises(ValueError):
        GraphSettings(cutoff=0.4, min_distance=0.5)
    with pytest.raises(ValueError):
        GraphSettings(max_neighbors=0)
