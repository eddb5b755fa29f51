"""Data sets of the 2D gas: for each target particle its window neighbours and the force on it.

A sample is a target particle: the offsets of the particles in its window (ragged, stored back to
back with an offsets array) and the force on it (eV/Å). Images for any grid size are made from the
offsets on demand (:meth:`Gas2DData.images`), so one data set serves every grid.

Generation (:func:`generate`) follows Zharikov, Zavyalov & Sivashova (2022) with the choices listed
in :mod:`~nnsurrogate.gas2d.configurations`: periodic boxes of side ``box_factor · W``
with N = round(ρ·box²) uniform random particles (optionally a hard core), a few random targets per
box. Train and test samples come from different boxes, so no window is shared across the split.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnsurrogate.gas2d.configurations import in_window, minimum_image, random_boxes
from nnsurrogate.gas2d.descriptor import descriptor_channels, grid_images, subcell_images
from nnsurrogate.gas2d.potentials import potential_from_params
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import atomic_dir

__all__ = ["Gas2DData", "GasSpec", "default_geometry", "generate", "load_data", "save_data", "window_samples"]

DATA_FORMAT = "nnsurrogate-gas2d-data"
#: Boxes handled at once while extracting windows (bounds the memory of the separation arrays).
CHUNK_BOXES = 512


def default_geometry(potential, window: float | None = None, min_distance: float | None = None) -> tuple[float, float]:
    """Window side and hard-core distance, Å, where the user gave none.

    Lennard-Jones: W = 5σ (the usual 2.5σ cutoff on each side of the target) and a hard core of 0.9σ,
    where U = 6.6ε (pairs that close are rarer than e^−6.6 in a gas at k_B·T = ε). Coulomb: W = 28 Å
    (1 Å cells on the paper's 28 × 28 grid) and a hard core of one such cell, W/28, so that the
    paper's f_max, the pair force between neighbouring cells, is the largest pair force that occurs.
    """
    if potential.name == "lj":
        w = 5.0 * potential.sigma if window is None else float(window)
        return w, (0.9 * potential.sigma if min_distance is None else float(min_distance))
    w = 28.0 if window is None else float(window)
    return w, (w / 28.0 if min_distance is None else float(min_distance))


@dataclass(frozen=True)
class GasSpec:
    """How a data set is generated.

    Attributes
    ----------
    potential : LennardJones or Coulomb
    density : float
        Particles per Å² (ρ; per σ² in reduced units).
    window : float
        Window side W, Å.
    min_distance : float
        Hard-core distance, Å (0: purely random positions, as in the paper).
    box_factor : float
        Box side over window side (≥ 1); the box holds N = round(ρ·(box_factor·W)²) particles.
    targets_per_box : int
        Target particles drawn from each box.
    """

    potential: object
    density: float
    window: float
    min_distance: float = 0.0
    box_factor: float = 2.0
    targets_per_box: int = 4

    def __post_init__(self) -> None:
        for name in ("density", "window"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise UserInputError(f"{name} must be positive, got {value}", name)
        if not math.isfinite(self.min_distance) or self.min_distance < 0:
            raise UserInputError(f"min_distance must be ≥ 0, got {self.min_distance}", "min_distance")
        if not self.box_factor >= 1.0:
            raise UserInputError(f"box_factor must be ≥ 1 (the window must fit in the box), got {self.box_factor}",
                                 "box_factor")
        if self.n_particles < 2:
            raise UserInputError(f"density {self.density:g} leaves fewer than 2 particles in the box", "density")
        if int(self.targets_per_box) != self.targets_per_box or not 1 <= self.targets_per_box <= self.n_particles:
            raise UserInputError(f"targets_per_box must be between 1 and {self.n_particles}", "targets_per_box")

    @property
    def box(self) -> float:
        """Box side, Å."""
        return self.box_factor * self.window

    @property
    def n_particles(self) -> int:
        """Particles per box, round(ρ · box²)."""
        return int(round(self.density * self.box**2))

    def as_dict(self) -> dict:
        return {**self.potential.params(), "density_per_A2": self.density, "window_A": self.window,
                "min_distance_A": self.min_distance, "box_factor": self.box_factor, "box_A": self.box,
                "n_particles_per_box": self.n_particles, "targets_per_box": self.targets_per_box}


@dataclass(frozen=True)
class Gas2DData:
    """Samples of one gas: neighbour offsets (ragged), forces and the generating parameters.

    Attributes
    ----------
    delta : numpy.ndarray, shape (m_total, 2)
        Neighbour offsets from their target, Å, sample after sample.
    offsets : numpy.ndarray, shape (n + 1,)
        Sample *k* owns ``delta[offsets[k]:offsets[k+1]]``.
    forces : numpy.ndarray, shape (n, 2)
        Force on each target, eV/Å.
    spec : dict
        :meth:`GasSpec.as_dict` of the generator (potential, density, window, …).
    """

    delta: np.ndarray
    offsets: np.ndarray
    forces: np.ndarray
    spec: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.forces.shape[0])

    @property
    def window(self) -> float:
        return float(self.spec["window_A"])

    @property
    def potential(self):
        return potential_from_params(self.spec)

    def neighbours(self, k: int) -> np.ndarray:
        """Offsets (m_k, 2), Å, of sample *k*'s window neighbours."""
        return self.delta[self.offsets[k]:self.offsets[k + 1]]

    def images(self, grid: int) -> np.ndarray:
        """Count images (n, grid, grid), float32 (see :mod:`~nnsurrogate.gas2d.descriptor`)."""
        return grid_images(self.delta, self.offsets, self.window, grid)

    def descriptor(self, grid: int, kind: str = "counts") -> np.ndarray:
        """Network input, float32: count images (n, grid, grid) for ``"counts"``, (n, 3, grid, grid) for
        ``"subcell"`` (see :mod:`~nnsurrogate.gas2d.descriptor`)."""
        if descriptor_channels(kind) == 1:
            return self.images(grid)
        return subcell_images(self.delta, self.offsets, self.window, grid)

    def subset(self, index: np.ndarray) -> "Gas2DData":
        """The samples at *index* (integer array), in that order."""
        index = np.asarray(index, dtype=np.int64)
        counts = np.diff(self.offsets)[index]
        parts = [self.delta[self.offsets[k]:self.offsets[k + 1]] for k in index]
        delta = np.concatenate(parts) if parts else np.empty((0, 2))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return Gas2DData(delta.reshape(-1, 2), offsets, self.forces[index], dict(self.spec))


def generate(spec: GasSpec, n_samples: int, seed: int = 0, progress=None) -> Gas2DData:
    """Generate *n_samples* targets (the samples of a box stay consecutive).

    Parameters
    ----------
    spec : GasSpec
    n_samples : int
    seed : int
        Seed of the NumPy generator for positions and target choice.
    progress : callable, optional
        Called as ``progress(done, total)`` with sample counts after each chunk of boxes.
    """
    if int(n_samples) != n_samples or n_samples < 1:
        raise UserInputError(f"n_samples must be a positive integer, got {n_samples}", "n_samples")
    rng = np.random.default_rng(seed)
    n_boxes = -(-int(n_samples) // spec.targets_per_box)
    chunks, done = [], 0
    for start in range(0, n_boxes, CHUNK_BOXES):
        count = min(CHUNK_BOXES, n_boxes - start)
        pos = random_boxes(count, spec.n_particles, spec.box, rng, spec.min_distance)
        targets = np.argsort(rng.random((count, spec.n_particles)), axis=1)[:, :spec.targets_per_box]
        chunks.append(window_samples(pos, targets, spec))
        done += count * spec.targets_per_box
        if progress is not None:
            progress(min(done, n_samples), n_samples)
    delta = np.concatenate([c[0] for c in chunks])
    counts = np.concatenate([c[1] for c in chunks])[:n_samples]
    forces = np.concatenate([c[2] for c in chunks])[:n_samples]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Gas2DData(delta[: offsets[-1]], offsets, forces, spec.as_dict())


def window_samples(pos: np.ndarray, targets: np.ndarray, spec: GasSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window neighbours and forces of chosen targets in periodic boxes.

    Parameters
    ----------
    pos : numpy.ndarray, shape (B, N, 2)
        Positions in each box, Å.
    targets : numpy.ndarray of int, shape (B, t)
        Indices of the target particles in each box (distinct within a box).
    spec : GasSpec
        Box side, window and potential.

    Returns
    -------
    delta : numpy.ndarray, shape (m_total, 2)
        Minimum-image offsets of the neighbours in each target's window, target after target (box by
        box, then in the order of *targets*), Å.
    counts : numpy.ndarray, shape (B·t,)
        Neighbours per target.
    forces : numpy.ndarray, shape (B·t, 2)
        Force on each target from its window neighbours, eV/Å.
    """
    n_boxes, n_particles, _ = pos.shape
    tpb = targets.shape[1]
    centre = np.take_along_axis(pos, targets[:, :, None], axis=1)  # (B, t, 2)
    delta = minimum_image(pos[:, None, :, :] - centre[:, :, None, :], spec.box)  # (B, t, N, 2)
    mask = in_window(delta, spec.window)
    mask[np.arange(n_boxes)[:, None], np.arange(tpb)[None, :], targets] = False  # not the target itself
    r = np.sqrt(np.einsum("btnd,btnd->btn", delta, delta))
    if np.any(mask & (r == 0)):
        raise UserInputError("two particles at the same position", "configuration")
    r_safe = np.where(mask, r, 1.0)
    scale = np.where(mask, spec.potential.force(r_safe) / r_safe, 0.0)
    forces = -np.einsum("btn,btnd->btd", scale, delta).reshape(-1, 2)
    flat_mask = mask.reshape(-1, n_particles)
    return delta.reshape(-1, n_particles, 2)[flat_mask], flat_mask.sum(axis=1), forces


def save_data(directory: str | os.PathLike, parts: dict[str, Gas2DData], info: dict | None = None) -> None:
    """Write data sets (e.g. ``{"train": …, "test": …}``) as ``<name>.npz`` plus ``dataset.json``, atomically."""
    first = next(iter(parts.values()))
    meta = {"format": DATA_FORMAT, "format_version": 1, "spec": first.spec,
            "parts": {name: d.n_samples for name, d in parts.items()}, **(info or {})}
    with atomic_dir(directory) as tmp:
        for name, d in parts.items():
            np.savez_compressed(tmp / f"{name}.npz", delta=d.delta, offsets=d.offsets, forces=d.forces)
        (tmp / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load_data(directory: str | os.PathLike, part: str) -> Gas2DData:
    """Read one part (``"train"`` or ``"test"``) of a folder written by :func:`save_data`."""
    directory = Path(directory)
    meta_path, path = directory / "dataset.json", directory / f"{part}.npz"
    if not meta_path.is_file() or not path.is_file():
        raise UserInputError(f"not a gas2d data folder: expected dataset.json and {part}.npz "
                             "(write one with 'nnsurrogate gas2d generate')", str(directory))
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != DATA_FORMAT:
            raise UserInputError("dataset.json is not a gas2d data description", str(meta_path))
        with np.load(path, allow_pickle=False) as z:
            data = Gas2DData(np.asarray(z["delta"], dtype=np.float64), np.asarray(z["offsets"], dtype=np.int64),
                             np.asarray(z["forces"], dtype=np.float64), dict(meta["spec"]))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        if isinstance(exc, UserInputError):
            raise
        raise UserInputError(f"unreadable gas2d data: {exc}", str(path)) from None
    _check_consistent(data, str(path))
    return data


def _check_consistent(data: Gas2DData, where: str) -> None:
    n = data.forces.shape[0]
    ok = (data.forces.ndim == 2 and data.forces.shape[1] == 2 and data.delta.ndim == 2 and data.delta.shape[1] == 2
          and data.offsets.shape == (n + 1,) and data.offsets[0] == 0 and data.offsets[-1] == data.delta.shape[0]
          and np.all(np.diff(data.offsets) >= 0))
    if not ok:
        raise UserInputError("inconsistent arrays in gas2d data (delta, offsets and forces disagree)", where)
    if not (np.isfinite(data.forces).all() and np.isfinite(data.delta).all()):
        raise UserInputError("gas2d data holds NaN or infinite values", where)
