"""1D wave equation with the nnsurrogate PDE API: a hard value and a soft velocity initial condition.

    u_tt = c² u_xx,  x ∈ [0, 1],  t ∈ [0, 1],  c = 1,
    u(t, 0) = u(t, 1) = 0,  u(0, x) = sin(πx) + ½ sin(3πx),  u_t(0, x) = 0.

Exact solution: u = sin(πx) cos(πct) + ½ sin(3πx) cos(3πct). The field is u = u₀(x) + t·x(1−x)·N,
which holds the initial displacement and the fixed ends exactly; the initial velocity is a loss term
(``InitialCondition(0.0, derivative=1)``). Run: ``python examples/pde_wave1d.py [--quick]``.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from nnsurrogate.pde import HardConstraint, InitialCondition, Interval, PINNSolver, Problem, TimeInterval

C = 1.0


def exact(x, t):
    return np.sin(np.pi * x) * np.cos(np.pi * C * t) + 0.5 * np.sin(3 * np.pi * x) * np.cos(3 * np.pi * C * t)


def main(quick: bool = False) -> float:
    domain = Interval(0.0, 1.0) * TimeInterval(0.0, 1.0)

    def residual(f):
        return f.d("t", "t") - C ** 2 * f.d("x", "x")

    constraint = HardConstraint(
        particular=lambda c: torch.sin(np.pi * c["x"]) + 0.5 * torch.sin(3 * np.pi * c["x"]),
        distance=lambda c: c["t"] * c["x"] * (1 - c["x"]) * 4.0,
    )
    problem = Problem(domain, residual, [InitialCondition(0.0, derivative=1, weight=10.0)], constraint)
    iterations = (100, 100) if quick else (1000, 2000)
    solver = PINNSolver(hidden=(32, 32, 32), n_domain=2000, n_initial=200, adam_iterations=iterations[0],
                        lbfgs_iterations=iterations[1], seed=0)
    result = solver.solve(problem)

    x, t = np.meshgrid(np.linspace(0, 1, 101), np.linspace(0, 1, 101))
    pred = result.predict({"x": x.ravel(), "t": t.ravel()}).reshape(x.shape)
    rel = float(np.linalg.norm(pred - exact(x, t)) / np.linalg.norm(exact(x, t)))
    print(f"1D wave: relative L2 error {rel:.2e} against the exact solution "
          f"({result.wall_s:.0f} s, final loss {result.final_loss:.2e})")
    return rel


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
