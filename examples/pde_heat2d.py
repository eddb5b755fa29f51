"""2D heat equation on the unit square with the nnsurrogate PDE API.

    u_t = α (u_xx + u_yy),  (x, y) ∈ [0, 1]²,  t ∈ [0, 1],  α = 0.05,
    u = 0 on the boundary,  u(0, x, y) = sin(πx) sin(πy).

Exact solution: u = exp(−2απ²t) sin(πx) sin(πy). The initial and boundary values are built into
the field (u = P + D·N with P the initial profile and D = t·x(1−x)·y(1−y)), so only the PDE
residual is trained. Run: ``python examples/pde_heat2d.py [--quick]`` (about a minute on one core).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from nnsurrogate.pde import HardConstraint, PINNSolver, Problem, Rectangle, TimeInterval

ALPHA = 0.05


def main(quick: bool = False) -> float:
    domain = Rectangle((0.0, 1.0), (0.0, 1.0)) * TimeInterval(0.0, 1.0)

    def residual(f):
        return f.d("t") - ALPHA * (f.d("x", "x") + f.d("y", "y"))

    constraint = HardConstraint(
        particular=lambda c: torch.sin(np.pi * c["x"]) * torch.sin(np.pi * c["y"]),
        distance=lambda c: c["t"] * c["x"] * (1 - c["x"]) * c["y"] * (1 - c["y"]) * 16.0,
    )
    problem = Problem(domain, residual, constraint=constraint)
    iterations = (100, 100) if quick else (500, 1000)
    solver = PINNSolver(hidden=(20, 20, 20), n_domain=2000, adam_iterations=iterations[0],
                        lbfgs_iterations=iterations[1], seed=0)
    result = solver.solve(problem)

    g = np.linspace(0.0, 1.0, 21)
    X, Y, T = np.meshgrid(g, g, np.linspace(0.0, 1.0, 11), indexing="ij")
    exact = np.exp(-2 * ALPHA * np.pi ** 2 * T) * np.sin(np.pi * X) * np.sin(np.pi * Y)
    pred = result.predict({"x": X.ravel(), "y": Y.ravel(), "t": T.ravel()}).reshape(X.shape)
    rel = float(np.linalg.norm(pred - exact) / np.linalg.norm(exact))
    print(f"2D heat: relative L2 error {rel:.2e} against the exact solution "
          f"({result.wall_s:.0f} s, final loss {result.final_loss:.2e})")
    return rel


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
