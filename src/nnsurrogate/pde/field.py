"""What a residual function sees: the network's field and its derivatives at a set of points.

A user writes the PDE residual as a Python function of a :class:`Field` ``f``::

    def heat(f):                       # T_t − α T_xx = 0
        return f.d("t") - alpha * f.d("x", "x")

``f.u()`` is the field (component 0 by default), ``f.d("x")`` and ``f.d("x", "x")`` its
derivatives by coordinate name, ``f["x"]`` a coordinate, and ``f.unknown("alpha")`` an unknown
coefficient of an inverse problem. Derivatives come either from forward-mode propagation through
the network (:mod:`nnsurrogate.pde.network`, exact and fast for orders ≤ 2) or lazily from
autograd (any order); both give the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from nnsurrogate.core.errors import UserInputError

#: A derivative is a sorted tuple of coordinate indices: () the value, (0,) ∂/∂x₀, (0, 1) ∂²/∂x₀∂x₁.
Key = tuple[int, ...]


def make_key(names: tuple[str, ...], wrt: tuple[str, ...]) -> Key:
    """The derivative key of coordinate names *wrt* (order-independent: mixed partials commute)."""
    keys = []
    for w in wrt:
        if w not in names:
            raise UserInputError(f"unknown coordinate '{w}' in a derivative; the domain has {', '.join(names)}",
                                 "residual")
        keys.append(names.index(w))
    return tuple(sorted(keys))


class Coords(Mapping):
    """Coordinates of a point set by name (tensors of shape (n,)), plus the problem's unknowns.

    Passed to :class:`~nnsurrogate.pde.problem.HardConstraint` functions; ``c["x"]`` is the
    coordinate, ``c.unknown("alpha")`` an unknown coefficient (inverse problems).
    """

    def __init__(self, names: tuple[str, ...], X: torch.Tensor,
                 unknowns: Callable[[str, torch.Tensor], torch.Tensor] | None = None) -> None:
        self._names, self._X, self._unknowns = names, X, unknowns

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._names:
            raise KeyError(name)
        return self._X[:, self._names.index(name)]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    @property
    def points(self) -> torch.Tensor:
        """All coordinates, shape (n, d)."""
        return self._X

    def unknown(self, name: str) -> torch.Tensor:
        """Current value of the unknown *name*: a scalar, or shape (n,) for an unknown field."""
        if self._unknowns is None:
            raise UserInputError(f"unknown '{name}' is not declared by the problem", "problem")
        return self._unknowns(name, self._X)


class Field:
    """The field u (n, k) at n points and its derivatives, by coordinate name.

    Parameters
    ----------
    names : tuple of str
        Coordinate names of the domain, in column order.
    X : torch.Tensor, shape (n, d)
        The points (physical units).
    derivatives : dict of Key to torch.Tensor, shape (n, k)
        Derivatives already computed (at least the value, key ``()``).
    unknowns : callable, optional
        ``unknowns(name, X)`` returns an unknown's value (scalar or (n,)).
    lazy : bool
        When true, *X* requires grad and missing derivatives are computed by autograd.
    """

    def __init__(self, names: tuple[str, ...], X: torch.Tensor, derivatives: dict[Key, torch.Tensor],
                 unknowns: Callable[[str, torch.Tensor], torch.Tensor] | None = None, lazy: bool = False) -> None:
        self.names, self.X = names, X
        self._cache = dict(derivatives)
        self._unknowns = unknowns
        self._lazy = lazy

    @property
    def n_points(self) -> int:
        return self.X.shape[0]

    def __getitem__(self, name: str) -> torch.Tensor:
        """Coordinate *name* at the points, shape (n,)."""
        return self.X[:, make_key(self.names, (name,))[0]]

    def u(self, component: int = 0) -> torch.Tensor:
        """The field's component *component*, shape (n,)."""
        return self._get(())[:, component]

    def d(self, *wrt: str, component: int = 0) -> torch.Tensor:
        """Partial derivative of component *component* w.r.t. the named coordinates, shape (n,).

        ``f.d("x")`` is ∂u/∂x, ``f.d("x", "x")`` ∂²u/∂x², ``f.d("x", "t")`` ∂²u/∂x∂t.
        """
        if not wrt:
            return self.u(component)
        return self._get(make_key(self.names, wrt))[:, component]

    def unknown(self, name: str, *wrt: str) -> torch.Tensor:
        """An unknown coefficient: a scalar tensor, or shape (n,) for an unknown field α(x).

        With coordinate names in *wrt*, the derivative of an unknown field (by autograd).
        """
        if self._unknowns is None:
            raise UserInputError(f"unknown '{name}' is not declared by the problem", "residual")
        if not wrt:
            return self._unknowns(name, self.X)
        X = self.X if self.X.requires_grad else self.X.detach().requires_grad_(True)
        value = self._unknowns(name, X)
        for w in wrt:
            j = make_key(self.names, (w,))[0]
            value = torch.autograd.grad(value.sum(), X, create_graph=True)[0][:, j]
        return value

    def _get(self, key: Key) -> torch.Tensor:
        if key in self._cache:
            return self._cache[key]
        if not self._lazy:
            raise KeyError(key)
        parent = self._get(key[:-1])
        grads = [torch.autograd.grad(parent[:, c].sum(), self.X, create_graph=True)[0][:, key[-1]]
                 for c in range(parent.shape[1])]
        value = torch.stack(grads, dim=1)
        self._cache[key] = value
        return value


class ProbeField(Field):
    """A stand-in field that records which derivatives a residual asks for (shapes right, values dummy)."""

    def __init__(self, names: tuple[str, ...], X: torch.Tensor, n_outputs: int,
                 unknowns: Callable[[str, torch.Tensor], torch.Tensor] | None = None) -> None:
        super().__init__(names, X, {}, unknowns)
        self.requested: set[Key] = set()
        self._n_outputs = n_outputs

    def _get(self, key: Key) -> torch.Tensor:
        self.requested.add(key)
        return torch.full((self.X.shape[0], self._n_outputs), 0.5, dtype=self.X.dtype)

    def unknown(self, name: str, *wrt: str) -> torch.Tensor:
        with torch.enable_grad():
            return super().unknown(name, *wrt).detach()


def closure_of(keys: set[Key]) -> set[Key]:
    """The keys plus every lower-order key they are built from (the value () included)."""
    out: set[Key] = {()}
    for key in keys:
        for i in key:
            out.add((i,))
        out.add(key)
    return out
