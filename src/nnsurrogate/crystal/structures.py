"""A plain, code-free representation of one crystal, and conversions from pymatgen and ASE objects.

A :class:`Crystal` holds only arrays (atomic numbers, Cartesian positions in Å, lattice vectors in Å,
periodic flags), so graphs and features can be built without either library in the loop, and the
same object comes out of every reader (CIF, POSCAR, extended XYZ, pymatgen dictionaries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnsurrogate.core.errors import UserInputError


@dataclass(frozen=True)
class Crystal:
    """One periodic structure.

    Attributes
    ----------
    id : str
        Name of the entry (material id, file name or row), used in error messages and outputs.
    numbers : numpy.ndarray of int, shape (n_atoms,)
        Atomic numbers Z.
    positions : numpy.ndarray, shape (n_atoms, 3)
        Cartesian positions, Å.
    cell : numpy.ndarray, shape (3, 3)
        Lattice vectors as rows, Å.
    pbc : tuple of bool
        Periodicity along each lattice vector.
    """

    id: str
    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray
    pbc: tuple[bool, bool, bool] = (True, True, True)

    @property
    def n_atoms(self) -> int:
        return int(self.numbers.shape[0])

    @property
    def symbols(self) -> list[str]:
        """Element symbols of the atoms, in order."""
        from ase.data import chemical_symbols

        return [chemical_symbols[int(z)] for z in self.numbers]

    @property
    def volume(self) -> float:
        """Cell volume |det(cell)|, Å³."""
        return float(abs(np.linalg.det(self.cell)))

    def permuted(self, order: np.ndarray) -> "Crystal":
        """The same crystal with its atoms listed in *order* (a permutation of range(n_atoms))."""
        order = np.asarray(order)
        return Crystal(self.id, self.numbers[order], self.positions[order], self.cell, self.pbc)


def from_arrays(entry_id: str, numbers: Any, positions: Any, cell: Any, pbc: Any = True) -> Crystal:
    """Build and check a :class:`Crystal` from array-likes (see the attribute shapes and units there)."""
    numbers = np.asarray(numbers, dtype=np.int64).reshape(-1)
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    cell = np.asarray(cell, dtype=np.float64).reshape(3, 3)
    flags = tuple(bool(p) for p in np.broadcast_to(np.asarray(pbc, dtype=bool), (3,)))
    if numbers.size == 0:
        raise UserInputError("structure has no atoms", entry_id)
    if positions.shape[0] != numbers.size:
        raise UserInputError(f"{numbers.size} atomic numbers but {positions.shape[0]} positions", entry_id)
    if not (np.all(np.isfinite(positions)) and np.all(np.isfinite(cell))):
        raise UserInputError("structure has non-finite positions or lattice vectors", entry_id)
    if np.any(numbers < 1) or np.any(numbers > 118):
        raise UserInputError(f"unknown element with atomic number {int(numbers[(numbers < 1) | (numbers > 118)][0])}", entry_id)
    if not all(flags):
        raise UserInputError("crystal graphs need a structure periodic in all three directions", entry_id)
    if abs(np.linalg.det(cell)) < 1e-6:
        raise UserInputError("lattice vectors are degenerate (zero cell volume)", entry_id)
    return Crystal(str(entry_id), numbers, positions, cell, flags)  # type: ignore[arg-type]


def from_pymatgen(structure: Any, entry_id: str) -> Crystal:
    """Convert a pymatgen ``Structure``; disordered (partially occupied) sites are an error."""
    if not structure.is_ordered:
        raise UserInputError("structure has partially occupied (disordered) sites; give an ordered structure", entry_id)
    numbers = [site.specie.Z for site in structure]
    return from_arrays(entry_id, numbers, structure.cart_coords, structure.lattice.matrix, structure.lattice.pbc)


def from_ase(atoms: Any, entry_id: str) -> Crystal:
    """Convert an ``ase.Atoms`` object."""
    return from_arrays(entry_id, atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc)


def to_crystal(obj: Any, entry_id: str) -> Crystal:
    """Convert a :class:`Crystal`, pymatgen ``Structure``, ``ase.Atoms`` or pymatgen structure ``dict``."""
    if isinstance(obj, Crystal):
        return obj
    if isinstance(obj, dict):
        return from_pymatgen(structure_from_dict(obj, entry_id), entry_id)
    if hasattr(obj, "cart_coords") and hasattr(obj, "lattice"):
        return from_pymatgen(obj, entry_id)
    if hasattr(obj, "get_positions") and hasattr(obj, "cell"):
        return from_ase(obj, entry_id)
    raise UserInputError(f"cannot read a structure from a {type(obj).__name__}", entry_id)


def structure_from_dict(data: dict, entry_id: str) -> Any:
    """A pymatgen ``Structure`` from its ``as_dict()`` form; a malformed dictionary is a user error."""
    from pymatgen.core import Structure

    try:
        return Structure.from_dict(data)
    except Exception as exc:  # noqa: BLE001 - pymatgen raises many kinds for malformed input
        raise UserInputError(f"not a pymatgen structure dictionary: {_first_line(exc)}", entry_id) from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
