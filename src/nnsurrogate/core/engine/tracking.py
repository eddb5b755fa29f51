"""Keeping the weights that score best on validation."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BestTracker"]


class BestTracker:
    """The lowest validation score so far and the weights that gave it.

    Parameters
    ----------
    module : torch.nn.Module
        The model whose ``state_dict()`` is tracked (its starting weights are the first "best").
    n_members : int or None
        ``None``: one model, scalar scores. ``M``: a stacked ensemble whose every state tensor has the
        member on its leading axis; scores are (M,) and each member keeps its own best slice.

    Attributes
    ----------
    best_score : torch.Tensor, shape () or (M,)
        Lowest score so far (``inf`` before the first update); a NaN score never counts as better.
    best_epoch : torch.Tensor, shape () or (M,), int64
        Epoch of that score (0 before the first update).
    since_best : torch.Tensor, shape () or (M,), int64
        Updates since the last improvement.
    """

    def __init__(self, module: nn.Module, n_members: int | None = None) -> None:
        shape = () if n_members is None else (int(n_members),)
        self.per_member = n_members is not None
        self.best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        self.best_score = torch.full(shape, float("inf"), dtype=torch.float64)
        self.best_epoch = torch.zeros(shape, dtype=torch.long)
        self.since_best = torch.zeros(shape, dtype=torch.long)

    def update(self, module: nn.Module, score, epoch: int) -> torch.Tensor:
        """Record *score* (scalar, or (M,)) of *module* at *epoch*; returns which improved (bool, () or (M,))."""
        score = torch.as_tensor(score, dtype=torch.float64).reshape(self.best_score.shape)
        better = score < self.best_score
        if self.per_member:
            if better.any():
                for name, value in module.state_dict().items():
                    self.best_state[name][better] = value.detach()[better]
        elif bool(better):
            self.best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        self.best_score = torch.where(better, score, self.best_score)
        self.best_epoch = torch.where(better, torch.full_like(self.best_epoch, int(epoch)), self.best_epoch)
        self.since_best = torch.where(better, torch.zeros_like(self.since_best), self.since_best + 1)
        return better

    def stalled(self, patience: int) -> bool:
        """True when every member (or the one model) has gone *patience* updates without improving."""
        return bool((self.since_best >= patience).all())

    def restore(self, module: nn.Module) -> None:
        """Load the best weights into *module*."""
        module.load_state_dict(self.best_state)

    def state_dict(self) -> dict:
        return {"best_state": self.best_state, "best_score": self.best_score, "best_epoch": self.best_epoch,
                "since_best": self.since_best}

    def load_state_dict(self, state: dict) -> None:
        self.best_state = state["best_state"]
        self.best_score = state["best_score"].to(torch.float64).reshape(self.best_score.shape)
        self.best_epoch = state["best_epoch"].reshape(self.best_epoch.shape)
        self.since_best = state["since_best"].reshape(self.since_best.shape)
