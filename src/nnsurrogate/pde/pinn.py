"""The PINN solver: Adam, then L-BFGS, on the residual and condition losses of any :class:`Problem`.

Options that the literature shows to matter, each switchable and measured in
``benchmarks/pde.py``:

* input scaling of the domain onto [−1, 1] and an output scale (``scale_inputs``, ``output_scale``);
* hard constraints, u = P + D·N (:class:`~nnsurrogate.pde.problem.HardConstraint`);
* adaptive loss weights by gradient-norm balancing (Wang, Teng & Perdikaris, SIAM J. Sci. Comput.
  43, A3055 (2021), Algorithm 1): λᵢ ← (1−β) λᵢ + β max|∇θ L_pde| / mean|∇θ Lᵢ|;
* residual-based adaptive refinement, RAR (Lu et al., SIAM Review 63, 208 (2021)) and the
  residual-based density resampling RAD (Wu et al., CMAME 403, 115671 (2023)).

Training runs in float64 by default, on ``threads`` PyTorch threads, and resumes from a checkpoint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from nnsurrogate.core.engine.budget import check_time_limit
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.threads import torch_threads
from nnsurrogate.pde.model import PINNModel, UnknownStore
from nnsurrogate.pde.network import PINNNetwork
from nnsurrogate.pde.problem import Problem, UnknownField
from nnsurrogate.pde.sampling import SAMPLERS
from nnsurrogate.pde import optim
from nnsurrogate.pde.terms import build_terms, prepare_static, uses_jets

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class AdaptiveWeights:
    """Gradient-norm balancing of the condition weights against the PDE term (Wang et al. 2021).

    Attributes
    ----------
    every : int
        Adam iterations between updates.
    beta : float
        Moving-average factor β of the update.
    """

    every: int = 100
    beta: float = 0.1


@dataclass(frozen=True)
class Resampling:
    """Residual-based collocation during the Adam phase.

    Attributes
    ----------
    mode : {"rar", "rad"}
        ``rar`` adds the *add* candidates with the largest |r| (Lu et al. 2021); ``rad`` redraws
        all collocation points with probability ∝ |r|^k / mean|r|^k + c (Wu et al. 2023).
    every : int
        Adam iterations between refinements.
    candidates : int
        Random candidate points scored each time.
    add : int
        Points added per refinement (``rar``).
    k, c : float
        Exponent and offset of the ``rad`` density.
    lbfgs_every : int
        Also refine every this many L-BFGS iterations (0: only during Adam); the L-BFGS memory is
        reset after each refinement, since the loss has changed.
    """

    mode: str = "rar"
    every: int = 500
    candidates: int = 10000
    add: int = 100
    k: float = 1.0
    c: float = 1.0
    lbfgs_every: int = 0


@dataclass(frozen=True)
class SolverConfig:
    """Network, sampling and optimiser settings of :class:`PINNSolver` (DeepXDE's default recipe
    for the network: 3 × 20 tanh; Adam at 10⁻³, then L-BFGS).

    ``time_limit`` (s, ``None``: none) bounds the wall time of :meth:`PINNSolver.solve`, building the
    network and the collocation points included; it is not part of a checkpoint's signature.
    """

    hidden: tuple[int, ...] = (20, 20, 20)
    activation: str = "tanh"
    n_domain: int = 2540
    n_boundary: int = 80
    n_initial: int = 160
    sampler: str = "sobol"
    adam_iterations: int = 2000
    learning_rate: float = 1e-3
    lbfgs_iterations: int = 2000
    lbfgs_history: int = 50
    dtype: str = "float64"
    scale_inputs: bool = True
    output_scale: float = 1.0
    adaptive_weights: AdaptiveWeights | None = None
    resampling: Resampling | None = None
    derivatives: str = "auto"
    seed: int = 0
    threads: int | None = 1
    checkpoint: str | None = None
    checkpoint_every: int = 500
    log_every: int = 50
    time_limit: float | None = None

    def validate(self) -> None:
        """Raise :class:`UserInputError` for settings that cannot work."""
        for name in ("n_domain", "n_boundary", "n_initial"):
            if getattr(self, name) < 1:
                raise UserInputError(f"{name} must be positive, got {getattr(self, name)}", "solver")
        if self.adam_iterations < 0 or self.lbfgs_iterations < 0:
            raise UserInputError("iteration counts must be ≥ 0", "solver")
        if self.checkpoint_every < 1 or self.log_every < 1:
            raise UserInputError("checkpoint_every and log_every must be positive", "solver")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise UserInputError(f"learning rate must be positive, got {self.learning_rate}", "solver")
        if self.dtype not in _DTYPES:
            raise UserInputError(f"dtype must be float64 or float32, got '{self.dtype}'", "solver")
        if self.sampler not in SAMPLERS:
            raise UserInputError(f"unknown sampler '{self.sampler}'; choose one of {', '.join(SAMPLERS)}", "solver")
        if self.derivatives not in ("auto", "jets", "autograd"):
            raise UserInputError("derivatives must be auto, jets or autograd", "solver")
        if not self.hidden or min(self.hidden) < 1:
            raise UserInputError(f"hidden widths must be positive, got {self.hidden}", "solver")
        if self.resampling is not None and self.resampling.mode not in ("rar", "rad"):
            raise UserInputError(f"resampling mode must be rar or rad, got '{self.resampling.mode}'", "solver")
        check_time_limit(self.time_limit)


@dataclass
class PINNResult:
    """A trained PINN.

    Attributes
    ----------
    model : PINNModel
        Network, unknowns and constraint.
    history : list of (int, float)
        (iteration, total loss) during training; L-BFGS iterations follow the Adam ones.
    weights : dict of str to float
        Final loss weights per term (user weight × adaptive factor).
    wall_s, adam_s, lbfgs_s : float
        Training time in seconds (total, Adam phase, L-BFGS phase).
    adam_iterations, lbfgs_iterations : int
        Iterations actually run.
    n_collocation : int
        Collocation points in the PDE term at the end (grows with RAR).
    stopped_by : str
        What ended the training: ``"iterations"`` (both phases ran their budgets), ``"converged"``
        (L-BFGS ended sooner) or ``"time limit"``.
    """

    model: PINNModel
    history: list[tuple[int, float]] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    adam_s: float = 0.0
    lbfgs_s: float = 0.0
    adam_iterations: int = 0
    lbfgs_iterations: int = 0
    n_collocation: int = 0
    stopped_by: str = "iterations"

    def predict(self, points: np.ndarray | Mapping[str, np.ndarray]) -> np.ndarray:
        """The field at *points*: an array (n, d) in the domain's column order or a mapping name → (n,).

        Returns
        -------
        numpy.ndarray, shape (n,) for one component, else (n, k)
        """
        names = self.model.names
        if isinstance(points, Mapping):
            points = np.column_stack([np.asarray(points[n], dtype=np.float64).ravel() for n in names])
        dtype = next(self.model.network.parameters()).dtype
        X = torch.as_tensor(np.asarray(points, dtype=np.float64).reshape(-1, len(names)), dtype=dtype)
        with torch.no_grad():
            u = self.model(X).double().numpy()
        return u[:, 0] if u.shape[1] == 1 else u

    def unknown(self, name: str, points: np.ndarray | None = None) -> float | np.ndarray:
        """Estimated unknown: a float for a scalar, the field's values at *points* (n, d) for a field."""
        spec = self.model.unknowns.specs.get(name)
        if spec is None:
            raise UserInputError(f"unknown '{name}' is not declared by the problem", "result")
        dtype = next(self.model.network.parameters()).dtype
        with torch.no_grad():
            if isinstance(spec, UnknownField):
                if points is None:
                    raise UserInputError(f"unknown field '{name}' needs points to evaluate", "result")
                X = torch.as_tensor(np.asarray(points, dtype=np.float64), dtype=dtype)
                return self.model.unknowns.value(name, X).double().numpy()
            return float(self.model.unknowns.value(name, torch.zeros(1, len(self.model.names), dtype=dtype)))

    @property
    def final_loss(self) -> float:
        return self.history[-1][1] if self.history else float("nan")


class PINNSolver:
    """Solve a :class:`~nnsurrogate.pde.problem.Problem` with a physics-informed network.

    Parameters
    ----------
    config : SolverConfig, optional
        Settings; keyword arguments override its fields, e.g. ``PINNSolver(adam_iterations=500)``.
    """

    def __init__(self, config: SolverConfig | None = None, **overrides) -> None:
        base = config or SolverConfig()
        self.config = SolverConfig(**{**base.__dict__, **overrides})

    def build(self, problem: Problem) -> PINNModel:
        """A fresh model (network with initial weights and unknowns) for *problem*."""
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        dom = problem.domain
        net = PINNNetwork(dom.lower, dom.upper, problem.n_outputs, cfg.hidden, cfg.activation,
                          cfg.scale_inputs, cfg.output_scale, generator=gen)
        model = PINNModel(problem, net, UnknownStore(problem.unknowns, dom, generator=gen))
        return model.to(_DTYPES[cfg.dtype])

    def solve(self, problem: Problem, progress: Progress | None = None) -> PINNResult:
        """Train a network on *problem*; returns the trained :class:`PINNResult`.

        Parameters
        ----------
        problem : Problem
        progress : callable, optional
            ``progress(iteration, total_iterations, {"loss": total loss, "phase": "adam" | "lbfgs"})``
            after every Adam iteration and every L-BFGS chunk (L-BFGS iterations follow the Adam ones).
        """
        setup_started = time.perf_counter()
        cfg = self.config
        cfg.validate()
        if not isinstance(problem, Problem):
            raise UserInputError("solve() expects a Problem", "solver")
        with torch_threads(cfg.threads):
            model = self.build(problem)
            dtype = _DTYPES[cfg.dtype]
            terms = build_terms(model, cfg.n_domain, cfg.n_boundary, cfg.n_initial, cfg.sampler, cfg.seed, dtype)
            jets = uses_jets(model, terms, cfg.derivatives)
            for term in terms:
                prepare_static(model, term, jets)
            state = optim.TrainState.fresh(terms)
            started = time.perf_counter()
            state, stopped_by = optim.run(model, terms, jets, cfg, state, progress, setup_started)
            result = PINNResult(model, state.history, state.weight_dict(terms), time.perf_counter() - started,
                                state.adam_s, state.lbfgs_s, state.adam_done, state.lbfgs_done,
                                int(terms[0].X.shape[0]) if terms and terms[0].name == "pde" else 0, stopped_by)
        return result
