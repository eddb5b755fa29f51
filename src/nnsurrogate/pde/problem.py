"""A PDE problem as an object: domain, residual, conditions, hard constraints and unknowns.

Declared separately from the network and the optimizer (as in DeepXDE, Lu et al., SIAM Review 63,
208 (2021)), so the same :class:`~nnsurrogate.pde.pinn.PINNSolver` solves any of them::

    domain = Interval(0.0, 1.0) * TimeInterval(0.0, 1.0)
    problem = Problem(domain, residual=lambda f: f.d("t") - 0.1 * f.d("x", "x"),
                      conditions=[DirichletBC(0.0, on="x_min"), DirichletBC(1.0, on="x_max"),
                                  InitialCondition(0.0)])

A :class:`HardConstraint` builds conditions into the field itself, u = P + D·N (Lagaris, Likas &
Fotiadis, IEEE Trans. Neural Netw. 9, 987 (1998)): P meets the conditions, D vanishes where they
hold, N is the network. Unknown coefficients (:class:`Unknown`, :class:`UnknownField`) turn the
problem into an inverse one: they are trained together with the network.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.conditions import Condition, DirichletBC, InitialCondition, NeumannBC, PointData
from nnsurrogate.pde.domain import Box
from nnsurrogate.pde.field import Coords, Field

Residual = Callable[[Field], "torch.Tensor | Sequence[torch.Tensor]"]
CoordFn = Callable[[Coords], torch.Tensor]


@dataclass(frozen=True)
class HardConstraint:
    """The output transform u = P(X) + D(X) · N(X).

    Parameters
    ----------
    particular : callable, optional
        P: ``particular(c)`` → tensor (n,) or (n, k) from coordinates ``c["x"]``, ``c["t"]``, … ;
        meets the hard-constrained conditions. ``None`` means 0.
    distance : callable, optional
        D: ``distance(c)`` → tensor (n,) or (n, k); zero where the conditions hold, positive inside.
        ``None`` means 1.
    uses_unknowns : bool
        True when P or D read ``c.unknown(...)``; they are then re-evaluated at every step.
    """

    particular: CoordFn | None = None
    distance: CoordFn | None = None
    uses_unknowns: bool = False


@dataclass(frozen=True)
class Unknown:
    """A scalar coefficient to estimate, starting from *initial*; ``positive`` trains its logarithm."""

    initial: float = 1.0
    positive: bool = False

    def __post_init__(self) -> None:
        if not math.isfinite(self.initial) or (self.positive and self.initial <= 0):
            raise UserInputError(f"initial value of an unknown must be finite{' and > 0' if self.positive else ''}, "
                                 f"got {self.initial}", "problem")


@dataclass(frozen=True)
class UnknownField:
    """A coefficient that varies in space, such as α(x), represented by a small network.

    Its value is ``initial · exp(net(inputs))`` when ``positive`` (default), else
    ``initial + net(inputs)``; the network starts at zero output.

    Parameters
    ----------
    inputs : tuple of str
        Coordinates it depends on, e.g. ``("x",)``.
    hidden : tuple of int
        Hidden widths of its network.
    initial : float
        Starting (and reference) value.
    positive : bool
        Keep it positive.
    """

    inputs: tuple[str, ...] = ("x",)
    hidden: tuple[int, ...] = (16,)
    initial: float = 1.0
    positive: bool = True

    def __post_init__(self) -> None:
        Unknown(self.initial, self.positive)  # same checks
        if not self.inputs:
            raise UserInputError("an unknown field needs at least one input coordinate", "problem")


@dataclass(frozen=True)
class Problem:
    """Domain, PDE residual and conditions of a forward or inverse problem.

    Parameters
    ----------
    domain : Box
        Interval or rectangle, optionally times a TimeInterval.
    residual : callable
        ``residual(f)`` → tensor (n,) or a sequence of them, zero where the PDE holds; ``f`` is a
        :class:`~nnsurrogate.pde.field.Field`.
    conditions : sequence
        :class:`DirichletBC`, :class:`NeumannBC`, :class:`InitialCondition`, :class:`PointData`.
    constraint : HardConstraint, optional
        Output transform u = P + D·N; the conditions it enforces need not be listed.
    unknowns : mapping of str to Unknown or UnknownField
        Coefficients to estimate (inverse problem), read in the residual by ``f.unknown(name)``.
    n_outputs : int
        Number of field components.
    residual_weight : float
        Weight of the mean squared residual in the loss.
    """

    domain: Box
    residual: Residual
    conditions: Sequence[Condition] = ()
    constraint: HardConstraint | None = None
    unknowns: Mapping[str, Unknown | UnknownField] = field(default_factory=dict)
    n_outputs: int = 1
    residual_weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.domain, Box):
            raise UserInputError("domain must be an Interval, Rectangle or their product with a TimeInterval",
                                 "problem")
        if not callable(self.residual):
            raise UserInputError("residual must be a function of the field", "problem")
        object.__setattr__(self, "conditions", tuple(self.conditions))
        object.__setattr__(self, "unknowns", dict(self.unknowns))
        for c in self.conditions:
            if not isinstance(c, (DirichletBC, NeumannBC, InitialCondition, PointData)):
                raise UserInputError(f"unsupported condition {type(c).__name__}", "problem")
            if c.component >= self.n_outputs:
                raise UserInputError(f"condition on component {c.component} but the field has {self.n_outputs}",
                                     "problem")
            if isinstance(c, InitialCondition) and self.domain.time is None:
                raise UserInputError("an initial condition needs a time-dependent domain", "problem")
        for name, u in self.unknowns.items():
            if isinstance(u, UnknownField):
                for coord in u.inputs:
                    self.domain.index(coord)
            elif not isinstance(u, Unknown):
                raise UserInputError(f"unknown '{name}' must be an Unknown or an UnknownField", "problem")
        if self.n_outputs < 1 or not (math.isfinite(self.residual_weight) and self.residual_weight >= 0):
            raise UserInputError("n_outputs must be ≥ 1 and residual_weight finite and ≥ 0", "problem")
