"""CGCNN: the crystal graph convolutional network of Xie & Grossman, Phys. Rev. Lett. 120, 145301 (2018).

Atoms start from a linear embedding of their element features; each convolution updates atom i with
gated messages from its neighbours j (eq. 5 of the paper),

    z_ij = v_i ⊕ v_j ⊕ u_ij,
    v_i ← g(v_i + BN(Σ_j σ(BN(z_ij W_f + b_f)) ⊙ g(BN(z_ij W_s + b_s)))),

with σ the logistic sigmoid, g the softplus, u_ij the Gaussian-expanded bond length and BN batch
normalisation. A mean over the atoms of each crystal and a small softplus MLP give the property.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from nnsurrogate.crystal.batch import GraphBatch
from nnsurrogate.crystal.layers import GaussianBasis, segment_mean, segment_sum


class GatedConvolution(nn.Module):
    """One CGCNN convolution; shapes v (N, dim), u (E, n_basis) → (N, dim).

    The affine map of z_ij = v_i ⊕ v_j ⊕ u_ij is split into its three blocks, v_i W_c + v_j W_n + u_ij W_e,
    so the node blocks are computed once per atom instead of once per edge (the same function,
    about four times fewer operations).
    """

    def __init__(self, dim: int, n_basis: int) -> None:
        super().__init__()
        self.from_center = nn.Linear(dim, 2 * dim)
        self.from_neighbor = nn.Linear(dim, 2 * dim, bias=False)
        self.from_edge = nn.Linear(n_basis, 2 * dim, bias=False)
        self.norm_edges = nn.BatchNorm1d(2 * dim)
        self.norm_sum = nn.BatchNorm1d(dim)

    def forward(self, v: torch.Tensor, u: torch.Tensor, center: torch.Tensor, neighbor: torch.Tensor) -> torch.Tensor:
        z = self.from_center(v)[center] + self.from_neighbor(v)[neighbor] + self.from_edge(u)
        gate, core = self.norm_edges(z).chunk(2, dim=1)
        messages = torch.sigmoid(gate) * F.softplus(core)
        return F.softplus(v + self.norm_sum(segment_sum(messages, center, v.shape[0])))


class CGCNN(nn.Module):
    """Crystal graph convolutional network.

    Parameters
    ----------
    n_node_inputs : int
        Width of the per-atom input (element features).
    dim : int
        Atom feature width (64 in the paper).
    n_conv : int
        Number of convolutions (3).
    hidden : int
        Width of the hidden layer after pooling (128).
    cutoff : float
        Last Gaussian centre, Å.
    n_basis : int
        Gaussian centres (41 for 0–8 Å in steps of 0.2 Å in the paper).

    Shapes: a :class:`GraphBatch` of B crystals → (B,) predictions in standardised target units.
    """

    def __init__(self, n_node_inputs: int, dim: int = 64, n_conv: int = 3, hidden: int = 128,
                 cutoff: float = 8.0, n_basis: int = 41) -> None:
        super().__init__()
        self.basis = GaussianBasis(cutoff, n_basis)
        self.embed = nn.Linear(n_node_inputs, dim)
        self.convs = nn.ModuleList(GatedConvolution(dim, n_basis) for _ in range(n_conv))
        self.head = nn.Sequential(nn.Softplus(), nn.Linear(dim, hidden), nn.Softplus(), nn.Linear(hidden, 1))

    def readout(self, batch: GraphBatch) -> torch.Tensor:
        """Material vectors (B, dim): the mean of the atom vectors after the convolutions, the input of the head."""
        v = self.embed(batch.nodes)
        u = self.basis(batch.distance)
        for conv in self.convs:
            v = conv(v, u, batch.center, batch.neighbor)
        return segment_mean(v, batch.graph, batch.n_graphs)

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        return self.head(self.readout(batch)).squeeze(-1)
