"""Viscous Burgers' equation (Raissi et al. 2019) declared with the nnsurrogate PDE API.

    u_t + u u_x = ν u_xx,  x ∈ [−1, 1],  t ∈ [0, 1],  ν = 0.01/π,
    u(0, x) = −sin(πx),  u(t, ±1) = 0.

A shock forms at x = 0. The field u = −sin(πx) + t(1 − x²)·N holds the initial and boundary values
exactly; residual-based adaptive refinement (RAR) adds collocation points where the residual is
largest, i.e. at the shock. The result is scored against the project's Cole–Hopf reference on
Raissi's 256 × 100 grid. Run: ``python examples/pde_burgers.py [--quick]`` (the full run takes
several minutes; ``nnsurrogate pde burgers`` does the same with output files).
"""

from __future__ import annotations

import math
import sys

import numpy as np
import torch

from nnsurrogate.pde import HardConstraint, Interval, PINNSolver, Problem, Resampling, TimeInterval
from nnsurrogate.pde.burgers import burgers_reference, reference_grid

NU = 0.01 / math.pi


def main(quick: bool = False) -> float:
    domain = Interval(-1.0, 1.0) * TimeInterval(0.0, 1.0)

    def residual(f):
        return f.d("t") + f.u() * f.d("x") - NU * f.d("x", "x")

    constraint = HardConstraint(particular=lambda c: -torch.sin(math.pi * c["x"]),
                                distance=lambda c: c["t"] * (1.0 - c["x"] ** 2))
    problem = Problem(domain, residual, constraint=constraint)
    adam, lbfgs = (200, 200) if quick else (1000, 6000)
    solver = PINNSolver(hidden=(32, 32, 32, 32), n_domain=4000, adam_iterations=adam, lbfgs_iterations=lbfgs,
                        resampling=Resampling("rar", every=max(adam // 4, 1), candidates=20000, add=250),
                        dtype="float32", seed=0)
    result = solver.solve(problem)

    x, t = reference_grid()
    X, T = np.meshgrid(x, t)
    reference = burgers_reference(X, T)
    pred = result.predict({"x": X.ravel(), "t": T.ravel()}).reshape(X.shape)
    rel = float(np.linalg.norm(pred - reference) / np.linalg.norm(reference))
    print(f"Burgers: relative L2 error {rel:.2e} against the Cole–Hopf reference "
          f"({result.n_collocation} collocation points, {result.wall_s:.0f} s)")
    return rel


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
