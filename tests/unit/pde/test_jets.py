"""Forward-mode jets through the network and the hard constraint equal nested autograd derivatives."""

from __future__ import annotations

import math

import pytest
import torch

from nnsurrogate.pde import HardConstraint, Interval, PINNSolver, Problem, Rectangle, TimeInterval
from nnsurrogate.pde.field import closure_of
from nnsurrogate.pde.model import combine, function_jets
from nnsurrogate.pde.network import PINNNetwork


def _autograd(u: torch.Tensor, X: torch.Tensor, key: tuple[int, ...]) -> torch.Tensor:
    out = u
    for j in key:
        out = torch.autograd.grad(out.sum(), X, create_graph=True)[0][:, j]
    return out


@pytest.mark.parametrize("activation", ["tanh", "silu", "gelu"])
def test_network_jets_equal_autograd(activation):
    torch.manual_seed(0)
    net = PINNNetwork([-1.0, 0.0, 0.0], [2.0, 1.0, 5.0], hidden=(7, 5, 6), activation=activation,
                      output_scale=0.3, generator=torch.Generator().manual_seed(1)).double()
    X = (torch.rand(40, 3, dtype=torch.float64) * torch.tensor([3.0, 1.0, 5.0]) + torch.tensor([-1.0, 0, 0]))
    keys = closure_of({(0, 0), (1, 1), (0, 2), (2,), (1, 2)})
    jets = net.jets(X, keys)
    Xg = X.clone().requires_grad_(True)
    u = net(Xg)[:, 0]
    for key in keys:
        torch.testing.assert_close(jets[key][:, 0], _autograd(u, Xg, key), rtol=1e-10, atol=1e-12)


def test_jets_follow_the_leibniz_rule_through_a_hard_constraint():
    domain = Interval(0.0, 2.0) * TimeInterval(0.0, 3.0)
    constraint = HardConstraint(lambda c: torch.sin(c["x"]) * torch.exp(-c["t"]),
                                lambda c: c["x"] * (2.0 - c["x"]) * c["t"] ** 2)
    problem = Problem(domain, lambda f: f.d("t") - f.d("x", "x"), (), constraint)
    model = PINNSolver(hidden=(8, 8), dtype="float64").build(problem)
    X = torch.rand(30, 2, dtype=torch.float64) * torch.tensor([2.0, 3.0])
    keys = closure_of({(0, 0), (0, 1), (1,)})
    field = model.field_jets(X, keys, model.constraint_jets(X, keys))
    Xg = X.clone().requires_grad_(True)
    u = model(Xg)[:, 0]
    for key in keys:
        torch.testing.assert_close(field._get(key)[:, 0], _autograd(u, Xg, key), rtol=1e-10, atol=1e-12)


def test_function_jets_of_a_known_function():
    X = torch.tensor([[0.3, 0.7], [1.1, -0.4]], dtype=torch.float64)
    jets = function_jets(lambda c: c["x"] ** 3 * c["y"], ("x", "y"), X, {(), (0,), (0, 0), (0, 1)})
    x, y = X[:, 0], X[:, 1]
    torch.testing.assert_close(jets[(0,)][:, 0], 3 * x ** 2 * y)
    torch.testing.assert_close(jets[(0, 0)][:, 0], 6 * x * y)
    torch.testing.assert_close(jets[(0, 1)][:, 0], 3 * x ** 2)
    constant = function_jets(lambda c: 2.0 + 0.0 * c["x"], ("x", "y"), X, {(), (0,), (0, 0)})
    assert torch.all(constant[(0, 0)] == 0) and torch.all(constant[()] == 2.0)


def test_combine_without_distance_is_particular_plus_network():
    N = {(): torch.ones(3, 1), (0,): 2 * torch.ones(3, 1)}
    P = {(): torch.full((3, 1), 5.0), (0,): torch.zeros(3, 1)}
    out = combine(P, None, N, {(), (0,)})
    assert torch.all(out[()] == 6.0) and torch.all(out[(0,)] == 2.0)


def test_field_derivatives_by_name_in_a_rectangle_match_jets_and_autograd_modes():
    domain = Rectangle((0.0, 1.0), (0.0, 2.0)) * TimeInterval(0.0, 1.0)
    problem = Problem(domain, lambda f: f.d("t") - f.d("x", "x") - f.d("y", "y"))
    model = PINNSolver(hidden=(6, 6), dtype="float64").build(problem)
    X = torch.rand(20, 3, dtype=torch.float64)
    keys = closure_of({(0, 0), (1, 1), (2,)})
    fj, fa = model.field_jets(X, keys, (None, None)), model.field_autograd(X)
    for wrt in [("x", "x"), ("y", "y"), ("t",), ("y", "x")]:
        if tuple(sorted(domain.index(w) for w in wrt)) in keys:
            torch.testing.assert_close(fj.d(*wrt), fa.d(*wrt), rtol=1e-10, atol=1e-12)
    assert math.isclose(fa.d("y", "x")[0].item(), fa.d("x", "y")[0].item(), rel_tol=1e-10, abs_tol=1e-14)


def test_erfc_particular_closed_form_jets_equal_autograd():
    from nnsurrogate.pde.field import Coords
    from nnsurrogate.pde.heat import ErfcParticular, HeatRod

    rod = HeatRod(alpha=0.07, length=1.5, t_end=2.0, t_left=3.0, t_right=-1.0, t_initial=0.5)
    P = ErfcParticular(rod)
    X = torch.rand(50, 2, dtype=torch.float64) * torch.tensor([1.5, 2.0]) + torch.tensor([0.0, 0.01])
    keys = {(), (0,), (1,), (0, 0)}
    closed = P.jets(Coords(("x", "t"), X), keys)
    Xg = X.clone().requires_grad_(True)
    value = P(Coords(("x", "t"), Xg))
    for key in keys:
        torch.testing.assert_close(closed[key][:, 0], _autograd(value, Xg, key), rtol=1e-9, atol=1e-10)
    assert P.jets(Coords(("x", "t"), X), {(1, 1)}) is None  # not in closed form: autograd takes over
