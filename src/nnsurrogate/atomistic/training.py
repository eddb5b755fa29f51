"""Training loop for any potential model (see :mod:`~nnsurrogate.atomistic.models`).

Loss, as in NEP (Fan et al. 2021, Eq. 9; GPUMD's fitness; :mod:`~nnsurrogate.atomistic.losses`)::

    L = λ_e RMSE(E/N) + λ_f RMSE(F) + λ_v RMSE(W/N) + λ_1 mean|z| + λ_2 √(mean z²)

over a mini-batch of frames (forces over all 3N components, virials over the six independent
components per frame that has one). The optimiser is Adam (AMSGrad) with the learning rate
halved when the validation loss stalls, L-BFGS on the full training set
(:mod:`~nnsurrogate.atomistic.train_gradient`), or GPUMD's gradient-free separable natural
evolution strategy (SNES, :mod:`~nnsurrogate.atomistic.train_snes`). The geometry of every frame
is featurized once (:mod:`~nnsurrogate.atomistic.frames`); each epoch only re-evaluates the
trainable part. The epochs run on the training engine (:func:`~nnsurrogate.core.engine.run_epochs`):
after every epoch the full state is checkpointed, so a killed run resumes with ``resume=True``;
the weights with the lowest validation loss are the result.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from nnsurrogate.atomistic import distributed
from nnsurrogate.atomistic.frames import FrameSet, RunEnv, make_batch, minibatches, prepare_frames
from nnsurrogate.atomistic.losses import (ErrorSums, error_sums, evaluate_sums, regularization, rmse_from_sums,
                                          solve_energy_shift, surrogate, weighted_loss)
from nnsurrogate.atomistic.models import PotentialModel, resolve_device, resolve_dtype
from nnsurrogate.atomistic.train_body import EpochBody, Fit
from nnsurrogate.atomistic.train_gradient import BIAS_DAMPING, AdamEpochs, LBFGSEpochs
from nnsurrogate.atomistic.train_snes import SNESEpochs
from nnsurrogate.core.engine import Budget, Checkpoint, EpochTask, run_epochs, signature_of
from nnsurrogate.core.engine.budget import budget_for, check_time_limit
from nnsurrogate.core.engine.snes import SNES_SIGMA0, snes_update, snes_utilities
from nnsurrogate.core.errors import UserInputError

__all__ = ["BIAS_DAMPING", "EPOCH_BODIES", "SNES_SIGMA0", "ErrorSums", "FrameSet", "PotentialTask",
           "PotentialTrainConfig", "RunEnv", "TrainResult", "error_sums", "evaluate_sums", "make_batch",
           "minibatches", "prepare_frames", "regularization", "rmse_from_sums", "snes_update", "snes_utilities",
           "surrogate", "train_potential", "weighted_loss"]

#: ``progress(epoch, epochs, metrics)`` (the engine's progress protocol).
ProgressFn = Callable[[int, int, dict], None]
#: The epoch body of each ``optimizer`` setting (the one place a name picks an optimizer).
EPOCH_BODIES: dict[str, type[EpochBody]] = {"adam": AdamEpochs, "lbfgs": LBFGSEpochs, "snes": SNESEpochs}


@dataclass(frozen=True)
class PotentialTrainConfig:
    """Settings of one training run (units: eV, Å, s).

    Attributes
    ----------
    epochs : int
        Passes over the training frames (an upper bound when ``time_limit`` is set).
    time_limit : float or None
        Stop after this much wall time, seconds (checked after every batch), the set-up of the run
        included (inside a :func:`~nnsurrogate.core.engine.budget.time_limit_scope`, such as that of
        the ``potential train`` workflow, the scope's clock, which began before the frames were read).
    batch_size : int
        Frames per mini-batch.
    learning_rate, min_learning_rate : float
        Initial Adam step and the final (or smallest) one.
    schedule : {"exponential", "plateau"}
        ``exponential``: the step decays geometrically from ``learning_rate`` to ``min_learning_rate``
        over the run (the fraction of epochs or of the time limit used, whichever is larger);
        ``plateau``: it halves after ``lr_patience`` epochs without a better validation loss.
    lr_patience : int
        Epochs without a better validation loss before the step halves (``plateau``).
    lambda_e, lambda_f, lambda_v, lambda_1, lambda_2 : float
        Weights of the energy, force, virial, L1 and L2 terms.
    optimizer : {"adam", "lbfgs", "snes"}
        ``snes``: GPUMD's separable natural evolution strategy, one generation per mini-batch
        (the learning-rate settings do not apply; see :func:`snes_update`).
    population : int
        Candidates per SNES generation (GPUMD's ``population``, default 50; at least 2).
    dtype : {"float32", "float64"}
        Training precision.
    device : str
        ``"cpu"`` or ``"cuda"``.
    seed : int
        Initial weights and batch order.
    checkpoint : str or None
        File for the resumable state, written after every epoch.
    resume : bool
        Continue from ``checkpoint`` when it exists (without it an existing file is replaced).
    """

    epochs: int = 100
    time_limit: float | None = None
    batch_size: int = 4
    learning_rate: float = 4e-3
    min_learning_rate: float = 1e-5
    schedule: str = "plateau"
    lr_patience: int = 30
    lambda_e: float = 0.1
    lambda_f: float = 1.0
    lambda_v: float = 0.1
    lambda_1: float = 0.0
    lambda_2: float = 0.0
    optimizer: str = "adam"
    population: int = 50
    dtype: str = "float32"
    device: str = "cpu"
    seed: int = 0
    checkpoint: str | None = None
    resume: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in EPOCH_BODIES:
            names = tuple(EPOCH_BODIES)
            raise UserInputError(f"unknown optimizer '{self.optimizer}' ({', '.join(names[:-1])} or {names[-1]})",
                                 "optimizer")
        if self.population < 2:
            raise UserInputError(f"the SNES population must be at least 2, got {self.population}", "population")
        if self.schedule not in ("exponential", "plateau"):
            raise UserInputError(f"unknown schedule '{self.schedule}' (exponential or plateau)", "schedule")
        if not 0 < self.min_learning_rate <= self.learning_rate:
            raise UserInputError("learning rates must satisfy 0 < minimum ≤ initial",
                                 "min_learning_rate, learning_rate")
        if self.epochs < 1 or self.batch_size < 1:
            raise UserInputError("epochs and batch size must be at least 1", "epochs, batch_size")
        check_time_limit(self.time_limit)
        if min(self.lambda_e, self.lambda_f, self.lambda_v, self.lambda_1, self.lambda_2) < 0:
            raise UserInputError("loss weights must be non-negative",
                                 "lambda_e, lambda_f, lambda_v, lambda_1, lambda_2")


@dataclass
class TrainResult:
    """History rows: (epoch, elapsed_s, lr, train E/F/V RMSE, valid E/F/V RMSE, valid loss).

    With ``optimizer="snes"`` the ``learning_rate`` column holds the mean search width mean(σ)."""

    epochs_run: int
    best_epoch: int
    best_loss: float
    elapsed_s: float
    history: list[tuple[float, ...]] = field(default_factory=list)
    stopped_by: str = "epochs"  #: "epochs", "time limit" or "non-finite loss"

    HISTORY_COLUMNS = ("epoch", "elapsed_s", "learning_rate", "train_energy_rmse", "train_force_rmse",
                       "train_virial_rmse", "valid_energy_rmse", "valid_force_rmse", "valid_virial_rmse",
                       "valid_loss")


class PotentialTask(EpochTask):
    """The potential trainer's epoch for the engine: the optimizer's epoch body, then validation.

    The score is the weighted validation loss (:func:`weighted_loss` of the validation RMSEs, or of
    the training RMSEs without validation frames); the metrics are ``train`` and ``valid`` (E, F, V
    RMSE in eV/atom, eV/Å, eV/atom), ``loss`` and ``lr`` (the learning rate after the epoch's
    schedule step; for SNES the mean search width σ).
    """

    def __init__(self, fit: Fit, body: EpochBody, valid: FrameSet | None) -> None:
        self.module, self.generators = fit.model, (fit.generator,)
        self.fit, self.body, self.valid = fit, body, valid
        self._metrics: dict = {}

    def train_epoch(self, deadline: float | None) -> dict:
        return {"train": self.body.epoch(deadline).rmse()}

    def validate(self, train_metrics: dict) -> tuple[float, dict]:
        fit, train = self.fit, train_metrics["train"]
        valid = train
        if self.valid is not None and len(self.valid):
            env = fit.env
            valid = evaluate_sums(fit.model, self.valid, 4 * fit.config.batch_size, env.device, env.dtype,
                                  env.virial).rmse()
        loss = weighted_loss(valid, fit.config)
        # the engine builds the history row from this dict after after_epoch, which sets "lr"
        self._metrics = {"train": train, "valid": valid, "lr": float("nan"), "loss": loss}
        return loss, self._metrics

    def after_epoch(self, score, budget: Budget, tracker) -> None:
        self.body.schedule(self._metrics["loss"], budget)
        self._metrics["lr"] = self.body.learning_rate

    def state_dict(self) -> dict:
        return {"strategy": self.body.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.body.load_state_dict(state["strategy"])


def _signature(model: PotentialModel, train: FrameSet, config: PotentialTrainConfig) -> str:
    """What a resumed run must share with the one that wrote the checkpoint (not the epoch or time budget)."""
    spec = model.spec
    fields = (model.kind, spec.to_json() if spec is not None else "", len(train), float(train.energy.sum()),
              config.batch_size, config.optimizer, config.dtype, config.seed, config.lambda_e, config.lambda_f,
              config.lambda_v, config.lambda_1, config.lambda_2, config.learning_rate, config.schedule)
    return signature_of(*fields, *EPOCH_BODIES[config.optimizer].signature_fields(config))


def _checkpoint(model, train: FrameSet, config: PotentialTrainConfig, ctx) -> Checkpoint | None:
    """The run's checkpoint; without ``resume`` an old file is removed first, so every rank starts afresh.

    The ranks wait for each other before any reads the file (the main rank may still be removing it,
    or writing the last one of an earlier run in this process).
    """
    if not config.checkpoint:
        return None
    checkpoint = Checkpoint(config.checkpoint, kind="potential", signature=_signature(model, train, config),
                            global_rng=False)
    if not config.resume and ctx.is_main:
        checkpoint.remove()
    ctx.barrier()
    return checkpoint


def _history_row(row: dict) -> tuple[float, ...]:
    """A :attr:`TrainResult.HISTORY_COLUMNS` tuple from an engine history row."""
    return (row["epoch"], row["elapsed_s"], row["lr"], *row["train"], *row["valid"], row["loss"])


def train_potential(model: PotentialModel, train: FrameSet, valid: FrameSet | None, config: PotentialTrainConfig,
                    progress: ProgressFn | None = None) -> TrainResult:
    """Fit *model* (already initialized) to *train*; keep the weights best on *valid* (or on *train*).

    Parameters
    ----------
    model : PotentialModel
    train, valid : FrameSet
        From :func:`prepare_frames`; *valid* may be ``None``.
    config : PotentialTrainConfig
    progress : callable, optional
        The engine's progress protocol, called after every epoch as ``progress(epoch, epochs, metrics)``;
        *metrics* has ``train`` and ``valid`` (E, F, V RMSE in eV/atom, eV/Å, eV/atom), ``elapsed_s``,
        ``lr`` (for SNES the mean search width σ), ``loss`` (the weighted validation loss) and ``epoch``.

    Returns
    -------
    TrainResult
        The model holds the best weights afterwards (in the training dtype).
    """
    setup_started = time.perf_counter()
    device, dtype = resolve_device(config.device), resolve_dtype(config.dtype)
    ctx = distributed.context(device)
    if ctx.active and device.type == "cuda":  # one GPU per rank
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", ctx.rank)))
    model.to(device=device, dtype=dtype)
    env = RunEnv(device, dtype, config.lambda_v > 0 and bool(train.has_virial.any()))
    fit = Fit(model, distributed.wrap(model, ctx, device), train, config, ctx, env,
              torch.Generator().manual_seed(config.seed))
    task = PotentialTask(fit, EPOCH_BODIES[config.optimizer](fit), valid)
    checkpoint = _checkpoint(model, train, config, ctx)
    budget = budget_for(config.epochs, config.time_limit, setup_started)  # the set-up counts against the limit
    result = run_epochs(task, budget, checkpoint=checkpoint, progress=progress, stop_on_nonfinite=True,
                        is_main=ctx.is_main)
    if config.lambda_e > 0:
        solve_energy_shift(model, train, config.batch_size, env)
    return TrainResult(result.epochs_run, result.best_epoch, result.best_score, result.elapsed_s,
                       [_history_row(row) for row in result.history], result.stopped_by)
