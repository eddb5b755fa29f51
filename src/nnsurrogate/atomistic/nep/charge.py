"""The charge term of GPUMD's charge-aware NEP (qNEP; ``nep4_charge1/2/3`` files).

Each element's network has a second output, the atom's charge q̃_i (e); the charges of a structure are
made neutral, q_i = q̃_i − mean(q̃), and their electrostatic energy (K = 14.399645 eV·Å) is added to
the site energies. With α = π / r_c^R (the largest radial cutoff), as GPUMD chooses it:

- mode 1, Ewald: the real-space sum ½ K Σ_ij q_i q_j erfc(α r)/r over the radial neighbours, the
  self term −K α/√π Σ q_i², and the reciprocal sum K Σ_k G(k) |S(k)|², S(k) = Σ_i q_i e^{−ik·r_i},
  G(k) = (4π/V) e^{−k²/4α²}/k², over half of the k-vectors with |k| < 2πα (the lattice sums of
  :func:`k_vectors`);
- mode 2: the reciprocal sum only;
- mode 3: the damped shifted-force real-space sum ½ K Σ_ij q_i q_j (erfc(α r)/r + A r + B), A and B
  chosen so that the pair term and its force vanish at r_c^R (no self term).

Forces follow the NEP_CPU that calorine's CPUNEP wraps, which this module matches to round-off: in
modes 1 and 2 they are the exact derivatives (through the charges and the explicit position
dependence of the sums); in mode 3 that code holds the neutralising mean charge fixed (its forces
then leave out −mean(∂E/∂q)·Σ_j ∂q̃_j/∂r), and so does this module.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.forces import frame_sum
from nnsurrogate.atomistic.nep.zbl import COULOMB_EV_A
from nnsurrogate.core.errors import UserInputError

__all__ = ["CHARGE_MODES", "coulomb_terms", "k_vectors", "neutral"]

#: 1 Ewald (real + reciprocal space), 2 reciprocal space only, 3 damped shifted force (real space).
CHARGE_MODES = (1, 2, 3)
_TWO_PI = 2.0 * math.pi


def neutral(charges: torch.Tensor, frame: torch.Tensor, n_frames: int, n_atoms: torch.Tensor,
            hold_mean: bool = False) -> torch.Tensor:
    """q_i = q̃_i − the mean of its frame's q̃; *hold_mean*: the mean is a constant for derivatives."""
    mean = frame_sum(charges, frame, n_frames) / n_atoms.to(charges.dtype)
    return charges - (mean.detach() if hold_mean else mean)[frame]


def k_vectors(cell: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The reciprocal vectors k (n, 3) 1/Å and weights G(k) (n,) Å⁻¹·… of GPUMD's Ewald sum.

    Half of the lattice (n₁ ≥ 0, the first non-zero index positive) with 0 < k² < (2πα)², n_i up to
    ⌊α 2π |b_j × b_k| / V_k⌋ as GPUMD counts them.
    """
    a1, a2, a3 = (np.asarray(v, dtype=np.float64) for v in cell)
    det = float(np.linalg.det(np.asarray(cell, dtype=np.float64)))
    scale = _TWO_PI / det
    b1, b2, b3 = np.cross(a2, a3) * scale, np.cross(a3, a1) * scale, np.cross(a1, a2) * scale
    volume_k = _TWO_PI ** 3 / abs(det)
    n_max = [int(alpha * _TWO_PI * np.linalg.norm(np.cross(u, v)) / volume_k) for u, v in ((b2, b3), (b3, b1), (b1, b2))]
    n1, n2, n3 = np.meshgrid(np.arange(0, n_max[0] + 1), np.arange(-n_max[1], n_max[1] + 1),
                             np.arange(-n_max[2], n_max[2] + 1), indexing="ij")
    n1, n2, n3 = n1.ravel(), n2.ravel(), n3.ravel()
    keep = ~((n1 == 0) & (n2 < 0)) & ~((n1 == 0) & (n2 == 0) & (n3 <= 0))
    k = n1[keep, None] * b1 + n2[keep, None] * b2 + n3[keep, None] * b3
    ksq = (k * k).sum(1)
    inside = ksq < _TWO_PI ** 2 * alpha ** 2
    k, ksq = k[inside], ksq[inside]
    weight = 2.0 * abs(scale) / ksq * np.exp(-ksq * 0.25 / alpha ** 2)
    return k, weight


def _dsf_constants(alpha: float, rc: float) -> tuple[float, float]:
    """A and B of the damped shifted-force pair term (GPUMD's choice with α r_c = π)."""
    two_alpha_over_sqrt_pi = 2.0 * alpha / math.sqrt(math.pi)
    a = math.erfc(math.pi) / (rc * rc) + two_alpha_over_sqrt_pi * math.exp(-math.pi * math.pi) / rc
    return a, -math.erfc(math.pi) / rc - a * rc


def coulomb_terms(batch: dict[str, torch.Tensor], q: torch.Tensor, mode: int, rc: float,
                  r_vec: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-atom electrostatic energies (A,) eV and the reciprocal-space virial per frame (F, 3, 3) eV.

    Parameters
    ----------
    batch : dict
        A collated batch (``r_j`` radial slots, ``frame``, ``n_atoms``, ``frame_cell``).
    q : torch.Tensor, shape (A,)
        Neutral charges, e.
    mode : int
        One of :data:`CHARGE_MODES`.
    rc : float
        The largest radial cutoff, Å (α = π / rc).
    r_vec, positions : torch.Tensor
        The radial slots' pair vectors (A, M_R, 3) and the positions (A, 3), Å — leaves the caller
        differentiates the energy with respect to (the real-space and reciprocal forces).
    """
    alpha = math.pi / rc
    n, n_frames = q.shape[0], int(batch[keys.N_ATOMS].shape[0])
    energy = q.new_zeros(n)
    virial = q.new_zeros(n_frames, 3, 3)
    if mode in (1, 3):
        j = batch[keys.R_J]
        filled = (j >= 0) & (j < n)
        d = torch.linalg.vector_norm(r_vec, dim=-1)
        d = torch.where(filled, d, torch.ones_like(d))
        pair = torch.special.erfc(alpha * d) / d
        if mode == 3:
            a, b = _dsf_constants(alpha, rc)
            pair = pair + a * d + b
        qj = torch.where(filled, q[j.clamp(0, n - 1)], torch.zeros_like(d))
        energy = energy + 0.5 * COULOMB_EV_A * q * (qj * pair).sum(1)
        if mode == 1:
            energy = energy - COULOMB_EV_A * alpha / math.sqrt(math.pi) * q * q
    if mode in (1, 2):
        recip, virial = _reciprocal(batch, q, positions, alpha)
        energy = energy + recip
    return energy, virial


def _reciprocal(batch, q: torch.Tensor, positions: torch.Tensor, alpha: float):
    """Per-atom reciprocal-space energies K q_i Σ_k G Re(S(k) e^{ik·r_i}) and each frame's virial."""
    cells = batch.get(keys.FRAME_CELL)
    if cells is None:
        raise UserInputError("a charge-aware NEP's Ewald sum needs a periodic cell", "structure")
    frame = batch[keys.FRAME]
    energies, virials = [], []
    for f in range(cells.shape[0]):
        rows = frame == f
        cell = cells[f].detach().double().cpu().numpy()
        if abs(np.linalg.det(cell)) < 1e-9:
            raise UserInputError("a charge-aware NEP's Ewald sum needs a periodic cell", "structure")
        k, weight = k_vectors(cell, alpha)
        k = torch.as_tensor(k, dtype=q.dtype, device=q.device)
        weight = torch.as_tensor(weight, dtype=q.dtype, device=q.device)
        phase = positions[rows] @ k.T  # (n_f, n_k)
        cos, sin = torch.cos(phase), torch.sin(phase)
        s_re, s_im = q[rows] @ cos, -(q[rows] @ sin)  # S(k) = Σ q e^{−ik·r}
        energies.append(COULOMB_EV_A * q[rows] * ((cos * s_re - sin * s_im) * weight).sum(1))
        strength = COULOMB_EV_A * weight * (s_re * s_re + s_im * s_im)  # per k: K G |S|²
        ksq = (k * k).sum(1)
        factor = 2.0 * 0.25 / alpha ** 2 + 2.0 / ksq
        eye = torch.eye(3, dtype=q.dtype, device=q.device)
        virials.append((strength[:, None, None] * (eye - factor[:, None, None] * k[:, :, None] * k[:, None, :])).sum(0))
    return torch.cat(energies), torch.stack(virials)  # a batch holds each frame's atoms together, in order
