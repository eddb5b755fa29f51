"""Domains of a PDE problem: boxes in space, optionally times a time interval.

A domain is an axis-aligned box with named coordinates (``x``; ``x, y``; plus ``t`` for a
time-dependent problem). It knows its bounds and draws points inside it, on its spatial faces
and on its initial slice; everything else (conditions, residuals) refers to coordinates by name.
Points are plain arrays of shape (n, d), columns in the order of :attr:`Box.names`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.sampling import sample_unit_cube


def _check_bounds(name: str, low: float, high: float) -> tuple[float, float]:
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise UserInputError(f"bounds of '{name}' must be finite, got [{low}, {high}]", "domain")
    if not high > low:
        raise UserInputError(f"upper bound of '{name}' must exceed its lower bound, got [{low}, {high}]", "domain")
    return low, high


@dataclass(frozen=True)
class Box:
    """An axis-aligned box with named coordinates.

    Parameters
    ----------
    names : tuple of str
        Coordinate names, e.g. ``("x", "y")``.
    lower, upper : tuple of float
        Bounds per coordinate, in the problem's units (e.g. m, s).
    time : str or None
        Name of the time coordinate (always the last one), or ``None`` for a steady problem.
    """

    names: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    time: str | None = None

    def __post_init__(self) -> None:
        if len(set(self.names)) != len(self.names):
            raise UserInputError(f"coordinate names must differ, got {self.names}", "domain")
        if not (len(self.names) == len(self.lower) == len(self.upper)):
            raise UserInputError("a domain needs one (lower, upper) pair per coordinate", "domain")
        for name, lo, hi in zip(self.names, self.lower, self.upper):
            _check_bounds(name, lo, hi)
        if self.time is not None and self.names[-1] != self.time:
            raise UserInputError(f"the time coordinate '{self.time}' must be the last one", "domain")

    @property
    def dim(self) -> int:
        """Number of coordinates, time included."""
        return len(self.names)

    @property
    def space_names(self) -> tuple[str, ...]:
        """Spatial coordinate names (all but the time)."""
        return tuple(n for n in self.names if n != self.time)

    def index(self, name: str) -> int:
        """Column of coordinate *name* in point arrays."""
        if name not in self.names:
            raise UserInputError(f"unknown coordinate '{name}'; the domain has {', '.join(self.names)}", "domain")
        return self.names.index(name)

    @property
    def faces(self) -> tuple[str, ...]:
        """Names of the spatial faces, ``"<coord>_min"`` and ``"<coord>_max"`` for each spatial coordinate."""
        return tuple(f"{n}_{side}" for n in self.space_names for side in ("min", "max"))

    def scale(self, points: np.ndarray) -> np.ndarray:
        """Map points (n, d) from the box onto [−1, 1]^d."""
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        return 2.0 * (np.asarray(points, dtype=np.float64) - lo) / (hi - lo) - 1.0

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """Map points (n, d) from [0, 1]^d onto the box."""
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        return lo + np.asarray(unit, dtype=np.float64) * (hi - lo)

    def contains(self, points: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
        """Boolean mask (n,): which points (n, d) lie in the closed box (with a relative tolerance)."""
        points = np.asarray(points, dtype=np.float64)
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        tol = rtol * (hi - lo)
        return np.all((points >= lo - tol) & (points <= hi + tol), axis=1)

    def sample_interior(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        """*n* points (n, d) inside the box by ``sobol``, ``lhs`` or ``uniform`` sampling."""
        return self.from_unit(sample_unit_cube(n, self.dim, method, seed))

    def sample_faces(self, n: int, faces: Sequence[str] | None = None, method: str = "sobol",
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """About *n* points on the given spatial faces (all when ``None``), split by face measure.

        Returns
        -------
        points : numpy.ndarray, shape (m, d)
        face : numpy.ndarray of int, shape (m,)
            Index into *faces* of the face each point lies on.
        """
        faces = tuple(self.faces if faces is None else faces)
        for face in faces:
            if face not in self.faces:
                raise UserInputError(f"unknown boundary '{face}'; choose from {', '.join(self.faces)}", "condition")
        measures = np.array([self._face_measure(f) for f in faces])
        counts = np.maximum(1, np.round(n * measures / measures.sum()).astype(int))
        chunks, owner = [], []
        for k, (face, count) in enumerate(zip(faces, counts)):
            name, side = face.rsplit("_", 1)
            j = self.index(name)
            free = [i for i in range(self.dim) if i != j]
            unit = np.empty((count, self.dim))
            unit[:, free] = sample_unit_cube(count, len(free), method, seed + 7919 * (k + 1)) if free else 0.0
            unit[:, j] = 0.0 if side == "min" else 1.0
            chunks.append(self.from_unit(unit))
            owner.append(np.full(count, k))
        return np.concatenate(chunks), np.concatenate(owner)

    def sample_initial(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        """*n* points (n, d) on the initial slice t = t₀ (time-dependent domains only)."""
        if self.time is None:
            raise UserInputError("an initial condition needs a time-dependent domain", "condition")
        j = self.index(self.time)
        free = [i for i in range(self.dim) if i != j]
        unit = np.zeros((n, self.dim))
        unit[:, free] = sample_unit_cube(n, len(free), method, seed + 104729)
        return self.from_unit(unit)

    def _face_measure(self, face: str) -> float:
        name = face.rsplit("_", 1)[0]
        j = self.index(name)
        return float(np.prod([h - lo for i, (lo, h) in enumerate(zip(self.lower, self.upper)) if i != j]))

    def __mul__(self, other: "Box") -> "Box":
        """Product of a spatial box with a :class:`TimeInterval`: the space–time domain."""
        if not isinstance(other, Box) or other.time is None or other.dim != 1 or self.time is not None:
            raise UserInputError("multiply a spatial domain by a TimeInterval, e.g. Interval(0, 1) * TimeInterval(0, 1)",
                                 "domain")
        return Box(self.names + other.names, self.lower + other.lower, self.upper + other.upper, time=other.time)


def Interval(low: float, high: float, name: str = "x") -> Box:  # noqa: N802 - reads as a geometry constructor
    """The interval [low, high] of one spatial coordinate (default name ``x``)."""
    return Box((name,), (float(low), ), (float(high), ))


def Rectangle(x: tuple[float, float], y: tuple[float, float], names: tuple[str, str] = ("x", "y")) -> Box:  # noqa: N802
    """The rectangle [x₀, x₁] × [y₀, y₁] (default coordinate names ``x``, ``y``)."""
    return Box(tuple(names), (float(x[0]), float(y[0])), (float(x[1]), float(y[1])))


def TimeInterval(start: float, end: float, name: str = "t") -> Box:  # noqa: N802
    """The time interval [start, end] (default name ``t``); multiply a spatial domain by it."""
    return Box((name,), (float(start),), (float(end),), time=name)
