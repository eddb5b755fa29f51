"""What one epoch of the potential trainer needs, and the interface of the optimizers' epoch bodies.

Each optimizer (Adam, L-BFGS, SNES) is an :class:`EpochBody`: it is built once for a run
(:class:`Fit`), runs an epoch over the training frames and returns their error sums, steps its own
learning-rate schedule and saves its state. The trainer picks the body by one lookup of the
``optimizer`` setting (:data:`~nnsurrogate.atomistic.training.EPOCH_BODIES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from nnsurrogate.atomistic.frames import FrameSet, RunEnv
from nnsurrogate.atomistic.losses import ErrorSums
from nnsurrogate.atomistic.models import PotentialModel

if TYPE_CHECKING:
    from nnsurrogate.atomistic.distributed import DistContext
    from nnsurrogate.atomistic.training import PotentialTrainConfig
    from nnsurrogate.core.engine import Budget

__all__ = ["EpochBody", "Fit"]


@dataclass(frozen=True)
class Fit:
    """One training run's fixed parts.

    Attributes
    ----------
    model : PotentialModel
        The model being trained (on ``env.device`` in ``env.dtype``).
    net : torch.nn.Module
        *model*, or its DistributedDataParallel wrapper when distributed (forward passes with a graph).
    data : FrameSet
        Training frames.
    config : PotentialTrainConfig
    ctx : DistContext
        Rank and world size.
    env : RunEnv
    generator : torch.Generator
        Batch order (and SNES samples).
    """

    model: PotentialModel
    net: torch.nn.Module
    data: FrameSet
    config: PotentialTrainConfig
    ctx: DistContext
    env: RunEnv
    generator: torch.Generator


class EpochBody:
    """One optimizer's epoch; subclasses implement :meth:`epoch` and :attr:`learning_rate`."""

    def __init__(self, fit: Fit) -> None:
        self.fit = fit

    @staticmethod
    def signature_fields(config: PotentialTrainConfig) -> tuple:
        """Settings of this optimizer beyond the common ones that a resumed run must share."""
        return ()

    def epoch(self, deadline: float | None) -> ErrorSums:
        """One pass over the training frames; returns their error sums (float64, all ranks).
        *deadline*: ``time.perf_counter()`` value after which the epoch ends early (``None``: none)."""
        raise NotImplementedError

    def schedule(self, loss: float, budget: Budget) -> None:
        """Step the learning rate after an epoch with validation *loss* (default: constant)."""

    @property
    def learning_rate(self) -> float:
        """Reported in the history's learning-rate column."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
