"""Boundary, initial and data conditions, each a small object that samples its points and scores a field.

A condition contributes the mean square of its residual to the PINN loss (Raissi, Perdikaris &
Karniadakis, J. Comput. Phys. 378, 686 (2019), eq. 4; the lecture's L_bc and L_ic):

* :class:`DirichletBC` — u = g on boundary faces;
* :class:`NeumannBC` — ∂u/∂n = g (outward normal) on boundary faces;
* :class:`InitialCondition` — u(x, t₀) = u₀(x), or ∂u/∂t(x, t₀) = v₀(x) with ``derivative=1``;
* :class:`PointData` — u = measured values at given points.

Values are constants or functions of a mapping of coordinate arrays, e.g.
``lambda c: np.sin(np.pi * c["x"])``, evaluated once when the points are drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.domain import Box
from nnsurrogate.pde.field import Field

Value = float | Callable[[Mapping[str, np.ndarray]], np.ndarray]


@dataclass
class PointSet:
    """Points of one loss term and what its residual needs besides the field.

    Attributes
    ----------
    points : numpy.ndarray, shape (n, d)
    aux : dict of str to numpy.ndarray, each shape (n,)
        Targets and per-point data (face axis, normal sign).
    """

    points: np.ndarray
    aux: dict[str, np.ndarray] = field(default_factory=dict)


def evaluate(value: Value, domain: Box, points: np.ndarray, what: str) -> np.ndarray:
    """A constant or a function of named coordinates at *points* (n, d), as a finite array (n,)."""
    n = points.shape[0]
    if callable(value):
        coords = {name: points[:, i] for i, name in enumerate(domain.names)}
        out = np.broadcast_to(np.asarray(value(coords), dtype=np.float64), (n,)).copy()
    else:
        out = np.full(n, float(value))
    if not np.all(np.isfinite(out)):
        raise UserInputError(f"{what} gives a non-finite value", "condition")
    return out


def _check_common(weight: float, n_points: int | None, component: int) -> None:
    if not (math.isfinite(weight) and weight >= 0):
        raise UserInputError(f"condition weight must be finite and ≥ 0, got {weight}", "condition")
    if n_points is not None and n_points < 1:
        raise UserInputError(f"condition n_points must be positive, got {n_points}", "condition")
    if component < 0:
        raise UserInputError(f"component must be ≥ 0, got {component}", "condition")


@dataclass(frozen=True)
class _FaceCondition:
    """Settings of a condition on boundary faces (the fields of :class:`DirichletBC` and :class:`NeumannBC`).

    Attributes
    ----------
    value : float or callable
        Target, a constant or a function of the named coordinates (see :func:`evaluate`).
    on : str, sequence of str or None
        Face names like ``"x_min"``; ``None``: every spatial face.
    component : int
        Output component of the field the condition applies to.
    weight : float
        Weight of the term in the loss (finite, ≥ 0).
    n_points : int or None
        Points to draw; ``None``: the caller's default.
    """

    value: Value = 0.0
    on: str | Sequence[str] | None = None
    component: int = 0
    weight: float = 1.0
    n_points: int | None = None

    def __post_init__(self) -> None:
        _check_common(self.weight, self.n_points, self.component)


@dataclass(frozen=True)
class DirichletBC(_FaceCondition):
    """u = *value* on the faces *on* (names like ``"x_min"``; ``None``: every spatial face)."""

    def sample(self, domain: Box, n: int, method: str, seed: int) -> PointSet:
        faces = (self.on,) if isinstance(self.on, str) else self.on
        points, _ = domain.sample_faces(self.n_points or n, faces, method, seed)
        return PointSet(points, {"target": evaluate(self.value, domain, points, "Dirichlet value")})

    def residual(self, f: Field, aux: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return f.u(self.component) - aux["target"]


@dataclass(frozen=True)
class NeumannBC(_FaceCondition):
    """∂u/∂n = *value* (outward normal derivative) on the faces *on* (``None``: every spatial face)."""

    def sample(self, domain: Box, n: int, method: str, seed: int) -> PointSet:
        faces = (self.on,) if isinstance(self.on, str) else tuple(self.on or domain.faces)
        points, owner = domain.sample_faces(self.n_points or n, faces, method, seed)
        axis = np.array([domain.index(faces[k].rsplit("_", 1)[0]) for k in owner], dtype=np.float64)
        sign = np.array([-1.0 if faces[k].endswith("_min") else 1.0 for k in owner])
        return PointSet(points, {"target": evaluate(self.value, domain, points, "Neumann value"),
                                 "axis": axis, "sign": sign})

    def residual(self, f: Field, aux: Mapping[str, torch.Tensor]) -> torch.Tensor:
        normal = torch.zeros_like(aux["target"])
        for j in torch.unique(aux["axis"]).tolist():
            mask = (aux["axis"] == j).to(normal.dtype)
            normal = normal + mask * aux["sign"] * f.d(f.names[int(j)], component=self.component)
        return normal - aux["target"]


@dataclass(frozen=True)
class InitialCondition:
    """u(x, t₀) = *value*(x); with ``derivative=1``, ∂u/∂t(x, t₀) = *value*(x)."""

    value: Value = 0.0
    derivative: int = 0
    component: int = 0
    weight: float = 1.0
    n_points: int | None = None

    def __post_init__(self) -> None:
        _check_common(self.weight, self.n_points, self.component)
        if self.derivative not in (0, 1):
            raise UserInputError(f"initial condition derivative must be 0 or 1, got {self.derivative}", "condition")

    def sample(self, domain: Box, n: int, method: str, seed: int) -> PointSet:
        points = domain.sample_initial(self.n_points or n, method, seed)
        return PointSet(points, {"target": evaluate(self.value, domain, points, "initial value")})

    def residual(self, f: Field, aux: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if self.derivative == 0:
            return f.u(self.component) - aux["target"]
        time = f.names[-1]
        return f.d(time, component=self.component) - aux["target"]


@dataclass(frozen=True, eq=False)
class PointData:
    """u = *values* at given *points* (measurements), shape (n, d) in the domain's column order.

    ``points`` may also be a mapping of coordinate name to array (n,).
    """

    points: np.ndarray | Mapping[str, np.ndarray]
    values: np.ndarray
    component: int = 0
    weight: float = 1.0
    where: str = "data"

    def __post_init__(self) -> None:
        _check_common(self.weight, None, self.component)
        values = np.asarray(self.values, dtype=np.float64).ravel()
        if values.size == 0:
            raise UserInputError("no data points", self.where)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise UserInputError("data value is NaN or infinite", f"{self.where}, row {bad[0] + 1}")
        object.__setattr__(self, "values", values)

    def sample(self, domain: Box, n: int, method: str, seed: int) -> PointSet:
        points = self.as_array(domain)
        return PointSet(points, {"target": self.values})

    def as_array(self, domain: Box) -> np.ndarray:
        """The points as an array (n, d), checked to be finite and inside *domain*."""
        if isinstance(self.points, Mapping):
            missing = [n for n in domain.names if n not in self.points]
            if missing:
                raise UserInputError(f"data points lack coordinate '{missing[0]}'", self.where)
            points = np.column_stack([np.asarray(self.points[n], dtype=np.float64).ravel() for n in domain.names])
        else:
            points = np.asarray(self.points, dtype=np.float64).reshape(-1, domain.dim)
        if points.shape[0] != self.values.size:
            raise UserInputError(f"{points.shape[0]} data points but {self.values.size} values", self.where)
        bad = np.flatnonzero(~np.all(np.isfinite(points), axis=1))
        if bad.size:
            raise UserInputError("data point coordinate is NaN or infinite", f"{self.where}, row {bad[0] + 1}")
        outside = np.flatnonzero(~domain.contains(points))
        if outside.size:
            i = outside[0]
            coords = ", ".join(f"{n}={v:g}" for n, v in zip(domain.names, points[i]))
            raise UserInputError(f"data point ({coords}) lies outside the domain", f"{self.where}, row {i + 1}")
        return points

    def residual(self, f: Field, aux: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return f.u(self.component) - aux["target"]


Condition = DirichletBC | NeumannBC | InitialCondition | PointData
