"""Optimizer strategies, chosen by name from one registry.

Every strategy has ``step(closure)``, ``state_dict()``, ``load_state_dict()`` and a
``learning_rate`` (for SNES the mean search width). Gradient strategies wrap a PyTorch optimizer:
*closure* zeroes the gradients, computes the loss, calls ``backward()`` and returns the loss.
Gradient-free strategies (:class:`~nnsurrogate.core.engine.snes.SNES`) are driven by their
trainer's own candidate evaluation and registered here so that a name resolves in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from nnsurrogate.core.errors import UserInputError

__all__ = ["GRADIENT_FREE", "OPTIMIZERS", "GradientStrategy", "check_optimizer", "fusable", "make_optimizer"]


class GradientStrategy:
    """A PyTorch optimizer behind the strategy interface.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    needs_closure : bool
        ``True`` for optimizers that re-evaluate the loss themselves (L-BFGS).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, needs_closure: bool = False) -> None:
        self.optimizer = optimizer
        self.needs_closure = needs_closure

    def step(self, closure: Callable[[], Any]) -> Any:
        """One update; returns what *closure* returned (its last call for L-BFGS)."""
        if self.needs_closure:
            return self.optimizer.step(closure)
        loss = closure()
        self.optimizer.step()
        return loss

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    @property
    def param_groups(self) -> list[dict]:
        return self.optimizer.param_groups

    @property
    def learning_rate(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)


def fusable(params) -> bool:
    """True when PyTorch's fused Adam/AdamW kernels accept every tensor of *params* (CPU/CUDA, float32/64)."""
    tensors = [p for group in params for p in (group["params"] if isinstance(group, dict) else [group])]
    return all(p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float64) for p in tensors)


def _adam(params, lr: float, amsgrad: bool = False, weight_decay: float = 0.0, **_: Any) -> GradientStrategy:
    return GradientStrategy(torch.optim.Adam(params, lr=lr, amsgrad=amsgrad, weight_decay=weight_decay))


def _adamw(params, lr: float, weight_decay: float = 0.0, fused: bool | None = None, **_: Any) -> GradientStrategy:
    """AdamW; *fused* as PyTorch takes it (``None``: its default; see :func:`fusable`)."""
    return GradientStrategy(torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused))


def _lbfgs(params, lr: float = 1.0, max_iter: int = 20, history_size: int = 20, **kwargs: Any) -> GradientStrategy:
    options = {k: kwargs[k] for k in ("max_eval", "tolerance_grad", "tolerance_change") if k in kwargs}
    return GradientStrategy(torch.optim.LBFGS(params, lr=lr, max_iter=max_iter, history_size=history_size,
                                              line_search_fn="strong_wolfe", **options), needs_closure=True)


#: Gradient strategies by name: ``factory(params, lr, **settings) -> GradientStrategy``.
OPTIMIZERS: dict[str, Callable[..., GradientStrategy]] = {"adam": _adam, "adamw": _adamw, "lbfgs": _lbfgs}
#: Gradient-free strategies by name (their trainers evaluate candidates, see :mod:`.snes`).
GRADIENT_FREE = ("snes",)


def check_optimizer(name: str, allowed: Iterable[str] | None = None, setting: str = "optimizer") -> str:
    """*name* if it is a known strategy (and among *allowed*); else a one-line error naming *setting*."""
    known = tuple(allowed) if allowed is not None else (*OPTIMIZERS, *GRADIENT_FREE)
    if name not in known:
        raise UserInputError(f"unknown optimizer '{name}' ({', '.join(known)})", setting)
    return name


def make_optimizer(name: str, params, lr: float, **settings: Any) -> GradientStrategy:
    """The gradient strategy *name* over *params* (tensors or parameter groups)."""
    check_optimizer(name, OPTIMIZERS)
    return OPTIMIZERS[name](params, lr=lr, **settings)
