"""SA-GAT: self-adaptable feature encoding with feature attention, then graph attention and a readout.

After Liu, Tang, Tretiak, Duan & Zhou, "SA-GAT-SR" (arXiv, 2025): every atom carries a wide vector
of scalar features (:mod:`nnsurrogate.crystal.features`), each feature is binned and embedded, an
attention over the features weighs them (the learned weights screen the feature space), and graph
attention passes messages between neighbouring atoms.

1. **Binned embedding.** Feature f of atom i enters as its position t_if ∈ [0, m_f] on the feature's
   training-quantile knots (:class:`nnsurrogate.crystal.encoding.QuantileBinning`); its embedding
   e_if ∈ R^c is the linear interpolation between the learned bin vectors E_f[⌊t⌋] and E_f[⌊t⌋ + 1]
   (a learned piecewise-linear encoding, as in Gorishniy, Rubachev & Babenko, NeurIPS 2022).
2. **Feature attention.** A small network reads all embeddings of the atom and scores every feature,
   α_i = softmax_f(W₂ tanh(W₁ [e_i1 … e_iF] + b₁) + b₂), so the weights adapt to the atom's own
   values; the embeddings are gated, F·α_if e_if (1 × e_if for uniform attention), and an MLP with
   layer normalisation maps them to the atom vector (attentive feature masks as in TabNet, Arik &
   Pfister, AAAI 2021). The importance of feature f is α_if averaged over atoms; importances sum to one.
3. **Graph attention** (GATv2, Brody, Alon & Yahav, ICLR 2022, with edge features): for edge j → i,
   x_ij = A h_i + B h_j + C u_ij, score a_h · LeakyReLU(x_ij)_h, softmax over the neighbours of i,
   message (B h_j + C u_ij)_h; residual updates with layer normalisation and a feed-forward block.
4. **Readout.** Mean over each crystal's atoms, then an MLP.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from nnsurrogate.crystal.batch import GraphBatch
from nnsurrogate.crystal.layers import GaussianBasis, segment_mean, segment_softmax, segment_sum


class FeatureAttentionEncoder(nn.Module):
    """Binned feature embedding, self-adaptive attention over the features, and a gated feature MLP.

    Parameters
    ----------
    n_features, n_bins : int
        Features per atom F and knots per feature B (positions t lie in [0, B − 1]).
    token_dim : int
        Width c of each feature's embedding.
    out_dim : int
        Width of the atom vector produced.
    hidden : int
        Hidden width of the attention network and of the feature MLP.
    dropout : float
        Dropout on the gated embeddings during training.

    Shapes: positions (N, F) → atom vectors (N, out_dim) and attention weights (N, F), Σ_f = 1.
    """

    def __init__(self, n_features: int, n_bins: int, token_dim: int = 4, out_dim: int = 64, hidden: int = 128,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.n_features, self.n_bins = n_features, n_bins
        self.table = nn.Embedding(n_features * n_bins, token_dim)
        nn.init.normal_(self.table.weight, std=1.0)
        self.register_buffer("offsets", torch.arange(n_features) * n_bins, persistent=False)
        width = n_features * token_dim
        self.score = nn.Sequential(nn.Linear(width, hidden), nn.Tanh(), nn.Linear(hidden, n_features))
        nn.init.zeros_(self.score[2].weight)  # start from uniform attention
        nn.init.zeros_(self.score[2].bias)
        self.mlp = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, hidden), nn.SiLU(), nn.Linear(hidden, out_dim),
                                 nn.LayerNorm(out_dim))

    def tokens(self, positions: torch.Tensor) -> torch.Tensor:
        """Interpolated bin embeddings e_if, shape (N, F, token_dim)."""
        low = positions.floor().clamp(0, self.n_bins - 2)
        frac = (positions - low).clamp(0.0, 1.0).unsqueeze(-1)
        index = low.long() + self.offsets
        return self.table(index) * (1.0 - frac) + self.table(index + 1) * frac

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.tokens(positions)
        alpha = torch.softmax(self.score(e.flatten(1)), dim=1)  # (N, F)
        gated = e * (self.n_features * alpha).unsqueeze(-1)  # F·α = 1 for uniform attention
        return self.mlp(gated.flatten(1)), alpha


class GraphAttentionLayer(nn.Module):
    """GATv2 message passing with edge features and residual updates.

    Shapes: h (N, dim), edge states e (E, dim) → (N, dim) and (E, dim). With ``edge_update`` the edge
    state is refined after the node update, e_ij ← LN(e_ij + MLP(h_i ⊕ h_j ⊕ e_ij)) (edge-updating
    message passing as in MEGNet, Chen et al. 2019, and ALIGNN's edge gating); otherwise it passes
    through unchanged.
    """

    def __init__(self, dim: int, heads: int = 4, edge_update: bool = False) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.to_center = nn.Linear(dim, dim)
        self.to_neighbor = nn.Linear(dim, dim)
        self.to_edge = nn.Linear(dim, dim)
        self.attention = nn.Parameter(torch.randn(heads, dim // heads) / math.sqrt(dim // heads))
        self.project = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.feed_forward = nn.Sequential(nn.Linear(dim, 2 * dim), nn.SiLU(), nn.Linear(2 * dim, dim))
        self.norm2 = nn.LayerNorm(dim)
        self.edge_mlp = (nn.Sequential(nn.Linear(3 * dim, dim), nn.SiLU(), nn.Linear(dim, dim))
                         if edge_update else None)
        self.edge_norm = nn.LayerNorm(dim) if edge_update else None

    def forward(self, h: torch.Tensor, e: torch.Tensor, center: torch.Tensor,
                neighbor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, dim = h.shape
        message = self.to_neighbor(h)[neighbor] + self.to_edge(e)  # (E, dim)
        x = (self.to_center(h)[center] + message).view(-1, self.heads, dim // self.heads)
        scores = (F.leaky_relu(x, 0.2) * self.attention).sum(-1)  # (E, H)
        alpha = segment_softmax(scores, center, n)
        pooled = segment_sum(alpha.unsqueeze(-1) * message.view(-1, self.heads, dim // self.heads), center, n)
        h = self.norm1(h + self.project(pooled.reshape(n, dim)))
        h = self.norm2(h + self.feed_forward(h))
        if self.edge_mlp is not None:
            e = self.edge_norm(e + self.edge_mlp(torch.cat([h[center], h[neighbor], e], dim=1)))
        return h, e


class SAGAT(nn.Module):
    """Self-adaptable graph attention network.

    Parameters
    ----------
    n_features : int
        Scalar features per atom (178 by default).
    n_bins : int
        Knots per feature of the binning.
    dim : int
        Atom vector width in the graph layers.
    token_dim : int
        Width of each feature's embedding.
    n_layers, graph_heads : int
        Graph-attention layers and their heads.
    hidden : int
        Hidden width of the readout MLP.
    cutoff : float
        Last Gaussian centre of the edge basis, Å.
    n_basis : int
        Gaussian centres of the edge basis.
    dropout : float
        Dropout on the gated feature embeddings during training.
    edge_updates : bool
        Refine the edge states in every graph layer (see :class:`GraphAttentionLayer`).

    Shapes: a :class:`GraphBatch` of B crystals (nodes = positions (N, F)) → (B,) predictions.
    """

    def __init__(self, n_features: int, n_bins: int, dim: int = 64, token_dim: int = 4, n_layers: int = 3,
                 graph_heads: int = 4, hidden: int = 128, cutoff: float = 8.0, n_basis: int = 32,
                 dropout: float = 0.0, edge_updates: bool = False) -> None:
        super().__init__()
        self.encoder = FeatureAttentionEncoder(n_features, n_bins, token_dim, dim, hidden, dropout)
        self.basis = GaussianBasis(cutoff, n_basis)
        self.edge_embed = nn.Linear(n_basis, dim)
        self.layers = nn.ModuleList(GraphAttentionLayer(dim, graph_heads, edge_updates) for _ in range(n_layers))
        self.head = nn.Sequential(nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def embed(self, batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Atom vectors after the graph layers (N, dim) and the feature attention (N, F)."""
        h, alpha = self.encoder(batch.nodes)
        e = self.edge_embed(self.basis(batch.distance))
        for layer in self.layers:
            h, e = layer(h, e, batch.center, batch.neighbor)
        return h, alpha

    def readout(self, batch: GraphBatch) -> torch.Tensor:
        """Material vectors (B, dim): the mean of the atom vectors, the input of the head."""
        return segment_mean(self.embed(batch)[0], batch.graph, batch.n_graphs)

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        return self.head(self.readout(batch)).squeeze(-1)

    @torch.no_grad()
    def feature_attention(self, batch: GraphBatch) -> torch.Tensor:
        """Per-atom feature weights α (N, F), each row summing to one."""
        return self.encoder(batch.nodes)[1]
