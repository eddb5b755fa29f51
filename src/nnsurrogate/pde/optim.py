"""Training loops of the PINN solver: Adam with optional adaptive weights and resampling, then L-BFGS.

The state (weights, optimiser, collocation points, loss weights, history) is written to a
checkpoint every ``checkpoint_every`` Adam iterations and after every L-BFGS chunk, so an
interrupted run resumes where it stopped and ends with the same result.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import atomic_path
from nnsurrogate.pde.model import PINNModel
from nnsurrogate.pde.terms import Term, prepare_static, residual_magnitude, sample_domain, term_losses

_LBFGS_CHUNK = 250


@dataclass
class TrainState:
    """Everything besides the model that a resumed run needs."""

    lam: list[float]
    history: list[tuple[int, float]] = field(default_factory=list)
    adam_done: int = 0
    lbfgs_done: int = 0
    lbfgs_finished: bool = False
    refined: bool = False
    adam_s: float = 0.0
    lbfgs_s: float = 0.0
    optimizer: dict | None = None

    @classmethod
    def fresh(cls, terms: Sequence[Term]) -> "TrainState":
        return cls(lam=[1.0] * len(terms))

    def weight_dict(self, terms: Sequence[Term]) -> dict[str, float]:
        return {t.name: float(t.weight * lam) for t, lam in zip(terms, self.lam)}


def total_loss(model: PINNModel, terms: Sequence[Term], jets: bool, lam: Sequence[float]) -> torch.Tensor:
    """Σ wᵢ λᵢ Lᵢ over the terms."""
    losses = term_losses(model, terms, jets)
    return sum(t.weight * w * loss for t, w, loss in zip(terms, lam, losses))


def run(model: PINNModel, terms: list[Term], jets: bool, cfg, state: TrainState, progress) -> TrainState:
    """Adam for ``cfg.adam_iterations``, then L-BFGS for up to ``cfg.lbfgs_iterations`` iterations."""
    ckpt = Path(cfg.checkpoint) if cfg.checkpoint else None
    if ckpt is not None and ckpt.is_file():
        state = load_checkpoint(ckpt, model, terms, jets)
    total = cfg.adam_iterations + cfg.lbfgs_iterations
    if state.adam_done < cfg.adam_iterations:
        _adam(model, terms, jets, cfg, state, progress, total, ckpt)
    if cfg.lbfgs_iterations > 0 and not state.lbfgs_finished:
        _lbfgs(model, terms, jets, cfg, state, progress, total, ckpt)
    if ckpt is not None:
        save_checkpoint(ckpt, model, terms, state)
    return state


def _adam(model, terms, jets, cfg, state: TrainState, progress, total: int, ckpt: Path | None) -> None:
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.learning_rate)
    if state.optimizer is not None and state.optimizer.get("kind") == "adam":
        opt.load_state_dict(state.optimizer["state"])
    started = time.perf_counter()
    for it in range(state.adam_done, cfg.adam_iterations):
        if cfg.resampling is not None and it > 0 and it % cfg.resampling.every == 0:
            _resample(model, terms, jets, cfg, it)
        if cfg.adaptive_weights is not None and it % cfg.adaptive_weights.every == 0:
            _update_weights(model, terms, jets, cfg.adaptive_weights.beta, state.lam)
        opt.zero_grad(set_to_none=True)
        loss = total_loss(model, terms, jets, state.lam)
        loss.backward()
        opt.step()
        state.adam_done = it + 1
        if it % cfg.log_every == 0 or state.adam_done == cfg.adam_iterations:
            state.history.append((it, loss.item()))
            _check_finite(loss.item(), it)
        if progress is not None:
            progress(state.adam_done, total, loss.item())
        if ckpt is not None and state.adam_done % cfg.checkpoint_every == 0:
            state.adam_s += time.perf_counter() - started
            started = time.perf_counter()
            state.optimizer = {"kind": "adam", "state": opt.state_dict()}
            save_checkpoint(ckpt, model, terms, state)
    state.adam_s += time.perf_counter() - started
    state.optimizer = None


def _lbfgs_optimizer(params, cfg) -> torch.optim.LBFGS:
    return torch.optim.LBFGS(params, lr=1.0, max_iter=_LBFGS_CHUNK, max_eval=_LBFGS_CHUNK * 4,
                             history_size=cfg.lbfgs_history, tolerance_grad=1e-12, tolerance_change=0.0,
                             line_search_fn="strong_wolfe")


def _chunk_size(cfg, done: int) -> int:
    """L-BFGS iterations until the budget, the next refinement or the end of a chunk."""
    size = min(_LBFGS_CHUNK, cfg.lbfgs_iterations - done)
    every = cfg.resampling.lbfgs_every if cfg.resampling is not None else 0
    return min(size, every - done % every) if every > 0 else size


def _lbfgs(model, terms, jets, cfg, state: TrainState, progress, total: int, ckpt: Path | None) -> None:
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _lbfgs_optimizer(params, cfg)
    if state.optimizer is not None and state.optimizer.get("kind") == "lbfgs":
        opt.load_state_dict(state.optimizer["state"])
    last = [float("nan")]

    def closure():
        opt.zero_grad(set_to_none=True)
        loss = total_loss(model, terms, jets, state.lam)
        loss.backward()
        last[0] = loss.item()
        return loss

    started = time.perf_counter()
    every = cfg.resampling.lbfgs_every if cfg.resampling is not None else 0
    while state.lbfgs_done < cfg.lbfgs_iterations:
        if every > 0 and state.lbfgs_done > 0 and state.lbfgs_done % every == 0 and not state.refined:
            _resample(model, terms, jets, cfg, cfg.adam_iterations + state.lbfgs_done)
            opt, state.refined = _lbfgs_optimizer(params, cfg), True
        chunk = _chunk_size(cfg, state.lbfgs_done)
        opt.param_groups[0]["max_iter"], opt.param_groups[0]["max_eval"] = chunk, chunk * 4
        backup = [p.detach().clone() for p in params]
        before = _lbfgs_counters(opt)
        opt.step(closure)
        after = _lbfgs_counters(opt)
        done, evals = after[0] - before[0], after[1] - before[1]
        if not np.isfinite(last[0]):  # a failed line search: keep the last good weights and stop
            with torch.no_grad():
                for p, b in zip(params, backup):
                    p.copy_(b)
            state.lbfgs_finished = True
            break
        state.lbfgs_done += max(done, 1)
        state.refined = False
        state.history.append((cfg.adam_iterations + state.lbfgs_done, last[0]))
        if progress is not None:
            progress(cfg.adam_iterations + state.lbfgs_done, total, last[0])
        if done < chunk and evals < chunk * 4:  # converged (gradient or step below tolerance)
            if every > 0:  # jump to the next refinement: new points give a new loss to minimise
                state.lbfgs_done = min(cfg.lbfgs_iterations, (state.lbfgs_done // every + 1) * every)
            else:
                state.lbfgs_finished = True
        if ckpt is not None:
            state.optimizer = {"kind": "lbfgs", "state": opt.state_dict()}
            save_checkpoint(ckpt, model, terms, state)
        if state.lbfgs_finished:
            break
    state.lbfgs_finished = True
    state.lbfgs_s += time.perf_counter() - started


def _lbfgs_counters(opt: torch.optim.LBFGS) -> tuple[int, int]:
    """(iterations, function evaluations) so far of a torch L-BFGS optimiser."""
    st = opt.state[opt.param_groups[0]["params"][0]]
    return int(st.get("n_iter", 0)), int(st.get("func_evals", 0))


def _check_finite(loss: float, it: int) -> None:
    if not np.isfinite(loss):
        raise UserInputError(f"training diverged: the loss is {loss} at iteration {it}; try a smaller learning "
                             "rate or scaled inputs", "solver")


def _update_weights(model, terms, jets, beta: float, lam: list[float]) -> None:
    """λᵢ ← (1−β) λᵢ + β max|∇L_pde| / mean|∇Lᵢ| for each condition term (Wang et al. 2021, Alg. 1)."""
    if not terms or terms[0].name != "pde" or len(terms) < 2:
        return
    params = [p for p in model.parameters() if p.requires_grad]
    losses = term_losses(model, terms, jets)

    def grads(loss):
        g = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        return torch.cat([x.reshape(-1) for x in g if x is not None]).abs()

    g_pde = grads(terms[0].weight * losses[0]).max()
    for i in range(1, len(terms)):
        g = grads(terms[i].weight * losses[i]).mean()
        if float(g) > 0:
            lam[i] = (1.0 - beta) * lam[i] + beta * float(g_pde / g)


def _resample(model, terms, jets, cfg, it: int) -> None:
    """Refine the collocation points of the PDE term from the residual at random candidates."""
    if not terms or terms[0].name != "pde":
        return
    rs, term = cfg.resampling, terms[0]
    cand = sample_domain(model, rs.candidates, "uniform", cfg.seed + 1_000_003 * it)
    X = torch.as_tensor(cand, dtype=term.X.dtype)
    r = residual_magnitude(model, term, X, jets)
    if rs.mode == "rar":
        chosen = X[np.argsort(r)[-rs.add:]]
        term.X = torch.cat([term.X, chosen])
    else:
        p = r ** rs.k / max(np.mean(r ** rs.k), 1e-300) + rs.c
        idx = np.random.default_rng(cfg.seed + it).choice(len(cand), size=term.X.shape[0], replace=False,
                                                           p=p / p.sum())
        term.X = X[idx]
    prepare_static(model, term, jets)


def save_checkpoint(path: Path, model: PINNModel, terms: Sequence[Term], state: TrainState) -> None:
    """Write the resumable state atomically (tensors and plain containers only)."""
    blob = {"model": model.state_dict(), "collocation": terms[0].X if terms else torch.zeros(0),
            "lam": torch.tensor(state.lam, dtype=torch.float64),
            "history": torch.tensor(state.history, dtype=torch.float64).reshape(-1, 2),
            "counters": torch.tensor([state.adam_done, state.lbfgs_done, int(state.lbfgs_finished)]),
            "times": torch.tensor([state.adam_s, state.lbfgs_s], dtype=torch.float64),
            "optimizer": state.optimizer or {}}
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def load_checkpoint(path: Path, model: PINNModel, terms: Sequence[Term], jets: bool) -> TrainState:
    """Restore a state written by :func:`save_checkpoint` (``weights_only``: never unpickles code)."""
    try:
        blob = torch.load(os.fspath(path), weights_only=True)
        model.load_state_dict(blob["model"])
    except (RuntimeError, KeyError, EOFError, ValueError) as exc:
        raise UserInputError(f"checkpoint does not match this run ({str(exc).splitlines()[0][:80]}); delete it "
                             "or run without --resume", str(path)) from None
    if terms and terms[0].name == "pde":
        terms[0].X = blob["collocation"].to(terms[0].X.dtype)
        prepare_static(model, terms[0], jets)
    adam_done, lbfgs_done, finished = (int(v) for v in blob["counters"].tolist())
    state = TrainState(lam=blob["lam"].tolist(), history=[(int(i), float(v)) for i, v in blob["history"].tolist()],
                       adam_done=adam_done, lbfgs_done=lbfgs_done, lbfgs_finished=bool(finished),
                       adam_s=float(blob["times"][0]), lbfgs_s=float(blob["times"][1]),
                       optimizer=blob["optimizer"] or None)
    if len(state.lam) != len(terms):
        raise UserInputError("checkpoint does not match this problem; delete it or run without --resume", str(path))
    return state
