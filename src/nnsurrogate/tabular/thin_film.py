"""In-plane lattice thermal conductivity of a silicon thin film, κ(d, η, T).

This module is the physics behind the tabular demo data set: a Callaway–Holland
relaxation-time model of bulk silicon, reduced for a film of thickness ``d`` by
Fuchs–Sondheimer boundary scattering with a Ziman specularity that depends on
the rms boundary roughness ``η``.

Model
-----
*Bulk* (Callaway 1959; Holland, Phys. Rev. 132, 2461 (1963)), relaxation-time
approximation, three acoustic branches (LA + 2 TA)::

    κ = (1/3) Σ_b ∫ C(ω) v_g(ω)² τ(ω) D_b(ω) dω,   D_b(ω) = k²/(2π² v_g)

with the quadratic fits ω = v_s k + c k² to the measured [100] dispersion of Si
of Pop, Dutton & Goodson, J. Appl. Phys. 96, 4998 (2004):
LA v_s = 9.01e5 cm/s, c = -2.00e-3 cm²/s; TA v_s = 5.23e5 cm/s,
c = -2.26e-3 cm²/s; 0 ≤ k ≤ 2π/a, a = 0.5431 nm.  The group velocity is
v_g = v_s + 2ck and C(ω) is the Bose–Einstein heat capacity of one mode.
The ω integral is evaluated in the variable k (ω = ω(k), dω = v_g dk, so
D_b dω = k² dk / (2π²)); this is the same integral, written so that the van
Hove singularity of D_TA at the zone edge (v_g → 0) drops out.

Scattering by Matthiessen's rule, τ⁻¹ = τ_U⁻¹ + τ_I⁻¹ + τ_B⁻¹:

* Umklapp, τ_U⁻¹ = B ω² T exp(-C/T), the form used by Mingo,
  Phys. Rev. B 68, 113308 (2003), with B and C shared by LA and TA;
* isotopes/impurities, τ_I⁻¹ = A ω⁴, A = 1.32e-45 s³ (Holland 1963);
* boundary of the bulk sample, τ_B⁻¹ = v_g / L, L = 7.16 mm (Holland's
  Casimir length for the Glassbrenner–Slack samples).

B and C were fitted once, offline, by least squares in log κ to the
Glassbrenner & Slack, Phys. Rev. 134, A1058 (1964) data at 100–1000 K (50 K
left out), with L = 7.16 mm and a 200-point k quadrature:
B = 1.55e-19 s/K, C = 170.3 K (Mingo's own fit with full dispersion was
B = 1.73e-19 s/K, C = 137.4 K).  Model / measurement with these constants:

====  =======  =====  =====  =====  =====  =====  =====
T/K   50       100    200    300    400    500    1000
====  =======  =====  =====  =====  =====  =====  =====
ratio 1.70     1.00   1.04   0.97   0.97   0.95   1.07
====  =======  =====  =====  =====  =====  =====  =====

The 50 K point is informational: one ω²T e^(-C/T) Umklapp law fitted to
100–1000 K scatters too weakly near the conductivity peak (≈ 25 K), so the
model overshoots there.

*Film* (Fuchs, Proc. Camb. Phil. Soc. 34, 100 (1938); Sondheimer, Adv. Phys.
1, 1 (1952)): each mode's in-plane mean free path Λ = v_g τ_int, with
τ_int⁻¹ = τ_U⁻¹ + τ_I⁻¹, is multiplied by the Fuchs–Sondheimer factor
S(d/Λ, p) inside the spectral integral.  The film surfaces replace the
Casimir term of the bulk sample (no double counting).  The specularity is
Ziman's p = exp(-16π²η²/λ²) with λ = 2π/k (Ziman, Electrons and Phonons,
1960), i.e. p = exp(-4η²k²).

What "bulk" means in the limits: ``kappa_film`` tends to the *intrinsic* bulk
conductivity ``kappa_bulk(T, sample_length_m=None)`` (no boundary at all).
For η = 0 (p = 1) the two are equal to rounding; for d → ∞ they agree within
a fraction of a percent.  ``kappa_bulk(T)`` with its default 7.16 mm sample is
the quantity compared with Glassbrenner–Slack; it is 0.3 % (1000 K) to
3.4 % (100 K) below the intrinsic value.

Sanity check: a 20-nm film with η = 0.5 nm at 300 K gives 25.7 W/(m·K), close
to the ≈ 22 W/(m·K) measured on 20-nm Si layers by Liu & Asheghi, Appl. Phys.
Lett. 84, 3819 (2004).  With η = 0 a film of any thickness is fully specular
and keeps the intrinsic bulk value: that is a property of Ziman's p, not a bug.

All conductivities are in W/(m·K).
"""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd
from scipy.stats import qmc

__all__ = [
    "COLUMNS",
    "GLASSBRENNER_SLACK_1964",
    "fuchs_sondheimer_factor",
    "kappa_bulk",
    "kappa_film",
    "sample_thin_film",
    "ziman_specularity",
]

#: Measured thermal conductivity of bulk natural Si, W/(m·K), keyed by T in K.
#: Glassbrenner & Slack, Phys. Rev. 134, A1058 (1964).
GLASSBRENNER_SLACK_1964 = {
    50.0: 2600.0,
    100.0: 950.0,
    200.0: 266.0,
    300.0: 156.0,
    400.0: 105.0,
    500.0: 80.0,
    1000.0: 31.0,
}

#: Column order of the table returned by :func:`sample_thin_film`.
COLUMNS = ("thickness_nm", "roughness_nm", "temperature_K", "kappa_W_mK")

HBAR_J_S = 1.054571817e-34
KB_J_K = 1.380649e-23
LATTICE_CONSTANT_M = 0.5431e-9
#: (v_s in m/s, c in m²/s, degeneracy) of LA and TA; Pop et al. (2004).
BRANCHES = ((9.01e3, -2.00e-7, 1), (5.23e3, -2.26e-7, 2))
#: Isotope/impurity constant A of τ_I⁻¹ = A ω⁴, s³; Holland (1963).
IMPURITY_A_S3 = 1.32e-45
#: Umklapp constants of τ_U⁻¹ = B ω² T exp(-C/T), fitted to Glassbrenner–Slack.
UMKLAPP_B_S_PER_K = 1.55e-19
UMKLAPP_C_K = 170.3
#: Casimir length of the bulk samples, m; Holland (1963).
BULK_SAMPLE_LENGTH_M = 7.16e-3

_N_K = 128  # Gauss–Legendre nodes in k per branch
_N_U = 40  # Gauss–Legendre nodes in ln u for the Fuchs–Sondheimer integral
_U_MIN = 1.0e-10  # lower end of the u = 1/t range; the cut-off part is < 1.5e-10
_CHUNK = 128  # samples per vectorised block in kappa_film


def _spectral_grid():
    """Quadrature nodes of the Brillouin-zone integral, all branches stacked.

    Returns
    -------
    k : ndarray, shape (M,)
        Wave numbers, 1/m (M = 2 * ``_N_K``).
    omega : ndarray, shape (M,)
        Angular frequencies ω = v_s k + c k², rad/s.
    v_g : ndarray, shape (M,)
        Group velocities dω/dk = v_s + 2ck, m/s.
    weight : ndarray, shape (M,)
        g_b k² Δk / (6π²): degeneracy × density of states × quadrature
        weight × the 1/3 of κ = (1/3) Σ ∫ C v² τ D dω, 1/m³.
    """
    x, w = np.polynomial.legendre.leggauss(_N_K)
    k_max = 2.0 * np.pi / LATTICE_CONSTANT_M
    k_nodes = 0.5 * k_max * (x + 1.0)
    dk = 0.5 * k_max * w
    parts = []
    for v_s, c, degeneracy in BRANCHES:
        omega = v_s * k_nodes + c * k_nodes**2
        v_g = v_s + 2.0 * c * k_nodes
        weight = degeneracy * dk * k_nodes**2 / (2.0 * np.pi**2) / 3.0
        parts.append((k_nodes, omega, v_g, weight))
    return tuple(np.concatenate(column) for column in zip(*parts))


def _mode_properties(omega, temperature_K):
    """Heat capacity and intrinsic scattering rate of each phonon mode at each temperature.

    The Bose–Einstein heat capacity k_B x² eˣ/(eˣ-1)² with x = ħω/(k_B T), and the
    Umklapp plus isotope rate τ⁻¹ = B ω² T exp(-C/T) + A ω⁴ (Holland 1963; Mingo 2003;
    B, C and A as in the module docstring).

    Parameters
    ----------
    omega : ndarray, shape (M,)
        Angular frequency, rad/s.
    temperature_K : ndarray, shape (n, 1)
        Temperature, K.

    Returns
    -------
    heat_capacity : ndarray, shape (n, M)
        Heat capacity per mode, J/K.
    rate : ndarray, shape (n, M)
        Intrinsic scattering rate, 1/s.
    """
    x = HBAR_J_S * omega / (KB_J_K * temperature_K)
    heat_capacity = KB_J_K * x**2 * np.exp(-x) / np.expm1(-x) ** 2
    umklapp = UMKLAPP_B_S_PER_K * omega**2 * temperature_K * np.exp(-UMKLAPP_C_K / temperature_K)
    return heat_capacity, umklapp + IMPURITY_A_S3 * omega**4


def _as_float_array(values, name, minimum, strict):
    """Convert to a float array; raise ValueError unless finite and above a bound.

    Parameters
    ----------
    values : array_like, any shape
        Values in the unit of the caller's argument.
    name : str
        Argument name used in the error message.
    minimum : float
        Lower bound, same unit as ``values``.
    strict : bool
        ``True`` requires values > minimum, ``False`` values >= minimum.

    Returns
    -------
    ndarray, shape of ``values``
        The values as float64.
    """
    array = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    bad = array <= minimum if strict else array < minimum
    if np.any(bad):
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be {relation} {minimum:g}, got {array[bad].flat[0]:g}")
    return array


def kappa_bulk(temperature_K, sample_length_m=BULK_SAMPLE_LENGTH_M):
    """Lattice thermal conductivity of bulk natural silicon (Callaway–Holland).

    Implements κ = (1/3) Σ_b ∫ C v_g² τ D_b dω with
    τ⁻¹ = B ω² T e^(-C/T) + A ω⁴ + v_g/L (see the module docstring).

    Parameters
    ----------
    temperature_K : float or array_like, any shape
        Temperature, K; must be positive and finite.
    sample_length_m : float or None, optional
        Casimir length L of the sample, m.  The default, 7.16 mm, is the
        Glassbrenner–Slack sample; ``None`` drops boundary scattering and gives
        the intrinsic conductivity that :func:`kappa_film` tends to.

    Returns
    -------
    ndarray, same shape as ``temperature_K``
        Thermal conductivity, W/(m·K).
    """
    temperature = _as_float_array(temperature_K, "temperature_K", 0.0, strict=True)
    if sample_length_m is not None and not sample_length_m > 0:
        raise ValueError(f"sample_length_m must be > 0 or None, got {sample_length_m!r}")
    _, omega, v_g, weight = _spectral_grid()
    t_col = temperature.reshape(-1, 1)
    heat_capacity, rate = _mode_properties(omega, t_col)
    if sample_length_m is not None:
        rate = rate + v_g / sample_length_m
    spectral = weight * heat_capacity * v_g**2 / rate
    return spectral.sum(axis=1).reshape(temperature.shape)


def ziman_specularity(wavelength_m, roughness_m):
    """Ziman's specularity p(λ) = exp(-16π²η²/λ²) (Ziman, 1960).

    Parameters
    ----------
    wavelength_m : array_like, any shape
        Phonon wavelength λ = 2π/k, m.
    roughness_m : array_like, broadcastable with ``wavelength_m``
        rms boundary roughness η, m.

    Returns
    -------
    ndarray, broadcast shape
        Probability of specular reflection, in [0, 1]; exactly 1 for η = 0.
    """
    ratio = np.asarray(roughness_m, dtype=float) / np.asarray(wavelength_m, dtype=float)
    return np.exp(-16.0 * np.pi**2 * ratio**2)


def _fs_nodes():
    """Nodes u and weights of ∫_0^1 du on a log-spaced Gauss–Legendre grid.

    Returns
    -------
    u : ndarray, shape (_N_U,)
        Nodes in (_U_MIN, 1).
    weight : ndarray, shape (_N_U,)
        Weights including the Jacobian du = u d(ln u).
    """
    x, w = np.polynomial.legendre.leggauss(_N_U)
    log_min = np.log(_U_MIN)
    s = 0.5 * log_min * (1.0 - x)
    u = np.exp(s)
    return u, 0.5 * (-log_min) * w * u


def fuchs_sondheimer_factor(delta, specularity):
    """Fuchs–Sondheimer in-plane reduction S of a mean free path (Fuchs 1938).

    Evaluates, with δ = d/Λ and p the specularity,
    S = 1 - (3(1-p)/(2δ)) ∫_1^∞ (t⁻³ - t⁻⁵)(1 - e^(-δt))/(1 - p e^(-δt)) dt
    after the substitution u = 1/t, which gives
    S = 1 - (3/2) ∫_0^1 (1 - u²) φ(δ/u, p) du with
    φ(x, p) = (1-p)(1-e^(-x)) / (x [(1-p) + p(1-e^(-x))]) ∈ [0, 1],
    integrated by Gauss–Legendre in ln u on [1e-10, 1].  φ decreases in x and
    in p, so the discrete S is monotone in δ and p like the exact one.
    Limits: S = 1 for p = 1; S → 1 - 3(1-p)/(8δ) for δ → ∞;
    S → (3δ/4)(ln(1/δ) + 0.4228) for δ → 0 at p = 0 (Sondheimer 1952).

    Parameters
    ----------
    delta : array_like, any shape
        Film thickness over bulk mean free path, d/Λ, > 0 (may be inf).
    specularity : array_like, broadcastable with ``delta``
        Specularity p in [0, 1].

    Returns
    -------
    ndarray, broadcast shape
        Reduction factor S in [0, 1], dimensionless.
    """
    delta = np.asarray(delta, dtype=float)[..., None]
    p = np.asarray(specularity, dtype=float)[..., None]
    u, weight = _fs_nodes()
    x = delta / u
    one_minus_e = -np.expm1(-x)
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = (1.0 - p) * one_minus_e / (x * ((1.0 - p) + p * one_minus_e))
    phi = np.where(p >= 1.0, 0.0, phi)
    phi = np.where(np.isinf(x), 0.0, phi)
    return 1.0 - 1.5 * np.sum(weight * (1.0 - u**2) * phi, axis=-1)


def _kappa_film_block(thickness_m, roughness_m, temperature_K, grid):
    """In-plane κ of a block of films, κ = Σ_modes w C v_g Λ S(d/Λ, p).

    Parameters
    ----------
    thickness_m : ndarray, shape (n, 1)
        Film thickness d, m.
    roughness_m : ndarray, shape (n, 1)
        rms roughness η, m.
    temperature_K : ndarray, shape (n, 1)
        Temperature, K.
    grid : tuple of ndarray, each shape (M,)
        ``(k, omega, v_g, weight)`` from :func:`_spectral_grid`.

    Returns
    -------
    ndarray, shape (n,)
        Thermal conductivity, W/(m·K).
    """
    k, omega, v_g, weight = grid
    heat_capacity, rate = _mode_properties(omega, temperature_K)
    mean_free_path = v_g / rate
    spectral = weight * heat_capacity * v_g * mean_free_path
    specularity = ziman_specularity(2.0 * np.pi / k, roughness_m)
    suppression = fuchs_sondheimer_factor(thickness_m / mean_free_path, specularity)
    return np.sum(spectral * suppression, axis=1)


def kappa_film(thickness_nm, roughness_nm, temperature_K):
    """In-plane lattice thermal conductivity of a Si film (Fuchs–Sondheimer).

    Implements κ = (1/3) Σ_b ∫ C v_g Λ S(d/Λ, p(λ, η)) D_b dω with
    Λ = v_g / (B ω² T e^(-C/T) + A ω⁴) and Ziman's p (module docstring).

    Parameters
    ----------
    thickness_nm : float or array_like
        Film thickness d, nm; > 0 and finite.
    roughness_nm : float or array_like
        rms surface roughness η, nm; >= 0 and finite.
    temperature_K : float or array_like
        Temperature, K; > 0 and finite.

    Returns
    -------
    ndarray, the NumPy broadcast shape of the three arguments
        Thermal conductivity, W/(m·K).
    """
    d = _as_float_array(thickness_nm, "thickness_nm", 0.0, strict=True)
    eta = _as_float_array(roughness_nm, "roughness_nm", 0.0, strict=False)
    t = _as_float_array(temperature_K, "temperature_K", 0.0, strict=True)
    d, eta, t = np.broadcast_arrays(d, eta, t)
    shape = d.shape
    d, eta, t = (a.reshape(-1, 1) for a in (d * 1e-9, eta * 1e-9, t))
    grid = _spectral_grid()
    out = np.empty(d.shape[0])
    for start in range(0, d.shape[0], _CHUNK):
        block = slice(start, start + _CHUNK)
        out[block] = _kappa_film_block(d[block], eta[block], t[block], grid)
    return out.reshape(shape)


def _check_range(value, name, positive):
    """Validate a (low, high) sampling range; raise ValueError if it is bad.

    Parameters
    ----------
    value : sequence of two floats
        The range, in the caller's unit.
    name : str
        Argument name used in the error message.
    positive : bool
        ``True`` requires low > 0, ``False`` low >= 0.

    Returns
    -------
    (float, float)
        ``(low, high)`` with low <= high.
    """
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of numbers (low, high), got {value!r}") from None
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low > high:
        raise ValueError(f"{name} is reversed: low {low:g} > high {high:g}")
    if positive and low <= 0:
        raise ValueError(f"{name} must be positive, got low {low:g}")
    if not positive and low < 0:
        raise ValueError(f"{name} must be non-negative, got low {low:g}")
    return low, high


def sample_thin_film(
    n,
    seed=None,
    thickness_range_nm=(10.0, 1.0e4),
    roughness_range_nm=(0.0, 2.0),
    temperature_range_K=(100.0, 800.0),
):
    """Draw films by Latin hypercube and compute their conductivity.

    Thickness is log-uniform on its range; roughness and temperature are
    uniform.  The design is ``scipy.stats.qmc.LatinHypercube(d=3, seed=seed)``,
    so a given seed always gives the same table.

    Parameters
    ----------
    n : int
        Number of films, >= 1.
    seed : int, numpy.random.Generator or None, optional
        Seed of the Latin hypercube; ``None`` draws fresh entropy.
    thickness_range_nm : (float, float), optional
        Thickness range d, nm, 0 < low <= high.
    roughness_range_nm : (float, float), optional
        rms roughness range η, nm, 0 <= low <= high.
    temperature_range_K : (float, float), optional
        Temperature range T, K, 0 < low <= high.

    Returns
    -------
    pandas.DataFrame, shape (n, 4)
        Columns :data:`COLUMNS`: ``thickness_nm``, ``roughness_nm``,
        ``temperature_K`` and ``kappa_W_mK`` (W/(m·K), from :func:`kappa_film`).
    """
    if isinstance(n, bool):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise ValueError(f"n must be an integer >= 1, got {n!r}") from None
    if n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n}")
    d_lo, d_hi = _check_range(thickness_range_nm, "thickness_range_nm", positive=True)
    r_lo, r_hi = _check_range(roughness_range_nm, "roughness_range_nm", positive=False)
    t_lo, t_hi = _check_range(temperature_range_K, "temperature_range_K", positive=True)
    unit = qmc.LatinHypercube(d=3, seed=seed).random(n)
    log_d = np.log10(d_lo) + unit[:, 0] * (np.log10(d_hi) - np.log10(d_lo))
    thickness = np.clip(10.0**log_d, d_lo, d_hi)
    roughness = r_lo + unit[:, 1] * (r_hi - r_lo)
    temperature = t_lo + unit[:, 2] * (t_hi - t_lo)
    kappa = kappa_film(thickness, roughness, temperature)
    return pd.DataFrame(dict(zip(COLUMNS, (thickness, roughness, temperature, kappa))))
