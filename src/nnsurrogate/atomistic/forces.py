"""Forces and virials from pair gradients, shared by every potential model.

A model whose energy depends on positions only through pair vectors r_p = r_j − r_i + S·cell
(p = (i, j, S) from a full neighbour list) needs only G_p = ∂E/∂r_p. Then

    F_k  = −∂E/∂r_k = Σ_{p: i_p = k} G_p − Σ_{p: j_p = k} G_p
    W    = −Σ_p r_p ⊗ G_p                    (virial, eV; ASE stress σ = −W/V)

Pairs are stored in padded rows: shape (n_atoms, n_slots, 3), row = centre atom i, empty slots
hold G = 0 and point at the extra index ``n_atoms``.
"""

from __future__ import annotations

import torch


def forces_from_pairs(blocks: list[tuple[torch.Tensor, torch.Tensor]], n_atoms: int) -> torch.Tensor:
    """Forces (n_atoms, 3), eV/Å, from [(G (A, M, 3), j (A, M)), …] (one entry per neighbour list)."""
    forces = None
    for G, j in blocks:
        out = G.sum(1)
        back = torch.zeros(n_atoms + 1, 3, dtype=G.dtype, device=G.device)
        back = back.index_add(0, j.reshape(-1), G.reshape(-1, 3))
        part = out - back[:n_atoms]
        forces = part if forces is None else forces + part
    return forces


def virial_from_pairs(blocks: list[tuple[torch.Tensor, torch.Tensor]], frame: torch.Tensor, n_frames: int) -> torch.Tensor:
    """Virial per frame (n_frames, 3, 3), eV, from [(G (A, M, 3), r (A, M, 3)), …]: W = −Σ_p r_p ⊗ G_p.

    The result is symmetrised (the exact virial of a rotation-invariant energy is symmetric).
    """
    per_atom = None
    for G, r in blocks:
        part = -torch.einsum("amx,amy->axy", r, G)
        per_atom = part if per_atom is None else per_atom + part
    w = torch.zeros(n_frames, 3, 3, dtype=per_atom.dtype, device=per_atom.device).index_add(0, frame, per_atom)
    return 0.5 * (w + w.transpose(1, 2))


def frame_sum(values: torch.Tensor, frame: torch.Tensor, n_frames: int) -> torch.Tensor:
    """Σ over the atoms of each frame: (A, …) → (n_frames, …)."""
    out = torch.zeros(n_frames, *values.shape[1:], dtype=values.dtype, device=values.device)
    return out.index_add(0, frame, values)
