"""Epoch and wall-time budgets of a training run, and the wall clock of a whole command.

A :class:`Budget` bounds one run of the epoch loop. A command that trains (often several runs: folds,
members, stages) opens one :func:`time_limit_scope` before it reads its data: every run inside gets
its budget from :func:`budget_for`, which charges the time since the scope began (data loading,
descriptor building, earlier runs) against the limit, so that ``--time-limit`` bounds the command's
wall time, set-up included. :func:`time_share` splits what is left between the runs still to come.
Without a limit nothing here reads the clock into a decision: epoch budgets alone decide, and a seed
gives the same result on a busy machine as on an idle one.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from dataclasses import dataclass

from nnsurrogate.core.errors import UserInputError

__all__ = ["Budget", "Deadline", "STOP_REASONS", "budget_for", "check_time_limit", "current_deadline",
           "overall_stop", "time_limit_scope", "time_share"]

#: Why a run ended, as :attr:`~nnsurrogate.core.engine.loop.RunResult.stopped_by` and ``metrics.json`` say it
#: (the vocabulary of the symbolic search's ``stopped_by``).
STOP_REASONS = ("epochs", "time limit", "early stopping", "non-finite loss")


def check_time_limit(seconds: float | None, where: str = "time_limit") -> float | None:
    """*seconds* as a float, or ``None``; a limit that is not a positive number is a :class:`UserInputError`.

    Parameters
    ----------
    seconds : float or None
        Wall-clock limit, s (``None``: no limit).
    where : str
        The setting named in the error.
    """
    if seconds is None:
        return None
    if not (isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and float(seconds) > 0):
        raise UserInputError(f"the time limit must be positive seconds, got {seconds}", where)
    return float(seconds)


@dataclass
class Budget:
    """How long a run may go on: at most ``epochs`` epochs and, optionally, ``time_limit`` seconds.

    Attributes
    ----------
    epochs : int
        Upper bound on epochs (≥ 1).
    time_limit : float or None
        Upper bound on the training wall time, s (``None``: no limit).
    epoch : int
        Epochs completed so far.
    elapsed : float
        Training wall time spent so far, s (set-up the trainer charges with :meth:`spend` included).
    """

    epochs: int
    time_limit: float | None = None
    epoch: int = 0
    elapsed: float = 0.0

    def __post_init__(self) -> None:
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise UserInputError(f"epochs must be a positive integer, got {self.epochs}", "epochs")
        check_time_limit(self.time_limit)

    def epochs_done(self) -> bool:
        """True once the epoch budget is done."""
        return self.epoch >= self.epochs

    def exhausted(self) -> bool:
        """True once the epochs are done or the time limit is spent."""
        return self.epoch >= self.epochs or self.out_of_time()

    def out_of_time(self) -> bool:
        return self.time_limit is not None and self.elapsed >= self.time_limit

    def deadline(self, started: float | None = None) -> float | None:
        """``time.perf_counter()`` value at which the time limit runs out for an epoch begun at *started*."""
        if self.time_limit is None:
            return None
        started = time.perf_counter() if started is None else started
        return started + self.time_limit - self.elapsed

    def spend(self, seconds: float) -> None:
        """Charge *seconds* of wall time (an epoch, or set-up) against the limit."""
        self.elapsed += float(seconds)

    def fraction_used(self) -> float:
        """max(epoch / epochs, elapsed / time_limit), clipped to 1: how far through the run we are."""
        used = self.epoch / self.epochs
        if self.time_limit is not None:
            used = max(used, self.elapsed / self.time_limit)
        return min(used, 1.0)

    def state_dict(self) -> dict:
        return {"epoch": int(self.epoch), "elapsed": float(self.elapsed)}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.elapsed = int(state["epoch"]), float(state["elapsed"])


@dataclass(frozen=True)
class Deadline:
    """A wall-clock limit counted from a start: the clock of one command (or of its share of it).

    Attributes
    ----------
    time_limit : float
        Seconds from *started* on (> 0).
    started : float
        ``time.perf_counter()`` value at which the clock started.
    """

    time_limit: float
    started: float

    def elapsed(self) -> float:
        """Seconds since the clock started."""
        return time.perf_counter() - self.started

    def remaining(self) -> float:
        """Seconds left (≤ 0 once the limit is spent)."""
        return self.time_limit - self.elapsed()

    def budget(self, epochs: int) -> Budget:
        """A :class:`Budget` of *epochs* under this limit, with the time since the start already charged."""
        budget = Budget(epochs, self.time_limit)
        budget.spend(self.elapsed())
        return budget

    def share(self, parts: int) -> "Deadline":
        """A clock starting now with 1/*parts* of the time left (a tiny positive limit once none is left)."""
        return Deadline(max(self.remaining() / max(int(parts), 1), 1e-9), time.perf_counter())


_CURRENT: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("nnsurrogate_deadline", default=None)


def current_deadline() -> Deadline | None:
    """The deadline of the innermost :func:`time_limit_scope` or :func:`time_share`, or ``None``."""
    return _CURRENT.get()


@contextlib.contextmanager
def time_limit_scope(seconds: float | None) -> Iterator[Deadline | None]:
    """Start a command's wall clock: every :func:`budget_for` inside counts from here, set-up included.

    Parameters
    ----------
    seconds : float or None
        The limit, s; ``None`` leaves things as they are (no limit, or the enclosing scope's).

    Raises
    ------
    UserInputError
        *seconds* is not a positive number.
    """
    seconds = check_time_limit(seconds)
    if seconds is None:
        yield current_deadline()
        return
    token = _CURRENT.set(Deadline(seconds, time.perf_counter()))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def time_share(parts: int) -> Iterator[Deadline | None]:
    """Give the runs inside 1/*parts* of the time left (*parts*: this one and those still to come).

    Splitting what is left, rather than the whole limit, passes the time an early run did not need
    on to the later ones. Without an active deadline nothing changes.
    """
    outer = current_deadline()
    if outer is None:
        yield None
        return
    token = _CURRENT.set(outer.share(parts))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


def budget_for(epochs: int, time_limit: float | None = None, setup_started: float | None = None) -> Budget:
    """The budget of one run: the active deadline's (see :func:`time_limit_scope`), else *time_limit*.

    Parameters
    ----------
    epochs : int
        Epoch budget.
    time_limit : float or None
        The run's own limit, s, used outside a scope; the set-up since *setup_started*
        (a ``time.perf_counter()`` value) is charged against it.
    """
    deadline = current_deadline()
    if deadline is not None:
        return deadline.budget(epochs)
    budget = Budget(epochs, time_limit)
    if time_limit is not None and setup_started is not None:
        budget.spend(time.perf_counter() - setup_started)
    return budget


def overall_stop(reasons) -> str | None:
    """One reason for several runs (folds, members, stages): the one they share, else the one that cut
    the most ("non-finite loss", then "time limit", then "early stopping", then "epochs").

    ``None`` entries (runs without an epoch loop) are skipped; ``None`` if nothing is left.
    """
    reasons = [r for r in reasons if r]
    if len(set(reasons)) <= 1:
        return reasons[0] if reasons else None
    return next((r for r in ("non-finite loss", "time limit", "early stopping", "epochs") if r in reasons),
                reasons[0])
