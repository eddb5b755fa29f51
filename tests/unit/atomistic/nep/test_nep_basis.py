"""The NEP building blocks against their mathematical definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import eval_legendre, sph_harm_y

from nnsurrogate.atomistic.nep import basis


def _unit_vectors(n, seed):
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_radial_basis_values_and_cutoff():
    r = torch.tensor([0.7, 2.5, 4.999, 5.0, 6.0], dtype=torch.float64)
    f, _ = basis.radial_basis(r, 5.0, 8)
    fc = 0.5 * (1 + np.cos(np.pi * r.numpy() / 5.0))
    x = 2 * (r.numpy() / 5.0 - 1) ** 2 - 1
    for k in range(9):  # f_k = ½(T_k(x) + 1) f_c with T_k(x) = cos(k arccos x)
        expected = 0.5 * (np.cos(k * np.arccos(x)) + 1) * fc
        expected[r.numpy() >= 5.0] = 0.0
        np.testing.assert_allclose(f[:, k].numpy(), expected, atol=1e-12)


def test_radial_basis_derivative_matches_finite_difference():
    r = torch.linspace(0.5, 4.9, 37, dtype=torch.float64)
    h = 1e-6
    _, df = basis.radial_basis(r, 5.0, 10)
    fp, _ = basis.radial_basis(r + h, 5.0, 10)
    fm, _ = basis.radial_basis(r - h, 5.0, 10)
    np.testing.assert_allclose(df.numpy(), ((fp - fm) / (2 * h)).numpy(), atol=1e-7)


def test_harmonic_gradient_matches_autograd():
    u = torch.tensor(_unit_vectors(20, 1), requires_grad=True)
    Y, dY = basis.angular_harmonics(u, 4)
    for c in (0, 5, 12, 23):
        (grad,) = torch.autograd.grad(Y[:, c].sum(), u, retain_graph=True)
        np.testing.assert_allclose(dY[:, c].detach().numpy(), grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("l_max", [1, 2, 3, 4])
def test_three_body_is_legendre_sum(l_max):
    """Σ_m w_lm s_lm² = (2l+1)/(4π) Σ_jk g_j g_k P_l(cos θ_jk) (Fan et al. 2021, Eq. 7)."""
    u = _unit_vectors(9, l_max)
    g = np.random.default_rng(7).uniform(0.1, 1.0, 9)
    Y, _ = basis.angular_harmonics(torch.tensor(u), l_max)
    s = (torch.tensor(g).unsqueeze(-1) * Y).sum(0)
    q = basis.three_body(s, l_max).numpy()
    cos = np.clip(u @ u.T, -1, 1)
    for l in range(1, l_max + 1):
        expected = (2 * l + 1) / (4 * math.pi) * np.sum(np.outer(g, g) * eval_legendre(l, cos))
        assert q[l - 1] == pytest.approx(expected, rel=1e-12)


def _complex_sums(u, g, l):
    theta, phi = np.arccos(u[:, 2]), np.arctan2(u[:, 1], u[:, 0])
    return {m: np.sum(g * sph_harm_y(l, m, theta, phi)) for m in range(-l, l + 1)}


def test_four_body_is_wigner_3j_coupling():
    """q⁴ = Σ (2 2 2; m₁ m₂ m₃) A_m₁ A_m₂ A_m₃ with A_m = Σ_j g_j Y_2m(û_j) (NEP4 four-body term)."""
    from sympy.physics.wigner import wigner_3j

    u, g = _unit_vectors(8, 3), np.random.default_rng(2).uniform(0.1, 1.0, 8)
    A = _complex_sums(u, g, 2)
    expected = sum(float(wigner_3j(2, 2, 2, m1, m2, -m1 - m2)) * A[m1] * A[m2] * A[-m1 - m2]
                   for m1 in range(-2, 3) for m2 in range(-2, 3) if abs(m1 + m2) <= 2)
    Y, _ = basis.angular_harmonics(torch.tensor(u), 2)
    s = (torch.tensor(g).unsqueeze(-1) * Y).sum(0)
    assert float(basis.four_body(s)) == pytest.approx(expected.real, rel=1e-10)


def test_five_body_is_square_of_l1_power():
    u, g = _unit_vectors(6, 4), np.random.default_rng(3).uniform(0.1, 1.0, 6)
    power = sum(abs(a) ** 2 for a in _complex_sums(u, g, 1).values())
    Y, _ = basis.angular_harmonics(torch.tensor(u), 1)
    s = (torch.tensor(g).unsqueeze(-1) * Y).sum(0)
    assert float(basis.five_body(s)) == pytest.approx(7.0 / 15.0 * power ** 2, rel=1e-12)


def test_coupled_invariant_of_three_l2_sums_is_the_four_body_term():
    """The Wigner-3j coupling behind GPUMD's higher-body descriptors reproduces its four-body term, and
    every coupled invariant is unchanged by a rotation of the neighbours."""
    from scipy.spatial.transform import Rotation

    from nnsurrogate.atomistic.nep.basis import HIGHER_BODY, angular_harmonics, four_body, higher_body

    gen = torch.Generator().manual_seed(0)
    u = torch.nn.functional.normalize(torch.randn(7, 3, generator=gen, dtype=torch.float64), dim=-1)
    g = torch.rand(7, generator=gen, dtype=torch.float64)
    rotation = torch.as_tensor(Rotation.from_euler("zyx", [0.3, -1.1, 2.0]).as_matrix())
    s = (g[:, None] * angular_harmonics(u, 4)[0]).sum(0)
    s_rot = (g[:, None] * angular_harmonics(u @ rotation.T, 4)[0]).sum(0)
    assert torch.allclose(higher_body(s, (2, 2, 2)), four_body(s), rtol=1e-12, atol=1e-14)
    for ls in HIGHER_BODY:
        value = higher_body(s, ls)
        assert abs(float(value)) > 1e-6
        assert torch.allclose(higher_body(s_rot, ls), value, rtol=1e-10, atol=1e-14), ls
