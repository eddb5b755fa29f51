"""Grid descriptor, class binning and the square's symmetries on hand-made configurations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnsurrogate.gas2d.classes import class_centres, force_classes, parse_fmax_rule, resolve_fmax
from nnsurrogate.gas2d.configurations import in_window, minimum_image, window_force
from nnsurrogate.gas2d.dataset import GasSpec, window_samples
from nnsurrogate.gas2d.descriptor import cell_centres, grid_images
from nnsurrogate.gas2d.potentials import Coulomb, LennardJones
from nnsurrogate.gas2d.symmetry import (D4_MATRICES, class_probability_back, image_permutations,
                                                  transform_images)
from nnsurrogate.core.errors import UserInputError


def _image(delta, window=4.0, grid=4):
    delta = np.asarray(delta, dtype=float).reshape(-1, 2)
    return grid_images(delta, np.array([0, len(delta)]), window, grid)[0]


def test_counts_land_in_the_hand_computed_cells():
    # window 4 Å, 4 × 4 cells of 1 Å; cell (row, col) = (y index, x index) from the negative side
    img = _image([(0.5, 0.5), (0.7, 0.2), (-1.5, 0.2), (1.9, -1.9)])
    expected = np.zeros((4, 4))
    expected[2, 2] = 2  # two particles share the cell 0 ≤ x < 1, 0 ≤ y < 1
    expected[2, 0] = 1  # x = −1.5 → column 0, y = 0.2 → row 2
    expected[0, 3] = 1  # x = 1.9 → column 3, y = −1.9 → row 0
    np.testing.assert_array_equal(img, expected)


def test_window_edges_are_half_open_and_cell_edges_go_up():
    # −W/2 is inside (first cell), +W/2 is outside; a point on an inner edge belongs to the upper cell
    img = _image([(-2.0, -2.0), (2.0, 0.5), (0.5, 2.0), (1.0, -1.0), (0.0, 0.0)])
    expected = np.zeros((4, 4))
    expected[0, 0] = 1  # the lower-left corner of the window
    expected[1, 3] = 1  # x = 1.0 starts column 3, y = −1.0 starts row 1
    expected[2, 2] = 1  # the origin starts the cell up and right of the centre
    np.testing.assert_array_equal(img, expected)
    assert in_window(np.array([[-2.0, 0.0], [2.0, 0.0], [1.999, -2.0]]), 4.0).tolist() == [True, False, True]


def test_many_targets_are_counted_separately():
    delta = np.array([[0.1, 0.1], [0.2, 0.3], [-1.2, 1.5]])
    images = grid_images(delta, np.array([0, 2, 2, 3]), 4.0, 4)
    assert images.shape == (3, 4, 4)
    assert images[0, 2, 2] == 2 and images[0].sum() == 2
    assert images[1].sum() == 0  # a target with no neighbours
    assert images[2, 3, 0] == 1 and images[2].sum() == 1


def test_periodic_wrap_brings_a_neighbour_across_the_box_edge():
    # box 10 Å, window 4 Å: the target sits near a corner, its neighbour across both edges
    spec = GasSpec(Coulomb(), density=0.03, window=4.0, box_factor=2.5, targets_per_box=1)
    pos = np.zeros((1, spec.n_particles, 2)) + 5.0
    pos[0, :, 0] += np.linspace(-0.3, 0.3, spec.n_particles)  # fillers well away from the target
    pos[0, 0] = (0.2, 9.9)
    pos[0, 1] = (9.8, 0.3)
    delta, counts, forces = window_samples(pos, np.array([[0]]), spec)
    np.testing.assert_allclose(delta, [[-0.4, 0.4]], atol=1e-12)
    assert counts.tolist() == [1]
    r = np.hypot(0.4, 0.4)
    np.testing.assert_allclose(forces[0], np.array([0.4, -0.4]) / r / r**2)  # pushed away, magnitude kq²/r²
    np.testing.assert_allclose(minimum_image(np.array([9.6, -9.6]), 10.0), [-0.4, 0.4])


def test_class_binning_by_hand():
    f = np.array([-5.0, -1.0, -0.95, -0.79, -0.0001, 0.0, 0.35, 0.999, 1.0, 7.0])
    assert force_classes(f, 1.0, 10).tolist() == [0, 0, 0, 1, 4, 5, 6, 9, 9, 9]
    np.testing.assert_allclose(class_centres(2.0, 4), [-1.5, -0.5, 0.5, 1.5])


def test_class_of_minus_force_mirrors():
    f = np.random.default_rng(0).normal(0, 0.7, 1000)
    k = 10
    assert np.array_equal(force_classes(-f, 1.0, k), k - 1 - force_classes(f, 1.0, k))


def test_fmax_rules():
    # the paper's rule: the pair force at one cell side; Coulomb k q² / h² with h = 28/28 Å
    assert resolve_fmax("cell", Coulomb(2.0), 28.0, 28, np.zeros((1, 2))) == pytest.approx(2.0)
    h = 5.0 / 28
    lj = 24 * (2 * h**-13 - h**-7)
    assert resolve_fmax("cell", LennardJones(), 5.0, 28, np.zeros((1, 2))) == pytest.approx(lj)
    forces = np.column_stack([np.arange(1, 101), -np.arange(1, 101)]).astype(float)
    assert resolve_fmax("quantile:0.5", Coulomb(), 28.0, 28, forces) == pytest.approx(50.5)
    assert resolve_fmax("2.5", Coulomb(), 28.0, 28, forces) == 2.5
    for bad in ("quantile:0", "quantile:1.5", "-1", "nonsense"):
        with pytest.raises(UserInputError):
            parse_fmax_rule(bad)
    with pytest.raises(UserInputError):
        force_classes(np.zeros(3), 1.0, 1)


@pytest.mark.parametrize("grid", [4, 5])
def test_rotating_positions_permutes_the_image_and_rotates_the_force(grid):
    rng = np.random.default_rng(1)
    window = 4.0
    delta = rng.uniform(-2, 2, (9, 2))
    delta = delta[np.hypot(*delta.T) > 0.3]
    base = _image(delta, window, grid)
    perms = torch.as_tensor(image_permutations(grid))
    force = window_force(delta, Coulomb())
    for g, m in enumerate(D4_MATRICES):
        moved = delta @ m.T
        keep = in_window(moved, window)  # the half-open edge: no sampled point lies on it
        assert keep.all()
        img_t, f_t = transform_images(torch.tensor(base[None]), torch.tensor(force[None]),
                                      torch.tensor([g]), perms)
        np.testing.assert_array_equal(img_t[0].numpy(), _image(moved, window, grid))
        np.testing.assert_allclose(f_t[0].numpy(), window_force(moved, Coulomb()), rtol=1e-12)


def test_group_is_closed_and_centres_are_symmetric():
    mats = {tuple(m.ravel()) for m in D4_MATRICES}
    assert len(mats) == 8
    assert all(tuple((a @ b).ravel()) in mats for a in D4_MATRICES for b in D4_MATRICES)
    c = cell_centres(4.0, 4)
    np.testing.assert_allclose(c[..., 0] + c[..., 0][:, ::-1], 0.0)
    np.testing.assert_allclose(c[..., 1] + c[..., 1][::-1, :], 0.0)


def test_class_probabilities_map_back_to_the_original_frame():
    k = 6
    force = np.array([0.37, -0.81])
    cls = force_classes(force, 1.0, k)
    for g, m in enumerate(D4_MATRICES):
        c_t = force_classes(m @ force, 1.0, k)
        probs = torch.zeros(1, k, k)
        probs[0, c_t[0], c_t[1]] = 1.0
        back = class_probability_back(probs, g)[0]
        assert back[cls[0], cls[1]] == 1.0 and back.sum() == 1.0
