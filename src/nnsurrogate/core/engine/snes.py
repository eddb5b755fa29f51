"""GPUMD's gradient-free optimizer: the separable natural evolution strategy (SNES).

GPUMD trains NEP with this strategy (Fan et al., Phys. Rev. B 104, 104309 (2021)); SNES itself is
Schaul, Glasmachers & Schmidhuber, GECCO 2011, 845–852. The search distribution N(μ, diag σ²) lives
over a flat parameter vector; a trainer asks for candidates (:meth:`SNES.sample`), scores them with
its own loss, and tells the strategy the losses (:meth:`SNES.update`). Written from the equations.
"""

from __future__ import annotations

import math

import torch

__all__ = ["SNES", "SNES_SIGMA0", "snes_update", "snes_utilities"]

#: GPUMD's initial search width σ₀ of every parameter.
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

    With candidates θ_k = μ + σ ⊙ z_k, z_k ~ N(0, I), and the utilities u of :func:`snes_utilities`
    assigned by the rank of each candidate's loss::

        μ ← μ + η_μ σ ⊙ Σ_k u_k z_k
        σ ← σ ⊙ exp(η_σ/2 · Σ_k u_k (z_k ⊙ z_k − 1))

    with η_μ = 1 and η_σ = (3 + ln n) / (5 √n) for n parameters.

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


class SNES:
    """The SNES search distribution over a flat parameter vector (float64 on the CPU).

    Parameters
    ----------
    start : torch.Tensor
        (n,) starting mean μ (e.g. the model's current weights).
    population : int
        Candidates per generation P (GPUMD's ``population``, ≥ 2).
    sigma0 : float
        Initial width of every parameter (GPUMD: :data:`SNES_SIGMA0`).
    """

    def __init__(self, start: torch.Tensor, population: int = 50, sigma0: float = SNES_SIGMA0) -> None:
        self.mu = start.detach().to("cpu", torch.float64).clone()
        self.sigma = torch.full_like(self.mu, sigma0)
        self.population = int(population)

    def sample(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, θ): (P, n) standard-normal draws and the candidates θ = μ + σ ⊙ z."""
        z = torch.randn(self.population, self.mu.numel(), generator=generator, dtype=torch.float64)
        return z, self.mu + self.sigma * z

    def update(self, z: torch.Tensor, losses: torch.Tensor) -> None:
        """Move μ and σ by :func:`snes_update` from the candidates' *losses* (P,)."""
        self.mu, self.sigma = snes_update(self.mu, self.sigma, z, losses)

    @property
    def learning_rate(self) -> float:
        """Mean search width mean(σ) (what the history reports in the learning-rate column)."""
        return float(self.sigma.mean())

    def state_dict(self) -> dict:
        return {"mu": self.mu.clone(), "sigma": self.sigma.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.mu = state["mu"].to("cpu", torch.float64).clone()
        self.sigma = state["sigma"].to("cpu", torch.float64).clone()
