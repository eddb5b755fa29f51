"""Building blocks shared by the graph networks: distance basis, sums, means and softmax over segments."""

from __future__ import annotations

import torch
from torch import nn


class GaussianBasis(nn.Module):
    """Gaussian expansion of distances, u_k(d) = exp(−(d − μ_k)² / σ²) (Xie & Grossman 2018, eq. 2 context).

    Parameters
    ----------
    cutoff : float
        Last centre μ_K, Å (the first is 0).
    n_centers : int
        Number of centres K, evenly spaced; the width σ is their spacing.

    Shapes: distances (E,) → (E, K).
    """

    def __init__(self, cutoff: float, n_centers: int) -> None:
        super().__init__()
        if n_centers < 2:
            raise ValueError(f"need at least 2 Gaussian centres, got {n_centers}")
        self.register_buffer("centers", torch.linspace(0.0, float(cutoff), int(n_centers)), persistent=False)
        self.width = float(cutoff) / (int(n_centers) - 1)

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        # clamp the exponent: exp(−80) ≈ 2e−35 is still a normal float32, and denormals are ~50× slower on CPUs
        return torch.exp(-(((distance.unsqueeze(-1) - self.centers) / self.width) ** 2).clamp(max=80.0))


def segment_sum(values: torch.Tensor, index: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Σ of the rows of *values* (E, ...) that share an *index* (E,), shape (n_segments, ...)."""
    out = values.new_zeros((n_segments, *values.shape[1:]))
    return out.index_add(0, index, values)


def segment_mean(values: torch.Tensor, index: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Mean of the rows of *values* that share an *index*, shape (n_segments, ...); empty segments give 0."""
    total = segment_sum(values, index, n_segments)
    count = torch.bincount(index, minlength=n_segments).clamp_min(1).to(values.dtype)
    return total / count.view(-1, *([1] * (values.dim() - 1)))


def segment_softmax(scores: torch.Tensor, index: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Softmax of *scores* (E, H) within each segment of *index* (E,): Σ over a segment is 1 per column."""
    shape = (n_segments, *scores.shape[1:])
    expanded = index.view(-1, *([1] * (scores.dim() - 1))).expand_as(scores)
    peak = scores.new_full(shape, float("-inf")).scatter_reduce(0, expanded, scores.detach(), "amax")
    weights = torch.exp(scores - peak[index])
    return weights / (segment_sum(weights, index, n_segments)[index] + 1e-16)
