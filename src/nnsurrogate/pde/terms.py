"""Loss terms of a PINN: the PDE residual on collocation points and one term per condition.

Each :class:`Term` holds its points, the per-point data its residual needs, the derivatives the
residual asks for (found once by probing it) and, for a point-only hard constraint, the
precomputed jets of P and D. The loss is Σ_terms w · Σ_outputs mean(r²) (Raissi et al. 2019).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.conditions import InitialCondition, PointSet
from nnsurrogate.pde.field import Field, Key, ProbeField, closure_of
from nnsurrogate.pde.model import PINNModel

TermResidual = Callable[[Field, dict], "torch.Tensor | Sequence[torch.Tensor]"]


@dataclass
class Term:
    """One mean-square loss term.

    Attributes
    ----------
    name : str
        ``"pde"``, or the condition's class name and index.
    X : torch.Tensor, shape (n, d)
    aux : dict of str to torch.Tensor, each (n,)
    residual : callable
        ``residual(field, aux)`` → tensor (n,) or a sequence of them.
    weight : float
        User weight.
    keys : set of Key
        Derivatives needed (closed under lower orders).
    static : tuple or None
        Precomputed constraint jets (P, D) at X, for the jets mode.
    """

    name: str
    X: torch.Tensor
    aux: dict[str, torch.Tensor]
    residual: TermResidual
    weight: float
    keys: set[Key]
    static: tuple | None = None


def as_list(r) -> list[torch.Tensor]:
    """A residual as a list of tensors (a single tensor becomes a one-element list)."""
    return [r] if isinstance(r, torch.Tensor) else list(r)


def mean_square(r) -> torch.Tensor:
    """Σ over outputs of mean(r²)."""
    return sum(torch.mean(torch.as_tensor(x) ** 2) for x in as_list(r))


def probe_keys(model: PINNModel, X: torch.Tensor, residual: TermResidual, aux: dict) -> set[Key]:
    """Derivatives a residual asks for, found by calling it once on a stand-in field."""
    n = min(8, X.shape[0])
    probe = ProbeField(model.names, X[:n], model.problem.n_outputs, model.unknowns.value)
    with torch.no_grad():
        try:
            r = residual(probe, {k: v[:n] for k, v in aux.items()})
        except UserInputError:
            raise
        except Exception as exc:  # noqa: BLE001 - a user's residual may fail in any way
            raise UserInputError(f"the residual function failed: {type(exc).__name__}: {exc}", "residual") from None
    for part in as_list(r):
        if torch.as_tensor(part).shape not in ((n,), (n, 1), ()):
            raise UserInputError(f"the residual must return one value per point, got shape "
                                 f"{tuple(torch.as_tensor(part).shape)} for {n} points", "residual")
    return closure_of(probe.requested)


def _pde_residual(model: PINNModel) -> TermResidual:
    def residual(f: Field, aux: dict):
        return model.problem.residual(f)
    return residual


def sample_domain(model: PINNModel, n: int, method: str, seed: int) -> np.ndarray:
    """*n* collocation points (n, d) in the problem's domain."""
    return model.problem.domain.sample_interior(n, method, seed)


def build_terms(model: PINNModel, n_domain: int, n_boundary: int, n_initial: int, method: str, seed: int,
                dtype: torch.dtype) -> list[Term]:
    """The PDE term and one term per condition, with their points and needed derivatives."""
    problem = model.problem
    to_t = lambda a: torch.as_tensor(a, dtype=dtype)  # noqa: E731
    X = to_t(sample_domain(model, n_domain, method, seed))
    pde = Term("pde", X, {}, _pde_residual(model), problem.residual_weight, set())
    terms = [pde] if problem.residual_weight > 0 else []
    for k, cond in enumerate(problem.conditions):
        n = n_initial if isinstance(cond, InitialCondition) else n_boundary
        ps: PointSet = cond.sample(problem.domain, n, method, seed + 31 * (k + 1))
        terms.append(Term(f"{type(cond).__name__}[{k}]", to_t(ps.points), {a: to_t(v) for a, v in ps.aux.items()},
                          cond.residual, cond.weight, set()))
    for term in terms:
        term.keys = probe_keys(model, term.X, term.residual, term.aux)
    return terms


def uses_jets(model: PINNModel, terms: Sequence[Term], mode: str) -> bool:
    """Whether forward-mode jets can serve every term (orders ≤ 2, a supported activation)."""
    if mode == "autograd":
        return False
    ok = model.network.has_jets and all(len(k) <= 2 for t in terms for k in t.keys)
    if mode == "jets" and not ok:
        raise UserInputError("derivatives='jets' needs orders ≤ 2 and a tanh, silu, gelu or relu network", "solver")
    return ok


def prepare_static(model: PINNModel, term: Term, jets: bool) -> None:
    """Precompute the constraint's jets at the term's points when they depend on the points only."""
    c = model.constraint
    term.static = None
    if jets and c is not None and not c.uses_unknowns:
        term.static = model.constraint_jets(term.X, term.keys)
    elif jets and c is None:
        term.static = (None, None)


def term_field(model: PINNModel, term: Term, jets: bool) -> Field:
    """The field at a term's points."""
    if jets:
        return model.field_jets(term.X, term.keys, term.static)
    return model.field_autograd(term.X)


def term_losses(model: PINNModel, terms: Sequence[Term], jets: bool) -> list[torch.Tensor]:
    """Unweighted mean-square loss of each term."""
    return [mean_square(t.residual(term_field(model, t, jets), t.aux)) for t in terms]


def residual_magnitude(model: PINNModel, term: Term, X: torch.Tensor, jets: bool) -> np.ndarray:
    """|r| (Euclidean over outputs) of the PDE term at new points X (n, d), shape (n,)."""
    probe = Term(term.name, X, {}, term.residual, term.weight, term.keys)
    prepare_static(model, probe, jets)
    with torch.set_grad_enabled(not jets):
        r = as_list(term.residual(term_field(model, probe, jets), {}))
        sq = sum(torch.as_tensor(x).detach().reshape(-1) ** 2 for x in r)
    return np.sqrt(sq.cpu().numpy().astype(np.float64))

