"""Per-structure geometry of the NEP descriptor, computed once and reused.

The NEP descriptors are linear in the trainable expansion coefficients c (Fan et al. 2021, Eq. 6)::

    q_n(i)      = Σ_{t,k} c^R[t_i, t, n, k] · Fsum_i[t, k],     Fsum_i[t, k]    = Σ_{j∈t} f_k(r_ij)
    s_nlm(i)    = Σ_{t,k} c^A[t_i, t, n, k] · Φ_i[lm, t, k],    Φ_i[lm, t, k]   = Σ_{j∈t} f_k(r_ij) Y_lm(r̂_ij)

so ``Fsum`` and ``Φ`` hold everything geometric the energy needs. Forces need, per pair (padded
to a fixed number of neighbour slots per atom), the basis values and derivatives (type-blocked:
column t·K + k is non-zero only when the neighbour has type t), the unit vectors and the
harmonics with their polynomial gradients ∂Y/∂û (the force code projects out the radial part).
"""

from __future__ import annotations

import numpy as np
import torch

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.nep.basis import angular_harmonics, radial_basis
from nnsurrogate.atomistic.nep.spec import NEPSpec
from nnsurrogate.atomistic.neighbors import Pairs

#: Per-atom fields (first axis = atoms) and per-slot neighbour fields; ``*_j`` hold local atom
#: indices with −1 in empty slots.
ATOM_FIELDS = (keys.TYPES, keys.FSUM, keys.PHI)
SLOT_FIELDS = (keys.R_J, keys.R_VEC, keys.R_HAT, keys.R_DF, keys.A_J, keys.A_VEC, keys.A_HAT, keys.A_RINV, keys.A_F,
               keys.A_DF, keys.A_Y, keys.A_DY)


def _padded_slots(i: torch.Tensor, n_atoms: int, width: int | None) -> tuple[torch.Tensor, int]:
    """Slot of each pair within its centre atom's row (pairs sorted by i) and the row width."""
    counts = torch.bincount(i, minlength=n_atoms)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.arange(i.numel()) - starts[i]
    needed = int(counts.max()) if n_atoms and i.numel() else 0
    if width is None:
        width = needed
    elif width < needed:
        raise ValueError(f"{needed} neighbours do not fit in {width} slots")
    return slot, max(width, 1)


def _rows(pairs: Pairs, keep: np.ndarray, n_atoms: int, width: int | None, rc: float, dtype: torch.dtype):
    """Neighbour indices (A, M) (−1 = empty), vectors (A, M, 3) and distances (A, M) in padded rows.

    Empty slots get the vector (2 r_c, 0, 0): every basis function vanishes there, so they add
    nothing to descriptors, forces or virials, and all derived values stay finite.
    """
    i = torch.as_tensor(pairs.i[keep])
    slot, m = _padded_slots(i, n_atoms, width)
    j = torch.full((n_atoms, m), -1, dtype=torch.long)
    j[i, slot] = torch.as_tensor(pairs.j[keep])
    vec = torch.zeros(n_atoms, m, 3, dtype=dtype)
    vec[..., 0] = 2.0 * rc
    vec[i, slot] = torch.as_tensor(pairs.vectors[keep]).to(dtype)
    return j, vec, torch.linalg.vector_norm(vec, dim=-1)


def _blocked(values: torch.Tensor, neighbor_types: torch.Tensor, n_types: int) -> torch.Tensor:
    """(A, M, K) → (A, M, T·K) with the values in the neighbour's type block and zeros elsewhere."""
    if n_types == 1:
        return values
    onehot = torch.nn.functional.one_hot(neighbor_types.clamp_min(0), n_types).to(values.dtype)
    return (onehot.unsqueeze(-1) * values.unsqueeze(-2)).reshape(*values.shape[:-1], -1)


def frame_features(spec: NEPSpec, types: np.ndarray, pairs: Pairs, dtype: torch.dtype = torch.float64,
                   widths: tuple[int | None, int | None] = (None, None)) -> dict[str, torch.Tensor]:
    """Geometry of one structure (or several joined) for :class:`~nnsurrogate.atomistic.nep.model.NEPModel`.

    Parameters
    ----------
    spec : NEPSpec
    types : numpy.ndarray of int, shape (n_atoms,)
        Model type index of each atom.
    pairs : Pairs
        Full neighbour list with cutoff ≥ the radial cutoff, sorted by centre atom.
    dtype : torch.dtype
        Storage and compute type.
    widths : (int or None, int or None)
        Neighbour slots per atom for the radial / angular rows; ``None`` uses this frame's maximum.

    Returns
    -------
    dict of str to torch.Tensor
        Keys :data:`ATOM_FIELDS` and :data:`SLOT_FIELDS`; shapes ``types`` (A,), ``Fsum`` (A, T·K_R),
        ``Phi`` (A, LM, T·K_A), radial slots (A, M_R, …) and angular slots (A, M_A, …).
    """
    n_atoms, n_types = len(types), spec.n_types
    t = torch.as_tensor(np.asarray(types), dtype=torch.long)
    out: dict[str, torch.Tensor] = {keys.TYPES: t}
    for k, (prefix, width) in enumerate((("r", widths[0]), ("a", widths[1]))):
        rc, nb = spec.cutoff[k], spec.n_basis[k]
        table = spec.pair_cutoffs(k) if spec.type_cutoffs is not None else None
        keep = pairs.distances < (rc if table is None else table[types[pairs.i], types[pairs.j]])
        j, vec, dist = _rows(pairs, keep, n_atoms, width, rc, dtype)
        neighbor_types = t[j.clamp_min(0)]
        if table is not None:  # each slot's own cutoff (empty slots lie beyond the largest)
            rc = torch.as_tensor(table, dtype=dtype)[t.unsqueeze(1), neighbor_types]
        f, df = radial_basis(dist, rc, nb - 1)
        f, df = _blocked(f, neighbor_types, n_types), _blocked(df, neighbor_types, n_types)
        hat = vec / dist.unsqueeze(-1)
        out.update({f"{prefix}_j": j, f"{prefix}_vec": vec, f"{prefix}_hat": hat, f"{prefix}_df": df})
        if prefix == "r":
            out[keys.FSUM] = f.sum(1)
        else:
            Y, dY = angular_harmonics(hat, spec.l_max[0])
            out.update({keys.A_F: f, keys.A_Y: Y, keys.A_DY: dY, keys.A_RINV: 1.0 / dist})
            out[keys.PHI] = torch.bmm(Y.transpose(1, 2), f)
    return out


def collate(frames: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Concatenate frames (same slot widths) into one batch; neighbour indices become global.

    Empty slots point at the extra atom index ``n_atoms`` (a row that is dropped after scattering).
    Adds ``frame`` (A,) — the frame of each atom — and ``n_atoms`` (F,).
    """
    sizes = torch.tensor([f[keys.TYPES].shape[0] for f in frames])
    total = int(sizes.sum())
    offsets = torch.cumsum(sizes, 0) - sizes
    batch: dict[str, torch.Tensor] = {}
    for key in frames[0]:
        parts = [f[key] for f in frames]
        if key in (keys.R_J, keys.A_J):
            parts = [torch.where(p >= 0, p + o, total) for p, o in zip(parts, offsets.tolist())]
        batch[key] = torch.cat(parts, 0) if len(parts) > 1 else parts[0]
    batch[keys.FRAME] = torch.repeat_interleave(torch.arange(len(frames)), sizes)
    batch[keys.N_ATOMS] = sizes
    return batch
