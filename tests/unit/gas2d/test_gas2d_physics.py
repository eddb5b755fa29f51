"""Pair forces, configurations, data files and the image-limited reference predictors of the 2D gas."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnsurrogate.gas2d.baselines import bayes_predictions, cell_centre_forces, posterior_forces
from nnsurrogate.gas2d.configurations import minimum_image, random_boxes, window_energy, window_force
from nnsurrogate.gas2d.dataset import GasSpec, generate, load_data, save_data
from nnsurrogate.gas2d.descriptor import grid_images
from nnsurrogate.gas2d.potentials import Coulomb, LennardJones, make_potential
from nnsurrogate.core.errors import UserInputError

POTENTIALS = [LennardJones(epsilon=0.7, sigma=1.3), Coulomb(kqq=14.4)]


@pytest.mark.parametrize("pot", POTENTIALS, ids=["lj", "coulomb"])
def test_radial_force_is_minus_the_derivative_of_the_energy(pot):
    r = np.linspace(0.9, 4.0, 40) * pot.length_scale
    h = 1e-6 * pot.length_scale
    numeric = -(pot.energy(r + h) - pot.energy(r - h)) / (2 * h)
    np.testing.assert_allclose(pot.force(r), numeric, rtol=1e-6, atol=1e-9)


def test_lennard_jones_landmarks():
    lj = LennardJones(epsilon=0.7, sigma=1.3)
    r_min = 2 ** (1 / 6) * 1.3
    assert lj.energy(1.3) == pytest.approx(0.0, abs=1e-12)
    assert lj.energy(r_min) == pytest.approx(-0.7)
    assert lj.force(r_min) == pytest.approx(0.0, abs=1e-12)
    assert lj.force(1.0) > 0 > lj.force(2.0)  # repulsive inside the minimum, attractive outside


@pytest.mark.parametrize("pot", POTENTIALS, ids=["lj", "coulomb"])
def test_window_force_is_minus_the_gradient_of_the_target_energy(pot):
    rng = np.random.default_rng(0)
    s = pot.length_scale
    delta = rng.uniform(-2.5 * s, 2.5 * s, (12, 2))
    delta = delta[np.hypot(*delta.T) > 0.95 * s]
    h = 1e-6 * s
    grad = []
    for axis in range(2):
        step = np.zeros(2)
        step[axis] = h  # moving the target by +h moves every offset by −h
        grad.append((window_energy(delta - step, pot) - window_energy(delta + step, pot)) / (2 * h))
    np.testing.assert_allclose(window_force(delta, pot), -np.array(grad), rtol=1e-6, atol=1e-8)


def test_forces_in_a_box_obey_newtons_third_law():
    # window = box: each particle feels every other one (minimum image), so Σ F = 0
    pot = LennardJones()
    pos = random_boxes(1, 12, 6.0, np.random.default_rng(2), min_distance=0.9)[0]
    total = np.zeros(2)
    for i in range(12):
        delta = minimum_image(np.delete(pos, i, axis=0) - pos[i], 6.0)
        total += window_force(delta, pot)
    assert np.abs(total).max() < 1e-9 * np.abs(window_force(minimum_image(pos[1:] - pos[0], 6.0), pot)).max() + 1e-9


def test_hard_core_is_respected_and_positions_fill_the_box():
    pos = random_boxes(20, 30, 10.0, np.random.default_rng(3), min_distance=1.0)
    assert pos.shape == (20, 30, 2) and pos.min() >= 0 and pos.max() < 10.0
    d = minimum_image(pos[:, :, None] - pos[:, None], 10.0)
    r = np.hypot(d[..., 0], d[..., 1]) + np.eye(30) * 99
    assert r.min() >= 1.0
    with pytest.raises(UserInputError, match="lower the density"):
        random_boxes(1, 200, 5.0, np.random.default_rng(0), min_distance=1.0)


def test_generated_samples_match_density_and_their_own_forces():
    spec = GasSpec(Coulomb(), density=0.02, window=10.0, min_distance=0.0, box_factor=2.0, targets_per_box=4)
    data = generate(spec, 2000, seed=4)
    assert data.n_samples == 2000 and spec.n_particles == 8
    # each of the N − 1 others lands in the window with probability W²/L² = 1/4
    counts = np.diff(data.offsets)
    expected, sd = (spec.n_particles - 1) / 4, np.sqrt((spec.n_particles - 1) * 0.25 * 0.75)
    assert abs(counts.mean() - expected) < 5 * sd / np.sqrt(500)  # 500 independent boxes
    for k in (0, 17, 1999):
        np.testing.assert_allclose(data.forces[k], window_force(data.neighbours(k), spec.potential), rtol=1e-12)
    assert np.all(np.abs(data.delta) <= 5.0)
    assert grid_images(data.delta, data.offsets, 10.0, 7).sum() == counts.sum()


def test_data_round_trip_and_bad_files(tmp_path):
    spec = GasSpec(make_potential("lj"), density=0.3, window=5.0, min_distance=0.9)
    data = generate(spec, 40, seed=5)
    save_data(tmp_path / "d", {"train": data.subset(np.arange(32)), "test": data.subset(np.arange(32, 40))})
    back = load_data(tmp_path / "d", "test")
    np.testing.assert_array_equal(back.forces, data.forces[32:])
    np.testing.assert_array_equal(back.delta, data.delta[data.offsets[32]:])
    assert back.spec["sigma_A"] == 1.0 and back.potential == spec.potential
    with pytest.raises(UserInputError, match="not a gas2d data folder"):
        load_data(tmp_path, "train")
    (tmp_path / "d" / "dataset.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(UserInputError, match="not a gas2d data description"):
        load_data(tmp_path / "d", "train")


def test_bad_generator_settings_are_user_errors():
    with pytest.raises(UserInputError, match="unknown potential"):
        make_potential("morse")
    with pytest.raises(UserInputError, match="density"):
        GasSpec(Coulomb(), density=-1.0, window=5.0)
    with pytest.raises(UserInputError, match="box_factor"):
        GasSpec(Coulomb(), density=0.1, window=5.0, box_factor=0.5)
    with pytest.raises(UserInputError, match="sigma"):
        make_potential("coulomb", sigma=1.0)


def test_image_limited_estimates_converge_to_the_true_force_as_cells_shrink():
    spec = GasSpec(Coulomb(), density=0.02, window=10.0, min_distance=0.5)
    data = generate(spec, 60, seed=6)
    coarse_err = np.abs(cell_centre_forces(data, 7) - data.forces).mean()
    fine_err = np.abs(cell_centre_forces(data, 400) - data.forces).mean()
    assert fine_err < 0.05 * coarse_err
    # draws put each neighbour anywhere in its cell: with 0.025 Å cells they barely move the force
    draws = posterior_forces(data, 400, n_draws=4, seed=0)
    assert draws.shape == (60, 4, 2)
    assert np.abs(np.median(draws, axis=1) - data.forces).mean() < 0.05 * coarse_err
    spread_fine = draws.std(axis=1).mean()
    spread_coarse = posterior_forces(data, 7, n_draws=16, seed=0).std(axis=1).mean()
    assert spread_fine < 0.05 * spread_coarse


def test_bayes_prediction_picks_the_most_frequent_class_pair():
    # draws of one sample: classes (x, y) = (2, 1) three times, (0, 3) twice
    draws = np.array([[[0.1, -0.4], [0.2, -0.3], [0.05, -0.2], [-0.9, 0.9], [-0.8, 0.8]]])
    pred = bayes_predictions(draws, f_max=1.0, n_classes=4)
    assert pred["joint"].tolist() == [[2, 1]]
    np.testing.assert_allclose(pred["force"], [[0.05, -0.2]])  # per-component medians
