"""The sub-cell descriptor, its physics reading and limit, and the radial pair-sum network (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnsurrogate.cli.main import run
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.gas2d.baselines import centroid_forces, subcell_posterior_forces
from nnsurrogate.gas2d.configurations import window_force
from nnsurrogate.gas2d.dataset import Gas2DData, GasSpec, generate
from nnsurrogate.gas2d.descriptor import cell_centres, grid_images, subcell_images
from nnsurrogate.gas2d.model import Gas2DForceModel
from nnsurrogate.gas2d.network import PairSumNet
from nnsurrogate.gas2d.potentials import Coulomb
from nnsurrogate.gas2d.symmetry import D4_MATRICES, image_permutations, transform_descriptors
from nnsurrogate.gas2d.training import TrainSettings, fit

WINDOW, GRID = 6.0, 6


def _one(delta):
    delta = np.asarray(delta, dtype=float).reshape(-1, 2)
    return delta, np.array([0, len(delta)])


def _data(configs, potential=Coulomb(1.0), window=WINDOW):
    """A Gas2DData of hand-made windows with their exact forces."""
    deltas = [np.asarray(c, dtype=float).reshape(-1, 2) for c in configs]
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in deltas])])
    forces = np.array([window_force(d, potential) for d in deltas])
    return Gas2DData(np.concatenate(deltas), offsets, forces, {**potential.params(), "window_A": window})


def test_subcell_channels_give_counts_and_exact_single_positions():
    delta, offsets = _one([(0.3, 0.4), (-2.2, 1.7), (1.6, -0.9), (1.9, -0.6)])
    desc = subcell_images(delta, offsets, WINDOW, GRID)[0]
    np.testing.assert_array_equal(desc[0], grid_images(delta, offsets, WINDOW, GRID)[0])
    h = WINDOW / GRID
    centres = cell_centres(WINDOW, GRID)
    alone = desc[0] == 1
    rebuilt = centres[alone] + h * np.stack([desc[1][alone], desc[2][alone]], axis=-1)
    np.testing.assert_allclose(np.sort(rebuilt, axis=0), np.sort(delta[:2], axis=0), atol=1e-6)
    shared = desc[0] == 2  # (1.6, −0.9) and (1.9, −0.6) share the cell 1 ≤ x < 2, −1 ≤ y < 0
    np.testing.assert_allclose(centres[shared][0] + h * np.array([desc[1][shared][0], desc[2][shared][0]]) / 2,
                               delta[2:].mean(axis=0), atol=1e-6)
    assert np.all(np.abs(desc[1:]) <= desc[0] * 0.5 + 1e-6)


@pytest.mark.parametrize("g", range(8))
def test_turning_the_configuration_turns_the_subcell_descriptor(g):
    rng = np.random.default_rng(g)
    delta = rng.uniform(-2.9, 2.9, size=(9, 2))
    m = D4_MATRICES[g].astype(float)
    before = torch.from_numpy(subcell_images(*_one(delta), WINDOW, GRID))
    after = subcell_images(*_one(delta @ m.T), WINDOW, GRID)
    turned = transform_descriptors(before, torch.tensor([g]), torch.as_tensor(image_permutations(GRID)))
    np.testing.assert_allclose(turned.numpy(), after, atol=1e-5)


def test_centroid_reading_is_exact_when_every_neighbour_has_its_own_cell():
    data = _data([[(1.2, 0.3), (-2.5, -1.1)], [(0.6, 0.7), (0.9, 0.8), (-1.7, 2.4)]])
    forces = centroid_forces(data, GRID)
    np.testing.assert_allclose(forces[0], data.forces[0], rtol=1e-12)  # lossless: the exact force
    assert not np.allclose(forces[1], data.forces[1], rtol=1e-6)  # two neighbours share a cell
    draws, lossless = subcell_posterior_forces(data, GRID, n_draws=32, seed=0)
    assert lossless.tolist() == [True, False]
    np.testing.assert_allclose(draws[0], np.broadcast_to(data.forces[0], (32, 2)), rtol=1e-12)
    assert np.ptp(draws[1], axis=0).max() > 0  # the shared cell's neighbours are uncertain


def test_pairsum_is_equivariant_under_any_rotation_of_the_neighbours():
    torch.manual_seed(0)
    net = PairSumNet(GRID)
    delta = np.array([(0.45, 0.2), (-1.3, 2.1), (2.2, -0.4)])  # well inside their cells for a 90° turn
    out = net(torch.from_numpy(subcell_images(*_one(delta), WINDOW, GRID))).detach().numpy()[0]
    for m in D4_MATRICES[1:]:
        turned = net(torch.from_numpy(subcell_images(*_one(delta @ m.T), WINDOW, GRID))).detach().numpy()[0]
        np.testing.assert_allclose(turned, m @ out, atol=1e-5)


def test_trained_pairsum_recovers_the_coulomb_pair_force():
    spec = GasSpec(Coulomb(1.0), 0.01, 28.0, 1.0)
    data = generate(spec, 4000, seed=0)
    model, _ = fit(data, TrainSettings(head="regress", descriptor="subcell", network="pairsum", epochs=12, threads=1))
    r = np.array([1.5, 2.0, 3.0, 5.0])  # cell units = Å here; the data hold many neighbours at these distances
    with torch.no_grad():
        phi = model.net.radial(torch.tensor(r, dtype=torch.float32)).numpy() * model.config.force_scale
    np.testing.assert_allclose(phi, 1.0 / r**2, rtol=0.15, atol=0.01)
    test = generate(spec, 400, seed=1)
    pred = model.predict(test.descriptor(28, "subcell"))
    err = np.abs(pred["forces"] - test.forces).mean() / test.forces.std()
    assert err < 0.1


def test_subcell_model_saves_and_loads(tmp_path):
    data = generate(GasSpec(Coulomb(1.0), 0.01, 28.0, 1.0), 200, seed=0)
    model, _ = fit(data, TrainSettings(head="classify", descriptor="subcell", grid=16, epochs=1, threads=1))
    model.save(tmp_path / "m")
    again = Gas2DForceModel.load(tmp_path / "m")
    assert again.config.descriptor == "subcell" and again.net.in_channels == 3
    desc = data.descriptor(16, "subcell")
    np.testing.assert_array_equal(again.predict(desc)["classes"], model.predict(desc)["classes"])
    with pytest.raises(UserInputError, match="shape"):
        again.predict(data.images(16))


@pytest.mark.parametrize("kwargs, message", [
    ({"network": "pairsum", "head": "regress"}, "subcell"),
    ({"network": "pairsum", "descriptor": "subcell"}, "regress"),
    ({"descriptor": "voronoi"}, "descriptor must be one of"),
    ({"network": "alexnet"}, "network must be one of"),
])
def test_settings_reject_what_does_not_go_together(kwargs, message):
    with pytest.raises(UserInputError, match=message):
        TrainSettings(**kwargs)


def test_cli_trains_the_pairsum_network_and_rejects_a_bad_pairing(tmp_path, capsys):
    data = tmp_path / "data"
    assert run(["gas2d", "generate", "--potential", "coulomb", "--density", "0.01", "--n-samples", "400",
                "--out", str(data), "--quiet"]) == 0
    code = run(["gas2d", "train", str(data), "--descriptor", "subcell", "--network", "pairsum", "--head", "regress",
                "--epochs", "2", "--out", str(tmp_path / "ok"), "--quiet"])
    assert code == 0 and (tmp_path / "ok" / "metrics.json").is_file()
    capsys.readouterr()
    code = run(["gas2d", "train", str(data), "--network", "pairsum", "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "subcell" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
