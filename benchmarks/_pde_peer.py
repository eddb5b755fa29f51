"""DeepXDE (PyTorch back end) on the heat rod with its default recipe, for ``benchmarks/pde.py``.

The recipe of DeepXDE's own heat example: a 3 × 20 tanh network (Glorot normal), soft Dirichlet
and initial conditions, ``TimePDE`` collocation, Adam at 10⁻³, then L-BFGS (``torch.optim.LBFGS``
through ``dde.optimizers.set_LBFGS_options``), float32 (DeepXDE's default). Counts of points and
iterations are passed in so the comparison uses exactly the same budget as ours (DeepXDE's L-BFGS
iterations per call are set from the budget too; it otherwise keeps the value computed at import).
"""

from __future__ import annotations

import os
import time

import numpy as np


def _import_deepxde():
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    import deepxde as dde  # noqa: PLC0415 - optional peer, imported only when the benchmark runs

    return dde


def deepxde_version() -> str | None:
    try:
        from importlib import metadata

        return metadata.version("deepxde")
    except Exception:  # noqa: BLE001 - not installed
        return None


def run_deepxde_heat(rod, seed: int, n_domain: int, n_boundary: int, n_initial: int, adam_iterations: int,
                     lbfgs_iterations: int, X_eval: np.ndarray) -> dict:
    """Train DeepXDE on the rod; return its prediction at X_eval (n, 2: x, t), wall and CPU seconds."""
    import torch

    dde = _import_deepxde()
    torch.set_num_threads(1)
    dde.config.set_random_seed(seed)
    L, alpha = rod.length, rod.alpha
    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(0.0, L), dde.geometry.TimeDomain(0.0, rod.t_end))

    def pde(x, y):
        return dde.grad.jacobian(y, x, i=0, j=1) - alpha * dde.grad.hessian(y, x, i=0, j=0)

    left = dde.icbc.DirichletBC(geom, lambda x: np.full((len(x), 1), rod.t_left),
                                lambda x, on: on and np.isclose(x[0], 0.0))
    right = dde.icbc.DirichletBC(geom, lambda x: np.full((len(x), 1), rod.t_right),
                                 lambda x, on: on and np.isclose(x[0], L))
    ic = dde.icbc.IC(geom, lambda x: np.full((len(x), 1), rod.t_initial), lambda _, on_initial: on_initial)
    data = dde.data.TimePDE(geom, pde, [left, right, ic], num_domain=n_domain, num_boundary=n_boundary,
                            num_initial=n_initial)
    model = dde.Model(data, dde.nn.FNN([2, 20, 20, 20, 1], "tanh", "Glorot normal"))
    wall, cpu = time.perf_counter(), time.process_time()
    model.compile("adam", lr=1e-3)
    model.train(iterations=adam_iterations, display_every=1000, verbose=0)
    adam_wall = time.perf_counter() - wall
    dde.optimizers.set_LBFGS_options(maxiter=lbfgs_iterations)
    # DeepXDE fixes L-BFGS iterations per call at import (min(1000, default maxiter)); match the budget
    options = dde.optimizers.config.LBFGS_options
    options["iter_per_step"] = min(1000, lbfgs_iterations)
    options["fun_per_step"] = options["maxfun"] * options["iter_per_step"] // lbfgs_iterations
    model.compile("L-BFGS")
    model.train(display_every=1000, verbose=0)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pred = model.predict(X_eval.astype(np.float32))[:, 0].astype(np.float64)
    return {"pred": pred, "wall_s": wall, "cpu_s": cpu, "adam_s": adam_wall, "lbfgs_s": wall - adam_wall,
            "iterations": int(model.train_state.step)}
