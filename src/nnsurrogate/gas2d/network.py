"""LeNet for count images (LeCun et al. 1998), as in Zharikov, Zavyalov & Sivashova (2022, fig. 2).

Trunk: conv 20@5×5 → ReLU → max-pool 2 → conv 50@5×5 → ReLU → max-pool 2 → flatten → dense 500 →
ReLU; for a 28 × 28 image the flattened size is 50·4·4 = 800. Heads on the 500 features:

* ``classify`` — K² logits, one per (x class, y class) pair, so the soft-max is over what the
  both-components accuracy scores (the paper trains one K-class network per component);
* ``regress`` — the two force components (scaled).
"""

from __future__ import annotations

import torch
from torch import nn

from nnsurrogate.core.errors import UserInputError

__all__ = ["LeNet", "lenet_feature_size"]

#: The paper's layer sizes: channels of the two convolutions, kernel, dense width.
CONV_CHANNELS, KERNEL, DENSE = (20, 50), 5, 500


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
    """

    def __init__(self, grid: int = 28, n_outputs: int = 100, input_scale: float = 1.0) -> None:
        super().__init__()
        c1, c2 = CONV_CHANNELS
        self.grid = int(grid)
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.trunk = nn.Sequential(
            nn.Conv2d(1, c1, KERNEL), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, KERNEL), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(lenet_feature_size(grid), DENSE), nn.ReLU(),
        )
        self.head = nn.Linear(DENSE, n_outputs)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Outputs (B, n_outputs) from count images (B, n, n) or (B, 1, n, n)."""
        x = images.reshape(images.shape[0], 1, self.grid, self.grid) * self.input_scale
        return self.head(self.trunk(x))
