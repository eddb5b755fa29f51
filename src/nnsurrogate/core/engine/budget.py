"""Epoch and wall-time budgets of a training run."""

from __future__ import annotations

import time
from dataclasses import dataclass

from nnsurrogate.core.errors import UserInputError

__all__ = ["Budget"]


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
        if self.time_limit is not None and not self.time_limit > 0:
            raise UserInputError(f"the time limit must be positive, got {self.time_limit}", "time_limit")

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
