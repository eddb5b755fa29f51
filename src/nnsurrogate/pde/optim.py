"""Training of the PINN solver on the engine: Adam with optional adaptive weights and resampling, then L-BFGS.

One :class:`PINNTraining` task runs under :func:`~nnsurrogate.core.engine.loop.run_epochs`; its
"epoch" is one checkpoint interval of ``checkpoint_every`` Adam iterations while Adam iterations
remain, then one L-BFGS chunk (at most :data:`LBFGS_CHUNK` iterations, split at refinements). The
engine writes a :class:`~nnsurrogate.core.engine.checkpoint.Checkpoint` (kind ``"pinn"``) after
every epoch — weights, optimiser, collocation points, loss weights, history — so an interrupted run
resumes where it stopped and ends with the same result. The PINN keeps its last weights (no
best-weights restore).

A time limit (``SolverConfig.time_limit``, or the clock of an enclosing
:func:`~nnsurrogate.core.engine.budget.time_limit_scope`) counts the set-up (network, collocation
points) and stops the Adam phase after the iteration during which it runs out, the L-BFGS phase
between chunks. :func:`run` says what ended the training (:func:`stop_reason`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from nnsurrogate.core.engine import Checkpoint, EpochTask, run_epochs, signature_of
from nnsurrogate.core.engine.budget import budget_for
from nnsurrogate.core.engine.optimizers import GradientStrategy, make_optimizer
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.model import PINNModel
from nnsurrogate.pde.terms import Term, prepare_static, residual_magnitude, sample_domain, term_losses

#: Most L-BFGS iterations in one chunk (one epoch of the L-BFGS phase).
LBFGS_CHUNK = 250
#: Solver settings that do not have to match for a resume.
_UNSIGNED = ("threads", "checkpoint", "time_limit")
#: Phases, in order; the name tags the progress metrics and the saved optimiser state.
ADAM, LBFGS = "adam", "lbfgs"


@dataclass
class TrainState:
    """Everything besides the model and the optimiser that a resumed run needs.

    Attributes
    ----------
    lam : list of float
        Adaptive factor λᵢ of each term (1 without adaptive weights).
    history : list of (int, float)
        (iteration, total loss); L-BFGS iterations follow the Adam ones.
    adam_done, lbfgs_done : int
        Iterations of each phase done so far.
    lbfgs_finished : bool
        The L-BFGS phase has ended (budget, convergence or a failed line search).
    refined : bool
        The collocation points were just refined at the current L-BFGS count.
    adam_s, lbfgs_s : float
        Wall time of each phase so far, s.
    """

    lam: list[float]
    history: list[tuple[int, float]] = field(default_factory=list)
    adam_done: int = 0
    lbfgs_done: int = 0
    lbfgs_finished: bool = False
    refined: bool = False
    adam_s: float = 0.0
    lbfgs_s: float = 0.0

    @classmethod
    def fresh(cls, terms: Sequence[Term]) -> "TrainState":
        return cls(lam=[1.0] * len(terms))

    def weight_dict(self, terms: Sequence[Term]) -> dict[str, float]:
        return {t.name: float(t.weight * lam) for t, lam in zip(terms, self.lam)}

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors only (exact float64 round trip of every number)."""
        return {"lam": torch.tensor(self.lam, dtype=torch.float64),
                "history": torch.tensor(self.history, dtype=torch.float64).reshape(-1, 2),
                "counters": torch.tensor([self.adam_done, self.lbfgs_done, int(self.lbfgs_finished),
                                          int(self.refined)]),
                "times": torch.tensor([self.adam_s, self.lbfgs_s], dtype=torch.float64)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        adam_done, lbfgs_done, finished, refined = (int(v) for v in state["counters"].tolist())
        self.lam = state["lam"].tolist()
        self.history = [(int(i), float(v)) for i, v in state["history"].tolist()]
        self.adam_done, self.lbfgs_done = adam_done, lbfgs_done
        self.lbfgs_finished, self.refined = bool(finished), bool(refined)
        self.adam_s, self.lbfgs_s = (float(v) for v in state["times"].tolist())


def total_loss(model: PINNModel, terms: Sequence[Term], jets: bool, lam: Sequence[float]) -> torch.Tensor:
    """Σ wᵢ λᵢ Lᵢ over the terms."""
    losses = term_losses(model, terms, jets)
    return sum(t.weight * w * loss for t, w, loss in zip(terms, lam, losses))


def run_signature(model: PINNModel, terms: Sequence[Term], cfg) -> str:
    """What a checkpoint must match: term names and sizes, weight shapes, the solver settings (not threads)."""
    settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in _UNSIGNED}
    return signature_of("pinn", [(t.name, list(t.X.shape)) for t in terms],
                        [(k, list(v.shape)) for k, v in model.state_dict().items()], settings)


def run(model: PINNModel, terms: list[Term], jets: bool, cfg, state: TrainState,
        progress: Progress | None, setup_started: float | None = None) -> tuple[TrainState, str]:
    """Adam for ``cfg.adam_iterations``, then L-BFGS for up to ``cfg.lbfgs_iterations`` iterations.

    Resumes from ``cfg.checkpoint`` when it exists (a file of another run is a :class:`UserInputError`).
    *progress* is called as ``progress(iteration, total_iterations, {"loss": ..., "phase": ...})``.
    With ``cfg.time_limit`` the set-up since *setup_started* (a ``time.perf_counter()`` value) counts.

    Returns
    -------
    state : TrainState
    stopped_by : str
        What ended the training, see :func:`stop_reason`.
    """
    checkpoint = None
    if cfg.checkpoint:  # the PINN draws from its own seeded generators only: leave the global one alone
        checkpoint = Checkpoint(cfg.checkpoint, "pinn", run_signature(model, terms, cfg), global_rng=False)
    task = PINNTraining(model, terms, jets, cfg, state, progress)
    result = run_epochs(task, budget_for(task.max_epochs(), cfg.time_limit, setup_started), checkpoint=checkpoint,
                        restore_best=False)
    return task.state, stop_reason(result.stopped_by, task.state, cfg)


def stop_reason(engine_reason: str, state: TrainState, cfg) -> str:
    """``"time limit"``, ``"iterations"`` (both phases ran their budgets) or ``"converged"`` (L-BFGS ended
    before its budget: the gradient or the step fell below tolerance, or a line search failed)."""
    if engine_reason == "time limit":
        return "time limit"
    if state.adam_done >= cfg.adam_iterations and state.lbfgs_finished and state.lbfgs_done < cfg.lbfgs_iterations:
        return "converged"
    return "iterations"


class PINNTraining(EpochTask):
    """The PINN's two phases as epochs: Adam checkpoint intervals, then L-BFGS chunks.

    Parameters
    ----------
    model : PINNModel
    terms : list of Term
        The loss terms (the PDE term's points change with refinement).
    jets : bool
        Derivatives by forward-mode jets (else autograd).
    cfg : SolverConfig
    state : TrainState
        Counters, loss weights and history; updated in place.
    progress : callable or None
        ``progress(iteration, total_iterations, {"loss", "phase"})`` after every Adam iteration and
        every L-BFGS chunk.
    """

    def __init__(self, model: PINNModel, terms: list[Term], jets: bool, cfg, state: TrainState,
                 progress: Progress | None) -> None:
        self.module, self.terms, self.jets, self.cfg, self.state = model, terms, jets, cfg, state
        self.progress = progress
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.total = cfg.adam_iterations + cfg.lbfgs_iterations
        self.optimizer: GradientStrategy | None = None
        self.phase = ""
        self._saved_optimizer: dict[str, Any] = {}

    def max_epochs(self) -> int:
        """Upper bound on epochs: the Adam intervals plus one per L-BFGS iteration (a chunk makes ≥ 1)."""
        return max(1, math.ceil(self.cfg.adam_iterations / self.cfg.checkpoint_every) + self.cfg.lbfgs_iterations)

    def in_adam(self) -> bool:
        return self.state.adam_done < self.cfg.adam_iterations

    def should_stop(self, tracker) -> bool:
        return not self.in_adam() and (self.cfg.lbfgs_iterations == 0 or self.state.lbfgs_finished)

    def train_epoch(self, deadline: float | None) -> dict[str, Any]:
        started = time.perf_counter()
        if self.in_adam():
            loss = self._adam_interval(deadline)
            self.state.adam_s += time.perf_counter() - started
            return {"loss": loss, "phase": ADAM}
        loss = self._lbfgs_chunk()
        self.state.lbfgs_s += time.perf_counter() - started
        return {"loss": loss, "phase": LBFGS}

    def validate(self, train_metrics: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        return train_metrics["loss"], train_metrics

    def state_dict(self) -> dict[str, Any]:
        terms = self.terms
        return {"train": self.state.state_dict(), "collocation": terms[0].X if terms else torch.zeros(0),
                "optimizer": {"phase": self.phase, "state": self.optimizer.state_dict() if self.optimizer else {}}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state.load_state_dict(state["train"])
        if self.terms and self.terms[0].name == "pde":
            self.terms[0].X = state["collocation"].to(self.terms[0].X.dtype)
            prepare_static(self.module, self.terms[0], self.jets)
        self._saved_optimizer = dict(state["optimizer"])
        self.optimizer, self.phase = None, ""

    def _start_phase(self, phase: str) -> GradientStrategy:
        """The phase's optimiser: created at its first epoch, with the resumed state when saved in it."""
        if self.phase != phase:
            self.optimizer, self.phase = self._new_optimizer(phase), phase
            if self._saved_optimizer.get("phase") == phase:
                self.optimizer.load_state_dict(self._saved_optimizer["state"])
            self._saved_optimizer = {}
        return self.optimizer

    def _new_optimizer(self, phase: str) -> GradientStrategy:
        if phase == ADAM:
            return make_optimizer("adam", self.params, self.cfg.learning_rate)
        return make_optimizer("lbfgs", self.params, 1.0, max_iter=LBFGS_CHUNK, max_eval=LBFGS_CHUNK * 4,
                              history_size=self.cfg.lbfgs_history, tolerance_grad=1e-12, tolerance_change=0.0)

    def _closure(self, last: list[float] | None = None):
        def closure():
            self.optimizer.zero_grad()
            loss = total_loss(self.module, self.terms, self.jets, self.state.lam)
            loss.backward()
            if last is not None:
                last[0] = loss.item()
            return loss
        return closure

    def _adam_interval(self, deadline: float | None = None) -> float:
        """Adam iterations up to the next multiple of ``checkpoint_every`` (or the end, or the iteration
        during which ``perf_counter()`` passes *deadline*); the last loss."""
        cfg, state, model, terms, jets = self.cfg, self.state, self.module, self.terms, self.jets
        opt = self._start_phase(ADAM)
        closure = self._closure()
        end = min((state.adam_done // cfg.checkpoint_every + 1) * cfg.checkpoint_every, cfg.adam_iterations)
        loss = torch.tensor(float("nan"))
        for it in range(state.adam_done, end):
            if cfg.resampling is not None and it > 0 and it % cfg.resampling.every == 0:
                _resample(model, terms, jets, cfg, it)
            if cfg.adaptive_weights is not None and it % cfg.adaptive_weights.every == 0:
                _update_weights(model, terms, jets, cfg.adaptive_weights.beta, state.lam)
            loss = opt.step(closure)
            state.adam_done = it + 1
            out_of_time = deadline is not None and time.perf_counter() >= deadline
            if it % cfg.log_every == 0 or state.adam_done == cfg.adam_iterations or out_of_time:
                state.history.append((it, loss.item()))
                _check_finite(loss.item(), it)
            if self.progress is not None:
                self.progress(state.adam_done, self.total, {"loss": loss.item(), "phase": ADAM})
            if out_of_time:
                break
        return loss.item()

    def _lbfgs_chunk(self) -> float:
        """One L-BFGS chunk (after a due refinement); the last loss (NaN after a failed line search)."""
        cfg, state = self.cfg, self.state
        every = cfg.resampling.lbfgs_every if cfg.resampling is not None else 0
        opt = self._start_phase(LBFGS)
        if every > 0 and state.lbfgs_done > 0 and state.lbfgs_done % every == 0 and not state.refined:
            _resample(self.module, self.terms, self.jets, cfg, cfg.adam_iterations + state.lbfgs_done)
            self.optimizer = opt = self._new_optimizer(LBFGS)
            state.refined = True
        chunk = _chunk_size(cfg, state.lbfgs_done)
        opt.param_groups[0]["max_iter"], opt.param_groups[0]["max_eval"] = chunk, chunk * 4
        backup = [p.detach().clone() for p in self.params]
        last = [float("nan")]
        before = _lbfgs_counters(opt.optimizer)
        opt.step(self._closure(last))
        after = _lbfgs_counters(opt.optimizer)
        done, evals = after[0] - before[0], after[1] - before[1]
        if not np.isfinite(last[0]):  # a failed line search: keep the last good weights and stop
            with torch.no_grad():
                for p, b in zip(self.params, backup):
                    p.copy_(b)
            state.lbfgs_finished = True
            return last[0]
        state.lbfgs_done += max(done, 1)
        state.refined = False
        state.history.append((cfg.adam_iterations + state.lbfgs_done, last[0]))
        if self.progress is not None:
            self.progress(cfg.adam_iterations + state.lbfgs_done, self.total, {"loss": last[0], "phase": LBFGS})
        if done < chunk and evals < chunk * 4:  # converged (gradient or step below tolerance)
            if every > 0:  # jump to the next refinement: new points give a new loss to minimise
                state.lbfgs_done = min(cfg.lbfgs_iterations, (state.lbfgs_done // every + 1) * every)
            else:
                state.lbfgs_finished = True
        if state.lbfgs_done >= cfg.lbfgs_iterations:
            state.lbfgs_finished = True
        return last[0]


def _chunk_size(cfg, done: int) -> int:
    """L-BFGS iterations until the budget, the next refinement or the end of a chunk."""
    size = min(LBFGS_CHUNK, cfg.lbfgs_iterations - done)
    every = cfg.resampling.lbfgs_every if cfg.resampling is not None else 0
    return min(size, every - done % every) if every > 0 else size


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
