"""Training the 2D-gas LeNet: two recipes, D4 augmentation, checkpoints that resume.

Recipes (the input is always the paper's count image; only how the network is trained differs):

* ``"paper"`` — as close to Zharikov, Zavyalov & Sivashova (2022) as their text allows: one K-way
  soft-max per force component (they train one network per component; here the two share the trunk),
  Adam at a constant 10⁻³, mini-batches of 64, no augmentation, no symmetrisation;
* ``"ours"`` — one soft-max over the K² (x, y) class pairs (the both-components accuracy scores the
  pair, so the network should rank pairs), every mini-batch sample turned by a random symmetry of the
  square (rotating the image rotates the force: 8× the data for free), AdamW (weight decay 10⁻⁴) with
  a one-cycle learning-rate schedule peaking at 2·10⁻³, mini-batches of 128, and predictions averaged
  over the eight symmetric images.

The regression head minimises the mean squared error of F / s, s = standard deviation of the
training forces (both components pooled).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nnsurrogate.atomistic.gas2d.classes import resolve_fmax
from nnsurrogate.atomistic.gas2d.model import Gas2DForceModel, ModelConfig
from nnsurrogate.atomistic.gas2d.symmetry import D4_MATRICES, image_permutations, transform_images
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import atomic_path
from nnsurrogate.core.training import torch_threads

__all__ = ["RECIPES", "Recipe", "TrainSettings", "fit", "fmax_rule", "make_config"]

#: ``progress(step, total_steps, mean_loss_so_far_this_epoch, epoch)``, called after each mini-batch.
StepFn = Callable[[int, int, float, int], None]


@dataclass(frozen=True)
class Recipe:
    """How to train (see the module docstring)."""

    joint: bool
    augment: bool
    symmetrize: bool
    batch_size: int
    learning_rate: float
    weight_decay: float
    one_cycle: bool


RECIPES = {
    "ours": Recipe(joint=True, augment=True, symmetrize=True, batch_size=128, learning_rate=2e-3,
                   weight_decay=1e-4, one_cycle=True),
    "paper": Recipe(joint=False, augment=False, symmetrize=False, batch_size=64, learning_rate=1e-3,
                    weight_decay=0.0, one_cycle=False),
}


@dataclass(frozen=True)
class TrainSettings:
    """Settings of one training run.

    Attributes
    ----------
    head : str
        ``"classify"`` or ``"regress"``.
    grid : int
        Cells per side of the count image (the paper: 28).
    n_classes : int
        K, classes per component (the paper's LeNet: 10).
    fmax : str
        f_max rule: ``"auto"`` (``"cell"`` for Coulomb, ``"quantile:0.99"`` for Lennard-Jones),
        ``"cell"``, ``"quantile:Q"`` or a force in eV/Å (see :mod:`~nnsurrogate.atomistic.gas2d.classes`).
    recipe : str
        ``"ours"`` or ``"paper"``.
    epochs : int
        Passes over the training samples.
    seed : int
        Initialisation, shuffling and augmentation.
    threads : int or None
        PyTorch threads while training (``None``: leave as is).
    """

    head: str = "classify"
    grid: int = 28
    n_classes: int = 10
    fmax: str = "auto"
    recipe: str = "ours"
    epochs: int = 8
    seed: int = 0
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.recipe not in RECIPES:
            raise UserInputError(f"recipe must be one of {', '.join(RECIPES)}, got '{self.recipe}'", "--recipe")
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise UserInputError(f"epochs must be a positive integer, got {self.epochs}", "--epochs")

    def resolved_recipe(self) -> Recipe:
        return RECIPES[self.recipe]


def fmax_rule(rule: str, potential_name: str) -> str:
    """The f_max rule that ``"auto"`` stands for with this potential."""
    if str(rule).strip().lower() != "auto":
        return rule
    return "cell" if potential_name == "coulomb" else "quantile:0.99"


def make_config(train, settings: TrainSettings) -> ModelConfig:
    """Model configuration from the training data and settings (f_max and scales from training forces only)."""
    recipe = settings.resolved_recipe()
    rule = fmax_rule(settings.fmax, train.spec.get("potential", ""))
    f_max = resolve_fmax(rule, train.potential, train.window, settings.grid, train.forces)
    scale = float(np.sqrt(np.mean(np.var(train.forces, axis=0)))) or 1.0
    return ModelConfig(head=settings.head, grid=settings.grid, n_classes=settings.n_classes, f_max=f_max,
                       window=train.window, force_scale=scale, joint=recipe.joint,
                       symmetrize=recipe.symmetrize, data=dict(train.spec, fmax_rule=rule))


def fit(train, settings: TrainSettings, progress: StepFn | None = None,
        checkpoint: str | os.PathLike | None = None) -> tuple[Gas2DForceModel, list[dict]]:
    """Train a LeNet on *train* (a :class:`~nnsurrogate.atomistic.gas2d.dataset.Gas2DData`).

    Parameters
    ----------
    train : Gas2DData
    settings : TrainSettings
    progress : callable, optional
        Called after each mini-batch (see :data:`StepFn`).
    checkpoint : path-like, optional
        File for the resumable state, written after every epoch; an existing one with the same
        settings and data is resumed from.

    Returns
    -------
    model : Gas2DForceModel
    history : list of dict
        Per epoch: ``epoch``, ``loss`` (mean training loss), ``learning_rate``.
    """
    config = make_config(train, settings)
    recipe = settings.resolved_recipe()
    images = torch.from_numpy(train.images(settings.grid))
    targets = torch.from_numpy(train.forces / config.force_scale).float()
    with torch_threads(settings.threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        model = Gas2DForceModel(config)
        loop = _Loop(model, recipe, settings, images.shape[0], _signature(train, settings))
        if checkpoint is not None and Path(checkpoint).is_file():
            loop.load(Path(checkpoint))
        while loop.epoch < settings.epochs:
            loop.run_epoch(images, targets, progress)
            if checkpoint is not None:
                loop.save(Path(checkpoint))
    return model, loop.history


class _Loop:
    """Optimizer, schedule, random generator and history of one run (all saved in checkpoints)."""

    def __init__(self, model: Gas2DForceModel, recipe: Recipe, settings: TrainSettings, n: int, signature: str):
        self.model, self.recipe, self.settings, self.signature = model, recipe, settings, signature
        self.steps_per_epoch = -(-n // recipe.batch_size)
        params = model.net.parameters()
        self.optimizer = torch.optim.AdamW(params, lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
        total = self.steps_per_epoch * settings.epochs
        self.scheduler = (torch.optim.lr_scheduler.OneCycleLR(self.optimizer, recipe.learning_rate, total_steps=total,
                                                              pct_start=0.15) if recipe.one_cycle else None)
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.perms = torch.as_tensor(image_permutations(settings.grid))
        self.epoch, self.history = 0, []

    def run_epoch(self, images: torch.Tensor, targets: torch.Tensor, progress: StepFn | None) -> None:
        net, bs = self.model.net, self.recipe.batch_size
        net.train()
        order = torch.randperm(images.shape[0], generator=self.generator)
        total = 0.0
        for step in range(self.steps_per_epoch):
            idx = order[step * bs:(step + 1) * bs]
            x, y = images[idx], targets[idx]
            if self.recipe.augment:
                which = torch.randint(0, len(D4_MATRICES), (idx.numel(),), generator=self.generator)
                x, y = transform_images(x, y, which, self.perms)
            loss = self._loss(net(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            total += float(loss.detach())
            if progress is not None:
                progress(self.epoch * self.steps_per_epoch + step + 1, self.settings.epochs * self.steps_per_epoch,
                         total / (step + 1), self.epoch + 1)
        self.epoch += 1
        self.history.append({"epoch": self.epoch, "loss": total / self.steps_per_epoch,
                             "learning_rate": float(self.optimizer.param_groups[0]["lr"])})

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on the class(es) of the (scaled) forces *y*, or their mean squared error."""
        c = self.model.config
        if c.head == "regress":
            return F.mse_loss(out, y)
        k = c.n_classes
        half_width = c.f_max / c.force_scale
        cls = torch.clamp(torch.floor((y + half_width) * (k / (2.0 * half_width))), 0, k - 1).long()
        if c.joint:
            return F.cross_entropy(out, cls[:, 0] * k + cls[:, 1])
        return F.cross_entropy(out[:, :k], cls[:, 0]) + F.cross_entropy(out[:, k:], cls[:, 1])

    def save(self, path: Path) -> None:
        blob = {"signature": self.signature, "epoch": self.epoch, "net": self.model.net.state_dict(),
                "optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(),
                "history": json.dumps(self.history),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {}}
        with atomic_path(path) as tmp:
            torch.save(blob, tmp)

    def load(self, path: Path) -> None:
        """Resume (``weights_only`` loading: tensors and plain containers, never code)."""
        try:
            blob = torch.load(os.fspath(path), weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint is the user's file problem
            raise UserInputError(f"unreadable checkpoint: {exc}".splitlines()[0], str(path)) from None
        if blob.get("signature") != self.signature:
            raise UserInputError("the checkpoint was written for other data or settings; rerun without --resume",
                                 str(path))
        self.model.net.load_state_dict(blob["net"])
        self.optimizer.load_state_dict(blob["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(blob["scheduler"])
        self.generator.set_state(blob["generator"])
        self.epoch, self.history = int(blob["epoch"]), json.loads(blob["history"])


def _signature(train, settings: TrainSettings) -> str:
    """Hash of the settings and the training data, so a checkpoint only resumes the same run."""
    fields = {k: v for k, v in asdict(settings).items() if k != "threads"}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode())
    for array in (train.forces, train.offsets):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
