"""The one registry of atomistic data fields: name, shape, unit and meaning (as nequip's ``AtomicDataDict``).

Every module that reads, writes or predicts per-frame or per-atom quantities uses these names, so a
field means the same thing everywhere (training data, model output, the ASE calculator's results,
extended-XYZ files). Units are ASE's: eV, Å, eV/Å, eV/Å³; stress is in Voigt order
(xx, yy, zz, yz, xz, xy) with ASE's sign convention (positive = tensile), virial W = −V·σ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One data field: ``shape`` uses ``n_atoms`` / ``n_frames`` symbolically; ``per`` is frame or atom."""

    name: str
    shape: str
    unit: str
    per: str
    doc: str


POSITIONS = "positions"          # (n_atoms, 3)   | Å       | Cartesian positions
NUMBERS = "numbers"              # (n_atoms,)     | 1       | atomic numbers
CELL = "cell"                    # (3, 3)         | Å       | lattice vectors as rows
PBC = "pbc"                      # (3,)           | bool    | periodic along each lattice vector
ENERGY = "energy"                # ()             | eV      | total potential energy
ENERGIES = "energies"            # (n_atoms,)     | eV      | per-atom (site) energies, Σ = energy
FORCES = "forces"                # (n_atoms, 3)   | eV/Å    | forces, −∂E/∂r
STRESS = "stress"                # (6,)           | eV/Å³   | Voigt stress σ = (1/V) ∂E/∂ε
VIRIAL = "virial"                # (3, 3)         | eV      | virial W = −V σ (GPUMD / extxyz "virial")
ENERGY_STD = "energy_std"        # ()             | eV      | committee standard deviation of the energy
FORCES_STD = "forces_std"        # (n_atoms,)     | eV/Å    | committee std of each atom's force (RMS over x, y, z)
CONFIG_TYPE = "config_type"      # ()             | text    | label of the frame's origin (AIMD-NVT, Vacancy, …)

FIELDS: dict[str, Field] = {f.name: f for f in (
    Field(POSITIONS, "(n_atoms, 3)", "Å", "atom", "Cartesian positions"),
    Field(NUMBERS, "(n_atoms,)", "1", "atom", "atomic numbers"),
    Field(CELL, "(3, 3)", "Å", "frame", "lattice vectors as rows"),
    Field(PBC, "(3,)", "bool", "frame", "periodic boundary along each lattice vector"),
    Field(ENERGY, "()", "eV", "frame", "total potential energy"),
    Field(ENERGIES, "(n_atoms,)", "eV", "atom", "per-atom site energies; their sum is the energy"),
    Field(FORCES, "(n_atoms, 3)", "eV/Å", "atom", "forces −∂E/∂r"),
    Field(STRESS, "(6,)", "eV/Å³", "frame", "Voigt stress (xx, yy, zz, yz, xz, xy), σ = (1/V) ∂E/∂ε"),
    Field(VIRIAL, "(3, 3)", "eV", "frame", "virial W = −V σ"),
    Field(ENERGY_STD, "()", "eV", "frame", "committee standard deviation of the energy"),
    Field(FORCES_STD, "(n_atoms,)", "eV/Å", "atom", "committee std of each atom's force, RMS over components"),
    Field(CONFIG_TYPE, "()", "text", "frame", "origin of the frame (AIMD-NVT, Vacancy, Elastic, Surface, …)"),
)}


def describe(name: str) -> str:
    """``"forces: (n_atoms, 3) | eV/Å | forces −∂E/∂r"`` for a registered field; ``KeyError`` otherwise."""
    f = FIELDS[name]
    return f"{f.name}: {f.shape} | {f.unit} | {f.doc}"
