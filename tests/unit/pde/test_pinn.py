"""The PINN solver on problems with known solutions, through the public problem API."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde import (AdaptiveWeights, DirichletBC, Interval, NeumannBC, PINNSolver, PointData, Problem,
                             Resampling, TimeInterval, Unknown)
from nnsurrogate.pde.heat import HeatRod, field_errors, heat_analytic, heat_problem, regular_grid

TINY = dict(hidden=(16, 16), n_domain=400, n_boundary=40, n_initial=40)


def _heat_errors(result, rod):
    x, t = regular_grid(rod, 40, 40)
    X, T = np.meshgrid(x, t)
    pred = result.predict({"x": X.ravel(), "t": T.ravel()}).reshape(X.shape)
    return field_errors(pred, heat_analytic(rod, X, T), t, rod.t_end)


def test_short_heat_pinn_run_beats_a_loose_error_bound():
    rod = HeatRod()
    result = PINNSolver(**TINY, adam_iterations=50, lbfgs_iterations=100).solve(heat_problem(rod))
    errors = _heat_errors(result, rod)
    assert errors["rel_l2_t_ge_1pct"] < 2e-3 and errors["rel_l2"] < 2e-3
    assert result.history[-1][1] < result.history[0][1] * 1e-2


def test_hard_constraint_holds_exactly_at_the_boundary_and_start():
    rod = HeatRod(alpha=0.02, length=0.5, t_end=3.0, t_left=4.0, t_right=1.0, t_initial=2.0)
    result = PINNSolver(hidden=(8,), adam_iterations=5, lbfgs_iterations=0).solve(heat_problem(rod))
    t = np.linspace(0.01, 3.0, 7)
    np.testing.assert_allclose(result.predict({"x": 0 * t, "t": t}), 4.0, atol=1e-12)
    np.testing.assert_allclose(result.predict({"x": 0 * t + 0.5, "t": t}), 1.0, atol=1e-12)
    x = np.linspace(0.05, 0.45, 5)
    np.testing.assert_allclose(result.predict({"x": x, "t": 0 * x}), 2.0, atol=1e-12)


def test_steady_poisson_with_soft_dirichlet_values():
    # u'' = −π² sin(πx), u(0) = u(1) = 0  →  u = sin(πx)
    problem = Problem(Interval(0.0, 1.0), lambda f: f.d("x", "x") + math.pi ** 2 * torch.sin(math.pi * f["x"]),
                      [DirichletBC(0.0)])
    result = PINNSolver(**TINY, adam_iterations=50, lbfgs_iterations=100).solve(problem)
    x = np.linspace(0.0, 1.0, 51)
    assert np.max(np.abs(result.predict(x[:, None]) - np.sin(np.pi * x))) < 1e-3


def test_neumann_condition_sets_the_outward_slope():
    # u'' = 0, u(0) = 1, ∂u/∂n = u'(1) = 2  →  u = 1 + 2x
    problem = Problem(Interval(0.0, 1.0), lambda f: f.d("x", "x"),
                      [DirichletBC(1.0, on="x_min"), NeumannBC(2.0, on="x_max")])
    result = PINNSolver(**TINY, adam_iterations=50, lbfgs_iterations=100).solve(problem)
    x = np.linspace(0.0, 1.0, 11)
    assert np.max(np.abs(result.predict(x[:, None]) - (1 + 2 * x))) < 1e-3


def test_scalar_unknown_is_recovered_from_data_and_the_equation():
    # u'' = −k π² sin(πx) with k = 2.5: the data u = k sin(πx) pin k
    x = np.linspace(0.05, 0.95, 12)
    problem = Problem(Interval(0.0, 1.0),
                      lambda f: f.d("x", "x") + f.unknown("k") * math.pi ** 2 * torch.sin(math.pi * f["x"]),
                      [DirichletBC(0.0), PointData(x[:, None], 2.5 * np.sin(np.pi * x))],
                      unknowns={"k": Unknown(1.0, positive=True)})
    result = PINNSolver(**TINY, adam_iterations=50, lbfgs_iterations=200).solve(problem)
    assert result.unknown("k") == pytest.approx(2.5, rel=1e-3)


def test_jets_and_autograd_modes_train_the_same_network():
    problem = heat_problem(HeatRod())
    cfg = dict(hidden=(8, 8), n_domain=200, adam_iterations=30, lbfgs_iterations=0)
    a = PINNSolver(**cfg, derivatives="jets").solve(problem)
    b = PINNSolver(**cfg, derivatives="autograd").solve(problem)
    assert a.history[-1][1] == pytest.approx(b.history[-1][1], rel=1e-8)


def test_adaptive_weights_and_resampling_options():
    problem = heat_problem(HeatRod(), corner="none", hard=False)
    result = PINNSolver(hidden=(8, 8), n_domain=200, n_boundary=20, n_initial=20, adam_iterations=60,
                        lbfgs_iterations=0, adaptive_weights=AdaptiveWeights(every=20),
                        resampling=Resampling("rar", every=20, candidates=500, add=10)).solve(problem)
    assert result.n_collocation == 200 + 2 * 10  # refinements at iterations 20 and 40
    assert len(result.weights) == 4 and result.weights["pde"] == 1.0
    assert all(w != 1.0 and w > 0 for name, w in result.weights.items() if name != "pde")
    rad = PINNSolver(hidden=(8,), n_domain=100, adam_iterations=25, lbfgs_iterations=0,
                     resampling=Resampling("rad", every=10, candidates=400)).solve(problem)
    assert rad.n_collocation == 100
    during_lbfgs = PINNSolver(hidden=(8,), n_domain=100, adam_iterations=0, lbfgs_iterations=60,
                              resampling=Resampling("rar", candidates=300, add=5, lbfgs_every=20)).solve(problem)
    assert during_lbfgs.n_collocation == 100 + 2 * 5  # refinements after L-BFGS iterations 20 and 40


def test_interrupted_training_resumes_to_the_same_result(tmp_path):
    problem = heat_problem(HeatRod())
    ckpt = str(tmp_path / "pinn.pt")
    cfg = dict(hidden=(8, 8), n_domain=150, adam_iterations=40, lbfgs_iterations=30, checkpoint_every=10)
    whole = PINNSolver(**cfg).solve(problem)

    def stop(iteration, total, metrics):
        if iteration == 25:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        PINNSolver(**cfg, checkpoint=ckpt).solve(problem, progress=stop)
    resumed = PINNSolver(**cfg, checkpoint=ckpt).solve(problem)
    pts = np.array([[0.3, 0.2], [0.8, 0.9]])
    np.testing.assert_allclose(resumed.predict(pts), whole.predict(pts), rtol=1e-10, atol=1e-12)


def test_progress_reports_phases_and_a_foreign_checkpoint_is_refused(tmp_path):
    problem = heat_problem(HeatRod())
    cfg = dict(hidden=(6,), n_domain=60, adam_iterations=12, lbfgs_iterations=10, checkpoint_every=5)
    calls = []
    PINNSolver(**cfg, checkpoint=str(tmp_path / "a.pt")).solve(problem, lambda *a: calls.append(a))
    assert [c[0] for c in calls[:12]] == list(range(1, 13)) and all(c[1] == 22 for c in calls)
    assert {c[2]["phase"] for c in calls[:12]} == {"adam"} and calls[-1][2]["phase"] == "lbfgs"
    assert all(np.isfinite(c[2]["loss"]) for c in calls)
    with pytest.raises(UserInputError, match="other data or settings"):
        PINNSolver(**{**cfg, "learning_rate": 2e-3}, checkpoint=str(tmp_path / "a.pt")).solve(problem)
    torch.save({"model": {}, "counters": torch.zeros(3)}, tmp_path / "old.pt")
    with pytest.raises(UserInputError, match="not a checkpoint"):
        PINNSolver(**cfg, checkpoint=str(tmp_path / "old.pt")).solve(problem)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"n_domain": 0}, "n_domain"), ({"dtype": "float16"}, "dtype"), ({"learning_rate": -1.0}, "learning rate"),
    ({"sampler": "grid"}, "sampler"), ({"hidden": ()}, "hidden"), ({"derivatives": "magic"}, "derivatives"),
])
def test_bad_solver_settings(overrides, message):
    with pytest.raises(UserInputError, match=message):
        PINNSolver(**overrides).solve(heat_problem(HeatRod()))


def test_residual_with_a_wrong_shape_or_an_error_is_reported():
    domain = Interval(0.0, 1.0) * TimeInterval(0.0, 1.0)
    with pytest.raises(UserInputError, match="one value per point"):
        PINNSolver(adam_iterations=1).solve(Problem(domain, lambda f: torch.stack([f.u(), f.u()], 1)))
    with pytest.raises(UserInputError, match="unknown coordinate 'y'"):
        PINNSolver(adam_iterations=1).solve(Problem(domain, lambda f: f.d("y")))
    with pytest.raises(UserInputError, match="residual function failed"):
        PINNSolver(adam_iterations=1).solve(Problem(domain, lambda f: f.d("t") @ f.u()[:1, None]))
