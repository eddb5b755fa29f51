"""The potential trainer's errors and losses (NEP's fitness, Fan et al. 2021, Eq. 9)::

    L = λ_e RMSE(E/N) + λ_f RMSE(F) + λ_v RMSE(W/N) + λ_1 mean|z| + λ_2 √(mean z²)

Errors are accumulated as sums (:class:`ErrorSums`) so that batches and ranks add up exactly;
the root-mean-square errors follow at the end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import torch

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.frames import FrameSet, RunEnv, make_batch

if TYPE_CHECKING:
    from nnsurrogate.atomistic.training import PotentialTrainConfig

__all__ = ["ErrorSums", "candidate_loss", "error_sums", "evaluate_sums", "penalty", "regularization",
           "rmse_from_sums", "solve_energy_shift", "sums_over", "surrogate", "weighted_loss"]

_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


@dataclass(frozen=True)
class ErrorSums:
    """Squared-error sums and their counts over some frames; every field a 0-d tensor.

    Attributes
    ----------
    energy_sq, n_energy : torch.Tensor
        Σ (ΔE/N)² over frames (eV²/atom²) and the number of frames.
    force_sq, n_force : torch.Tensor
        Σ ΔF² over all force components (eV²/Å²) and their number (3 × atoms).
    virial_sq, n_virial : torch.Tensor
        Σ (ΔW/N)² over the six independent components of frames with a virial (eV²/atom²), and 6 × those frames.
    energy_signed : torch.Tensor
        Σ ΔE/N over frames (eV/atom): the mean energy error's numerator.
    """

    energy_sq: torch.Tensor
    n_energy: torch.Tensor
    force_sq: torch.Tensor
    n_force: torch.Tensor
    virial_sq: torch.Tensor
    n_virial: torch.Tensor
    energy_signed: torch.Tensor

    @classmethod
    def zeros(cls) -> "ErrorSums":
        """All sums zero (float64, CPU)."""
        return cls.from_tensor(torch.zeros(len(fields(cls)), dtype=torch.float64))

    @classmethod
    def from_tensor(cls, values: torch.Tensor) -> "ErrorSums":
        """From the (7,) vector of :meth:`as_tensor`."""
        return cls(*values.unbind())

    def values(self) -> tuple[torch.Tensor, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def as_tensor(self) -> torch.Tensor:
        """The fields stacked in their order (7,) (for collective operations)."""
        return torch.stack(self.values())

    def __add__(self, other: "ErrorSums") -> "ErrorSums":
        return ErrorSums(*(a + b for a, b in zip(self.values(), other.values())))

    def detach(self) -> "ErrorSums":
        return ErrorSums(*(v.detach() for v in self.values()))

    def to_float64(self) -> "ErrorSums":
        """Float64 copies on the CPU."""
        return ErrorSums(*(v.double().cpu() for v in self.values()))

    def all_reduce(self, ctx) -> "ErrorSums":
        """Summed over the ranks of *ctx* (a :class:`~nnsurrogate.atomistic.distributed.DistContext`)."""
        return ErrorSums.from_tensor(ctx.all_reduce(self.as_tensor()))

    def rmse(self) -> tuple[float, float, float]:
        """Energy (eV/atom), force (eV/Å) and virial (eV/atom) RMSE; NaN where a count is zero."""
        s = self.as_tensor().detach().double().cpu().tolist()
        return tuple(math.sqrt(s[k] / s[k + 1]) if s[k + 1] > 0 else float("nan") for k in (0, 2, 4))

    def finite(self) -> bool:
        """Whether the three squared-error sums are finite."""
        return all(math.isfinite(float(v)) for v in (self.energy_sq, self.force_sq, self.virial_sq))


def error_sums(pred: dict, targets: dict) -> ErrorSums:
    """Error sums of predictions *pred* against *targets* (of :func:`~nnsurrogate.atomistic.frames.make_batch`),
    in the predictions' dtype (differentiable).

    With frame weights w (``targets["weight"]``, GPUMD's ``Weight``) every squared error and every
    count of a frame is multiplied by its w, so the RMSEs become √(Σ w e² / Σ w n); without them
    every w is 1 (and nothing is multiplied).
    """
    n = targets[keys.N_ATOMS].to(pred[keys.ENERGY].dtype)
    w = targets.get(keys.WEIGHT)
    w = None if w is None else w.to(n.dtype)
    w_atom = None if w is None else torch.repeat_interleave(w, targets[keys.N_ATOMS]).unsqueeze(1)
    de = (pred[keys.ENERGY] - targets[keys.ENERGY]) / n
    df = pred[keys.FORCES] - targets[keys.FORCES]
    mask = targets[keys.HAS_VIRIAL]
    if keys.VIRIAL in pred and bool(mask.any()):
        dw = (pred[keys.VIRIAL] - targets[keys.VIRIAL])[mask] / n[mask, None, None]
        comps = torch.stack([dw[:, a, b] for a, b in _VOIGT], dim=1)
        w_virial = None if w is None else w[mask, None]
        virial_sq, n_virial = _weighted(comps * comps, w_virial).sum(), _count(comps, w_virial)
    else:
        virial_sq, n_virial = de.new_zeros(()), de.new_zeros(())
    return ErrorSums(_weighted(de * de, w).sum(), _count(de, w), _weighted(df * df, w_atom).sum(), _count(df, w_atom),
                     virial_sq, n_virial, _weighted(de, w).sum())


def _weighted(values: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    return values if w is None else w * values


def _count(values: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """How many entries *values* has, each counted with its weight (broadcast over the row)."""
    if w is None:
        return values.new_tensor(float(values.numel()))
    return (w * values.new_ones(values.shape)).sum()


def rmse_from_sums(sums: ErrorSums) -> tuple[float, float, float]:
    """Energy (eV/atom), force (eV/Å) and virial (eV/atom) RMSE; NaN where a count is zero."""
    return sums.rmse()


def _lambdas(config: PotentialTrainConfig) -> tuple[float, float, float]:
    return config.lambda_e, config.lambda_f, config.lambda_v


def weighted_loss(rmses: Sequence[float], config: PotentialTrainConfig) -> float:
    """λ_e RMSE_E + λ_f RMSE_F + λ_v RMSE_V (terms with no data count as 0)."""
    return float(sum(lam * r for lam, r in zip(_lambdas(config), rmses) if lam > 0 and math.isfinite(r)))


def candidate_loss(sums: ErrorSums, config: PotentialTrainConfig) -> float:
    """:func:`weighted_loss` of *sums* (inf if any squared-error sum is not finite)."""
    return weighted_loss(sums.rmse(), config) if sums.finite() else float("inf")


def surrogate(local: ErrorSums, total: ErrorSums, config: PotentialTrainConfig, world: int) -> torch.Tensor:
    """A loss whose gradient, summed over ranks, is the gradient of Σ λ √(S/N) for the whole batch.

    d√(S/N) = dS / (2√(S·N)); each rank weights its local sums S_r by the global 1/(2√(S·N)).
    """
    out = local.energy_sq.new_zeros(())
    terms = ((local.energy_sq, total.energy_sq, total.n_energy), (local.force_sq, total.force_sq, total.n_force),
             (local.virial_sq, total.virial_sq, total.n_virial))
    for (mine, s, n), lam in zip(terms, _lambdas(config)):
        s, n = float(s), float(n)
        if lam > 0 and n > 0:
            out = out + lam * mine / (2.0 * math.sqrt(max(s, 1e-30) * n))
    return out * world


def regularization(model: torch.nn.Module, config: PotentialTrainConfig) -> torch.Tensor | None:
    """λ_1 mean|z| + λ_2 √(mean z²) over all trainable parameters z (None when both are 0)."""
    if config.lambda_1 == 0 and config.lambda_2 == 0:
        return None
    return penalty(torch.cat([p.reshape(-1) for p in model.parameters() if p.requires_grad]), config)


def penalty(z: torch.Tensor, config: PotentialTrainConfig) -> torch.Tensor:
    """λ_1 mean|z| + λ_2 √(mean z²) of a parameter vector *z* (n,), or of each row of *z* (P, n)."""
    return config.lambda_1 * z.abs().mean(-1) + config.lambda_2 * torch.sqrt((z * z).mean(-1) + 1e-30)


def sums_over(model, data: FrameSet, batches: Iterable[Sequence[int]], env: RunEnv) -> ErrorSums:
    """Error sums (float64, CPU) of *model* over the frame index lists *batches* (no graph kept)."""
    total = ErrorSums.zeros()
    for idx in batches:
        batch, targets = make_batch(model, data, idx, env.device, env.dtype)
        pred = model(batch, forces=True, virial=env.virial)
        total = total + error_sums({k: v.detach() for k, v in pred.items()}, targets).to_float64()
    return total


def evaluate_sums(model, data: FrameSet, batch_size: int, device, dtype, virial: bool) -> ErrorSums:
    """Error sums of *model* over all frames of *data*, *batch_size* frames at a time (no graph kept)."""
    batches = [list(range(start, min(start + batch_size, len(data)))) for start in range(0, len(data), batch_size)]
    return sums_over(model, data, batches, RunEnv(device, dtype, virial))


@torch.no_grad()
def solve_energy_shift(model, data: FrameSet, batch_size: int, env: RunEnv) -> None:
    """Remove the mean per-atom energy error on *data* through ``model.shift_energy`` (exact least
    squares for a constant added to every site energy, weighted by the frame weights when there are
    any); batches of 4 × *batch_size* frames."""
    residual, total = 0.0, float(len(data)) if data.weight is None else float(data.weight.sum())
    for start in range(0, len(data), 4 * batch_size):
        idx = list(range(start, min(start + 4 * batch_size, len(data))))
        batch, targets = make_batch(model, data, idx, env.device, env.dtype)
        pred = model(batch, forces=False)
        error = ((pred[keys.ENERGY] - targets[keys.ENERGY]) / targets[keys.N_ATOMS]).double()
        if keys.WEIGHT in targets:  # the weighted least-squares constant
            error = error * targets[keys.WEIGHT].double()
        residual += float(error.sum())
    if total > 0:
        model.shift_energy(-residual / total)
