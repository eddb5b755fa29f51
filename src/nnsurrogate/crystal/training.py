"""Mini-batch training of one graph network, with early stopping, learning-rate decay and resumable checkpoints.

The ensemble loop of :mod:`nnsurrogate.core.training` stacks the weights of its members along a
leading axis and feeds row-indexed tensors; graph batches are ragged (different atoms and edges per
crystal), so graph networks get this loop instead. It reuses the core's :class:`TrainConfig` and its
checkpoint conventions (atomic writes, ``weights_only`` loading, the random generator saved with the
weights, so an interrupted run resumes and ends with the same result). The learning rate follows a
warm-up + cosine decay per step (default) or the core's plateau rule.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnsurrogate.core.files import atomic_path
from nnsurrogate.core.training import ProgressFn, TrainConfig
from nnsurrogate.crystal.batch import GraphStore

LOSSES = ("mse", "l1", "huber")
SCHEDULES = ("cosine", "plateau")
WARMUP_FRACTION = 0.05


@dataclass
class GraphTrainResult:
    """Best validation error (mean absolute error, standardised units), its epoch, and the loss history."""

    best_epoch: int
    best_val_mae: float
    epochs_run: int
    history: list[tuple[int, float, float]] = field(default_factory=list)


def loss_function(name: str):
    """The training loss by name: ``mse``, ``l1`` or ``huber`` (δ = 1 in standardised units)."""
    losses = {"mse": nn.functional.mse_loss, "l1": nn.functional.l1_loss, "huber": nn.functional.huber_loss}
    if name not in losses:
        raise ValueError(f"unknown loss '{name}'; choose one of {', '.join(LOSSES)}")
    return losses[name]


def even_batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Split *order* into ⌈n / batch_size⌉ batches of nearly equal size (no tiny last batch for batch norm)."""
    n_batches = max(1, -(-len(order) // max(int(batch_size), 1)))
    return np.array_split(order, n_batches)


@torch.no_grad()
def predict_store(model: nn.Module, store: GraphStore, ids: np.ndarray | None = None, batch_size: int = 256) -> np.ndarray:
    """Network outputs for the graphs *ids* (default all), shape (len(ids),), in evaluation mode."""
    model.eval()
    ids = np.arange(len(store)) if ids is None else np.asarray(ids)
    if len(ids) == 0:
        return np.zeros(0)
    out = [model(store.batch(chunk)).double().numpy() for chunk in even_batches(ids, batch_size)]
    return np.concatenate(out)


def cosine_factor(step: int, total: int, warmup: int, floor: float) -> float:
    """Learning-rate factor: linear warm-up over *warmup* steps, then a cosine decay to *floor* at *total*.

    (Loshchilov & Hutter, "SGDR", ICLR 2017, without restarts.)
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class _State:
    """Bookkeeping of one run (kept out of the model; saved in checkpoints)."""

    def __init__(self, model: nn.Module, config: TrainConfig, schedule: str, steps_per_epoch: int) -> None:
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
        self.per_step = schedule == "cosine"
        if self.per_step:
            total = config.max_epochs * steps_per_epoch
            warmup = max(1, int(WARMUP_FRACTION * total))
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(
                self.optimizer, lambda step: cosine_factor(step, total, warmup, config.min_lr_factor))
        else:
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, factor=0.5, patience=config.lr_patience, min_lr=config.learning_rate * config.min_lr_factor)
        self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.best_val, self.best_epoch, self.since_best, self.epoch = float("inf"), 0, 0, 0
        self.history: list[tuple[int, float, float]] = []

    def record(self, model: nn.Module, train_loss: float, val_mae: float) -> None:
        self.epoch += 1
        if val_mae < self.best_val:
            self.best_val, self.best_epoch, self.since_best = val_mae, self.epoch, 0
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.since_best += 1
        if not self.per_step:
            self.scheduler.step(val_mae)
        self.history.append((self.epoch, train_loss, val_mae))

    def save(self, path: Path, model: nn.Module, generator: torch.Generator) -> None:
        blob = {"model": model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "best_state": self.best_state,
                "scalars": torch.tensor([self.best_val, self.best_epoch, self.since_best, self.epoch], dtype=torch.float64),
                "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
                "history": torch.tensor(self.history, dtype=torch.float64).reshape(-1, 3)}
        with atomic_path(path) as tmp:
            torch.save(blob, tmp)

    def load(self, path: Path, model: nn.Module, generator: torch.Generator) -> None:
        blob = torch.load(os.fspath(path), weights_only=True)
        model.load_state_dict(blob["model"])
        self.optimizer.load_state_dict(blob["optimizer"])
        self.scheduler.load_state_dict(blob["scheduler"])
        self.best_state = blob["best_state"]
        best_val, best_epoch, since_best, epoch = blob["scalars"].tolist()
        self.best_val, self.best_epoch, self.since_best, self.epoch = best_val, int(best_epoch), int(since_best), int(epoch)
        generator.set_state(blob["generator"])
        torch.set_rng_state(blob["torch_rng"])
        self.history = [(int(e), float(t), float(v)) for e, t, v in blob["history"].tolist()]


def _epoch(model, store, train_ids, y, state: _State, config: TrainConfig, loss_fn, generator) -> float:
    model.train()
    order = train_ids[torch.randperm(len(train_ids), generator=generator).numpy()]
    total, count = 0.0, 0
    for ids in even_batches(order, config.batch_size):
        state.optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(store.batch(ids)), y[torch.from_numpy(ids)])
        loss.backward()
        state.optimizer.step()
        if state.per_step:
            state.scheduler.step()
        total += float(loss.detach()) * len(ids)
        count += len(ids)
    return total / max(count, 1)


def train_graph_model(model: nn.Module, store: GraphStore, y: torch.Tensor, train_ids: np.ndarray,
                      val_ids: np.ndarray, config: TrainConfig, generator: torch.Generator,
                      loss: str = "mse", progress: ProgressFn | None = None,
                      schedule: str = "cosine") -> GraphTrainResult:
    """Fit *model* to the standardised targets *y* of the graphs *train_ids*, early-stopped on *val_ids*.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a :class:`~nnsurrogate.crystal.batch.GraphBatch` of B graphs to (B,) outputs.
    store : GraphStore
        All graphs (training and validation).
    y : torch.Tensor, shape (len(store),)
        Standardised targets of every graph in the store.
    train_ids, val_ids : numpy.ndarray of int
        Graphs to fit and to score after each epoch (mean absolute error); an empty *val_ids* scores
        the training graphs instead.
    config : TrainConfig
        Epochs, batch size, learning rate, weight decay, patience, checkpoint file.
    generator : torch.Generator
        Source of the shuffles.
    loss : str
        ``mse``, ``l1`` or ``huber``.
    progress : callable, optional
        ``progress(epoch, max_epochs, train_loss, val_mae)`` after each epoch.
    schedule : str
        ``cosine``: warm-up over the first 5 % of the steps, then a cosine decay of the learning rate
        over ``max_epochs`` to ``min_lr_factor`` times its peak (per step); ``plateau``: halve the rate
        after ``lr_patience`` epochs without a better validation error. Either way the weights of the
        best validation epoch are kept, and training stops early after ``patience`` epochs without one.

    Returns
    -------
    GraphTrainResult
        The model holds the weights of the best validation epoch afterwards.
    """
    loss_fn = loss_function(loss)
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule '{schedule}'; choose one of {', '.join(SCHEDULES)}")
    train_ids, val_ids = np.asarray(train_ids, dtype=np.int64), np.asarray(val_ids, dtype=np.int64)
    score_ids = val_ids if len(val_ids) else train_ids
    state = _State(model, config, schedule, len(even_batches(train_ids, config.batch_size)))
    checkpoint = Path(config.checkpoint) if config.checkpoint else None
    if checkpoint is not None and checkpoint.is_file():
        state.load(checkpoint, model, generator)
    target = y.double().numpy()
    while state.epoch < config.max_epochs and state.since_best < config.patience:
        train_loss = _epoch(model, store, train_ids, y, state, config, loss_fn, generator)
        val_mae = float(np.mean(np.abs(predict_store(model, store, score_ids) - target[score_ids])))
        state.record(model, train_loss, val_mae)
        if progress is not None:
            progress(state.epoch, config.max_epochs, {"train_loss": train_loss, "valid_loss": val_mae})
        if checkpoint is not None and state.epoch % config.checkpoint_every == 0:
            state.save(checkpoint, model, generator)
    if checkpoint is not None:
        state.save(checkpoint, model, generator)
    model.load_state_dict(state.best_state)
    model.eval()
    return GraphTrainResult(state.best_epoch, state.best_val, state.epoch, state.history)
