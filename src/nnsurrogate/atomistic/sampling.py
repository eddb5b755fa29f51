"""Starting configurations for a training set: structures, rattled and strained copies, short MD snapshots.

A user with only a crystal structure (or a molecule) builds a first training set like this:

1. :func:`build_structure` makes the structure from a file, an ASE bulk crystal (``"Cu"``,
   ``"Si:diamond:5.43"``) or an ASE molecule (``"molecule:H2O"``), repeated into a supercell;
2. :func:`rattle_strain` makes copies with a random symmetric strain |ε_ij| ≤ ``max_strain`` applied
   to the cell (atoms follow, h' = h (1 + ε)) and Gaussian displacements of standard deviation
   ``rattle`` Å on every Cartesian component;
3. :func:`md_snapshots` runs short Langevin MD with a reference calculator at each temperature and
   keeps a snapshot every ``every`` steps — configurations the system actually visits.

The frames are then labelled (``nnsurrogate potential label``) with the same or a more accurate method.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import DataWarning, UserInputError


@dataclass(frozen=True)
class SampleOptions:
    """How many frames of each kind, and how far from the start structure (Å, strain, K, fs)."""

    n_rattle: int = 10
    rattle: float = 0.05
    max_strain: float = 0.03
    temperatures: tuple[float, ...] = (300.0,)
    md_steps: int = 200
    md_every: int = 20
    timestep: float | None = None
    seed: int | None = 0

    def validate(self) -> None:
        """Raise :class:`UserInputError` for negative counts or amplitudes."""
        if self.n_rattle < 0 or self.md_steps < 0 or self.md_every < 1:
            raise UserInputError("n_rattle and md_steps must be ≥ 0 and md_every ≥ 1", "n_rattle, md_steps, md_every")
        if not (self.rattle >= 0 and 0 <= self.max_strain < 0.5):
            raise UserInputError("rattle must be ≥ 0 Å and max_strain between 0 and 0.5", "rattle, max_strain")
        if any(not (math.isfinite(t) and t > 0) for t in self.temperatures):
            raise UserInputError("temperatures must be positive (K)", "temperatures")
        if self.timestep is not None and not self.timestep > 0:
            raise UserInputError("timestep must be positive (fs)", "timestep")


def read_structures(path: str | Path, index: str = ":") -> list[Atoms]:
    """Read structures (labels not needed) with ASE; unreadable files, empty files and NaN are one-line errors."""
    import ase.io

    path = Path(path)
    if not path.is_file():
        raise UserInputError("file not found", str(path))
    try:
        frames = ase.io.read(path, index=index)
    except Exception as exc:  # noqa: BLE001 - ASE raises many types for malformed files
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserInputError(f"cannot read structures: {text}", str(path)) from None
    frames = frames if isinstance(frames, list) else [frames]
    if not frames:
        raise UserInputError("no structures in the file", str(path))
    for k, atoms in enumerate(frames):
        if len(atoms) == 0:
            raise UserInputError("frame has no atoms", f"{path}, frame {k}")
        if not np.all(np.isfinite(atoms.positions)):
            raise UserInputError("positions contain NaN or infinity", f"{path}, frame {k}")
        if atoms.pbc.any() and atoms.cell.rank < 3:
            raise UserInputError("periodic frame without a full 3-D cell", f"{path}, frame {k}")
    return frames


def build_structure(spec: str, cubic: bool = False) -> list[Atoms]:
    """Structures from a file path, ``molecule:NAME`` (ASE's g2 set) or ``ELEMENTS[:LATTICE[:a]]`` (ASE bulk)."""
    if Path(spec).is_file():
        return read_structures(spec)
    if spec.startswith("molecule:"):
        from ase.build import molecule

        try:
            return [molecule(spec.split(":", 1)[1])]
        except KeyError:
            raise UserInputError(f"ASE knows no molecule '{spec.split(':', 1)[1]}'", spec) from None
    from ase.build import bulk

    name, *rest = spec.split(":")
    try:
        lattice = rest[0] if rest and rest[0] else None
        a = float(rest[1]) if len(rest) > 1 else None
        return [bulk(name, crystalstructure=lattice, a=a, cubic=cubic)]
    except (KeyError, ValueError, RuntimeError) as exc:
        raise UserInputError(f"not a file and not an ASE bulk crystal ({exc})", spec) from None


def supercell(atoms: Atoms, repeat: Sequence[int]) -> Atoms:
    """*atoms* repeated ``repeat`` = (n1, n2, n3) times along its cell vectors (periodic directions only)."""
    repeat = tuple(int(n) for n in repeat)
    if len(repeat) == 1:
        repeat = repeat * 3
    if len(repeat) != 3 or min(repeat) < 1:
        raise UserInputError(f"repeat must be three positive integers, got {repeat}", "repeat")
    if repeat != (1, 1, 1) and any(n > 1 and not p for n, p in zip(repeat, atoms.pbc)):
        raise UserInputError("cannot repeat a structure along a non-periodic direction", "repeat")
    return atoms.repeat(repeat)


def rattle_strain(atoms: Atoms, n: int, rattle: float, max_strain: float, rng: np.random.Generator) -> list[Atoms]:
    """*n* copies with a random symmetric strain (cells periodic in 3-D only) and Gaussian displacements.

    Returns frames tagged ``config_type`` = ``"rattle_strain"`` (or ``"rattle"`` for non-periodic ones).
    """
    frames = []
    for _ in range(n):
        frame = atoms.copy()
        frame.calc = None
        if frame.pbc.all() and max_strain > 0:
            upper = np.triu(rng.uniform(-max_strain, max_strain, (3, 3)))
            strain = (upper + upper.T) / 2.0
            frame.set_cell(frame.cell[:] @ (np.eye(3) + strain), scale_atoms=True)
        frame.positions += rng.normal(0.0, rattle, frame.positions.shape)
        frame.info["config_type"] = "rattle_strain" if frame.pbc.all() else "rattle"
        frames.append(frame)
    return frames


def md_snapshots(atoms: Atoms, calculator: Calculator, temperature: float, steps: int, every: int,
                 timestep: float, seed: int | None, progress: Progress | None = None) -> list[Atoms]:
    """Snapshots (with the calculator's energy and forces) of a Langevin run at *temperature* K.

    A run that blows up keeps the snapshots taken before it and warns (:class:`DataWarning`).
    """
    from nnsurrogate.atomistic.md import MDOptions, run_md

    options = MDOptions(ensemble="nvt", temperature=temperature, timestep=timestep, steps=steps, friction=0.02,
                        log_every=0, traj_every=0, keep_every=every, seed=seed)
    result = run_md(atoms, calculator, options, progress=progress)
    if result.stopped:
        warnings.warn(f"MD at {temperature:g} K stopped early: {result.stopped}", DataWarning, stacklevel=2)
    frames = result.frames[1:]
    for frame in frames:
        frame.info["config_type"] = f"md_{temperature:g}K"
    return frames


def sample(structures: Sequence[Atoms], options: SampleOptions, calculator: Calculator | None = None,
           progress: Progress | None = None) -> list[Atoms]:
    """Rattled/strained copies of every structure, then MD snapshots at each temperature if a calculator is given.

    Returns unlabelled frames (no calculator, no momenta), ``info["config_type"]`` set.
    """
    options.validate()
    rng = np.random.default_rng(options.seed)
    frames: list[Atoms] = []
    for atoms in structures:
        frames += rattle_strain(atoms, options.n_rattle, options.rattle, options.max_strain, rng)
        if calculator is None or options.md_steps == 0:
            continue
        timestep = options.timestep or (0.5 if 1 in atoms.numbers else 1.0)
        for temperature in options.temperatures:
            seed = None if options.seed is None else int(rng.integers(2**31))
            frames += md_snapshots(atoms, calculator, temperature, options.md_steps, options.md_every,
                                   timestep, seed, progress)
    for frame in frames:
        frame.calc = None
        if "momenta" in frame.arrays:
            del frame.arrays["momenta"]
    return frames
