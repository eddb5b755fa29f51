"""The ensemble trainer: mini-batch AdamW for a stacked ensemble of networks with per-member early stopping.

Every member sees its own shuffled (optionally bootstrap-resampled) mini-batches, is scored on the
shared validation rows after each epoch, and keeps its own best weights. The learning rate halves
when the ensemble's mean validation loss stalls (``ReduceLROnPlateau``). The epoch body is an
:class:`~nnsurrogate.core.engine.loop.EpochTask` run by the engine
(:func:`~nnsurrogate.core.engine.loop.run_epochs`): with a checkpoint path the full state (weights,
optimizer, scheduler, best weights, bootstrap rows, random generators) is written every few epochs,
so an interrupted run resumes where it stopped and ends with the same result.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from nnsurrogate.core.engine import Budget, Checkpoint, EpochTask, run_epochs, signature_of
from nnsurrogate.core.engine.budget import budget_for, check_time_limit
from nnsurrogate.core.engine.optimizers import fusable, make_optimizer
from nnsurrogate.core.engine.progress import Progress as ProgressFn  # (step, total, metrics)
from nnsurrogate.core.engine.tracking import BestTracker
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.threads import torch_threads  # noqa: F401  re-export for modules not yet moved

__all__ = ["EnsembleEpochs", "LossFn", "ProgressFn", "TrainConfig", "TrainResult", "per_member_cross_entropy",
           "per_member_l1", "per_member_mse", "train_ensemble"]

#: loss(pred (M, B, k), target (M|1, B, k)) -> per-member loss (M,)
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes
    ----------
    max_epochs : int
        Upper bound on passes over the training rows.
    batch_size : int
        Rows per mini-batch (per member).
    learning_rate : float
        Initial Adam step size.
    weight_decay : float
        Decoupled weight decay (AdamW); 0 disables.
    patience : int
        A member stops improving after this many epochs without a better validation loss; training
        ends when every member has stopped.
    lr_patience : int
        Epochs without improvement of the mean validation loss before the learning rate halves.
    min_lr_factor : float
        The learning rate never drops below ``learning_rate * min_lr_factor``.
    bootstrap : bool
        Resample each member's training rows with replacement (bagging) instead of using all rows.
    checkpoint : str or None
        File to write the resumable state to; an existing compatible file is resumed from.
    checkpoint_every : int
        Epochs between checkpoint writes.
    time_limit : float or None
        Training wall time, s (``None``: no limit; inside a
        :func:`~nnsurrogate.core.engine.budget.time_limit_scope` the scope's clock applies instead).
    """

    max_epochs: int = 2000
    batch_size: int = 64
    learning_rate: float = 3e-3
    weight_decay: float = 0.0
    patience: int = 200
    lr_patience: int = 40
    min_lr_factor: float = 1e-3
    bootstrap: bool = False
    checkpoint: str | None = None
    checkpoint_every: int = 10
    time_limit: float | None = None


@dataclass
class TrainResult:
    """What the loop reports; the model holds the best weights of every member afterwards.

    Attributes
    ----------
    best_epoch : numpy.ndarray, shape (M,), int64
        Epoch (1-based) of each member's best validation loss.
    best_val_loss : numpy.ndarray, shape (M,)
        Each member's best validation loss (the training loss without validation rows).
    epochs_run : int
    history : list of (epoch, mean train loss, mean validation loss)
    stopped_by : str
        What ended the run for the whole ensemble: ``"early stopping"`` (every member stopped
        improving), ``"epochs"`` or ``"time limit"`` (see :attr:`~nnsurrogate.core.engine.loop.RunResult.stopped_by`).
    """

    best_epoch: np.ndarray
    best_val_loss: np.ndarray
    epochs_run: int
    history: list[tuple[int, float, float]] = field(default_factory=list)
    stopped_by: str = "epochs"


def per_member_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each member, shape (M,), from pred (M, B, k) and target (M|1, B, k)."""
    return ((pred - target) ** 2).mean(dim=(1, 2))


def per_member_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error of each member, shape (M,) (fits the conditional median)."""
    return (pred - target).abs().mean(dim=(1, 2))


def per_member_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy −ln p_y of each member, shape (M,).

    Parameters
    ----------
    logits : torch.Tensor, shape (M, B, K)
        Unnormalised class scores.
    target : torch.Tensor, shape (M|1, B, 1)
        Class indices 0 … K−1 stored as floats.
    """
    labels = target[..., 0].long().expand(logits.shape[0], -1)
    return torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels, reduction="none").mean(dim=1)


class EnsembleEpochs(EpochTask):
    """One epoch of every member's mini-batches; the score is each member's validation loss (M,).

    Parameters
    ----------
    model : torch.nn.Module
        Maps (M, B, d) to (M, B, k); exposes ``n_members``.
    X, Y : torch.Tensor, shapes (n, d) and (n, k)
    X_val, Y_val : torch.Tensor or None, shapes (n_val, d) and (n_val, k)
    config : TrainConfig
    generator : torch.Generator
        Source of the bootstrap draw (made here) and of every epoch's shuffles.
    loss : LossFn

    Attributes
    ----------
    rows : torch.Tensor, shape (M, n), int64
        Each member's training rows (all rows, or a bootstrap resample); part of the task state.
    """

    def __init__(self, model: nn.Module, X: torch.Tensor, Y: torch.Tensor, X_val: torch.Tensor | None,
                 Y_val: torch.Tensor | None, config: TrainConfig, generator: torch.Generator, loss: LossFn) -> None:
        self.module, self.n_members, self.generators = model, int(model.n_members), (generator,)
        self.X, self.Y, self.X_val, self.Y_val = X, Y, X_val, Y_val
        self.config, self.loss_fn = config, loss
        n = X.shape[0]
        if config.bootstrap:
            self.rows = torch.randint(0, n, (self.n_members, n), generator=generator)
        else:
            self.rows = torch.arange(n).expand(self.n_members, n).clone()
        params = list(model.parameters())
        self.optimizer = make_optimizer("adamw", params, config.learning_rate, weight_decay=config.weight_decay,
                                        fused=fusable(params))
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer.optimizer, factor=0.5, patience=config.lr_patience,
            min_lr=config.learning_rate * config.min_lr_factor)

    def train_epoch(self, deadline: float | None) -> dict[str, Any]:
        """One pass of mini-batches for all members at once; ``train_loss``: each member's mean loss (M,)."""
        self.module.train()
        order = torch.argsort(torch.rand(self.rows.shape, generator=self.generators[0]), dim=1)
        rows = torch.gather(self.rows, 1, order)
        total = torch.zeros(rows.shape[0])
        n_batches = 0
        for start in range(0, rows.shape[1], self.config.batch_size):
            idx = rows[:, start : start + self.config.batch_size]
            self.optimizer.zero_grad()
            total += self.optimizer.step(lambda: self._batch_loss(idx)).detach()
            n_batches += 1
        return {"train_loss": total / max(n_batches, 1)}

    def _batch_loss(self, idx: torch.Tensor) -> torch.Tensor:
        """Per-member loss (M,) of the mini-batch rows *idx* (M, B), gradients accumulated."""
        loss = self.loss_fn(self.module(self.X[idx]), self.Y[idx])
        loss.sum().backward()
        return loss

    @torch.no_grad()
    def validate(self, train_metrics: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """Each member's validation loss (M,) (its training loss without validation rows) and the means."""
        train_loss = train_metrics["train_loss"]
        val_loss = train_loss
        if self.X_val is not None and self.X_val.shape[0] > 0:
            self.module.eval()
            val_loss = self.loss_fn(self.module(self.X_val), self.Y_val.unsqueeze(0))
        return val_loss, {"train_loss": float(train_loss.mean()), "valid_loss": float(val_loss.mean())}

    def after_epoch(self, score: torch.Tensor, budget: Budget, tracker: BestTracker) -> None:
        self.scheduler.step(float(score.mean()))

    def should_stop(self, tracker: BestTracker) -> bool:
        return tracker.stalled(self.config.patience)

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(), "rows": self.rows}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.rows = state["rows"]


def _signature(model: nn.Module, config: TrainConfig, *data: torch.Tensor | None) -> str:
    """What a resumed run must share with the one that wrote the checkpoint: the settings (without the
    checkpoint path and the epoch and time budgets, which a resume may change), the data and weight shapes."""
    settings = {k: v for k, v in dataclasses.asdict(config).items()
                if k not in ("checkpoint", "max_epochs", "time_limit")}
    shapes = [None if t is None else list(t.shape) for t in data]
    weights = [[name, list(value.shape)] for name, value in model.state_dict().items()]
    return signature_of(settings, shapes, weights)


def train_ensemble(
    model: nn.Module,
    X: torch.Tensor,
    Y: torch.Tensor,
    X_val: torch.Tensor | None,
    Y_val: torch.Tensor | None,
    config: TrainConfig,
    generator: torch.Generator,
    progress: ProgressFn | None = None,
    loss: LossFn | None = None,
) -> TrainResult:
    """Train an ensemble model (output (M, B, k)) on X (n, d) → Y (n, k) with a per-member loss (MSE by default).

    Parameters
    ----------
    model : torch.nn.Module
        Maps (M, B, d) to (M, B, k); exposes ``n_members``.
    X, Y : torch.Tensor, shapes (n, d) and (n, k)
        Training rows, already scaled.
    X_val, Y_val : torch.Tensor or None, shapes (n_val, d) and (n_val, k)
        Validation rows for early stopping; ``None`` scores members on their training loss.
    config : TrainConfig
    generator : torch.Generator
        Source of shuffling and bootstrap draws.
    progress : callable, optional
        The engine's protocol, ``progress(epoch, max_epochs, metrics)`` after each epoch; *metrics*
        holds ``train_loss`` and ``valid_loss`` (means over members), ``epoch`` and ``elapsed_s``.
    loss : callable, optional
        Per-member loss (see :data:`LossFn`) for training and early stopping; default
        :func:`per_member_mse` (also :func:`per_member_l1`, :func:`per_member_cross_entropy`).

    Raises
    ------
    UserInputError
        ``max_epochs`` below 1, a time limit that is not positive, or ``checkpoint`` names a file
        written by another kind of run or with other settings, data shapes or network shapes.
    """
    setup_started = time.perf_counter()
    if int(config.max_epochs) < 1:
        raise UserInputError(f"max_epochs must be ≥ 1, got {config.max_epochs}", "max_epochs")
    task = EnsembleEpochs(model, X, Y, X_val, Y_val, config, generator, per_member_mse if loss is None else loss)
    checkpoint = None
    if config.checkpoint:
        checkpoint = Checkpoint(config.checkpoint, "ensemble", _signature(model, config, X, Y, X_val, Y_val))
    budget = budget_for(int(config.max_epochs), check_time_limit(config.time_limit), setup_started)
    run = run_epochs(task, budget, checkpoint=checkpoint, checkpoint_every=int(config.checkpoint_every),
                     progress=progress)
    history = [(int(row["epoch"]), float(row["train_loss"]), float(row["valid_loss"])) for row in run.history]
    best_val = run.best_score.astype(torch.empty(0, dtype=Y.dtype).numpy().dtype)  # the loss's dtype (exact)
    return TrainResult(run.best_epoch, best_val, run.epochs_run, history, run.stopped_by)
