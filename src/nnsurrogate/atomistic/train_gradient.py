"""The gradient optimizers' epochs of the potential trainer: Adam (AMSGrad) on mini-batches, L-BFGS
on the full training set."""

from __future__ import annotations

import math

import torch

from nnsurrogate.atomistic.frames import make_batch, minibatches
from nnsurrogate.atomistic.losses import (ErrorSums, error_sums, regularization, solve_energy_shift, sums_over,
                                          surrogate, weighted_loss)
from nnsurrogate.atomistic.train_body import EpochBody, Fit
from nnsurrogate.core.engine import Budget
from nnsurrogate.core.engine.optimizers import make_optimizer

__all__ = ["BIAS_DAMPING", "AdamEpochs", "LBFGSEpochs"]

#: Fraction of a batch's mean energy error per atom removed through the model's energy bias after
#: each Adam step (a smoothed closed-form update of a parameter Adam does not step).
BIAS_DAMPING = 0.3


class AdamEpochs(EpochBody):
    """Adam (AMSGrad) over the model's parameter groups, one step per shuffled mini-batch.

    A model with ``bias_by_shift`` has its energy bias moved after every step (by
    :data:`BIAS_DAMPING` × the batch's mean energy error per atom) and solved exactly after every
    epoch. The step halves after ``lr_patience`` epochs without a better validation loss
    (``schedule="plateau"``) or decays geometrically over the budget (``"exponential"``).
    """

    def __init__(self, fit: Fit) -> None:
        super().__init__(fit)
        config = fit.config
        groups = fit.model.parameter_groups(config.learning_rate)
        self.optimizer = make_optimizer("adam", groups, config.learning_rate, amsgrad=True)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer.optimizer, factor=0.5, patience=config.lr_patience, min_lr=config.min_learning_rate)

    def epoch(self, deadline: float | None) -> ErrorSums:
        fit = self.fit
        total = ErrorSums.zeros()
        for frames in minibatches(len(fit.data), fit.config.batch_size, fit.ctx, fit.generator, deadline):
            total = total + self._step(frames)
        if fit.model.bias_by_shift:  # exact bias for this epoch's weights
            solve_energy_shift(fit.model, fit.data, fit.config.batch_size, fit.env)
        return total

    def _step(self, frames: list[int]) -> ErrorSums:
        """One Adam step on the batch *frames* (this rank's share); returns the global error sums."""
        fit, env, out = self.fit, self.fit.env, {}

        def closure() -> torch.Tensor:
            self.optimizer.zero_grad()
            batch, targets = make_batch(fit.model, fit.data, fit.ctx.share(frames), env.device, env.dtype)
            local = error_sums(fit.net(batch, forces=True, virial=env.virial, create_graph=True), targets)
            out["total"] = total = local.detach().all_reduce(fit.ctx)
            loss = surrogate(local, total, fit.config, fit.ctx.world)
            reg = regularization(fit.model, fit.config)
            loss = loss if reg is None else loss + reg
            loss.backward()
            return loss

        self.optimizer.step(closure)
        total = out["total"]
        if fit.model.bias_by_shift and float(total.n_energy) > 0:  # the bias Adam leaves alone: cancel
            fit.model.shift_energy(-BIAS_DAMPING * float(total.energy_signed / total.n_energy))
        return total.to_float64()

    def schedule(self, loss: float, budget: Budget) -> None:
        config = self.fit.config
        if config.schedule == "plateau" and math.isfinite(loss):
            self.scheduler.step(loss)
            return
        # geometric decay lr = lr₀ (lr_min/lr₀)^progress of every group (keeps each group's ratio)
        factor = (config.min_learning_rate / config.learning_rate) ** budget.fraction_used()
        for group in self.optimizer.param_groups:
            group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor

    @property
    def learning_rate(self) -> float:
        return self.optimizer.learning_rate

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])


class LBFGSEpochs(EpochBody):
    """L-BFGS (up to 20 iterations with a strong-Wolfe line search) on the full training set per epoch."""

    def __init__(self, fit: Fit) -> None:
        super().__init__(fit)
        self.optimizer = make_optimizer("lbfgs", [p for p in fit.model.parameters() if p.requires_grad], 1.0)

    def epoch(self, deadline: float | None) -> ErrorSums:
        fit, env, out = self.fit, self.fit.env, {}
        size, n = fit.config.batch_size, len(fit.data)
        batches = [list(range(s, min(s + size, n))) for s in range(0, n, size)]
        batches = [fit.ctx.share(b) for b in batches if len(b) >= fit.ctx.world]

        def closure() -> torch.Tensor:
            self.optimizer.zero_grad()
            total = sums_over(fit.model, fit.data, batches, env).all_reduce(fit.ctx)
            for idx in batches:
                batch, targets = make_batch(fit.model, fit.data, idx, env.device, env.dtype)
                pred = fit.net(batch, forces=True, virial=env.virial, create_graph=True)
                surrogate(error_sums(pred, targets), total, fit.config, fit.ctx.world).backward()
            reg = regularization(fit.model, fit.config)
            if reg is not None:
                reg.backward()
            out["total"] = total
            penalty = float(reg.detach()) if reg is not None else 0.0
            return torch.tensor(weighted_loss(total.rmse(), fit.config) + penalty)

        self.optimizer.step(closure)
        return out["total"]

    @property
    def learning_rate(self) -> float:
        return self.optimizer.learning_rate

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
