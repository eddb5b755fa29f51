"""Training loop for any potential model (see :mod:`~nnsurrogate.atomistic.models`).

Loss, as in NEP (Fan et al. 2021, Eq. 9; GPUMD's fitness)::

    L = λ_e RMSE(E/N) + λ_f RMSE(F) + λ_v RMSE(W/N) + λ_1 mean|z| + λ_2 √(mean z²)

over a mini-batch of frames (forces over all 3N components, virials over the six independent
components per frame that has one). The optimiser is Adam (AMSGrad) with the learning rate
halved when the validation loss stalls, L-BFGS on the full training set, or GPUMD's gradient-free
separable natural evolution strategy (SNES, :func:`snes_update`). The geometry of every
frame is featurized once; each epoch only re-evaluates the trainable part. After every epoch the
full state is checkpointed, so a killed run resumes with ``resume=True``; the weights with the
lowest validation loss are the result.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nnsurrogate.atomistic import distributed
from nnsurrogate.atomistic.data import frame_labels
from nnsurrogate.atomistic.models import resolve_device, resolve_dtype
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import atomic_path

ProgressFn = Callable[[int, int, dict], None]
#: Fraction of a batch's mean energy error per atom removed through the model's energy bias after
#: each Adam step (a smoothed closed-form update of a parameter Adam does not step).
BIAS_DAMPING = 0.3
_SUMS = 7  # squared-error sums and counts (energy, forces, virial), then Σ signed energy error per atom


@dataclass(frozen=True)
class PotentialTrainConfig:
    """Settings of one training run (units: eV, Å, s).

    Attributes
    ----------
    epochs : int
        Passes over the training frames (an upper bound when ``time_limit`` is set).
    time_limit : float or None
        Stop after this much training wall time, seconds (checked after every batch).
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
        Continue from ``checkpoint`` when it exists.
    """

    epochs: int = 100
    time_limit: float | None = None
    batch_size: int = 4
    learning_rate: float = 4e-3
    min_learning_rate: float = 1e-5
    schedule: str = "plateau"
    lr_patience: int = 10
    lambda_e: float = 1.0
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
        if self.optimizer not in ("adam", "lbfgs", "snes"):
            raise UserInputError(f"unknown optimizer '{self.optimizer}' (adam, lbfgs or snes)", "--optimizer")
        if self.population < 2:
            raise UserInputError(f"the SNES population must be at least 2, got {self.population}", "--population")
        if self.schedule not in ("exponential", "plateau"):
            raise UserInputError(f"unknown schedule '{self.schedule}' (exponential or plateau)", "--schedule")
        if not 0 < self.min_learning_rate <= self.learning_rate:
            raise UserInputError("learning rates must satisfy 0 < minimum ≤ initial", "--lr")
        if self.epochs < 1 or self.batch_size < 1:
            raise UserInputError("epochs and batch size must be at least 1", "--epochs/--batch")
        if self.time_limit is not None and self.time_limit <= 0:
            raise UserInputError("the time limit must be positive", "--time-limit")
        if min(self.lambda_e, self.lambda_f, self.lambda_v, self.lambda_1, self.lambda_2) < 0:
            raise UserInputError("loss weights must be non-negative", "--lambda-*")


@dataclass
class FrameSet:
    """Featurized frames with their targets (energies already minus the reference energies)."""

    features: list[dict]
    energy: torch.Tensor  # (F,) float64, eV
    forces: list[torch.Tensor]  # each (n_atoms, 3) float64, eV/Å
    virial: torch.Tensor  # (F, 3, 3) float64, eV (zeros where absent)
    has_virial: torch.Tensor  # (F,) bool
    n_atoms: torch.Tensor  # (F,) int64

    def __len__(self) -> int:
        return len(self.features)

    def subset(self, indices) -> "FrameSet":
        """The frames at *indices* (features shared, not copied)."""
        idx = list(indices)
        index = torch.as_tensor(idx, dtype=torch.long)
        return FrameSet([self.features[k] for k in idx], self.energy[index], [self.forces[k] for k in idx],
                        self.virial[index], self.has_virial[index], self.n_atoms[index])

    def max_neighbors(self) -> tuple[int, ...]:
        """Largest neighbour count of any atom, per neighbour list (``*_j`` fields; −1 marks empty slots)."""
        keys = sorted(k for k in self.features[0] if k.endswith("_j")) if self.features else []
        keys = sorted(keys, key=lambda k: (k != "r_j", k))
        return tuple(max(int((f[k] >= 0).sum(1).max()) for f in self.features) for k in keys)


@dataclass
class TrainResult:
    """History rows: (epoch, elapsed_s, lr, train E/F/V RMSE, valid E/F/V RMSE, valid loss).

    With ``optimizer="snes"`` the ``learning_rate`` column holds the mean search width mean(σ)."""

    epochs_run: int
    best_epoch: int
    best_loss: float
    elapsed_s: float
    history: list[tuple[float, ...]] = field(default_factory=list)

    HISTORY_COLUMNS = ("epoch", "elapsed_s", "learning_rate", "train_energy_rmse", "train_force_rmse",
                       "train_virial_rmse", "valid_energy_rmse", "valid_force_rmse", "valid_virial_rmse",
                       "valid_loss")


def prepare_frames(model, frames: Sequence, widths=None, dtype: torch.dtype = torch.float32, where: str = "") -> FrameSet:
    """Featurize labelled frames (from :func:`~nnsurrogate.atomistic.data.read_frames`) for *model*."""
    refs = dict(zip(model.species, model.reference_energies))
    labels = [frame_labels(a) for a in frames]
    energy = torch.tensor([lab["energy"] - sum(refs[s] for s in a.get_chemical_symbols())
                           for lab, a in zip(labels, frames)], dtype=torch.float64)
    virial = torch.zeros(len(frames), 3, 3, dtype=torch.float64)
    has_virial = torch.zeros(len(frames), dtype=torch.bool)
    for k, lab in enumerate(labels):
        if "virial" in lab:
            virial[k], has_virial[k] = torch.from_numpy(lab["virial"]), True
    return FrameSet(model.featurize(frames, dtype, widths, where), energy,
                    [torch.from_numpy(lab["forces"]) for lab in labels], virial, has_virial,
                    torch.tensor([len(a) for a in frames]))


def make_batch(model, data: FrameSet, idx: Sequence[int], device: torch.device, dtype: torch.dtype):
    """Collated inputs and targets of frames *idx*, on *device* with float tensors in *dtype*."""
    batch = model.collate([data.features[i] for i in idx])
    batch = {k: v.to(device=device, dtype=dtype if v.is_floating_point() else v.dtype) for k, v in batch.items()}
    index = torch.as_tensor(list(idx), dtype=torch.long)
    targets = {"energy": data.energy[index], "forces": torch.cat([data.forces[i] for i in idx]),
               "virial": data.virial[index], "has_virial": data.has_virial[index], "n_atoms": data.n_atoms[index]}
    targets = {k: v.to(device=device, dtype=dtype if v.is_floating_point() else v.dtype) for k, v in targets.items()}
    return batch, targets


_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def error_sums(pred: dict, targets: dict) -> torch.Tensor:
    """[Σ(ΔE/N)², n_frames, Σ ΔF², 3·n_atoms, Σ (ΔW/N)² over 6 components, 6·n_virial_frames, Σ ΔE/N] (7,)."""
    n = targets["n_atoms"].to(pred["energy"].dtype)
    de = (pred["energy"] - targets["energy"]) / n
    df = pred["forces"] - targets["forces"]
    parts = [(de * de).sum(), de.new_tensor(float(de.numel())), (df * df).sum(), de.new_tensor(float(df.numel()))]
    mask = targets["has_virial"]
    if "virial" in pred and bool(mask.any()):
        dw = (pred["virial"] - targets["virial"])[mask] / n[mask, None, None]
        comps = torch.stack([dw[:, a, b] for a, b in _VOIGT], dim=1)
        parts += [(comps * comps).sum(), de.new_tensor(float(comps.numel()))]
    else:
        parts += [de.new_zeros(()), de.new_zeros(())]
    parts.append(de.sum())
    return torch.stack(parts)


def rmse_from_sums(sums: torch.Tensor) -> tuple[float, float, float]:
    """Energy (eV/atom), force (eV/Å) and virial (eV/atom) RMSE; NaN where a count is zero."""
    s = sums.detach().double().cpu().tolist()
    return tuple(math.sqrt(s[k] / s[k + 1]) if s[k + 1] > 0 else float("nan") for k in (0, 2, 4))


def weighted_loss(rmses: Sequence[float], config: PotentialTrainConfig) -> float:
    """λ_e RMSE_E + λ_f RMSE_F + λ_v RMSE_V (terms with no data count as 0)."""
    lams = (config.lambda_e, config.lambda_f, config.lambda_v)
    return float(sum(lam * r for lam, r in zip(lams, rmses) if lam > 0 and math.isfinite(r)))


def surrogate(local: torch.Tensor, total: torch.Tensor, config: PotentialTrainConfig, world: int) -> torch.Tensor:
    """A loss whose gradient, summed over ranks, is the gradient of Σ λ √(S/N) for the whole batch.

    d√(S/N) = dS / (2√(S·N)); each rank weights its local sums S_r by the global 1/(2√(S·N)).
    """
    out = local.new_zeros(())
    for k, lam in zip((0, 2, 4), (config.lambda_e, config.lambda_f, config.lambda_v)):
        s, n = float(total[k]), float(total[k + 1])
        if lam > 0 and n > 0:
            out = out + lam * local[k] / (2.0 * math.sqrt(max(s, 1e-30) * n))
    return out * world


def regularization(model: torch.nn.Module, config: PotentialTrainConfig) -> torch.Tensor | None:
    """λ_1 mean|z| + λ_2 √(mean z²) over all trainable parameters z (None when both are 0)."""
    if config.lambda_1 == 0 and config.lambda_2 == 0:
        return None
    return _penalty(torch.cat([p.reshape(-1) for p in model.parameters() if p.requires_grad]), config)


def _penalty(z: torch.Tensor, config: PotentialTrainConfig) -> torch.Tensor:
    """λ_1 mean|z| + λ_2 √(mean z²) of a parameter vector *z* (n,), or of each row of *z* (P, n)."""
    return config.lambda_1 * z.abs().mean(-1) + config.lambda_2 * torch.sqrt((z * z).mean(-1) + 1e-30)


def evaluate_sums(model, data: FrameSet, batch_size: int, device, dtype, virial: bool) -> torch.Tensor:
    """Error sums of *model* over all frames of *data* (no graph kept)."""
    total = torch.zeros(_SUMS, dtype=torch.float64)
    for start in range(0, len(data), batch_size):
        idx = list(range(start, min(start + batch_size, len(data))))
        batch, targets = make_batch(model, data, idx, device, dtype)
        pred = model(batch, forces=True, virial=virial)
        total += error_sums({k: v.detach() for k, v in pred.items()}, targets).double().cpu()
    return total


def parameter_groups(model, config: PotentialTrainConfig) -> list[dict]:
    """Adam parameter groups: the model's own (``model.parameter_groups(lr)``) when it has them,
    else all trainable parameters at one learning rate. Parameters the model leaves out are not
    stepped by Adam; a model with ``bias_by_shift = True`` has its energy bias moved after every step
    through ``shift_energy`` instead (by :data:`BIAS_DAMPING` × the batch's mean energy error)."""
    if hasattr(model, "parameter_groups"):
        return model.parameter_groups(config.learning_rate)
    return [{"params": [p for p in model.parameters() if p.requires_grad], "lr": config.learning_rate}]


class _Run:
    """Mutable state of one run (kept out of the model; saved in checkpoints)."""

    def __init__(self, model: torch.nn.Module, config: PotentialTrainConfig) -> None:
        self.optimizer, self.scheduler, self.snes = None, None, None
        if config.optimizer == "snes":
            self.snes = _SNES(model)
        elif config.optimizer == "lbfgs":
            params = [p for p in model.parameters() if p.requires_grad]
            self.optimizer = torch.optim.LBFGS(params, lr=1.0, max_iter=20, history_size=20,
                                               line_search_fn="strong_wolfe")
        else:
            self.optimizer = torch.optim.Adam(parameter_groups(model, config), lr=config.learning_rate, amsgrad=True)
        if self.optimizer is not None:
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, factor=0.5, patience=config.lr_patience, min_lr=config.min_learning_rate)
        self.epoch, self.elapsed, self.best_epoch, self.best_loss = 0, 0.0, 0, float("inf")
        self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.history: list[tuple[float, ...]] = []

    def _decay(self, config: PotentialTrainConfig) -> None:
        """Geometric decay: lr = lr₀ (lr_min/lr₀)^progress for every group (keeps each group's ratio)."""
        progress = self.epoch / config.epochs
        if config.time_limit is not None:
            progress = max(progress, self.elapsed / config.time_limit)
        factor = (config.min_learning_rate / config.learning_rate) ** min(progress, 1.0)
        for group in self.optimizer.param_groups:
            group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor

    def out_of_time(self, config: PotentialTrainConfig) -> bool:
        return config.time_limit is not None and self.elapsed >= config.time_limit

    def record(self, model, train_rmse, valid_rmse, config: PotentialTrainConfig) -> float:
        """Append a history row, keep the best weights, step the schedule; returns the valid loss."""
        self.epoch += 1
        loss = weighted_loss(valid_rmse, config)
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, self.epoch
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if config.optimizer == "adam" and config.schedule == "plateau" and math.isfinite(loss):
            self.scheduler.step(loss)
        elif config.optimizer == "adam":
            self._decay(config)
        lr = float(self.optimizer.param_groups[0]["lr"]) if self.snes is None else float(self.snes.sigma.mean())
        self.history.append((self.epoch, self.elapsed, lr, *train_rmse, *valid_rmse, loss))
        return loss

    def save(self, path: Path, model, generator: torch.Generator, signature: str) -> None:
        blob = {"signature": signature, "model": model.state_dict(),
                "optimizer": self.optimizer.state_dict() if self.optimizer is not None else {},
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {},
                "snes": self.snes.state_dict() if self.snes is not None else {},
                "epoch": self.epoch, "elapsed": self.elapsed,
                "best_loss": self.best_loss, "best_epoch": self.best_epoch, "best_state": self.best_state,
                "history": torch.tensor(self.history, dtype=torch.float64).reshape(-1, len(TrainResult.HISTORY_COLUMNS)),
                "generator": generator.get_state()}
        with atomic_path(path) as tmp:
            torch.save(blob, tmp)

    def load(self, path: Path, model, generator: torch.Generator, signature: str) -> None:
        """Resume from *path* (``weights_only`` loading: tensors and plain containers, never code)."""
        try:
            blob = torch.load(os.fspath(path), weights_only=True)
        except Exception as exc:  # a truncated or foreign file
            raise UserInputError(f"unreadable checkpoint ({type(exc).__name__})", str(path)) from None
        if blob.get("signature") != signature:
            raise UserInputError("the checkpoint belongs to a different model, data or settings; "
                                 "delete it or run without --resume", str(path))
        model.load_state_dict(blob["model"])
        if self.optimizer is not None:
            self.optimizer.load_state_dict(blob["optimizer"])
            self.scheduler.load_state_dict(blob["scheduler"])
        if self.snes is not None:
            self.snes.load_state_dict(blob["snes"])
        self.epoch, self.elapsed = int(blob["epoch"]), float(blob["elapsed"])
        self.best_loss, self.best_epoch = float(blob["best_loss"]), int(blob["best_epoch"])
        self.best_state = blob["best_state"]
        self.history = [tuple(row) for row in blob["history"].tolist()]
        generator.set_state(blob["generator"])


def _step_adam(net, model, data: FrameSet, frames: list[int], run: _Run, config, ctx, env) -> torch.Tensor:
    """One Adam step on the batch *frames* (this rank's share); returns the global error sums."""
    device, dtype, virial = env
    run.optimizer.zero_grad(set_to_none=True)
    mine = ctx.share(frames)
    batch, targets = make_batch(model, data, mine, device, dtype)
    pred = net(batch, forces=True, virial=virial, create_graph=True)
    local = error_sums(pred, targets)
    total = ctx.all_reduce(local.detach())
    loss = surrogate(local, total, config, ctx.world)
    reg = regularization(model, config)
    (loss if reg is None else loss + reg).backward()
    run.optimizer.step()
    if getattr(model, "bias_by_shift", False) and float(total[1]) > 0:  # the bias Adam leaves alone: cancel
        model.shift_energy(-BIAS_DAMPING * float(total[6] / total[1]))  # the batch's mean energy error per atom
    return total.double().cpu()


def _epoch_adam(net, model, data, run, config, ctx, env, generator, deadline) -> torch.Tensor:
    total = torch.zeros(_SUMS, dtype=torch.float64)
    for frames in _minibatches(len(data), config.batch_size, ctx, generator, deadline):
        total += _step_adam(net, model, data, frames, run, config, ctx, env)
    return total


def _minibatches(n_frames: int, batch_size: int, ctx, generator: torch.Generator, deadline: float | None):
    """Shuffled mini-batches of frame indices for one epoch; a remainder too small to give every rank
    a frame is skipped, and the epoch stops after the batch during which any rank passed *deadline*."""
    order = torch.randperm(n_frames, generator=generator).tolist()
    for start in range(0, n_frames, batch_size):
        frames = order[start : start + batch_size]
        if len(frames) < ctx.world:
            continue
        yield frames
        late = torch.tensor([float(deadline is not None and time.perf_counter() > deadline)])
        if float(ctx.all_reduce(late)[0]) > 0:
            return


def _epoch_lbfgs(net, model, data, run, config, ctx, env) -> torch.Tensor:
    """One L-BFGS step (up to 20 iterations with line search) on the full training set."""
    device, dtype, virial = env
    batches = [list(range(s, min(s + config.batch_size, len(data)))) for s in range(0, len(data), config.batch_size)]
    batches = [ctx.share(b) for b in batches if len(b) >= ctx.world]
    state = {}

    def closure():
        run.optimizer.zero_grad(set_to_none=True)
        total = torch.zeros(_SUMS, dtype=torch.float64)
        for idx in batches:
            batch, targets = make_batch(model, data, idx, device, dtype)
            pred = model(batch, forces=True, virial=virial)
            total += error_sums({k: v.detach() for k, v in pred.items()}, targets).double().cpu()
        total = ctx.all_reduce(total)
        for idx in batches:
            batch, targets = make_batch(model, data, idx, device, dtype)
            surrogate(error_sums(net(batch, forces=True, virial=virial, create_graph=True), targets),
                      total, config, ctx.world).backward()
        reg = regularization(model, config)
        if reg is not None:
            reg.backward()
        state["total"] = total
        return torch.tensor(weighted_loss(rmse_from_sums(total), config) + (float(reg) if reg is not None else 0.0))

    run.optimizer.step(closure)
    return state["total"]


#: GPUMD's initial search width σ₀ of every parameter (SNES).
SNES_SIGMA0 = 0.1


def snes_utilities(population: int) -> torch.Tensor:
    """Rank-based fitness-shaping weights of SNES (Schaul et al. 2011; Wierstra et al. 2014).

    ``u_k = max(0, ln(P/2 + 1) − ln k) / Σ_j max(0, ln(P/2 + 1) − ln j) − 1/P`` for the candidate of
    rank k = 1 … P (1 = lowest loss): the better half gets log-decreasing positive weights, every
    candidate pays 1/P, so the weights sum to zero and depend only on the order of the losses.

    Parameters
    ----------
    population : int
        P ≥ 2.

    Returns
    -------
    torch.Tensor
        (P,) float64, best rank first.
    """
    rank = torch.arange(1, population + 1, dtype=torch.float64)
    raw = torch.clamp(math.log(population / 2 + 1) - torch.log(rank), min=0.0)
    return raw / raw.sum() - 1.0 / population


def snes_update(mu: torch.Tensor, sigma: torch.Tensor, z: torch.Tensor, losses: torch.Tensor,
                eta_mu: float = 1.0, eta_sigma: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One separable-NES update of the search distribution N(μ, diag σ²) from ranked samples.

    GPUMD trains NEP with this strategy (Fan et al., Phys. Rev. B 104, 104309 (2021)); SNES itself
    is Schaul, Glasmachers & Schmidhuber, GECCO 2011, 845–852. With candidates
    θ_k = μ + σ ⊙ z_k, z_k ~ N(0, I), and the utilities u of :func:`snes_utilities` assigned by the
    rank of each candidate's loss::

        μ ← μ + η_μ σ ⊙ Σ_k u_k z_k
        σ ← σ ⊙ exp(η_σ/2 · Σ_k u_k (z_k ⊙ z_k − 1))

    with η_μ = 1 and η_σ = (3 + ln n) / (5 √n) for n parameters. Written from these equations.

    Parameters
    ----------
    mu, sigma : torch.Tensor
        (n,) mean and per-parameter standard deviation of the search distribution.
    z : torch.Tensor
        (P, n) standard-normal samples that made the candidates.
    losses : torch.Tensor
        (P,) loss of each candidate (lower is better; non-finite counts as worst; ties keep sample order).
    eta_mu, eta_sigma : float, optional
        Learning rates of μ and σ (default 1 and (3 + ln n) / (5 √n)).

    Returns
    -------
    (mu, sigma) : tuple of torch.Tensor
        The updated (n,) mean and standard deviation (new tensors, in the dtype of *z*).
    """
    population, n = z.shape
    if eta_sigma is None:
        eta_sigma = (3.0 + math.log(n)) / (5.0 * math.sqrt(n))
    losses = torch.where(torch.isfinite(losses), losses, torch.full_like(losses, float("inf")))
    weights = torch.empty(population, dtype=z.dtype)
    weights[torch.argsort(losses.cpu(), stable=True)] = snes_utilities(population).to(z.dtype)
    weights = weights.to(z.device)
    grad_mu = weights @ z
    grad_sigma = weights @ (z * z - 1.0)
    return mu + eta_mu * sigma * grad_mu, sigma * torch.exp(0.5 * eta_sigma * grad_sigma)


def _trainable(model) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


@torch.no_grad()
def _set_parameters(params: list[torch.nn.Parameter], vector: torch.Tensor) -> None:
    """Copy the flat *vector* (n,) into *params* (in their dtype and device). Unlike
    ``torch.nn.utils.vector_to_parameters`` this keeps every parameter's own storage (no views of
    *vector*, which safetensors would refuse as shared memory)."""
    offset = 0
    for p in params:
        p.copy_(vector[offset : offset + p.numel()].view_as(p))
        offset += p.numel()


@contextlib.contextmanager
def _frozen(params: list[torch.nn.Parameter]):
    """No parameter graph while candidates are evaluated (forces still come from autograd)."""
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


class _SNES:
    """SNES search distribution over the flat trainable-parameter vector (float64 on the CPU):
    μ starts at the model's weights, σ at :data:`SNES_SIGMA0`."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.mu = torch.nn.utils.parameters_to_vector(_trainable(model)).detach().to("cpu", torch.float64).clone()
        self.sigma = torch.full_like(self.mu, SNES_SIGMA0)

    def state_dict(self) -> dict:
        return {"mu": self.mu.clone(), "sigma": self.sigma.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.mu = state["mu"].to("cpu", torch.float64).clone()
        self.sigma = state["sigma"].to("cpu", torch.float64).clone()


def _candidate_loss(sums: torch.Tensor, config: PotentialTrainConfig) -> float:
    """λ_e RMSE_E + λ_f RMSE_F + λ_v RMSE_V of one candidate's error sums (inf if any is not finite)."""
    if not all(math.isfinite(float(sums[k])) for k in (0, 2, 4)):
        return float("inf")
    return weighted_loss(rmse_from_sums(sums), config)


def _snes_generation(model, data: FrameSet, frames: list[int], snes: _SNES, config, ctx, env,
                     generator: torch.Generator) -> torch.Tensor:
    """One SNES generation on the batch *frames*: sample P candidates, score them, update μ and σ.

    Every rank draws the same samples and scores every candidate on its share of the batch; the
    error sums are all-reduced, so all ranks rank the candidates alike. Each candidate's loss is
    GPUMD's: the weighted RMSEs on the batch plus λ_1 mean|θ| + λ_2 √(mean θ²) of its own θ.
    Returns the global error sums (7,) of μ before the update (the epoch's training error).
    """
    device, dtype, virial = env
    params = _trainable(model)
    z = torch.randn(config.population, snes.mu.numel(), generator=generator, dtype=torch.float64)
    thetas = snes.mu + snes.sigma * z  # (P, n)
    batch, targets = make_batch(model, data, ctx.share(frames), device, dtype)
    sums = torch.zeros(config.population + 1, _SUMS, dtype=torch.float64)
    with _frozen(params):
        for k, theta in enumerate([*thetas, snes.mu]):
            _set_parameters(params, theta)
            pred = model(batch, forces=True, virial=virial)
            sums[k] = error_sums({key: v.detach() for key, v in pred.items()}, targets).double().cpu()
    sums = ctx.all_reduce(sums)
    losses = torch.tensor([_candidate_loss(row, config) for row in sums[:-1]], dtype=torch.float64)
    if config.lambda_1 > 0 or config.lambda_2 > 0:
        losses = losses + _penalty(thetas, config)
    snes.mu, snes.sigma = snes_update(snes.mu, snes.sigma, z, losses)
    return sums[-1]


def _epoch_snes(model, data: FrameSet, run: _Run, config, ctx, env, generator, deadline) -> torch.Tensor:
    """One SNES epoch: a generation per mini-batch (shuffled as for Adam), then the model holds μ.

    A model with ``bias_by_shift`` then gets its energy bias solved in closed form, as after an Adam
    epoch, and the shift is kept in μ. Returns the summed error sums (7,) of μ over the batches.
    """
    device, dtype, _ = env
    total = torch.zeros(_SUMS, dtype=torch.float64)
    for frames in _minibatches(len(data), config.batch_size, ctx, generator, deadline):
        total += _snes_generation(model, data, frames, run.snes, config, ctx, env, generator)
    params = _trainable(model)
    _set_parameters(params, run.snes.mu)
    if getattr(model, "bias_by_shift", False):
        before = torch.nn.utils.parameters_to_vector(params).detach()
        _solve_energy_shift(model, data, config.batch_size, device, dtype)
        moved = torch.nn.utils.parameters_to_vector(params).detach() - before  # only the bias entries
        run.snes.mu = run.snes.mu + moved.to("cpu", torch.float64)
    return total


def _signature(model, train: FrameSet, config: PotentialTrainConfig) -> str:
    spec = getattr(model, "spec", None)
    fields = (model.kind, spec.to_json() if spec is not None else "", len(train), float(train.energy.sum()),
              config.batch_size, config.optimizer, config.dtype, config.seed, config.lambda_e, config.lambda_f,
              config.lambda_v, config.lambda_1, config.lambda_2, config.learning_rate, config.schedule)
    if config.optimizer == "snes":  # (adam and lbfgs signatures unchanged: their checkpoints still resume)
        fields += (config.population,)
    return repr(fields)


def train_potential(model, train: FrameSet, valid: FrameSet | None, config: PotentialTrainConfig,
                    progress: ProgressFn | None = None) -> TrainResult:
    """Fit *model* (already initialized) to *train*; keep the weights best on *valid* (or on *train*).

    Parameters
    ----------
    model : potential model (see :mod:`~nnsurrogate.atomistic.models`)
    train, valid : FrameSet
        From :func:`prepare_frames`; *valid* may be ``None``.
    config : PotentialTrainConfig
    progress : callable, optional
        Called after every epoch as ``progress(epoch, max_epochs, info)``; *info* has ``train`` and
        ``valid`` (E, F, V RMSE in eV/atom, eV/Å, eV/atom), ``elapsed_s`` and ``lr`` (for SNES
        the mean search width σ).

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
    generator = torch.Generator().manual_seed(config.seed)
    run, signature = _Run(model, config), _signature(model, train, config)
    checkpoint = Path(config.checkpoint) if config.checkpoint else None
    if checkpoint is not None and config.resume and checkpoint.is_file():
        run.load(checkpoint, model, generator, signature)
    net = distributed.wrap(model, ctx, device)
    run.elapsed += time.perf_counter() - setup_started  # optimizer set-up counts against the time limit
    virial = config.lambda_v > 0 and bool(train.has_virial.any())
    env = (device, dtype, virial)
    while run.epoch < config.epochs and not run.out_of_time(config):
        started = time.perf_counter()
        deadline = None if config.time_limit is None else started + config.time_limit - run.elapsed
        if config.optimizer == "lbfgs":
            sums = _epoch_lbfgs(net, model, train, run, config, ctx, env)
        elif config.optimizer == "snes":
            sums = _epoch_snes(model, train, run, config, ctx, env, generator, deadline)
        else:
            sums = _epoch_adam(net, model, train, run, config, ctx, env, generator, deadline)
            if getattr(model, "bias_by_shift", False):  # exact bias for this epoch's weights
                _solve_energy_shift(model, train, config.batch_size, device, dtype)
        train_rmse = rmse_from_sums(sums)
        valid_rmse = (rmse_from_sums(evaluate_sums(model, valid, 4 * config.batch_size, device, dtype, virial))
                      if valid is not None and len(valid) else train_rmse)
        run.elapsed += time.perf_counter() - started
        loss = run.record(model, train_rmse, valid_rmse, config)
        if checkpoint is not None and ctx.is_main:
            run.save(checkpoint, model, generator, signature)
        if progress is not None and ctx.is_main:
            progress(run.epoch, config.epochs, {"train": train_rmse, "valid": valid_rmse, "elapsed_s": run.elapsed,
                                                "lr": run.history[-1][2], "loss": loss})
        if not math.isfinite(loss):
            break
    model.load_state_dict(run.best_state)
    if hasattr(model, "shift_energy") and config.lambda_e > 0:
        _solve_energy_shift(model, train, config.batch_size, device, dtype)
    return TrainResult(run.epoch, run.best_epoch, run.best_loss, run.elapsed, run.history)


@torch.no_grad()
def _solve_energy_shift(model, data: FrameSet, batch_size: int, device, dtype) -> None:
    """Remove the mean per-atom energy error on the training frames (exact least squares for a
    constant added to every site energy)."""
    residual = 0.0
    for start in range(0, len(data), 4 * batch_size):
        idx = list(range(start, min(start + 4 * batch_size, len(data))))
        batch, targets = make_batch(model, data, idx, device, dtype)
        pred = model(batch, forces=False)
        residual += float(((pred["energy"] - targets["energy"]) / targets["n_atoms"]).double().sum())
    model.shift_energy(-residual / len(data))
