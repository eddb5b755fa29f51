"""Mini-batch training of one graph network, with early stopping, learning-rate decay and resumable checkpoints.

The ensemble trainer of :mod:`nnsurrogate.core.training` stacks the weights of its members along a
leading axis and feeds row-indexed tensors; graph batches are ragged (different atoms and edges per
crystal), so graph networks get their own epoch body, :class:`GraphEpochs`, run by the engine's
:func:`~nnsurrogate.core.engine.loop.run_epochs` (best-epoch tracking, patience, epoch and time
budget, checkpoints that resume to the same result, the progress protocol). It reuses the core's
:class:`TrainConfig`. The learning rate follows a warm-up + cosine decay per step (default) or the
core's plateau rule.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from nnsurrogate.core.engine import Budget, Checkpoint, EpochTask, run_epochs, signature_of
from nnsurrogate.core.engine.budget import budget_for
from nnsurrogate.core.engine.optimizers import make_optimizer
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.engine.tracking import BestTracker
from nnsurrogate.core.training import TrainConfig
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
    stopped_by: str = "epochs"  #: "epochs", "time limit" or "early stopping" (patience)


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


@torch.no_grad()
def readout_store(model: nn.Module, store: GraphStore, batch_size: int = 256) -> np.ndarray:
    """Material vectors ``model.readout`` of every graph in *store*, shape (n, dim), in evaluation mode."""
    model.eval()
    ids = np.arange(len(store))
    if len(ids) == 0:
        return np.zeros((0, 0))
    return np.concatenate([model.readout(store.batch(chunk)).double().numpy() for chunk in even_batches(ids, batch_size)])


def cosine_factor(step: int, total: int, warmup: int, floor: float) -> float:
    """Learning-rate factor: linear warm-up over *warmup* steps, then a cosine decay to *floor* at *total*.

    (Loshchilov & Hutter, "SGDR", ICLR 2017, without restarts.)
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class GraphEpochs(EpochTask):
    """One epoch of mini-batch AdamW on a graph network, scored by the validation MAE.

    Parameters
    ----------
    model, store, y, config, generator
        As in :func:`train_graph_model` (*y*: standardised targets, shape (len(store),)).
    train_ids, score_ids : numpy.ndarray of int
        Graphs fitted, and graphs whose mean absolute error scores an epoch.
    loss_fn : callable
        ``loss_fn(prediction, target)``, mean over the batch.
    schedule : {"cosine", "plateau"}
        Per-step warm-up + cosine decay planned over ``max_epochs``, or halving on a plateau after an epoch.
    """

    def __init__(self, model: nn.Module, store: GraphStore, y: torch.Tensor, train_ids: np.ndarray,
                 score_ids: np.ndarray, config: TrainConfig, generator: torch.Generator, loss_fn, schedule: str) -> None:
        self.module, self.store, self.y, self.config, self.loss_fn = model, store, y, config, loss_fn
        self.train_ids, self.score_ids, self.generators = train_ids, score_ids, (generator,)
        self.target = y.double().numpy()
        self.optimizer = make_optimizer("adamw", model.parameters(), config.learning_rate,
                                        weight_decay=config.weight_decay)
        self.per_step = schedule == "cosine"
        if self.per_step:
            total = config.max_epochs * len(even_batches(train_ids, config.batch_size))
            warmup = max(1, int(WARMUP_FRACTION * total))
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(
                self.optimizer.optimizer, lambda step: cosine_factor(step, total, warmup, config.min_lr_factor))
        else:
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer.optimizer, factor=0.5, patience=config.lr_patience,
                min_lr=config.learning_rate * config.min_lr_factor)

    def train_epoch(self, deadline: float | None) -> dict[str, float]:
        """One pass over shuffled, evenly sized batches; stops between batches once *deadline* passes."""
        model, generator = self.module, self.generators[0]
        model.train()
        order = self.train_ids[torch.randperm(len(self.train_ids), generator=generator).numpy()]
        total, count = 0.0, 0
        for ids in even_batches(order, self.config.batch_size):
            self.optimizer.zero_grad()
            loss = self.optimizer.step(functools.partial(self._backward, ids))
            if self.per_step:
                self.scheduler.step()
            total += float(loss.detach()) * len(ids)
            count += len(ids)
            if deadline is not None and time.perf_counter() >= deadline:
                break
        return {"train_loss": total / max(count, 1)}

    def _backward(self, ids: np.ndarray) -> torch.Tensor:
        loss = self.loss_fn(self.module(self.store.batch(ids)), self.y[torch.from_numpy(ids)])
        loss.backward()
        return loss

    def validate(self, train_metrics: dict[str, float]) -> tuple[float, dict[str, float]]:
        """Mean absolute error (standardised units) on the scoring graphs."""
        ids = self.score_ids
        val_mae = float(np.mean(np.abs(predict_store(self.module, self.store, ids) - self.target[ids])))
        return val_mae, {**train_metrics, "valid_loss": val_mae}

    def after_epoch(self, score: float, budget: Budget, tracker: BestTracker) -> None:
        if not self.per_step:
            self.scheduler.step(score)

    def should_stop(self, tracker: BestTracker) -> bool:
        return tracker.stalled(self.config.patience)

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])


def _signature(model: nn.Module, store: GraphStore, y: torch.Tensor, train_ids: np.ndarray, val_ids: np.ndarray,
               config: TrainConfig, loss: str, schedule: str) -> str:
    """What a resumed run must share with the one that wrote the checkpoint (data, split, settings, shapes)."""
    shapes = [(name, list(value.shape)) for name, value in model.state_dict().items()]
    settings = [config.max_epochs, config.batch_size, config.learning_rate, config.weight_decay, config.patience,
                config.lr_patience, config.min_lr_factor, loss, schedule]
    return signature_of(type(model).__name__, shapes, list(store.nodes.shape), y, train_ids, val_ids, settings)


def train_graph_model(model: nn.Module, store: GraphStore, y: torch.Tensor, train_ids: np.ndarray,
                      val_ids: np.ndarray, config: TrainConfig, generator: torch.Generator,
                      loss: str = "mse", progress: Progress | None = None,
                      schedule: str = "cosine", time_limit: float | None = None,
                      setup_started: float | None = None) -> GraphTrainResult:
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
        Epochs, batch size, learning rate, weight decay, patience, checkpoint file (written every
        ``checkpoint_every`` epochs and at the end; an existing one of the same run is resumed).
    generator : torch.Generator
        Source of the shuffles.
    loss : str
        ``mse``, ``l1`` or ``huber``.
    progress : callable, optional
        ``progress(epoch, max_epochs, metrics)`` after each epoch, *metrics* holding ``train_loss``
        and ``valid_loss`` (the validation MAE).
    schedule : str
        ``cosine``: warm-up over the first 5 % of the steps, then a cosine decay of the learning rate
        over ``max_epochs`` to ``min_lr_factor`` times its peak (per step); ``plateau``: halve the rate
        after ``lr_patience`` epochs without a better validation error. Either way the weights of the
        best validation epoch are kept, and training stops early after ``patience`` epochs without one.
    time_limit : float or None
        Training wall time, s: the run ends after the mini-batch during which it runs out (the cosine
        schedule stays planned over ``max_epochs``); ``None``: no limit. Inside a
        :func:`~nnsurrogate.core.engine.budget.time_limit_scope` the scope's clock applies instead.
    setup_started : float, optional
        ``time.perf_counter()`` value at which the set-up (graph building) began: with *time_limit*
        the time since then counts against it.

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
    task = GraphEpochs(model, store, y, train_ids, score_ids, config, generator, loss_fn, schedule)
    checkpoint = None
    if config.checkpoint:
        checkpoint = Checkpoint(config.checkpoint, kind="graph",
                                signature=_signature(model, store, y, train_ids, val_ids, config, loss, schedule))
    result = run_epochs(task, budget_for(config.max_epochs, time_limit, setup_started), checkpoint=checkpoint,
                        checkpoint_every=config.checkpoint_every, progress=progress)
    model.eval()
    history = [(int(row["epoch"]), float(row["train_loss"]), float(row["valid_loss"])) for row in result.history]
    return GraphTrainResult(result.best_epoch, result.best_score, result.epochs_run, history, result.stopped_by)
