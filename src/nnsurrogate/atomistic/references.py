"""Per-element reference energies: the part of the energy a potential's network does not learn.

The network is trained on E − Σ_i e_{t_i}; the reference energies are added back outside it, in
float64. Three ways to choose them:

- ``"mean"``: one shared value, the mean energy per atom of the training frames (exported exactly
  into the NEP bias b1);
- ``"fit"`` (the default in training): least squares of E on the element counts, starting from the
  mean — a combination of elements the compositions do not determine keeps the mean energy per atom
  (so a data set of one composition, e.g. one molecule, gets the shared mean);
- a file of isolated atoms (one single-atom frame with an energy per element).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms

from nnsurrogate.core.errors import UserInputError


def composition_matrix(frames: Sequence[Atoms], species: Sequence[str]) -> np.ndarray:
    """Counts of each element per frame, shape (n_frames, n_species)."""
    index = {s: k for k, s in enumerate(species)}
    counts = np.zeros((len(frames), len(species)))
    for row, atoms in enumerate(frames):
        for symbol in atoms.get_chemical_symbols():
            counts[row, index[symbol]] += 1
    return counts


def reference_energies(frames: Sequence[Atoms], species: Sequence[str], mode: str | os.PathLike = "fit") -> tuple[float, ...]:
    """Reference energy per element (eV), in *species* order.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Training frames with energies.
    species : sequence of str
    mode : {"mean", "fit"} or path-like
        See the module docstring; a path names an extended-XYZ file of isolated atoms.
    """
    energies = np.array([a.get_potential_energy() for a in frames])
    counts = composition_matrix(frames, species)
    mean = float(energies.sum() / counts.sum())
    if str(mode) == "mean":
        return tuple([mean] * len(species))
    if str(mode) == "fit":
        if np.linalg.matrix_rank(counts) <= 1:  # one composition (up to size): nothing to tell elements apart
            return tuple([mean] * len(species))
        delta, *_ = np.linalg.lstsq(counts, energies - counts.sum(1) * mean, rcond=None)  # minimum-norm change
        return tuple(float(mean + v) for v in delta)
    return _isolated_atoms(Path(mode), species)


def _isolated_atoms(path: Path, species: Sequence[str]) -> tuple[float, ...]:
    from nnsurrogate.atomistic.data import read_frames

    found: dict[str, float] = {}
    for k, atoms in enumerate(read_frames(path, require_forces=False)):
        if len(atoms) == 1:
            found[atoms.get_chemical_symbols()[0]] = float(atoms.get_potential_energy())
    missing = [s for s in species if s not in found]
    if missing:
        raise UserInputError(f"no isolated-atom energy for {', '.join(missing)}", str(path))
    return tuple(found[s] for s in species)
