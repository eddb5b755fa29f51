"""GPUMD's universal ZBL short-range repulsion, the term ``nep4_zbl`` potentials add to the network.

For a pair of atoms with atomic numbers Z_i, Z_j at distance r (Ziegler, Biersack and Littmark's
universal screening, as GPUMD's NEP implements it)::

    V(r) = K Z_i Z_j / r · φ(r / a) · f_c(r),    a = 0.46848 Å / (Z_i^0.23 + Z_j^0.23),
    φ(x) = 0.18175 e^{−3.19980 x} + 0.50986 e^{−0.94229 x} + 0.28022 e^{−0.40290 x} + 0.02817 e^{−0.20162 x},
    f_c(r) = 1 (r < r_1),  ½ cos(π (r − r_1)/(r_2 − r_1)) + ½ (r_1 ≤ r < r_2),  0 beyond,

with K = 14.399645 eV·Å (e²/4πε₀) and r_1, r_2 the ``zbl`` line of ``nep.txt``. Each atom's site
energy gets half of each of its pairs. Two variants, as GPUMD defines them:

- type-wise cutoffs (a factor f on the ``zbl`` line): r_1 = 0 and r_2 = min(f (R_i + R_j), r_2), R the
  covalent radii of :data:`COVALENT_RADII`;
- the flexible ZBL (``zbl 0 0``): each unordered pair of types has its own ten fitted numbers
  (r_1, r_2, then the four (c, b) pairs of φ), stored after the q_scaler in ``nep.txt``.

GPUMD takes the ZBL pairs from its angular neighbour list, so no pair beyond the angular cutoff counts.
"""

from __future__ import annotations

import math

import torch
from ase.data import atomic_numbers

from nnsurrogate.atomistic import keys

__all__ = ["COULOMB_EV_A", "COVALENT_RADII", "pair_parameters", "zbl_terms"]

#: e²/(4πε₀) in eV·Å, the value GPUMD uses.
COULOMB_EV_A = 14.399645
_SCREENING = ((0.18175, 3.19980), (0.50986, 0.94229), (0.28022, 0.40290), (0.02817, 0.20162))

#: The covalent radii (Å) GPUMD's type-wise ZBL cutoffs use, H … Pu: the two-decimal radii below times
#: 4/3, to the six significant digits GPUMD stores (``%g``). Data from GPUMD (GPL-3.0), with attribution.
_RADII_3_4 = (
    "0.32 0.46 1.20 0.94 0.77 0.75 0.71 0.63 0.64 0.67 1.40 1.25 1.13 1.04 1.10 1.02 0.99 0.96 1.76 1.54 "
    "1.33 1.22 1.21 1.10 1.07 1.04 1.00 0.99 1.01 1.09 1.12 1.09 1.15 1.10 1.14 1.17 1.89 1.67 1.47 1.39 "
    "1.32 1.24 1.15 1.13 1.13 1.08 1.15 1.23 1.28 1.26 1.26 1.23 1.32 1.31 2.09 1.76 1.62 1.47 1.58 1.57 "
    "1.56 1.55 1.51 1.52 1.51 1.50 1.49 1.49 1.48 1.53 1.46 1.37 1.31 1.23 1.18 1.16 1.11 1.12 1.13 1.32 "
    "1.30 1.30 1.36 1.31 1.38 1.42 2.01 1.81 1.67 1.58 1.52 1.53 1.54 1.55")
COVALENT_RADII = tuple(float(f"{float(v) * 4.0 / 3.0:g}") for v in _RADII_3_4.split())


def pair_parameters(spec, params: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """(T, T, 10) ZBL numbers of each ordered pair of types: r_1, r_2, then (c_k, b_k) for k = 1 … 4.

    Parameters
    ----------
    spec : NEPSpec
        With a ``zbl`` term.
    params : torch.Tensor or None, shape (T(T+1)/2, 10)
        The flexible ZBL's numbers, pairs t_1 ≤ t_2 in GPUMD's order (row-major upper triangle).
    """
    t = spec.n_types
    if spec.zbl_flexible:
        rows, cols = torch.triu_indices(t, t)
        table = torch.zeros(t, t, 10, dtype=dtype)
        table[rows, cols] = params.to(dtype)
        table[cols, rows] = params.to(dtype)
        return table
    inner, outer = (float(v) for v in spec.zbl)
    screening = torch.tensor([v for pair in _SCREENING for v in pair], dtype=dtype)
    table = torch.empty(t, t, 10, dtype=dtype)
    table[..., 2:] = screening
    table[..., 0], table[..., 1] = inner, outer
    if spec.zbl_factor is not None:
        radius = torch.tensor([COVALENT_RADII[atomic_numbers[s] - 1] for s in spec.species], dtype=dtype)
        table[..., 0] = 0.0
        table[..., 1] = torch.clamp((radius[:, None] + radius[None, :]) * spec.zbl_factor, max=outer)
    return table


def zbl_terms(batch: dict[str, torch.Tensor], spec, params: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Site energies (A,) eV and pair gradients ∂E/∂r_p (A, M_R, 3) eV/Å of the ZBL term.

    Parameters
    ----------
    batch : dict
        A collated batch: ``types`` (A,), ``r_j`` (A, M_R) (−1 or A for an empty slot), ``r_vec``
        (A, M_R, 3) Å.
    spec : NEPSpec
        The model's elements, ZBL cutoffs (every pair's r_2 ≤ its radial cutoff, so the radial slots
        hold every pair the term sees) and variant.
    params : torch.Tensor, optional
        The flexible ZBL's numbers (see :func:`pair_parameters`).
    """
    r_vec, j, types = batch[keys.R_VEC], batch[keys.R_J], batch[keys.TYPES]
    z = torch.tensor([atomic_numbers[s] for s in spec.species], dtype=r_vec.dtype, device=r_vec.device)
    d = torch.linalg.vector_norm(r_vec, dim=-1)
    n = types.shape[0]
    tj = types[j.clamp(0, n - 1)]
    table = pair_parameters(spec, params, r_vec.dtype).to(r_vec.device)[types.unsqueeze(1), tj]  # (A, M, 10)
    inner, outer = table[..., 0], table[..., 1]
    inside = (j >= 0) & (j < n) & (d < outer) & (d < spec.cutoff[1])  # an empty slot holds −1, or n after collate
    r = torch.where(inside, d, torch.ones_like(d))
    zi = z[types].unsqueeze(1)
    zj = z[tj]
    a_inv = (zi.pow(0.23) + zj.pow(0.23)) * 2.134563  # 1 / 0.46848 Å, rounded as GPUMD writes it
    phi = torch.zeros_like(r)
    dphi = torch.zeros_like(r)
    for k in range(4):
        c, b = table[..., 2 + 2 * k], table[..., 3 + 2 * k]
        term = c * torch.exp(-b * a_inv * r)
        phi = phi + term
        dphi = dphi - b * a_inv * term
    width = torch.where(outer > inner, outer - inner, torch.ones_like(outer))
    angle = math.pi * (r - inner) / width
    smooth = r >= inner
    fc = torch.where(smooth, 0.5 * torch.cos(angle) + 0.5, torch.ones_like(r))
    dfc = torch.where(smooth, -0.5 * math.pi / width * torch.sin(angle), torch.zeros_like(r))
    k = COULOMB_EV_A * zi * zj
    value = k * phi * fc / r
    slope = k * ((dphi * fc + phi * dfc) / r - phi * fc / (r * r))
    value = torch.where(inside, value, torch.zeros_like(r))
    slope = torch.where(inside, slope, torch.zeros_like(r))
    energies = 0.5 * value.sum(1)
    gradients = (0.5 * slope / r).unsqueeze(-1) * r_vec
    return energies, gradients
