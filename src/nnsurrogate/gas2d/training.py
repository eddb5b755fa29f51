"""Training the 2D-gas force models: two recipes, D4 augmentation, checkpoints that resume.

Recipes (how the network is trained; the input is the paper's count image unless the settings ask
for the sub-cell descriptor, and the network a LeNet unless they ask for the radial pair sum):

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
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnsurrogate.core.engine import Checkpoint, EpochTask, Progress, run_epochs
from nnsurrogate.core.engine.budget import budget_for, check_time_limit
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.threads import torch_threads
from nnsurrogate.gas2d.classes import resolve_fmax
from nnsurrogate.gas2d.model import Gas2DForceModel, ModelConfig, check_model_kind
from nnsurrogate.gas2d.symmetry import D4_MATRICES, image_permutations, transform_images

__all__ = ["RECIPES", "Recipe", "TrainSettings", "fit", "fmax_rule", "make_config"]

#: Settings that do not change the result of a run (left out of the checkpoint signature).
_UNSIGNED = ("threads", "time_limit")


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
        ``"cell"``, ``"quantile:Q"`` or a force in eV/Å (see :mod:`~nnsurrogate.gas2d.classes`).
    recipe : str
        ``"ours"`` or ``"paper"``.
    epochs : int
        Passes over the training samples.
    seed : int
        Initialisation, shuffling and augmentation.
    threads : int or None
        PyTorch threads while training (``None``: leave as is).
    time_limit : float or None
        Wall time after which no further epoch is begun, s, building the descriptors included
        (``None``: no limit; not part of the checkpoint signature, so a run may resume under another limit).
    descriptor : str
        ``"counts"`` (the paper's image) or ``"subcell"`` (counts and the offsets within the cells).
    network : str
        ``"lenet"`` or ``"pairsum"`` (learned radial pair force on the sub-cell descriptor; regression
        head; exactly equivariant, so the recipe's augmentation and symmetrisation are not used).
    """

    head: str = "classify"
    grid: int = 28
    n_classes: int = 10
    fmax: str = "auto"
    recipe: str = "ours"
    epochs: int = 8
    seed: int = 0
    threads: int | None = 1
    time_limit: float | None = None
    descriptor: str = "counts"
    network: str = "lenet"

    def __post_init__(self) -> None:
        if self.recipe not in RECIPES:
            raise UserInputError(f"recipe must be one of {', '.join(RECIPES)}, got '{self.recipe}'", "recipe")
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise UserInputError(f"epochs must be a positive integer, got {self.epochs}", "epochs")
        check_time_limit(self.time_limit)
        check_model_kind(self.descriptor, self.network, self.head)

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
                       symmetrize=recipe.symmetrize and settings.network == "lenet",
                       data=dict(train.spec, fmax_rule=rule), descriptor=settings.descriptor,
                       network=settings.network)


def fit(train, settings: TrainSettings, progress: Progress | None = None,
        checkpoint: str | os.PathLike | None = None) -> tuple[Gas2DForceModel, list[dict]]:
    """Train a force model on *train* (a :class:`~nnsurrogate.gas2d.dataset.Gas2DData`).

    The run ends after ``settings.epochs`` epochs, or after the first epoch that ends past
    ``settings.time_limit`` seconds (building the descriptors counts; a fresh run still trains at
    least one epoch; inside a :func:`~nnsurrogate.core.engine.budget.time_limit_scope` the scope's
    clock applies); the model keeps the weights of its last epoch (there is no
    validation set to pick the best one by) and says what ended the run in ``model.stopped_by``.

    Parameters
    ----------
    train : Gas2DData
    settings : TrainSettings
    progress : callable, optional
        ``progress(step, total, {"loss": ..., "epoch": ...})`` after each mini-batch: *step* counts
        mini-batches over the whole run, *total* the planned ones, ``loss`` is the mean training loss
        so far in the epoch and ``epoch`` the 1-based epoch.
    checkpoint : path-like, optional
        File for the resumable state, written after every epoch; an existing one with the same
        settings and data is resumed from.

    Returns
    -------
    model : Gas2DForceModel
    history : list of dict
        Per epoch: ``epoch``, ``loss`` (mean training loss), ``learning_rate``.
    """
    setup_started = time.perf_counter()
    config = make_config(train, settings)
    recipe = settings.resolved_recipe()
    images = torch.from_numpy(train.descriptor(settings.grid, settings.descriptor))
    targets = torch.from_numpy(train.forces / config.force_scale).float()
    with torch_threads(settings.threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        model = Gas2DForceModel(config)
        task = _Gas2DTask(model, recipe, settings, images, targets, progress)
        ckpt = None if checkpoint is None else Checkpoint(checkpoint, kind="gas2d",
                                                          signature=_signature(train, settings), global_rng=False)
        budget = budget_for(settings.epochs, settings.time_limit, setup_started)
        result = run_epochs(task, budget, checkpoint=ckpt, restore_best=False)
    model.stopped_by = result.stopped_by
    history = [{key: row[key] for key in ("epoch", "loss", "learning_rate")} for row in result.history]
    return model, history


class _Gas2DTask(EpochTask):
    """One epoch of mini-batches: optimizer, schedule and random generator of one run.

    Parameters
    ----------
    model : Gas2DForceModel
    recipe : Recipe
    settings : TrainSettings
    images : torch.Tensor
        (N, grid, grid) count images or (N, 3, grid, grid) sub-cell descriptors.
    targets : torch.Tensor
        (N, 2) forces over the force scale (dimensionless).
    progress : callable or None
        The per-mini-batch callback of :func:`fit`.
    """

    def __init__(self, model: Gas2DForceModel, recipe: Recipe, settings: TrainSettings, images: torch.Tensor,
                 targets: torch.Tensor, progress: Progress | None) -> None:
        self.model, self.recipe, self.settings, self.progress = model, recipe, settings, progress
        self.images, self.targets = images, targets
        self.module = model.net
        self.steps_per_epoch = -(-images.shape[0] // recipe.batch_size)
        self.optimizer = torch.optim.AdamW(model.net.parameters(), lr=recipe.learning_rate,
                                           weight_decay=recipe.weight_decay)
        total = self.steps_per_epoch * settings.epochs
        self.scheduler = (torch.optim.lr_scheduler.OneCycleLR(self.optimizer, recipe.learning_rate, total_steps=total,
                                                              pct_start=0.15) if recipe.one_cycle else None)
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.generators = (self.generator,)
        self.perms = torch.as_tensor(image_permutations(settings.grid))
        self.epoch = 0

    def train_epoch(self, deadline: float | None) -> dict[str, Any]:
        """One pass over the samples in a random order (the time limit is checked between epochs only)."""
        net, bs = self.model.net, self.recipe.batch_size
        net.train()
        order = torch.randperm(self.images.shape[0], generator=self.generator)
        total = 0.0
        for step in range(self.steps_per_epoch):
            idx = order[step * bs:(step + 1) * bs]
            x, y = self.images[idx], self.targets[idx]
            if self.recipe.augment and self.model.config.network == "lenet":
                which = torch.randint(0, len(D4_MATRICES), (idx.numel(),), generator=self.generator)
                x, y = transform_images(x, y, which, self.perms)
            loss = self._loss(net(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            total += float(loss.detach())
            if self.progress is not None:
                self.progress(self.epoch * self.steps_per_epoch + step + 1,
                              self.settings.epochs * self.steps_per_epoch,
                              {"loss": total / (step + 1), "epoch": self.epoch + 1})
        self.epoch += 1
        return {"loss": total / self.steps_per_epoch, "learning_rate": float(self.optimizer.param_groups[0]["lr"])}

    def validate(self, train_metrics: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """No validation set: the score is the training loss (the last weights are kept anyway)."""
        return train_metrics["loss"], dict(train_metrics)

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

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])


def _signature(train, settings: TrainSettings) -> str:
    """Hash of the settings and the training data, so a checkpoint only resumes the same run."""
    fields = {k: v for k, v in asdict(settings).items() if k not in _UNSIGNED}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode())
    for array in (train.forces, train.offsets):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
