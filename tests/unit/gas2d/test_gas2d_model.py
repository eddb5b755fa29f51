"""LeNet force model: symmetrised predictions are equivariant, tiny trainings learn, files and resume work."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnsurrogate.gas2d.dataset import GasSpec, generate
from nnsurrogate.gas2d.evaluation import majority_baseline, score
from nnsurrogate.gas2d.model import Gas2DForceModel, ModelConfig
from nnsurrogate.gas2d.network import LeNet, lenet_feature_size
from nnsurrogate.gas2d.potentials import Coulomb
from nnsurrogate.gas2d.symmetry import D4_MATRICES, image_permutations
from nnsurrogate.gas2d.training import TrainSettings, fit
from nnsurrogate.core.errors import ModelFileError, UserInputError

GRID = 16


@pytest.fixture(scope="module")
def gas():
    """Coulomb gas, ≈ 3 neighbours per 16 Å window; 1600 training and 600 test samples."""
    spec = GasSpec(Coulomb(), density=0.012, window=16.0, min_distance=1.0)
    data = generate(spec, 2200, seed=11)
    return data.subset(np.arange(1600)), data.subset(np.arange(1600, 2200))


def test_lenet_shapes_follow_the_paper():
    assert lenet_feature_size(28) == 800  # 50 channels × 4 × 4, as in the paper's figure 2
    assert LeNet(28, 100)(torch.zeros(3, 28, 28)).shape == (3, 100)
    with pytest.raises(UserInputError, match="too small"):
        lenet_feature_size(12)


@pytest.mark.parametrize("head", ["regress", "classify"])
def test_symmetrised_prediction_is_equivariant(head):
    torch.manual_seed(0)
    config = ModelConfig(head=head, grid=GRID, n_classes=6, f_max=1.0, window=16.0, force_scale=0.3)
    model = Gas2DForceModel(config)
    images = np.random.default_rng(0).poisson(0.05, (5, GRID, GRID)).astype(np.float32)
    base = model.predict(images)
    perms = image_permutations(GRID)
    for g in (3, 6):
        moved = images.reshape(5, -1)[:, perms[g]].reshape(images.shape)
        pred = model.predict(moved)
        if head == "regress":  # the force of the turned image is the turned force
            np.testing.assert_allclose(pred["forces"], base["forces"] @ D4_MATRICES[g].T, rtol=1e-4, atol=1e-6)
        else:  # the class of the turned force component (classes of −F are K − 1 − c)
            expected = base["forces"] @ D4_MATRICES[g].T
            np.testing.assert_allclose(pred["forces"], expected, atol=1e-9)


def test_tiny_classifier_beats_the_majority_class(gas):
    train, test = gas
    model, history = fit(train, TrainSettings(head="classify", grid=GRID, n_classes=10, epochs=3, seed=0))
    assert len(history) == 3 and history[-1]["loss"] < history[0]["loss"]
    pred = model.predict(test.images(GRID))
    c = model.config
    acc = score(pred["classes"], pred["forces"], test.forces, c.f_max, c.n_classes)["accuracy_both"]
    majority = majority_baseline(train.forces, test.forces, c.f_max, c.n_classes)["accuracy_both"]
    assert c.f_max == pytest.approx(1.0 / (16.0 / GRID) ** 2)  # the paper's rule for Coulomb
    print(f"tiny classifier: accuracy {acc:.3f}, majority class {majority:.3f}")
    assert acc > majority + 0.2


def test_tiny_regressor_explains_most_of_the_force(gas, tmp_path):
    train, test = gas
    model, _ = fit(train, TrainSettings(head="regress", grid=GRID, epochs=3, seed=0))
    images = test.images(GRID)
    pred = model.predict(images)
    metrics = score(pred["classes"], pred["forces"], test.forces, model.config.f_max, 10)
    print(f"tiny regressor: R² {metrics['force_r2']:.3f}, MAE/std {metrics['force_mae_over_std']:.3f}")
    assert metrics["force_r2"] > 0.3 and metrics["force_mae_over_std"] < 0.6
    model.save(tmp_path / "model")
    again = Gas2DForceModel.load(tmp_path / "model").predict(images)
    np.testing.assert_array_equal(again["forces"], pred["forces"])
    weights = tmp_path / "model" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(ModelFileError, match="checksum"):
        Gas2DForceModel.load(tmp_path / "model")


@pytest.mark.parametrize("recipe", ["paper", "ours"])
def test_interrupted_training_resumes_to_the_same_weights(gas, tmp_path, recipe):
    train = gas[0].subset(np.arange(600))
    settings = TrainSettings(head="classify", grid=GRID, epochs=2, seed=3, recipe=recipe)
    straight, straight_history = fit(train, settings)

    def stop_in_second_epoch(step, total, metrics):
        if metrics["epoch"] == 2:
            raise KeyboardInterrupt

    ckpt = tmp_path / "state.pt"
    with pytest.raises(KeyboardInterrupt):
        fit(train, settings, stop_in_second_epoch, ckpt)
    resumed, history = fit(train, settings, None, ckpt)
    assert [h["epoch"] for h in history] == [1, 2]
    assert history == straight_history  # losses and learning rates too (the schedule resumes)
    for (name, a), b in zip(straight.net.state_dict().items(), resumed.net.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
    with pytest.raises(UserInputError, match="other data or settings"):
        fit(train, TrainSettings(head="classify", grid=GRID, epochs=2, seed=4, recipe=recipe), None, ckpt)
