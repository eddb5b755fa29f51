"""Atom-centred symmetry functions G2 and G4/G5 with their derivatives (Behler, J. Chem. Phys. 134, 074106 (2011)).

For atom i with neighbours j, k within the cutoff r_c (pair vectors r_ij = r_j − r_i + S·cell)::

    f_c(r)  = ½ (cos(π r / r_c) + 1)                       for r < r_c, else 0           (Eq. 3)
    G2_i    = Σ_j exp(−η (r_ij − R_s)²) f_c(r_ij)                                       (Eq. 6)
    G4_i    = 2^{1−ζ} Σ_{j<k} (1 + λ cos θ_ijk)^ζ exp(−η (r_ij² + r_ik² + r_jk²))
                                 f_c(r_ij) f_c(r_ik) f_c(r_jk)                          (Eq. 8)
    G5_i    = 2^{1−ζ} Σ_{j<k} (1 + λ cos θ_ijk)^ζ exp(−η (r_ij² + r_ik²)) f_c(r_ij) f_c(r_ik)   (Eq. 9)

resolved by element as in DScribe's ACSF (Himanen et al., Comput. Phys. Commun. 247, 106949 (2020)):
G2 once per neighbour element (j of element s), G4/G5 once per unordered element pair {s_j, s_k}; the
angular sum runs over unordered neighbour pairs j < k. Descriptor columns: ``s·n_radial + g`` for the
radial block, then ``T·n_radial + p·n_angular + g`` with p the index of the pair (s₁ ≤ s₂) in DScribe's order
(0,0), (0,1), (1,1), (0,2), (1,2), (2,2), …

G_i depends on the positions only through atom i's own pair vectors, so the derivatives are stored per
neighbour slot, ∂G_i/∂r_ij with shape (A, M, D, 3); the forces then follow from
:mod:`nnsurrogate.atomistic.forces` (this is how RuNNer and n2p2 store them). Derivatives are analytic;
the angular one uses ∂G/∂r_ij = Σ_k ∂T(r_ij, r_ik)/∂r_ij (T symmetric in j, k), with
r_jk = r_ik − r_ij::

    ∂cos θ/∂a = b/(|a||b|) − cos θ · a/|a|²                       (a = r_ij, b = r_ik, c = b − a)
    ∂/∂a exp(−η(a² + b² + c²)) = −2η (a − c) exp(…)               (G5: −2η a exp(…))
    ∂f_c(|c|)/∂a = −f_c'(|c|) ĉ
"""

from __future__ import annotations

import math

import numpy as np
import torch

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.bp.params import SymmetryFunctions
from nnsurrogate.atomistic.neighbors import Pairs

#: Largest number of (atom, slot, slot, angular function) entries evaluated at once.
_CHUNK_ENTRIES = 2_000_000


def cutoff_function(r: torch.Tensor, rc: float) -> tuple[torch.Tensor, torch.Tensor]:
    """f_c(r) = ½(cos(π r/r_c) + 1) and f_c'(r) = −(π / 2r_c) sin(π r/r_c) for r < r_c; 0 beyond."""
    inside = r < rc
    x = math.pi * r / rc
    fc = torch.where(inside, 0.5 * (torch.cos(x) + 1.0), torch.zeros_like(r))
    dfc = torch.where(inside, -0.5 * math.pi / rc * torch.sin(x), torch.zeros_like(r))
    return fc, dfc


def pair_index(n_types: int) -> torch.Tensor:
    """(T, T) index of the unordered element pair {s₁, s₂}, ordered (0,0), (0,1), (1,1), (0,2), (1,2), (2,2), …"""
    index = torch.zeros(n_types, n_types, dtype=torch.long)
    p = 0
    for b in range(n_types):
        for a in range(b + 1):
            index[a, b] = index[b, a] = p
            p += 1
    return index


def radial_block(sf: SymmetryFunctions, vec: torch.Tensor, ntype: torch.Tensor, mask: torch.Tensor,
                 n_types: int) -> tuple[torch.Tensor, torch.Tensor]:
    """G2 values (A, T·R) and derivatives ∂G/∂r_ij (A, M, T·R, 3).

    Parameters
    ----------
    vec : (A, M, 3) pair vectors, Å (float64); ntype : (A, M) neighbour element; mask : (A, M) real slot.
    """
    eta = torch.tensor([e for e, _ in sf.radial], dtype=vec.dtype)
    rs = torch.tensor([r for _, r in sf.radial], dtype=vec.dtype)
    r = torch.linalg.vector_norm(vec, dim=-1)
    r_safe = torch.where(mask, r, torch.ones_like(r))
    fc, dfc = cutoff_function(r_safe, sf.cutoff)
    fc, dfc = fc * mask, dfc * mask
    dr = r_safe.unsqueeze(-1) - rs
    gauss = torch.exp(-eta * dr * dr)  # (A, M, R)
    value = gauss * fc.unsqueeze(-1)
    slope = gauss * (dfc.unsqueeze(-1) - 2.0 * eta * dr * fc.unsqueeze(-1))  # dg/dr
    onehot = torch.nn.functional.one_hot(ntype, n_types).to(vec.dtype) * mask.unsqueeze(-1)  # (A, M, T)
    G = torch.einsum("amt,amr->atr", onehot, value).reshape(vec.shape[0], -1)
    hat = vec / r_safe.unsqueeze(-1)
    dG = torch.einsum("amt,amr,amx->amtrx", onehot, slope, hat).reshape(*vec.shape[:2], -1, 3)
    return G, dG


def _power(base: torch.Tensor, zeta: float) -> torch.Tensor:
    """base**zeta, by repeated multiplication when ζ is a small integer (much faster than ``pow``)."""
    if float(zeta).is_integer() and 0 <= zeta <= 64:
        n, result, square = int(zeta), torch.ones_like(base), base
        while n:
            if n & 1:
                result = result * square
            n >>= 1
            if n:
                square = square * square
        return result
    return base**zeta


def _triplets(sf: SymmetryFunctions, vec: torch.Tensor, mask: torch.Tensor):
    """Geometry of every ordered neighbour pair (j, k) of each atom: cos θ, the cutoff product, the
    Gaussian argument and the vectors the derivative is built from (shapes (A, M, M) and (A, M, M, 3))."""
    n_atoms, m = vec.shape[:2]
    dtype = vec.dtype
    r = torch.where(mask, torch.linalg.vector_norm(vec, dim=-1), torch.ones(n_atoms, m, dtype=dtype))
    f, df = cutoff_function(r, sf.rc_angular)
    f, df = f * mask, df * mask
    a, b = vec.unsqueeze(2), vec.unsqueeze(1)  # (A, M, 1, 3), (A, 1, M, 3)
    ra, rb = r.unsqueeze(2), r.unsqueeze(1)
    c = b - a  # r_jk
    valid = mask.unsqueeze(2) & mask.unsqueeze(1) & ~torch.eye(m, dtype=torch.bool).unsqueeze(0)
    rc = torch.where(valid, torch.linalg.vector_norm(c, dim=-1), torch.ones((), dtype=dtype))
    cos = ((a * b).sum(-1) / (ra * rb)).clamp(-1.0, 1.0)
    dcos = b / (ra * rb).unsqueeze(-1) - cos.unsqueeze(-1) * a / (ra * ra).unsqueeze(-1)  # ∂cos/∂a
    fa, fb, dfa = f.unsqueeze(2), f.unsqueeze(1), df.unsqueeze(2)
    if sf.angular_kind == "g4":
        fcc, dfcc = cutoff_function(rc, sf.rc_angular)
        square, de_vec = ra * ra + rb * rb + rc * rc, a - c
        along_c = (fa * fb * dfcc * valid).unsqueeze(-1) * (c / rc.unsqueeze(-1))
    else:
        fcc = torch.ones_like(rc)
        square, de_vec = (ra * ra + rb * rb).expand(-1, m, m), a.expand(-1, -1, m, -1)
        along_c = torch.zeros_like(c)
    cut = fa * fb * fcc * valid
    along_a = (dfa * fb * fcc * valid).unsqueeze(-1) * (a / ra.unsqueeze(-1))
    # ∂T/∂a = Q (−2η cut (a − c) + ∂(f_a f_b f_c)/∂a) + 2^{1−ζ} ∂(1+λcos)^ζ/∂cos · e · cut · ∂cos/∂a,
    # with Q = 2^{1−ζ}(1+λcos)^ζ e: three vector fields, each (A, M, M, 3)
    vectors = (cut.unsqueeze(-1) * de_vec, along_a - along_c, dcos)
    return cos, cut, square, valid, vectors


def _angular_chunk(sf: SymmetryFunctions, vec: torch.Tensor, ntype: torch.Tensor, mask: torch.Tensor,
                   n_types: int) -> tuple[torch.Tensor, torch.Tensor]:
    """G4/G5 values (A, P·G) and derivatives (A, M, P·G, 3) for one chunk of atoms (see module docstring)."""
    n_atoms, m = vec.shape[:2]
    cos, cut, square, valid, vectors = _triplets(sf, vec, mask)
    bases = {lam: (1.0 + lam * cos).clamp_min(0.0) for lam in {p[2] for p in sf.angular}}
    powers = {(z, lam): (_power(bases[lam], z), z * lam * _power(bases[lam], z - 1.0))
              for _, z, lam in sf.angular}
    gauss = {eta: torch.exp(-eta * square) for eta in {p[0] for p in sf.angular}}
    values, c_exp, c_cut, c_cos = [], [], [], []
    for eta, zeta, lam in sf.angular:
        power, dpower = powers[(zeta, lam)]
        q = 2.0 ** (1.0 - zeta) * power * gauss[eta]
        values.append(q * cut)
        c_exp.append(-2.0 * eta * q)
        c_cut.append(q)
        c_cos.append(2.0 ** (1.0 - zeta) * dpower * gauss[eta] * cut)
    term = torch.stack(values, dim=2)  # (A, M, G, M): [atom, j, function, k]
    coeffs = [torch.stack(c, dim=2) for c in (c_exp, c_cut, c_cos)]
    n_pairs = n_types * (n_types + 1) // 2
    if n_pairs == 1:
        G = 0.5 * term.sum((1, 3))
    else:
        pair = pair_index(n_types)[ntype.unsqueeze(2), ntype.unsqueeze(1)]  # (A, M, M)
        onehot = torch.nn.functional.one_hot(pair, n_pairs).to(vec.dtype) * valid.unsqueeze(-1)
        G = 0.5 * torch.einsum("amgn,amnp->apg", term, onehot).reshape(n_atoms, -1)
        coeffs = [torch.einsum("amgn,amnp->ampgn", c, onehot).flatten(2, 3) for c in coeffs]
    # dG[a, j, d, x] = Σ_k Σ_kind coeff_kind[a, j, d, k] · vector_kind[a, j, k, x]   (batched matmuls)
    width = coeffs[0].shape[2]
    dG = sum(torch.bmm(c.reshape(n_atoms * m, width, m), v.reshape(n_atoms * m, m, 3))
             for c, v in zip(coeffs, vectors)).reshape(n_atoms, m, width, 3)
    return G, dG
def angular_block(sf: SymmetryFunctions, vec: torch.Tensor, ntype: torch.Tensor, mask: torch.Tensor,
                  n_types: int) -> tuple[torch.Tensor, torch.Tensor]:
    """G4/G5 values (A, P·G) and derivatives (A, M, P·G, 3).

    Slots must be sorted by distance within each row (:func:`padded_rows`), so the neighbours within
    the angular cutoff are the leading M_a slots; only those enter the M_a × M_a triplet grid, which is
    evaluated in chunks of atoms to bound memory.
    """
    n_atoms, m = vec.shape[:2]
    n_pairs = n_types * (n_types + 1) // 2
    if not sf.angular:
        return vec.new_zeros(n_atoms, 0), vec.new_zeros(n_atoms, m, 0, 3)
    inside = mask & (torch.linalg.vector_norm(vec, dim=-1) < sf.rc_angular)
    m_a = max(int(inside.sum(1).max()) if n_atoms else 0, 1)
    vec, ntype, inside = vec[:, :m_a], ntype[:, :m_a], inside[:, :m_a]
    per_atom = max(1, m_a * m_a * sf.n_angular * max(n_pairs, 3))
    step = max(1, _CHUNK_ENTRIES // per_atom)
    parts = [_angular_chunk(sf, vec[s:s + step], ntype[s:s + step], inside[s:s + step], n_types)
             for s in range(0, n_atoms, step)]
    G, dG = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    if m_a < m:
        dG = torch.cat([dG, dG.new_zeros(n_atoms, m - m_a, *dG.shape[2:])], 1)
    return G, dG


def padded_rows(pairs: Pairs, n_atoms: int, width: int | None, cutoff: float):
    """Neighbour index (A, M) (−1 = empty), pair vectors (A, M, 3) and the slot mask (A, M) of a full
    list, each row sorted by distance (nearest first)."""
    keep = np.flatnonzero(pairs.distances < cutoff)
    keep = keep[np.lexsort((pairs.distances[keep], pairs.i[keep]))]
    i = torch.as_tensor(pairs.i[keep])
    counts = torch.bincount(i, minlength=n_atoms)
    needed = int(counts.max()) if i.numel() else 0
    if width is None:
        width = needed
    elif width < needed:
        raise ValueError(f"{needed} neighbours do not fit in {width} slots")
    width = max(int(width), 1)
    slot = torch.arange(i.numel()) - (torch.cumsum(counts, 0) - counts)[i]
    j = torch.full((n_atoms, width), -1, dtype=torch.long)
    j[i, slot] = torch.as_tensor(pairs.j[keep])
    vec = torch.zeros(n_atoms, width, 3, dtype=torch.float64)
    vec[..., 0] = 2.0 * cutoff
    vec[i, slot] = torch.as_tensor(pairs.vectors[keep], dtype=torch.float64)
    return j, vec, j >= 0


def symmetry_functions(sf: SymmetryFunctions, types: np.ndarray, n_types: int, pairs: Pairs,
                       width: int | None = None, dtype: torch.dtype = torch.float64) -> dict[str, torch.Tensor]:
    """Descriptors of one structure (or several joined into one neighbour list).

    Parameters
    ----------
    sf : SymmetryFunctions
    types : numpy.ndarray of int, shape (n_atoms,)
        Model element index of each atom.
    n_types : int
    pairs : Pairs
        Full neighbour list (cutoff ≥ ``sf.cutoff``), sorted by centre atom.
    width : int, optional
        Neighbour slots per atom (default: this structure's maximum).
    dtype : torch.dtype
        Storage type of the returned floats (computed in float64).

    Returns
    -------
    dict with ``types`` (A,), ``G`` (A, D), ``dG`` (A, M, D, 3) in Å⁻¹, ``r_j`` (A, M) neighbour
    indices (−1 = empty) and ``r_vec`` (A, M, 3) pair vectors, Å.
    """
    n_atoms = len(types)
    t = torch.as_tensor(np.asarray(types), dtype=torch.long)
    j, vec, mask = padded_rows(pairs, n_atoms, width, sf.cutoff)
    ntype = t[j.clamp_min(0)]
    g_r, dg_r = radial_block(sf, vec, ntype, mask, n_types)
    g_a, dg_a = angular_block(sf, vec, ntype, mask, n_types)
    return {keys.TYPES: t, keys.G: torch.cat([g_r, g_a], 1).to(dtype), keys.DG: torch.cat([dg_r, dg_a], 2).to(dtype),
            keys.R_J: j, keys.R_VEC: vec.to(dtype)}
