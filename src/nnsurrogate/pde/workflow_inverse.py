"""``nnsurrogate pde inverse-heat`` and ``nnsurrogate pde burgers``: runs with their output folders."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnsurrogate.core.engine.budget import time_limit_scope
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import write_json
from nnsurrogate.core.tables import write_table
from nnsurrogate.pde import plots
from nnsurrogate.pde.burgers import NU, burgers_problem, burgers_reference, reference_grid
from nnsurrogate.pde.heat import HeatRod
from nnsurrogate.pde.inverse import INVERSE_CONFIG, estimate_alpha, read_measurements
from nnsurrogate.pde.pinn import PINNSolver, Resampling, SolverConfig
from nnsurrogate.pde.savefile import save_pinn
from nnsurrogate.pde.workflow import CHECKPOINT_DIR, _checkpoint, pinn_bar


@dataclass(frozen=True)
class InverseOptions:
    """Ensemble and solver settings of ``inverse-heat``."""

    members: int = 5
    alpha_guess: float | None = None
    alpha_field: bool = False
    adam_iterations: int = INVERSE_CONFIG.adam_iterations
    lbfgs_iterations: int = INVERSE_CONFIG.lbfgs_iterations
    seed: int = 0
    n_domain: int = INVERSE_CONFIG.n_domain
    time_limit: float | None = None


def run_inverse_heat(data: str, geometry: HeatRod, out: str, options: InverseOptions | None = None,
                     verbose: bool = True) -> dict:
    """Estimate α from the measurements in *data* (CSV/Parquet: ``x, t, T``); write *out*.

    *geometry* supplies L, t_end and the end/initial temperatures (its α is ignored). A time limit
    (``options.time_limit``) counts from the moment the measurements are read; each member still to
    fit gets an equal part of the time left when it starts.
    """
    options = options or InverseOptions()
    with time_limit_scope(options.time_limit):  # checks the limit; its clock starts before the data are read
        measurements = read_measurements(data)
        measurements.check(geometry)
        config = SolverConfig(**{**INVERSE_CONFIG.__dict__, "adam_iterations": options.adam_iterations,
                                 "lbfgs_iterations": options.lbfgs_iterations, "n_domain": options.n_domain})
        config.validate()
        with pinn_bar(f"inverse fit, {options.members} members", verbose) as bar:
            result = estimate_alpha(geometry, measurements, options.members, options.alpha_guess, config,
                                    alpha_field=options.alpha_field, seed=options.seed, progress=bar)
    metrics = {"alpha": result.alpha, "alpha_std": result.alpha_std, "alpha_members": result.members,
               "data_rmse": result.data_rmse, "n_measurements": int(len(measurements.T)),
               "members": options.members, "alpha_field": options.alpha_field, "wall_s": result.wall_s,
               "adam_iterations": [f.adam_iterations for f in result.fits],
               "lbfgs_iterations": [f.lbfgs_iterations for f in result.fits],
               "stopped_by": [f.stopped_by for f in result.fits], "time_limit": options.time_limit,
               "geometry": {"length": geometry.length, "t_end": geometry.t_end, "t_left": geometry.t_left,
                            "t_right": geometry.t_right, "t_initial": geometry.t_initial}}
    out_dir = Path(out)
    if result.alpha_x is not None:
        metrics["alpha_x"] = {"x": result.alpha_x[0].tolist(), "mean": result.alpha_x[1].tolist(),
                              "std": result.alpha_x[2].tolist()}
    metrics.update(_write_inverse(out_dir, geometry, measurements, result))
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def _write_inverse(out: Path, geometry: HeatRod, data, result) -> dict:
    """fit.csv and the plots; returns the field's error against the exact rod (:func:`_write_inverse_errors`)."""
    pts = np.column_stack([data.x, data.t])
    fitted = np.mean([f.predict(pts) for f in result.fits], axis=0)
    write_table(pd.DataFrame({"x": data.x, "t": data.t, "T_measured": data.T, "T_fitted": fitted}),
                out / "fit.csv")
    from nnsurrogate.core.plots import parity_plot

    parity_plot(out / "plots" / "parity.png", data.T, fitted, label="T at the measurements",
                title=f"alpha = {result.alpha:.4g} ± {result.alpha_std:.2g}")
    x = np.linspace(0.0, geometry.length, 101)
    t = np.linspace(0.0, geometry.t_end, 101)
    X, T = np.meshgrid(x, t)
    members = np.array([f.predict({"x": X.ravel(), "t": T.ravel()}).reshape(X.shape) for f in result.fits])
    field = members.mean(axis=0)
    plots.field_maps(out / "plots" / "field.png", x, t, {"fitted T (ensemble mean)": field}, label="T")
    return _write_inverse_errors(out, geometry, result, x, t, members)


def _write_inverse_errors(out: Path, geometry: HeatRod, result, x, t, members: np.ndarray) -> dict:
    """``errors.png``: the ensemble-mean fit minus the exact rod with the estimated α (a constant α only:
    α(x) has no closed form); ``field_spread.png``: the members' standard deviation, both (nt, nx) in T.

    Returns ``field_max_abs_error`` (max |fit − exact| on the 101 × 101 grid, units of T; constant α only)."""
    from dataclasses import replace

    from nnsurrogate.pde.heat import heat_analytic

    report = {}
    if result.alpha_x is None:
        X, T = np.meshgrid(x, t)
        error = members.mean(axis=0) - heat_analytic(replace(geometry, alpha=result.alpha), X, T)
        plots.field_maps(out / "plots" / "errors.png", x, t, {f"fit − exact rod with α = {result.alpha:.4g}": error},
                         label="error in T", cmap="coolwarm", symmetric=True)
        report["field_max_abs_error"] = float(np.abs(error).max())
    spread = members.std(axis=0, ddof=1) if len(members) > 1 else np.zeros_like(members[0])
    plots.field_maps(out / "plots" / "field_spread.png", x, t, {f"spread of {len(members)} fits": spread},
                     label="standard deviation of T", cmap="viridis")
    return report


@dataclass(frozen=True)
class BurgersOptions:
    """PINN settings of ``nnsurrogate pde burgers`` (defaults: the benchmark's configuration)."""

    hidden: tuple[int, ...] = (32, 32, 32, 32)
    n_domain: int = 4000
    adam_iterations: int = 1000
    lbfgs_iterations: int = 6000
    rar: bool = True
    hard: bool = True
    seed: int = 0
    dtype: str = "float32"
    time_limit: float | None = None

    def solver(self, checkpoint: str | None = None) -> PINNSolver:
        """RAR adds 250 points (of 20 000 scored candidates) at each quarter of the Adam phase."""
        resampling = Resampling("rar", every=max(self.adam_iterations // 4, 1), candidates=20000, add=250) \
            if self.rar else None
        return PINNSolver(hidden=tuple(self.hidden), n_domain=self.n_domain, n_boundary=200, n_initial=200,
                          adam_iterations=self.adam_iterations, lbfgs_iterations=self.lbfgs_iterations,
                          resampling=resampling, seed=self.seed, dtype=self.dtype, checkpoint=checkpoint,
                          time_limit=self.time_limit)


def run_burgers(out: str, options: BurgersOptions | None = None, resume: bool = False, verbose: bool = True) -> dict:
    """Train the Burgers PINN, score it against the Cole–Hopf reference on Raissi's 256 × 100 grid; write *out*."""
    options = options or BurgersOptions()
    if options.n_domain < 1 or options.adam_iterations < 0 or options.lbfgs_iterations < 0:
        raise UserInputError("collocation points must be positive and iteration counts ≥ 0", "pde burgers")
    options.solver().config.validate()
    out_dir = Path(out)
    with time_limit_scope(options.time_limit):  # the Cole–Hopf reference computed first counts against it
        x, t = reference_grid()
        X, T = np.meshgrid(x, t)
        reference = burgers_reference(X, T)
        solver = options.solver(_checkpoint(out_dir, "burgers.pt", resume))
        with pinn_bar("PINN Burgers", verbose) as bar:
            result = solver.solve(burgers_problem(NU, options.hard), bar)
    pred = result.predict({"x": X.ravel(), "t": T.ravel()}).reshape(X.shape)
    err = pred - reference
    metrics = {"rel_l2": float(np.linalg.norm(err) / np.linalg.norm(reference)),
               "max_abs_error": float(np.abs(err).max()), "wall_s": result.wall_s, "adam_s": result.adam_s,
               "lbfgs_s": result.lbfgs_s, "adam_iterations": result.adam_iterations,
               "lbfgs_iterations": result.lbfgs_iterations, "stopped_by": result.stopped_by,
               "time_limit": options.time_limit, "final_loss": result.final_loss,
               "n_collocation": result.n_collocation, "nu": NU, "grid": {"nx": len(x), "nt": len(t)},
               "options": {**options.__dict__, "hidden": list(options.hidden)}}
    write_table(pd.DataFrame({"x": X.ravel(), "t": T.ravel(), "u_reference": reference.ravel(),
                              "u_pinn": pred.ravel()}), out_dir / "solution.csv")
    plots.field_maps(out_dir / "plots" / "fields.png", x, t, {"Cole–Hopf reference": reference, "PINN": pred},
                     label="u", cmap="RdBu_r", symmetric=True)
    plots.field_maps(out_dir / "plots" / "errors.png", x, t, {"PINN − reference": err}, label="error in u",
                     cmap="coolwarm", symmetric=True)
    plots.profiles(out_dir / "plots" / "profiles.png", x, t, {"reference": reference, "PINN": pred},
                   [0.25, 0.5, 0.75], reference="reference", label="u")
    plots.loss_history(out_dir / "plots" / "pinn_loss.png", result.history, result.adam_iterations)
    save_pinn(out_dir / "model", result, "pde.burgers", {"nu": NU, "options": metrics["options"]})
    write_json(out_dir / "metrics.json", metrics)
    shutil.rmtree(out_dir / CHECKPOINT_DIR, ignore_errors=True)
    return metrics

