"""Pair potentials of the 2D gas: Lennard-Jones and Coulomb, energies and radial forces.

Units: lengths in Å, energies in eV, forces in eV/Å. With the defaults (ε = 1 eV, σ = 1 Å for
Lennard-Jones; k·q² = 1 eV·Å for Coulomb) every number is in the reduced units of the potential
(ε, σ, ε/σ), which is how Zharikov, Zavyalov & Sivashova (2022) state their model system.

Both classes give the pair energy U(r) and the radial force f(r) = −dU/dr (positive = repulsive);
the force on particle *i* from particle *j* is f(r_ij) · (r_i − r_j) / r_ij.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnsurrogate.core.errors import UserInputError

__all__ = ["Coulomb", "LennardJones", "PairPotential", "make_potential", "potential_from_params"]


@dataclass(frozen=True)
class LennardJones:
    """U(r) = 4ε[(σ/r)¹² − (σ/r)⁶] (Lennard-Jones 1924), no cutoff: the window limits the range.

    Parameters
    ----------
    epsilon : float
        Well depth ε, eV.
    sigma : float
        Zero-crossing distance σ, Å.
    """

    epsilon: float = 1.0
    sigma: float = 1.0
    name = "lj"

    def __post_init__(self) -> None:
        _check_positive("epsilon", self.epsilon)
        _check_positive("sigma", self.sigma)

    @property
    def length_scale(self) -> float:
        """σ, Å: the length that makes positions reduced."""
        return float(self.sigma)

    def energy(self, r: np.ndarray) -> np.ndarray:
        """Pair energy U(r), eV, for distances *r* (any shape), Å."""
        s6 = (self.sigma / np.asarray(r, dtype=np.float64)) ** 6
        return 4.0 * self.epsilon * (s6 * s6 - s6)

    def force(self, r: np.ndarray) -> np.ndarray:
        """Radial force f(r) = −dU/dr = (24ε/r)[2(σ/r)¹² − (σ/r)⁶], eV/Å, positive = repulsive."""
        r = np.asarray(r, dtype=np.float64)
        s6 = (self.sigma / r) ** 6
        return 24.0 * self.epsilon * (2.0 * s6 * s6 - s6) / r

    def params(self) -> dict:
        return {"potential": self.name, "epsilon_eV": self.epsilon, "sigma_A": self.sigma}


@dataclass(frozen=True)
class Coulomb:
    """U(r) = k q² / r between identical charges (repulsive), no screening: the window limits the range.

    Parameters
    ----------
    kqq : float
        Coupling k·q², eV·Å (14.3996 eV·Å for two elementary charges in vacuum; 1 in reduced units).
    """

    kqq: float = 1.0
    name = "coulomb"

    def __post_init__(self) -> None:
        _check_positive("kqq", self.kqq)

    @property
    def length_scale(self) -> float:
        """Coulomb has no intrinsic length; positions are taken in Å."""
        return 1.0

    def energy(self, r: np.ndarray) -> np.ndarray:
        """Pair energy U(r) = k q² / r, eV, for distances *r* (any shape), Å."""
        return self.kqq / np.asarray(r, dtype=np.float64)

    def force(self, r: np.ndarray) -> np.ndarray:
        """Radial force f(r) = −dU/dr = k q² / r², eV/Å, positive = repulsive."""
        r = np.asarray(r, dtype=np.float64)
        return self.kqq / (r * r)

    def params(self) -> dict:
        return {"potential": self.name, "kqq_eVA": self.kqq}


PairPotential = LennardJones | Coulomb


def make_potential(name: str, strength: float | None = None, sigma: float | None = None) -> PairPotential:
    """Build a potential from its name (``"lj"`` or ``"coulomb"``).

    Parameters
    ----------
    name : str
        ``"lj"`` (Lennard-Jones) or ``"coulomb"``.
    strength : float, optional
        ε in eV for Lennard-Jones, k·q² in eV·Å for Coulomb (default 1).
    sigma : float, optional
        σ in Å for Lennard-Jones (default 1); not allowed for Coulomb.
    """
    key = str(name).strip().lower()
    if key in ("lj", "lennard-jones", "lennard_jones"):
        return LennardJones(1.0 if strength is None else float(strength), 1.0 if sigma is None else float(sigma))
    if key == "coulomb":
        if sigma is not None:
            raise UserInputError("sigma applies to Lennard-Jones only", "sigma")
        return Coulomb(1.0 if strength is None else float(strength))
    raise UserInputError(f"unknown potential '{name}'; choose lj or coulomb", "potential")


def potential_from_params(params: dict) -> PairPotential:
    """Rebuild a potential from :meth:`params` (as stored in data and model headers)."""
    kind = params.get("potential")
    if kind == LennardJones.name:
        return LennardJones(float(params["epsilon_eV"]), float(params["sigma_A"]))
    if kind == Coulomb.name:
        return Coulomb(float(params["kqq_eVA"]))
    raise UserInputError(f"unknown potential '{kind}' in the stored parameters", "potential")


def _check_positive(name: str, value: float) -> None:
    if not np.isfinite(value) or value <= 0:
        raise UserInputError(f"{name} must be a positive number, got {value}", name)
