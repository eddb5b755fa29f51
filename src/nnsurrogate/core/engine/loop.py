"""The epoch loop shared by every trainer.

A trainer describes one epoch as an :class:`EpochTask`; :func:`run_epochs` runs it under a
:class:`~nnsurrogate.core.engine.budget.Budget`, keeps the best weights on validation
(:class:`~nnsurrogate.core.engine.tracking.BestTracker`), reports through the progress protocol and
writes a :class:`~nnsurrogate.core.engine.checkpoint.Checkpoint` so that a killed run resumes and
ends with the same result as an uninterrupted one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from nnsurrogate.core.engine.budget import Budget
from nnsurrogate.core.engine.checkpoint import Checkpoint
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.engine.tracking import BestTracker

__all__ = ["EpochTask", "RunResult", "run_epochs"]


class EpochTask:
    """One trainer's epoch body; subclasses override :meth:`train_epoch` and usually :meth:`validate`.

    Attributes
    ----------
    module : torch.nn.Module
        The model whose weights are tracked, checkpointed and restored.
    n_members : int or None
        Members stacked on the leading axis of every weight (per-member best tracking), or ``None``.
    generators : tuple of torch.Generator
        Random generators the epochs draw from (saved in and restored from checkpoints).
    """

    module: nn.Module
    n_members: int | None = None
    generators: tuple[torch.Generator, ...] = ()

    def train_epoch(self, deadline: float | None) -> dict[str, Any]:
        """Run one epoch; return its training metrics. *deadline*: ``perf_counter`` time to stop by."""
        raise NotImplementedError

    def validate(self, train_metrics: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """(score to minimise — scalar or (M,) — and the metrics to report) after an epoch."""
        loss = train_metrics["train_loss"]
        return loss, dict(train_metrics, valid_loss=loss)

    def after_epoch(self, score: Any, budget: Budget, tracker: BestTracker) -> None:
        """Hook after the best weights are updated (learning-rate schedules)."""

    def should_stop(self, tracker: BestTracker) -> bool:
        """Early stopping (e.g. patience) before the next epoch."""
        return False

    def state_dict(self) -> dict[str, Any]:
        """Everything besides the model weights a resumed run needs (optimizer, schedule, ...)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


@dataclass
class RunResult:
    """What a run reports; the task's module holds the best weights afterwards (unless told not to).

    Attributes
    ----------
    epochs_run : int
        Epochs completed (those of a resumed run's earlier processes included).
    best_epoch, best_score
        Of the best validation score (per member for a stacked ensemble).
    elapsed_s : float
        Training wall time, s (the set-up charged to the budget included).
    history : list of dict
        One row per epoch: ``epoch``, ``elapsed_s`` and the task's metrics.
    stopped_by : str
        Which budget ended the run, one of :data:`~nnsurrogate.core.engine.budget.STOP_REASONS`:
        ``"epochs"`` (the epoch budget is done), ``"time limit"``, ``"early stopping"``
        (:meth:`EpochTask.should_stop`) or ``"non-finite loss"``.
    """

    epochs_run: int
    best_epoch: Any
    best_score: Any
    elapsed_s: float
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_by: str = "epochs"

    @property
    def stopped_nonfinite(self) -> bool:
        """The run ended on a non-finite score (``stop_on_nonfinite``)."""
        return self.stopped_by == "non-finite loss"


def _resume(task: EpochTask, checkpoint: Checkpoint, tracker: BestTracker, budget: Budget) -> list[dict]:
    state = checkpoint.load(task.generators)
    if state is None:
        return []
    task.module.load_state_dict(state["model"])
    task.load_state_dict(state["task"])
    tracker.load_state_dict(state["tracker"])
    setup = budget.elapsed  # set-up time this process already charged counts on top of the saved time
    budget.load_state_dict(state["budget"])
    budget.spend(setup)
    return list(state["history"])


def _save(task: EpochTask, checkpoint: Checkpoint, tracker: BestTracker, budget: Budget, history: list) -> None:
    checkpoint.save({"model": task.module.state_dict(), "task": task.state_dict(), "tracker": tracker.state_dict(),
                     "budget": budget.state_dict(), "history": history}, task.generators)


def run_epochs(task: EpochTask, budget: Budget, *, checkpoint: Checkpoint | None = None, checkpoint_every: int = 1,
               progress: Progress | None = None, restore_best: bool = True, stop_on_nonfinite: bool = False,
               report_total: int | None = -1, is_main: bool = True) -> RunResult:
    """Run *task* epoch by epoch until the budget is spent or the task stops early.

    The epoch budget, then the time limit, then the task's early stopping are checked before every
    epoch; a fresh run (no epoch done) always trains one epoch, even when its set-up already spent
    the time limit. :attr:`RunResult.stopped_by` says which ended the run.

    Parameters
    ----------
    task : EpochTask
    budget : Budget
        Epoch and time limits (the set-up time already charged to it counts, also on top of the
        time of a resumed run).
    checkpoint : Checkpoint, optional
        Resumed from when it exists; written every *checkpoint_every* epochs and at the end.
    progress : callable, optional
        ``progress(epoch, total, metrics)`` after every epoch; *metrics* are the task's validation
        metrics plus ``epoch`` and ``elapsed_s``.
    restore_best : bool
        Load the best weights into the module at the end (else it keeps the last ones).
    stop_on_nonfinite : bool
        End the run after an epoch whose score is not finite.
    report_total : int or None
        *total* passed to *progress* (default ``budget.epochs``; ``None`` for an open-ended run).
    is_main : bool
        Only the main process of a distributed run writes checkpoints and reports progress.
    """
    tracker = BestTracker(task.module, task.n_members)
    history = _resume(task, checkpoint, tracker, budget) if checkpoint is not None else []
    total = budget.epochs if report_total == -1 else report_total
    stopped_by = ""
    while not (stopped_by := _stop_reason(task, budget, tracker)):
        started = time.perf_counter()
        train_metrics = task.train_epoch(budget.deadline(started))
        score, metrics = task.validate(train_metrics)
        budget.spend(time.perf_counter() - started)
        budget.epoch += 1
        tracker.update(task.module, score, budget.epoch)
        task.after_epoch(score, budget, tracker)
        history.append({"epoch": budget.epoch, "elapsed_s": budget.elapsed, **metrics})
        if checkpoint is not None and is_main and budget.epoch % checkpoint_every == 0:
            _save(task, checkpoint, tracker, budget, history)
        if progress is not None and is_main:
            progress(budget.epoch, total, history[-1])
        if stop_on_nonfinite and not bool(torch.isfinite(torch.as_tensor(score, dtype=torch.float64)).all()):
            stopped_by = "non-finite loss"
            break
    if checkpoint is not None and is_main:
        _save(task, checkpoint, tracker, budget, history)
    if restore_best:
        tracker.restore(task.module)
    best_epoch = tracker.best_epoch.numpy().copy() if tracker.per_member else int(tracker.best_epoch)
    best_score = tracker.best_score.numpy().copy() if tracker.per_member else float(tracker.best_score)
    return RunResult(budget.epoch, best_epoch, best_score, budget.elapsed, history, stopped_by)


def _stop_reason(task: EpochTask, budget: Budget, tracker: BestTracker) -> str:
    """Why the loop ends before the next epoch, or ``""`` to go on.

    A fresh run always trains its first epoch, even when its set-up spent the time limit, so that a
    time-limited run never returns untrained weights.
    """
    if budget.epochs_done():
        return "epochs"
    if budget.out_of_time() and budget.epoch > 0:
        return "time limit"
    if task.should_stop(tracker):
        return "early stopping"
    return ""
