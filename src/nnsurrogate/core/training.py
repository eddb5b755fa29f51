"""The one training loop: mini-batch Adam for an ensemble of networks with per-member early stopping.

Every member sees its own shuffled (optionally bootstrap-resampled) mini-batches, is scored on the
shared validation rows after each epoch, and keeps its own best weights. The learning rate halves
when the ensemble's mean validation loss stalls (``ReduceLROnPlateau``). With a checkpoint path the
full state (weights, optimizer, scheduler, best weights, random generator) is written every few
epochs, so an interrupted run resumes where it stopped and ends with the same result.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnsurrogate.core.files import atomic_path

from nnsurrogate.core.engine.progress import Progress as ProgressFn  # noqa: E402  (step, total, metrics)
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


@dataclass
class TrainResult:
    """What the loop reports; the model holds the best weights of every member afterwards."""

    best_epoch: np.ndarray
    best_val_loss: np.ndarray
    epochs_run: int
    history: list[tuple[int, float, float]] = field(default_factory=list)


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with *n_threads* PyTorch intra-op threads, restoring the previous setting after.

    Small networks are dominated by per-operation overhead: one thread avoids synchronisation and
    is many times faster when other processes share the cores. ``None`` leaves the setting alone.
    """
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


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
        Validation rows for early stopping; ``None`` trains for ``max_epochs`` and keeps the last weights.
    config : TrainConfig
    generator : torch.Generator
        Source of shuffling and bootstrap draws.
    progress : callable, optional
        Called as ``progress(epoch, max_epochs, train_loss, val_loss)`` after each epoch.
    loss : callable, optional
        Per-member loss (see :data:`LossFn`) for training and early stopping; default
        :func:`per_member_mse` (also :func:`per_member_l1`, :func:`per_member_cross_entropy`).
    """
    loss = per_member_mse if loss is None else loss
    state = _LoopState.start(model, X.shape[0], config, generator)
    if config.checkpoint and Path(config.checkpoint).is_file():
        state.load(Path(config.checkpoint), model, generator)
    while state.epoch < config.max_epochs and not state.all_stopped(config):
        train_loss = _one_epoch(model, X, Y, state, config, generator, loss)
        val_loss = _validate(model, X_val, Y_val, train_loss, loss)
        state.record(model, val_loss, train_loss)
        if progress is not None:
            progress(state.epoch, config.max_epochs, {"train_loss": float(train_loss.mean()), "valid_loss": float(val_loss.mean())})
        if config.checkpoint and state.epoch % config.checkpoint_every == 0:
            state.save(Path(config.checkpoint), model, generator)
    if config.checkpoint:
        state.save(Path(config.checkpoint), model, generator)
    state.restore_best(model)
    return TrainResult(state.best_epoch.numpy().copy(), state.best_val.numpy().copy(), state.epoch, state.history)


def _one_epoch(model, X, Y, state: "_LoopState", config: TrainConfig, generator, loss_fn: LossFn) -> torch.Tensor:
    """One pass of mini-batches for all members at once; returns each member's mean loss (M,)."""
    model.train()
    rows = state.rows  # (M, n_rows) indices into X
    order = torch.argsort(torch.rand(rows.shape, generator=generator), dim=1)
    rows = torch.gather(rows, 1, order)
    total = torch.zeros(rows.shape[0])
    n_batches = 0
    for start in range(0, rows.shape[1], config.batch_size):
        idx = rows[:, start : start + config.batch_size]
        state.optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(X[idx]), Y[idx])
        loss.sum().backward()
        state.optimizer.step()
        total += loss.detach()
        n_batches += 1
    return total / max(n_batches, 1)


@torch.no_grad()
def _validate(model, X_val, Y_val, train_loss: torch.Tensor, loss_fn: LossFn) -> torch.Tensor:
    if X_val is None or X_val.shape[0] == 0:
        return train_loss
    model.eval()
    return loss_fn(model(X_val), Y_val.unsqueeze(0))


class _LoopState:
    """Mutable bookkeeping of one training run (kept out of the model, saved in checkpoints)."""

    def __init__(self, model: nn.Module, rows: torch.Tensor, config: TrainConfig) -> None:
        m = model.n_members
        self.rows = rows
        params = list(model.parameters())
        fused = all(p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float64) for p in params)
        self.optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay, fused=fused)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, factor=0.5, patience=config.lr_patience, min_lr=config.learning_rate * config.min_lr_factor
        )
        self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.best_val = torch.full((m,), float("inf"))
        self.best_epoch = torch.zeros(m, dtype=torch.long)
        self.since_best = torch.zeros(m, dtype=torch.long)
        self.epoch = 0
        self.history: list[tuple[int, float, float]] = []

    @classmethod
    def start(cls, model: nn.Module, n_rows: int, config: TrainConfig, generator) -> "_LoopState":
        m = model.n_members
        if config.bootstrap:
            rows = torch.randint(0, n_rows, (m, n_rows), generator=generator)
        else:
            rows = torch.arange(n_rows).expand(m, n_rows).clone()
        return cls(model, rows, config)

    def all_stopped(self, config: TrainConfig) -> bool:
        return bool((self.since_best >= config.patience).all())

    def record(self, model: nn.Module, val_loss: torch.Tensor, train_loss: torch.Tensor) -> None:
        """Keep each member's best weights (member index is the leading axis of every parameter)."""
        self.epoch += 1
        better = val_loss < self.best_val
        if better.any():
            for name, value in model.state_dict().items():
                self.best_state[name][better] = value.detach()[better]
            self.best_val = torch.where(better, val_loss, self.best_val)
            self.best_epoch[better] = self.epoch
        self.since_best = torch.where(better, torch.zeros_like(self.since_best), self.since_best + 1)
        self.scheduler.step(float(val_loss.mean()))
        self.history.append((self.epoch, float(train_loss.mean()), float(val_loss.mean())))

    def restore_best(self, model: nn.Module) -> None:
        model.load_state_dict(self.best_state)

    def save(self, path: Path, model: nn.Module, generator: torch.Generator) -> None:
        blob = {
            "model": model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "best_state": self.best_state,
            "best_val": self.best_val,
            "best_epoch": self.best_epoch,
            "since_best": self.since_best,
            "epoch": self.epoch,
            "rows": self.rows,
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),  # dropout masks are drawn from the global CPU generator
            "history": torch.tensor(self.history, dtype=torch.float64).reshape(-1, 3),
        }
        with atomic_path(path) as tmp:
            torch.save(blob, tmp)

    def load(self, path: Path, model: nn.Module, generator: torch.Generator) -> None:
        """Resume from *path* (``weights_only`` loading: tensors and plain containers, never code)."""
        blob = torch.load(os.fspath(path), weights_only=True)
        model.load_state_dict(blob["model"])
        self.optimizer.load_state_dict(blob["optimizer"])
        self.scheduler.load_state_dict(blob["scheduler"])
        self.best_state = blob["best_state"]
        self.best_val, self.best_epoch, self.since_best = blob["best_val"], blob["best_epoch"], blob["since_best"]
        self.epoch = int(blob["epoch"])
        self.rows = blob["rows"]
        generator.set_state(blob["generator"])
        if "torch_rng" in blob:
            torch.set_rng_state(blob["torch_rng"])
        self.history = [(int(e), float(t), float(v)) for e, t, v in blob["history"].tolist()]
