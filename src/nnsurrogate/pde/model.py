"""The trainable side of a PINN: network, unknown coefficients and the hard-constraint transform.

:class:`PINNModel` turns points into a :class:`~nnsurrogate.pde.field.Field`. With forward-mode
jets, the field's derivatives follow from those of N (network), P and D (constraint) by the
Leibniz rule for u = P + D·N:

    uᵢ = Pᵢ + Dᵢ N + D Nᵢ,     uᵢⱼ = Pᵢⱼ + Dᵢⱼ N + Dᵢ Nⱼ + Dⱼ Nᵢ + D Nᵢⱼ,

where P and D depend on the points only (unless they read unknowns), so their derivatives are
computed once per point set by autograd.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from nnsurrogate.core.nn import EnsembleMLP
from nnsurrogate.pde.domain import Box
from nnsurrogate.pde.field import Coords, Field, Key
from nnsurrogate.pde.network import PINNNetwork
from nnsurrogate.pde.problem import HardConstraint, Problem, Unknown, UnknownField

Jets = dict[Key, torch.Tensor]


class UnknownStore(nn.Module):
    """Trainable unknown coefficients: scalars (``Unknown``) and small networks (``UnknownField``)."""

    def __init__(self, unknowns: Mapping[str, Unknown | UnknownField], domain: Box,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.specs = dict(unknowns)
        self.scalars = nn.ParameterDict()
        self.fields = nn.ModuleDict()
        self._columns: dict[str, list[int]] = {}
        self._bounds: dict[str, tuple[list[float], list[float]]] = {}
        for name, spec in self.specs.items():
            if isinstance(spec, Unknown):
                start = torch.log(torch.tensor(spec.initial)) if spec.positive else torch.tensor(spec.initial)
                self.scalars[name] = nn.Parameter(start.to(torch.float64))
                continue
            cols = [domain.index(c) for c in spec.inputs]
            net = EnsembleMLP(1, len(cols), 1, spec.hidden, "tanh", generator=generator)
            with torch.no_grad():  # start at the initial value
                net.layers[-1].weight.zero_()
            self.fields[name] = net
            self._columns[name] = cols
            self._bounds[name] = ([domain.lower[c] for c in cols], [domain.upper[c] for c in cols])

    def value(self, name: str, X: torch.Tensor) -> torch.Tensor:
        """The unknown at points X (n, d): a scalar tensor, or shape (n,) for a field."""
        if name not in self.specs:
            raise KeyError(f"unknown '{name}' is not declared by the problem")
        spec = self.specs[name]
        if isinstance(spec, Unknown):
            raw = self.scalars[name]
            return torch.exp(raw) if spec.positive else raw
        lo, hi = (torch.tensor(b, dtype=X.dtype) for b in self._bounds[name])
        z = 2.0 * (X[:, self._columns[name]] - lo) / (hi - lo) - 1.0
        out = self.fields[name](z)[0, :, 0]
        return spec.initial * torch.exp(out) if spec.positive else spec.initial + out

    def scalar_values(self) -> dict[str, float]:
        """Current values of the scalar unknowns."""
        return {name: float(self.value(name, torch.zeros(1, 1))) for name in self.scalars}


def function_jets(fn, names: tuple[str, ...], X: torch.Tensor, keys: set[Key], unknowns=None,
                  keep_graph: bool = False) -> Jets:
    """Value and derivatives (*keys*, orders ≤ 2) of a coordinate function by autograd, each (n, k).

    A function with a ``jets(coords, keys)`` method that returns a dict supplies them itself.
    With ``keep_graph`` the results stay connected to parameters used inside *fn* (unknowns).
    """
    own = getattr(fn, "jets", None)
    if own is not None:  # the function knows its derivatives in closed form
        with torch.enable_grad():
            out = own(Coords(names, X, unknowns), keys)
        if out is not None:
            return out if keep_graph else {k: v.detach() for k, v in out.items()}
    Xg = X.detach().requires_grad_(True)
    with torch.enable_grad():
        value = torch.as_tensor(fn(Coords(names, Xg, unknowns)), dtype=X.dtype)
        value = value.reshape(X.shape[0], -1) if value.dim() > 0 else value.expand(X.shape[0]).reshape(-1, 1)
        out = {(): value}
        for key in sorted((k for k in keys if k), key=len):
            parent = out[key[:-1]]
            cols = []
            for c in range(parent.shape[1]):
                g = None
                if parent.requires_grad:
                    g = torch.autograd.grad(parent[:, c].sum(), Xg, create_graph=True, allow_unused=True)[0]
                cols.append(torch.zeros(X.shape[0], dtype=X.dtype) if g is None else g[:, key[-1]])
            out[key] = torch.stack(cols, dim=1)
    if not keep_graph:
        out = {k: v.detach() for k, v in out.items()}
    return out


def combine(P: Jets | None, D: Jets | None, N: Jets, keys: set[Key]) -> Jets:
    """Jets of u = P + D·N from those of P, D and N (Leibniz rule; missing P is 0, missing D is 1)."""
    out = {}
    for key in keys:
        if D is None:
            u = N[key]
        elif len(key) == 0:
            u = D[()] * N[()]
        elif len(key) == 1:
            u = D[key] * N[()] + D[()] * N[key]
        else:
            i, j = (key[0],), (key[1],)
            u = D[key] * N[()] + D[i] * N[j] + D[j] * N[i] + D[()] * N[key]
        out[key] = u if P is None else P[key] + u
    return out


class PINNModel(nn.Module):
    """Network, unknowns and constraint of one problem; maps points to fields.

    Parameters
    ----------
    problem : Problem
    network : PINNNetwork
    unknowns : UnknownStore
    """

    def __init__(self, problem: Problem, network: PINNNetwork, unknowns: UnknownStore) -> None:
        super().__init__()
        self.problem = problem
        self.network = network
        self.unknowns = unknowns
        self.names = problem.domain.names

    @property
    def constraint(self) -> HardConstraint | None:
        return self.problem.constraint

    def constraint_jets(self, X: torch.Tensor, keys: set[Key], keep_graph: bool = False) -> tuple[Jets | None, Jets | None]:
        """Jets of P and D at X for *keys* (``None`` where the constraint omits them)."""
        c = self.constraint
        if c is None:
            return None, None
        P = function_jets(c.particular, self.names, X, keys, self.unknowns.value, keep_graph) if c.particular else None
        D = function_jets(c.distance, self.names, X, keys, self.unknowns.value, keep_graph) if c.distance else None
        return P, D

    def field_jets(self, X: torch.Tensor, keys: set[Key], static: tuple[Jets | None, Jets | None] | None) -> Field:
        """The field at X by forward-mode jets; *static* holds precomputed constraint jets (or ``None``)."""
        if static is None:
            static = self.constraint_jets(X, keys, keep_graph=True)
        u = combine(static[0], static[1], self.network.jets(X, keys), keys)
        return Field(self.names, X, u, self.unknowns.value)

    def field_autograd(self, X: torch.Tensor) -> Field:
        """The field at X with lazily computed autograd derivatives (any order)."""
        Xg = X.detach().requires_grad_(True)
        return Field(self.names, Xg, {(): self.forward(Xg)}, self.unknowns.value, lazy=True)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """The field u (n, k) at points X (n, d)."""
        u = self.network(X)
        c = self.constraint
        if c is None:
            return u
        coords = Coords(self.names, X, self.unknowns.value)
        if c.distance is not None:
            u = _as_columns(c.distance(coords), X) * u
        if c.particular is not None:
            u = _as_columns(c.particular(coords), X) + u
        return u


def _as_columns(value, X: torch.Tensor) -> torch.Tensor:
    value = torch.as_tensor(value, dtype=X.dtype)
    return value.reshape(X.shape[0], -1) if value.dim() > 0 else value.expand(X.shape[0]).reshape(-1, 1)
