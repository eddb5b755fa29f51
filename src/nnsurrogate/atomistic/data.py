"""Labelled structures from extended XYZ, checked before any training sees them.

:func:`read_frames` reads with ASE and checks every frame: energy and forces present, no NaN or
infinity, only elements the model knows, a usable cell. Non-periodic frames (molecules, clusters)
are placed in a vacuum box wider than the cutoff, so no atom sees a periodic image. Labels end up
in a ``SinglePointCalculator`` (ASE's convention): energy (eV), forces (eV/Å), stress (eV/Å³, Voigt)
when the file has a ``stress`` or a GPUMD ``virial`` (W = −V σ, eV).

The common spellings are read without conversion (:data:`LABEL_SPELLINGS`): ASE's ``energy``,
``forces``, ``stress``, ``virial``; GPUMD's ``force`` and its converters' ``Energy``, ``Virial``;
MACE's ``REF_energy``, ``REF_forces``, ``REF_stress``, ``REF_virial``. Any other name is given per
field (``label_keys={"energy": "dft_energy"}``, the command line's ``--energy-key`` …). A frame's
``Config_type`` / ``config_type`` becomes ``info["config_type"]`` and ``Weight`` / ``weight`` its
``info["weight"]`` (a finite number ≥ 0).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.stress import full_3x3_to_voigt_6_stress, voigt_6_to_full_3x3_stress

from nnsurrogate.atomistic import keys
from nnsurrogate.core.errors import UserInputError

#: Vacuum added beyond the cutoff around a non-periodic frame, Å.
VACUUM_MARGIN = 1.0

#: The names each label goes by in the files users have, tried in this order.
LABEL_SPELLINGS: dict[str, tuple[str, ...]] = {
    keys.ENERGY: ("energy", "Energy", "REF_energy"),
    keys.FORCES: ("forces", "force", "Force", "REF_forces"),
    keys.STRESS: ("stress", "Stress", "REF_stress"),
    keys.VIRIAL: ("virial", "Virial", "REF_virial"),
}
_INFO_SPELLINGS = {keys.CONFIG_TYPE: ("config_type", "Config_type"), keys.WEIGHT: ("weight", "Weight")}


def label_spellings(label_keys: dict[str, str | None] | None = None) -> dict[str, tuple[str, ...]]:
    """:data:`LABEL_SPELLINGS` with the names the user gave (``{"energy": "dft_energy"}``, or
    ``energy_key`` as the command line's settings spell it) in place of the defaults of those fields.

    Raises
    ------
    UserInputError
        For a field that is not ``energy``, ``forces``, ``stress`` or ``virial``.
    """
    spellings = dict(LABEL_SPELLINGS)
    for field, name in (label_keys or {}).items():
        field = field.removesuffix("_key")
        if field not in spellings:
            raise UserInputError(f"no label '{field}' (choose {', '.join(spellings)})", "label_keys")
        if name:
            spellings[field] = (str(name),)
    return spellings


def read_frames(path: str | os.PathLike, *, species: Sequence[str] | None = None, cutoff: float | None = None,
                require_energy: bool = True, require_forces: bool = True, index: str = ":",
                label_keys: dict[str, str | None] | None = None) -> list[Atoms]:
    """Read and check labelled frames from an (extended) XYZ file.

    Parameters
    ----------
    path : path-like
        Extended XYZ (or any format ASE reads).
    species : sequence of str, optional
        Elements the model knows; a frame with any other element is an error.
    cutoff : float, optional
        Model cutoff, Å; non-periodic frames get a box at least ``extent + cutoff + 1 Å`` wide.
    require_energy, require_forces : bool
        Whether a frame without an energy / forces is an error.
    index : str
        ASE index expression for a subset of frames.
    label_keys : dict, optional
        Names of the labels in the file where they are not one of :data:`LABEL_SPELLINGS`
        (``{"energy": "dft_energy", "forces": "dft_forces"}``).

    Returns
    -------
    list of ase.Atoms
        Each with a ``SinglePointCalculator`` holding ``energy`` (eV), ``forces`` (n_atoms, 3) eV/Å
        and, when given, ``stress`` (6,) eV/Å³.

    Raises
    ------
    UserInputError
        One line naming the file and the frame (0-based) for each problem.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise UserInputError("no such file", where)
    frames = _read(path, index)
    if not frames:
        raise UserInputError("no frames in the file", where)
    known = set(species) if species is not None else None
    spellings = label_spellings(label_keys)
    return [check_frame(atoms, f"{where}, frame {k}", known, cutoff, require_energy, require_forces, spellings)
            for k, atoms in enumerate(frames)]


def _read(path: Path, index: str) -> list[Atoms]:
    import ase.io

    try:
        frames = ase.io.read(path, index=index)
    except Exception as exc:  # ASE raises many types for malformed files
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserInputError(f"cannot read structures: {text}", str(path)) from None
    return frames if isinstance(frames, list) else [frames]


def _find(atoms: Atoms, results: dict, names: tuple[str, ...], per_atom: bool) -> tuple[str | None, object]:
    """The first of *names* present in the calculator results, then in ``arrays`` (per-atom) or ``info``."""
    source = atoms.arrays if per_atom else atoms.info
    for name in names:
        if name in results:
            return name, results[name]
        if name in source:
            return name, source[name]
    return None, None


def _labels(atoms: Atoms, spellings: dict[str, tuple[str, ...]] | None = None) -> dict:
    """Energy, forces, stress from the calculator results or the info/arrays dictionaries, under any of
    their *spellings* (default :data:`LABEL_SPELLINGS`)."""
    spellings = spellings or LABEL_SPELLINGS
    results = dict(atoms.calc.results) if atoms.calc is not None else {}
    labels = {}
    for key in (keys.ENERGY, keys.FORCES, keys.STRESS):
        _, value = _find(atoms, results, spellings[key], per_atom=key == keys.FORCES)
        if value is not None:
            labels[key] = np.asarray(value, dtype=np.float64)
    _, virial = _find(atoms, results, spellings[keys.VIRIAL], per_atom=False)
    if keys.STRESS not in labels and virial is not None and atoms.cell.volume > 0:
        virial = np.asarray(virial, dtype=np.float64).reshape(3, 3)
        labels[keys.STRESS] = -virial / atoms.cell.volume
    if keys.STRESS in labels:
        stress = labels[keys.STRESS]
        labels[keys.STRESS] = full_3x3_to_voigt_6_stress(stress.reshape(3, 3)) if stress.size == 9 else stress.reshape(6)
    return labels


def check_frame(atoms: Atoms, where: str, species: set[str] | None = None, cutoff: float | None = None,
                require_energy: bool = True, require_forces: bool = True,
                spellings: dict[str, tuple[str, ...]] | None = None) -> Atoms:
    """Validate one frame and return a clean copy with a ``SinglePointCalculator`` (see :func:`read_frames`)."""
    spellings = spellings or LABEL_SPELLINGS
    labels = _labels(atoms, spellings)
    if len(atoms) == 0:
        raise UserInputError("frame has no atoms", where)
    if require_energy and keys.ENERGY not in labels:
        raise UserInputError("frame has no energy", where)
    if require_forces and keys.FORCES not in labels:
        raise UserInputError("frame has no forces", where)
    if keys.FORCES in labels and labels[keys.FORCES].shape != (len(atoms), 3):
        raise UserInputError(f"forces have shape {labels[keys.FORCES].shape}, expected ({len(atoms)}, 3)", where)
    for key, value in [(keys.POSITIONS, atoms.positions), (keys.CELL, np.asarray(atoms.cell)), *labels.items()]:
        if not np.all(np.isfinite(value)):
            raise UserInputError(f"{key} contains NaN or infinity", where)
    if species is not None:
        unknown = sorted(set(atoms.get_chemical_symbols()) - species)
        if unknown:
            raise UserInputError(f"element {', '.join(unknown)} is not in the model ({', '.join(sorted(species))})", where)
    clean = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    used = {name for field in (keys.ENERGY, keys.STRESS, keys.VIRIAL) for name in spellings[field]}
    clean.info.update(_frame_info(atoms.info, used, where))
    _check_cell(clean, where)
    _check_overlap(clean, where)
    if not clean.pbc.any():
        place_in_vacuum(clean, cutoff or 0.0)
    if keys.STRESS in labels and not clean.pbc.all():
        labels.pop(keys.STRESS)
    clean.calc = SinglePointCalculator(clean, **labels)
    return clean


def _frame_info(info: dict, used: set[str], where: str) -> dict:
    """The frame's other ``info`` entries, with ``config_type`` and ``weight`` under one spelling each."""
    out = {k: v for k, v in info.items() if k not in used}
    for field, names in _INFO_SPELLINGS.items():
        found = [n for n in names if n in out]
        if found:
            value = out[found[0]]
            for n in found:
                out.pop(n)
            out[field] = value
    if keys.WEIGHT in out:
        try:
            weight = float(out[keys.WEIGHT])
        except (TypeError, ValueError):
            raise UserInputError(f"the frame's weight must be a number, got {out[keys.WEIGHT]!r}", where) from None
        if not (np.isfinite(weight) and weight >= 0):
            raise UserInputError(f"the frame's weight must be a finite number ≥ 0, got {weight}", where)
        out[keys.WEIGHT] = weight
    return out


#: Atoms closer than this (Å) are one atom written twice, not physics: the frame is refused.
OVERLAP_A = 0.1


def _check_overlap(atoms: Atoms, where: str) -> None:
    from nnsurrogate.atomistic.neighbors import shortest_distance

    pair = shortest_distance(atoms, OVERLAP_A, where)
    if pair is not None:
        d, i, j = pair
        raise UserInputError(f"atoms {i} and {j} are {d:.2f} Å apart", where)


def _check_cell(atoms: Atoms, where: str) -> None:
    if atoms.pbc.any() and atoms.cell.rank < 3:
        raise UserInputError("periodic frame without a full 3-D cell (set pbc to false or give a Lattice)", where)
    if atoms.pbc.all() and atoms.cell.volume <= 1e-6:
        raise UserInputError("periodic frame with a zero-volume cell", where)


def place_in_vacuum(atoms: Atoms, cutoff: float) -> None:
    """Give a non-periodic frame an orthorhombic box at least ``extent + cutoff + 1 Å`` along each axis
    (kept if the frame's own cell is already that wide), with the atoms centred."""
    extent = np.ptp(atoms.positions, axis=0)
    need = extent + cutoff + VACUUM_MARGIN
    lengths = atoms.cell.lengths() if atoms.cell.rank == 3 and atoms.cell.orthorhombic else np.zeros(3)
    if np.any(lengths < need):
        atoms.set_cell(np.diag(np.maximum(lengths, need)))
        atoms.center()


def frame_labels(atoms: Atoms) -> dict[str, np.ndarray]:
    """``energy`` (), ``forces`` (n_atoms, 3) and ``virial`` (3, 3) (eV, only with a stress) of a checked frame.

    The stress may be Voigt (6,) or full (3, 3), as calculators differ (CHGNet's is (3, 3)); eV/Å³ either way.
    """
    results = atoms.calc.results if atoms.calc is not None else {}
    out = {k: np.asarray(results[k], dtype=np.float64) for k in (keys.ENERGY, keys.FORCES) if k in results}
    if keys.STRESS in results:
        out[keys.VIRIAL] = virial_from_stress(results[keys.STRESS], atoms.cell.volume)
    return out


def virial_from_stress(stress, volume: float) -> np.ndarray:
    """The virial W = −V σ (3, 3), eV, of a stress σ in eV/Å³, Voigt (6,) or full (3, 3); *volume* in Å³."""
    stress = np.asarray(stress, dtype=np.float64)
    full = stress.reshape(3, 3) if stress.size == 9 else voigt_6_to_full_3x3_stress(stress)
    return -float(volume) * full


def species_of(frames: Sequence[Atoms]) -> tuple[str, ...]:
    """Elements present in *frames*, ordered by atomic number."""
    from ase.data import atomic_numbers

    present = {s for atoms in frames for s in atoms.get_chemical_symbols()}
    return tuple(sorted(present, key=lambda s: atomic_numbers[s]))
