"""LeNet for count images (LeCun et al. 1998), as in Zharikov, Zavyalov & Sivashova (2022, fig. 2).

Trunk: conv 20@5×5 → ReLU → max-pool 2 → conv 50@5×5 → ReLU → max-pool 2 → flatten → dense 500 →
ReLU; for a 28 × 28 image the flattened size is 50·4·4 = 800. Heads on the 500 features:

* ``classify`` — K² logits, one per (x class, y class) pair, so the soft-max is over what the
  both-components accuracy scores (the paper trains one K-class network per component);
* ``regress`` — the two force components (scaled).

:class:`PairSumNet` reads the sub-cell descriptor instead: every occupied cell's neighbour position
(its cell centre plus the mean offset within the cell) goes through one learned radial function
φ(r), and the force is −Σ_cells n_c φ(r_c) r̂_c. It is a pair potential learned from forces alone —
the paper's aim of recovering the interaction — and is equivariant under every rotation and
reflection by construction, so it needs neither augmentation nor symmetrised prediction.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nnsurrogate.core.errors import UserInputError

__all__ = ["LeNet", "NETWORKS", "PairSumNet", "lenet_feature_size"]

#: The paper's layer sizes: channels of the two convolutions, kernel, dense width.
CONV_CHANNELS, KERNEL, DENSE = (20, 50), 5, 500
#: Network kinds: the paper's LeNet (any descriptor) and the radial pair sum (sub-cell descriptor).
NETWORKS = ("lenet", "pairsum")
#: Hidden layers of the radial function φ of :class:`PairSumNet`.
PAIR_HIDDEN = (64, 64, 64)


def lenet_feature_size(grid: int) -> int:
    """Length of the flattened trunk output for a *grid* × *grid* image (800 for 28)."""
    side = grid
    for _ in CONV_CHANNELS:
        side = (side - KERNEL + 1) // 2
    if side < 1:
        raise UserInputError(f"grid {grid} is too small for LeNet's two 5×5 convolutions and pools (need ≥ 16)",
                             "grid")
    return CONV_CHANNELS[-1] * side * side


class LeNet(nn.Module):
    """LeNet trunk with a classification or regression head.

    Parameters
    ----------
    grid : int
        Image side n (cells); input shape (B, n, n) or (B, 1, n, n).
    n_outputs : int
        K² for classification, 2 for regression.
    input_scale : float
        Counts are multiplied by this before the first layer (normalisation).
    in_channels : int
        1 for count images, 3 for sub-cell descriptors (B, 3, n, n).
    """

    def __init__(self, grid: int = 28, n_outputs: int = 100, input_scale: float = 1.0, in_channels: int = 1) -> None:
        super().__init__()
        c1, c2 = CONV_CHANNELS
        self.grid, self.in_channels = int(grid), int(in_channels)
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.trunk = nn.Sequential(
            nn.Conv2d(self.in_channels, c1, KERNEL), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, KERNEL), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(lenet_feature_size(grid), DENSE), nn.ReLU(),
        )
        self.head = nn.Linear(DENSE, n_outputs)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Outputs (B, n_outputs) from descriptors (B, n, n) or (B, C, n, n)."""
        x = images.reshape(images.shape[0], self.in_channels, self.grid, self.grid) * self.input_scale
        return self.head(self.trunk(x))


class PairSumNet(nn.Module):
    """Force −Σ_c n_c φ(r_c) r̂_c from sub-cell descriptors, φ a learned radial function.

    Parameters
    ----------
    grid : int
        Cells per side n; input shape (B, 3, n, n) (:func:`~nnsurrogate.gas2d.descriptor.subcell_images`).

    Notes
    -----
    Positions are in cell units (r_c = |cell centre + mean offset| / h), so one network serves any
    window; φ takes log r_c centred on log(n/4) and returns the radial force in the units of the
    training targets (scaled forces). A cell holding several neighbours puts them all at their centroid.
    """

    def __init__(self, grid: int = 28) -> None:
        super().__init__()
        self.grid = int(grid)
        c = torch.arange(self.grid, dtype=torch.float32) + 0.5 - 0.5 * self.grid
        self.register_buffer("centres", torch.stack(torch.meshgrid(c, c, indexing="xy"), dim=-1))  # (n, n, 2) x, y
        self.register_buffer("log_shift", torch.tensor(math.log(max(self.grid / 4.0, 1.0))))
        layers, width = [], 1
        for hidden in PAIR_HIDDEN:
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        self.phi = nn.Sequential(*layers, nn.Linear(width, 1))

    def radial(self, r: torch.Tensor) -> torch.Tensor:
        """φ(r) for distances *r* in cell units (any shape)."""
        return self.phi((torch.log(r) - self.log_shift).reshape(-1, 1)).reshape(r.shape)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Scaled forces (B, 2) from sub-cell descriptors (B, 3, n, n)."""
        counts = images[:, 0]
        b, i, j = torch.nonzero(counts > 0, as_tuple=True)
        n = counts[b, i, j]
        pos = self.centres[i, j] + images[b, 1:3, i, j] / n[:, None]  # centroid of the cell's neighbours
        r = torch.linalg.vector_norm(pos, dim=1).clamp_min(1e-6)
        per_cell = -(n * self.radial(r) / r)[:, None] * pos
        return torch.zeros(images.shape[0], 2, dtype=images.dtype, device=images.device).index_add_(0, b, per_cell)
