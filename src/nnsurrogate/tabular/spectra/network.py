"""An ensemble of 1D convolutional networks evaluated together (grouped convolutions).

Member m: augmentation → [Conv1d(k) → activation → MaxPool(2)] × len(channels) → average over
``positions`` stretches of the grid (so the head knows where a feature sits) → MLP head (``hidden``)
→ 1 output. The M members' convolutions run as one grouped
convolution (``groups=M``) and their heads as :class:`~nnsurrogate.core.nn.EnsembleLinear`, so the
ensemble trains in one pass like :class:`~nnsurrogate.core.nn.EnsembleMLP` (input (M, B, L) or
(B, L), output (M, B, 1)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from nnsurrogate.core.nn import ACTIVATIONS, EnsembleLinear, check_activation
from nnsurrogate.tabular.spectra.augment import SpectrumAugment


class EnsembleConv1d(nn.Module):
    """*M* independent 1D convolutions as one grouped convolution; weights (M, out, in, k), biases (M, out).

    Keeping the members on the leading axis lets the trainer keep each member's best weights.
    Shapes: input (B, M·in, L) → output (B, M·out, L) ("same" padding).
    """

    def __init__(self, n_members: int, n_in: int, n_out: int, kernel: int,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_members, n_out, n_in, kernel))
        self.bias = nn.Parameter(torch.zeros(n_members, n_out))
        with torch.no_grad():
            self.weight.normal_(0.0, math.sqrt(2.0 / (n_in * kernel)), generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, o, i, k = self.weight.shape
        return nn.functional.conv1d(x, self.weight.reshape(m * o, i, k), self.bias.reshape(-1), padding=k // 2,
                                    groups=m)


class EnsembleCNN(nn.Module):
    """*M* independent 1D CNNs on spectra of *n_in* grid points.

    Parameters
    ----------
    n_members, n_in : int
    channels : sequence of int
        Filters of each convolution block, e.g. ``(16, 32, 64)``.
    kernel : int
        Convolution width, grid points (odd).
    hidden : sequence of int
        Widths of the head's hidden layers.
    activation : str
    augment : SpectrumAugment or None
        Applied to the input in training mode.
    generator : torch.Generator, optional
        Source of the initial weights.
    positions : int
        Stretches of the grid the last feature maps are averaged over before the head (peak
        positions matter: a lattice constant is where the peaks are, not only what they look like).
    """

    def __init__(self, n_members: int, n_in: int, channels: Sequence[int] = (16, 32, 64), kernel: int = 9,
                 hidden: Sequence[int] = (64,), activation: str = "silu", augment: SpectrumAugment | None = None,
                 generator: torch.Generator | None = None, positions: int = 32) -> None:
        super().__init__()
        check_activation(activation)
        self.m = int(n_members)
        self.augment = augment or SpectrumAugment()
        widths = [1, *[int(c) for c in channels]]
        self.convs = nn.ModuleList(EnsembleConv1d(self.m, a, b, int(kernel), generator)
                                   for a, b in zip(widths[:-1], widths[1:]))
        self.act = ACTIVATIONS[activation]()
        self.positions = int(positions)
        head = [widths[-1] * self.positions, *[int(h) for h in hidden], 1]
        self.head = nn.ModuleList(EnsembleLinear(self.m, a, b) for a, b in zip(head[:-1], head[1:]))
        for layer in self.head:
            layer.reset_parameters(1.0, generator)

    @property
    def n_members(self) -> int:
        return self.m

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled convolution features (M, B, channels[-1]·positions) of spectra x, (B, L) or (M, B, L)."""
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.m, -1, -1)
        x = self.augment(x)
        h = x.permute(1, 0, 2)  # (B, M, L): one input channel per member
        for conv in self.convs:
            h = nn.functional.max_pool1d(self.act(conv(h)), 2, ceil_mode=True)
        h = nn.functional.adaptive_avg_pool1d(h, self.positions)  # keeps where along x a feature is
        B = h.shape[0]
        return h.reshape(B, self.m, -1).permute(1, 0, 2)  # (M, B, C·positions)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden layer of every member's head, shape (M, B, hidden[-1]) (or the pooled features)."""
        h = self.features(x)
        for layer in self.head[:-1]:
            h = self.act(layer(h))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head[-1](self.hidden(x))
