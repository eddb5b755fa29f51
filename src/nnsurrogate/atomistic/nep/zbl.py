"""GPUMD's universal ZBL short-range repulsion, the term ``nep4_zbl`` potentials add to the network.

For a pair of atoms with atomic numbers Z_i, Z_j at distance r (Ziegler, Biersack and Littmark's
universal screening, as GPUMD's NEP implements it)::

    V(r) = K Z_i Z_j / r · φ(r / a) · f_c(r),    a = 0.46848 Å / (Z_i^0.23 + Z_j^0.23),
    φ(x) = 0.18175 e^{−3.19980 x} + 0.50986 e^{−0.94229 x} + 0.28022 e^{−0.40290 x} + 0.02817 e^{−0.20162 x},
    f_c(r) = 1 (r < r_1),  ½ cos(π (r − r_1)/(r_2 − r_1)) + ½ (r_1 ≤ r < r_2),  0 beyond,

with K = 14.399645 eV·Å (e²/4πε₀) and r_1, r_2 the ``zbl`` line of ``nep.txt``. Each atom's site
energy gets half of each of its pairs.
"""

from __future__ import annotations

import math

import torch
from ase.data import atomic_numbers

from nnsurrogate.atomistic import keys

__all__ = ["COULOMB_EV_A", "zbl_terms"]

#: e²/(4πε₀) in eV·Å, the value GPUMD uses.
COULOMB_EV_A = 14.399645
_SCREENING = ((0.18175, 3.19980), (0.50986, 0.94229), (0.28022, 0.40290), (0.02817, 0.20162))


def zbl_terms(batch: dict[str, torch.Tensor], species: tuple[str, ...], inner: float,
              outer: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Site energies (A,) eV and pair gradients ∂E/∂r_p (A, M_R, 3) eV/Å of the ZBL term.

    Parameters
    ----------
    batch : dict
        A collated batch: ``types`` (A,), ``r_j`` (A, M_R) (−1 or A for an empty slot), ``r_vec``
        (A, M_R, 3) Å.
    species : tuple of str
        The model's elements, in type order.
    inner, outer : float
        r_1 and r_2 of the cutoff function, Å (outer ≤ the radial cutoff, so the radial slots hold
        every pair the term sees).
    """
    r_vec, j, types = batch[keys.R_VEC], batch[keys.R_J], batch[keys.TYPES]
    z = torch.tensor([atomic_numbers[s] for s in species], dtype=r_vec.dtype, device=r_vec.device)
    d = torch.linalg.vector_norm(r_vec, dim=-1)
    n = types.shape[0]
    inside = (j >= 0) & (j < n) & (d < outer)  # an empty slot holds −1, or n after collate
    r = torch.where(inside, d, torch.ones_like(d))
    zi = z[types].unsqueeze(1)
    zj = z[types[j.clamp(0, n - 1)]]
    a_inv = (zi.pow(0.23) + zj.pow(0.23)) * 2.134563  # 1 / 0.46848 Å, rounded as GPUMD writes it
    phi = torch.zeros_like(r)
    dphi = torch.zeros_like(r)
    for c, b in _SCREENING:
        term = c * torch.exp(-b * a_inv * r)
        phi = phi + term
        dphi = dphi - b * a_inv * term
    width = outer - inner
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
