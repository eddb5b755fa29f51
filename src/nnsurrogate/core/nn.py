"""Networks shared by the pillars.

:class:`EnsembleMLP` holds the weights of *M* independent multilayer perceptrons in stacked tensors,
so a deep ensemble (Lakshminarayanan, Pritzel & Blundell, NeurIPS 2017) trains and predicts with one
batched matrix product per layer instead of *M* separate networks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}

_GAIN = {"tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "gelu": math.sqrt(2.0), "silu": math.sqrt(2.0)}


def check_activation(name: str) -> str:
    """Return *name* if it is a known activation, else raise ``ValueError`` listing the choices."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{name}'; choose one of {', '.join(ACTIVATIONS)}")
    return name


class EnsembleLinear(nn.Module):
    """*M* independent affine maps y_m = x_m W_m + b_m.

    Parameters
    ----------
    n_members, n_in, n_out : int
        Ensemble size and layer widths.

    Shapes: input (M, B, n_in) → output (M, B, n_out).
    """

    def __init__(self, n_members: int, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_members, n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_members, 1, n_out))

    def reset_parameters(self, gain: float, generator: torch.Generator | None = None) -> None:
        """Draw weights from N(0, gain²/n_in) (He/LeCun scaling); zero the biases."""
        std = gain / math.sqrt(self.weight.shape[1])
        with torch.no_grad():
            self.weight.normal_(0.0, std, generator=generator)
            self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleMLP(nn.Module):
    """*M* multilayer perceptrons with identical architecture and independent weights.

    Parameters
    ----------
    n_members : int
        Number of ensemble members *M*.
    n_in, n_out : int
        Input and output widths.
    hidden : sequence of int
        Hidden-layer widths, e.g. ``(64, 64)``.
    activation : str
        One of ``tanh``, ``relu``, ``gelu``, ``silu``.
    dropout : float
        Dropout probability after each hidden activation (0 disables; >0 enables MC dropout).
    generator : torch.Generator, optional
        Source of the initial weights, for repeatable runs.
    """

    def __init__(
        self,
        n_members: int,
        n_in: int,
        n_out: int,
        hidden: Sequence[int] = (64, 64),
        activation: str = "tanh",
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        check_activation(activation)
        widths = [n_in, *hidden, n_out]
        self.layers = nn.ModuleList(EnsembleLinear(n_members, a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.act = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        gains = [_GAIN[activation]] * (len(widths) - 2) + [1.0]
        for layer, gain in zip(self.layers, gains):
            layer.reset_parameters(gain, generator)

    @property
    def n_members(self) -> int:
        return self.layers[0].weight.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate every member.

        Parameters
        ----------
        x : torch.Tensor, shape (B, n_in) or (M, B, n_in)
            A shared batch, or one batch per member.

        Returns
        -------
        torch.Tensor, shape (M, B, n_out)
        """
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.n_members, -1, -1)
        for layer in self.layers[:-1]:
            x = self.act(layer(x))
            if self.dropout is not None:
                x = self.dropout(x)
        return self.layers[-1](x)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Activations of the last hidden layer of every member, shape (M, B, hidden[-1]) (no dropout)."""
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.n_members, -1, -1)
        for layer in self.layers[:-1]:
            x = self.act(layer(x))
        return x
