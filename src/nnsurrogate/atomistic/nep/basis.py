"""Geometric building blocks of the NEP descriptor: radial basis and angular harmonics.

Everything here depends on geometry only (no trainable parameter), so a trainer can evaluate it
once per structure and reuse it every epoch.

Radial functions (Fan et al., Phys. Rev. B 104, 104309 (2021), Eqs. 4–6; NEP4 as in GPUMD)::

    f_c(r) = ½ (1 + cos(π r / r_c))            for r < r_c, else 0
    x(r)   = 2 (r / r_c − 1)² − 1
    f_k(r) = ½ (T_k(x) + 1) f_c(r),             k = 0 … basis_size

with T_k the Chebyshev polynomials of the first kind.

Angular harmonics: the real, unnormalised solid-harmonic polynomials of the unit vector
û = (x, y, z) that GPUMD accumulates, ``Z_lm(z) · Re/Im[(x + i y)^m]`` for l = 1 … 4, in the order
``(l, m=0), (l, 1, re), (l, 1, im), …, (l, l, re), (l, l, im)``. ``Z_lm`` is the m-th derivative of
the Legendre polynomial P_l divided by a constant (listed in :data:`_Z_POLY`). With the weights
:func:`harmonic_weights`, ``Σ_m w_lm s_lm²`` equals ``Σ_m |Σ_j g_j Y_lm(û_j)|²`` for orthonormal
spherical harmonics, i.e. ``(2l+1)/(4π) Σ_jk g_j g_k P_l(cos θ_jk)``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from numpy.polynomial import legendre as npleg
from numpy.polynomial import polynomial as nppoly

#: Largest three-body order supported (GPUMD's NEP4 uses l ≤ 4 with the 4- and 5-body terms).
L_MAX = 4

#: Z_lm(z) as coefficients of 1, z, z², … (lowest first), one row per m = 0 … l.
_Z_POLY: dict[int, tuple[tuple[float, ...], ...]] = {
    1: ((0.0, 1.0), (1.0,)),
    2: ((-1.0, 0.0, 3.0), (0.0, 1.0), (1.0,)),
    3: ((0.0, -3.0, 0.0, 5.0), (-1.0, 0.0, 5.0), (0.0, 1.0), (1.0,)),
    4: ((3.0, 0.0, -30.0, 0.0, 35.0), (0.0, -3.0, 0.0, 7.0), (-1.0, 0.0, 7.0), (0.0, 1.0), (1.0,)),
}


def n_components(l_max: int) -> int:
    """Number of harmonic components for l = 1 … l_max: Σ (2l + 1) = (l_max + 1)² − 1."""
    return (l_max + 1) ** 2 - 1


def cutoff_function(r: torch.Tensor, rc: float) -> tuple[torch.Tensor, torch.Tensor]:
    """f_c(r) and its derivative df_c/dr (both 0 beyond r_c).

    Parameters
    ----------
    r : torch.Tensor, any shape, Å
    rc : float or torch.Tensor of *r*'s shape, Å

    Returns
    -------
    fc, dfc : torch.Tensor, same shape as *r* (1 and 1/Å)
    """
    inside = r < rc
    arg = math.pi * r / rc
    fc = torch.where(inside, 0.5 * torch.cos(arg) + 0.5, torch.zeros_like(r))
    dfc = torch.where(inside, -0.5 * math.pi / rc * torch.sin(arg), torch.zeros_like(r))
    return fc, dfc


def radial_basis(r: torch.Tensor, rc: float, basis_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Chebyshev radial basis f_k(r) = ½(T_k(x) + 1) f_c(r) and df_k/dr, k = 0 … basis_size.

    Parameters
    ----------
    r : torch.Tensor, shape (...), Å
    rc : float or torch.Tensor of *r*'s shape
        Cutoff radius, Å (a tensor: each distance its own, for type-wise cutoffs).
    basis_size : int
        Highest Chebyshev order (GPUMD's ``basis_size``).

    Returns
    -------
    f, df : torch.Tensor, shape (..., basis_size + 1), units 1 and 1/Å
    """
    fc, dfc = cutoff_function(r, rc)
    t = r / rc - 1.0
    x = 2.0 * t * t - 1.0
    dx = 4.0 * t / rc
    n = basis_size + 1
    T, dT = [torch.ones_like(x), x], [torch.zeros_like(x), torch.ones_like(x)]
    two_x = 2.0 * x
    for k in range(2, n):  # T_k = 2x T_{k-1} − T_{k-2}; T'_k = 2 T_{k-1} + 2x T'_{k-1} − T'_{k-2}
        T.append(two_x * T[k - 1] - T[k - 2])
        dT.append(2.0 * T[k - 1] + two_x * dT[k - 1] - dT[k - 2])
    T, dT = torch.stack(T[:n], -1), torch.stack(dT[:n], -1)  # contiguous, no strided column writes
    half = 0.5 * (T + 1.0)
    f = half * fc.unsqueeze(-1)
    df = dT.mul_((0.5 * dx * fc).unsqueeze(-1)).add_(half * dfc.unsqueeze(-1))
    return f, df


@lru_cache(maxsize=None)
def harmonic_weights(l_max: int) -> tuple[float, ...]:
    """Weights w_lm with Σ_m w_lm s_lm² = (2l+1)/(4π) Σ_jk g_j g_k P_l(cos θ_jk), in component order.

    For the component ``Z_lm(z)·Re/Im[(x+iy)^m]`` with ``Z_lm = (d^m P_l / dz^m) / k_lm``, the
    orthonormal real harmonic is √(2 − δ_m0) N_lm k_lm times it, N_lm² = (2l+1)/(4π)·(l−m)!/(l+m)!.
    """
    weights: list[float] = []
    for l in range(1, l_max + 1):
        p_l = npleg.leg2poly([0.0] * l + [1.0])
        for m in range(l + 1):
            derivative = nppoly.polyder(p_l, m) if m else p_l
            k = derivative[-1] / _Z_POLY[l][m][-1]
            n2 = (2 * l + 1) / (4.0 * math.pi) * math.factorial(l - m) / math.factorial(l + m)
            w = n2 * k * k * (1.0 if m == 0 else 2.0)
            weights.extend([w] if m == 0 else [w, w])
    return tuple(weights)


def _powers(u: torch.Tensor, l_max: int):
    """Re and Im of (x + i y)^m for m = 0 … l_max, and their x/y derivatives, for unit vectors u."""
    x, y = u[..., 0], u[..., 1]
    re, im = [torch.ones_like(x)], [torch.zeros_like(x)]
    for _ in range(l_max):
        re.append(re[-1] * x - im[-1] * y)
        im.append(re[-2] * y + im[-1] * x)
    return re, im


def _zpoly(coeffs: tuple[float, ...], z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    value = torch.full_like(z, coeffs[-1])
    deriv = torch.zeros_like(z)
    for c in reversed(coeffs[:-1]):  # Horner, value and derivative together
        deriv = deriv * z + value
        value = value * z + c
    return value, deriv


def angular_harmonics(u: torch.Tensor, l_max: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The harmonic polynomials of unit vectors and their gradients with respect to û.

    Parameters
    ----------
    u : torch.Tensor, shape (..., 3)
        Unit vectors.
    l_max : int
        1 ≤ l_max ≤ 4.

    Returns
    -------
    Y : torch.Tensor, shape (..., n_components(l_max))
    dY : torch.Tensor, shape (..., n_components(l_max), 3)
        ∂Y/∂û, the gradient of the polynomial (project with (I − ûûᵀ)/r for ∂/∂r).
    """
    z = u[..., 2]
    re, im = _powers(u, l_max)
    zero = torch.zeros_like(z)
    values: list[torch.Tensor] = []
    grads: list[torch.Tensor] = []  # (∂/∂x, ∂/∂y, ∂/∂z) of each component, flattened
    for l in range(1, l_max + 1):
        for m in range(l + 1):
            zp, dzp = _zpoly(_Z_POLY[l][m], z)
            # d Re[(x+iy)^m]/dx = m Re[(x+iy)^{m-1}], d/dy = −m Im[…]; d Im/dx = m Im[…], d/dy = m Re[…]
            values.append(zp * re[m])
            if not m:
                grads += [zero, zero, dzp * re[m]]
                continue
            values.append(zp * im[m])
            grads += [zp * (m * re[m - 1]), zp * (-m * im[m - 1]), dzp * re[m],
                      zp * (m * im[m - 1]), zp * (m * re[m - 1]), dzp * im[m]]
    Y = torch.stack(values, -1)  # built whole: no strided column writes
    dY = torch.stack(grads, -1).reshape(*z.shape, len(values), 3)
    return Y, dY


#: Four-body coefficients for the l = 2 components (s₀ … s₄ = Z₂₀, xz, yz, x²−y², 2xy sums): the
#: cubic invariant Σ (2 2 2; m₁ m₂ m₃) A_m₁ A_m₂ A_m₃ of Fan et al. (2022) written in this basis.
C4B = (-0.007499480826664, -0.134990654879954, 0.067495327439977, 0.404971964639861, -0.809943929279723)
#: Five-body coefficient: q = C5B (s_z² + s_x² + s_y²)² for the l = 1 sums, = (7/15)(Σ_m |A_1m|²)².
C5B = 7.0 / 15.0 * (3.0 / (4.0 * math.pi)) ** 2


def three_body(s: torch.Tensor, l_max: int) -> torch.Tensor:
    """q_nl = Σ_m w_lm s_nlm² for l = 1 … l_max.

    Parameters
    ----------
    s : torch.Tensor, shape (..., n_components(≥ l_max))
        Sums Σ_j g_n(r_ij) Y_lm(r̂_ij).

    Returns
    -------
    torch.Tensor, shape (..., l_max), ordered by l.
    """
    w = torch.tensor(harmonic_weights(l_max), dtype=s.dtype, device=s.device)
    weighted = s[..., : n_components(l_max)] ** 2 * w
    return torch.stack([weighted[..., l * l - 1 : (l + 1) ** 2 - 1].sum(-1) for l in range(1, l_max + 1)], dim=-1)


def four_body(s: torch.Tensor) -> torch.Tensor:
    """The l = 2 four-body invariant from the l = 2 components s[..., 3:8]."""
    a, b, c, d, e = (s[..., 3 + i] for i in range(5))
    k = C4B
    return k[0] * a ** 3 + k[1] * a * (b * b + c * c) + k[2] * a * (d * d + e * e) + k[3] * d * (c * c - b * b) \
        + k[4] * b * c * e


def five_body(s: torch.Tensor) -> torch.Tensor:
    """The l = 1 five-body invariant C5B (s₀² + s₁² + s₂²)²."""
    p = (s[..., 0:3] ** 2).sum(-1)
    return C5B * p * p


#: The higher-body angular descriptors of GPUMD's extended l_max line, in its order: each the coupled
#: product of three angular sums of degrees (l₁, l₂, l₃) (four-body: the centre and three neighbours).
HIGHER_BODY = ((1, 1, 2), (1, 2, 3), (2, 3, 3), (1, 3, 4))


def _complex_rows(l: int) -> np.ndarray:
    """(2l+1, 2l+1) complex matrix M with A_lm = Σ_a M[m + l, a] s_a over the 2l+1 real components of
    degree l: the sums over orthonormal complex harmonics (Condon–Shortley phase)."""
    rows = np.zeros((2 * l + 1, 2 * l + 1), dtype=np.complex128)
    p_l = npleg.leg2poly([0.0] * l + [1.0])
    offset = 0
    for m in range(l + 1):
        derivative = nppoly.polyder(p_l, m) if m else p_l
        k = derivative[-1] / _Z_POLY[l][m][-1]
        norm = math.sqrt((2 * l + 1) / (4.0 * math.pi) * math.factorial(l - m) / math.factorial(l + m))
        scale = (-1) ** m * k * norm  # Y_lm = N P_l^m e^{imφ} and P_l^m = (−1)^m sin^m θ d^m P_l / dz^m
        if m == 0:
            rows[l, offset] = scale
            continue
        rows[l + m, offset + 2 * m - 1], rows[l + m, offset + 2 * m] = scale, 1j * scale
        rows[l - m] = (-1) ** m * np.conj(rows[l + m])  # Y_{l,−m} = (−1)^m conj(Y_lm)
    return rows


@lru_cache(maxsize=None)
def coupling_tensor(l1: int, l2: int, l3: int) -> np.ndarray:
    """Real T (n_components(l_max), …) with Σ_abc T_abc s_a s_b s_c = Σ_m (l₁ l₂ l₃; m₁ m₂ m₃) A_l₁m₁ A_l₂m₂ A_l₃m₃,
    the rotation invariant of three sums coupled by the Wigner 3j symbol (real for l₁ + l₂ + l₃ even).
    With (2, 2, 2) it is the four-body term :func:`four_body` (tested), the form GPUMD's higher-body
    descriptors take."""
    from sympy.physics.wigner import wigner_3j

    size = n_components(max(l1, l2, l3))
    rows = [np.zeros((2 * l + 1, size), dtype=np.complex128) for l in (l1, l2, l3)]
    for r, l in zip(rows, (l1, l2, l3)):
        r[:, l * l - 1 : (l + 1) ** 2 - 1] = _complex_rows(l)
    tensor = np.zeros((size, size, size), dtype=np.complex128)
    for m1 in range(-l1, l1 + 1):
        for m2 in range(-l2, l2 + 1):
            m3 = -m1 - m2
            if abs(m3) <= l3:
                w = float(wigner_3j(l1, l2, l3, m1, m2, m3))
                if w:
                    tensor += w * np.einsum("a,b,c->abc", rows[0][m1 + l1], rows[1][m2 + l2], rows[2][m3 + l3])
    return np.ascontiguousarray(tensor.real)


def higher_body(s: torch.Tensor, ls: tuple[int, int, int]) -> torch.Tensor:
    """The coupled invariant of :func:`coupling_tensor` for the sums *s* (..., ≥ n_components(max ls))."""
    t = torch.as_tensor(coupling_tensor(*ls), dtype=s.dtype, device=s.device)
    part = s[..., : t.shape[0]]
    return torch.einsum("...a,...b,...c,abc->...", part, part, part, t)
