"""``nnsurrogate pde inverse-heat`` and ``nnsurrogate pde burgers``: runs with their output folders."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

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


def run_inverse_heat(data: str, geometry: HeatRod, out: str, options: InverseOptions | None = None,
                     verbose: bool = True) -> dict:
    """Estimate α from the measurements in *data* (CSV/Parquet: ``x, t, T``); write *out*.

    *geometry* supplies L, t_end and the end/initial temperatures (its α is ignored).
    """
    options = options or InverseOptions()
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
               "geometry": {"length": geometry.length, "t_end": geometry.t_end, "t_left": geometry.t_left,
                            "t_right": geometry.t_right, "t_initial": geometry.t_initial}}
    out_dir = Path(out)
    if result.alpha_x is not None:
        metrics["alpha_x"] = {"x": result.alpha_x[0].tolist(), "mean": result.alpha_x[1].tolist(),
                              "std": result.alpha_x[2].tolist()}
    _write_inverse(out_dir, geometry, measurements, result)
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def _write_inverse(out: Path, geometry: HeatRod, data, result) -> None:
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
    field = np.mean([f.predict({"x": X.ravel(), "t": T.ravel()}) for f in result.fits], axis=0).reshape(X.shape)
    plots.field_maps(out / "plots" / "field.png", x, t, {"fitted T (ensemble mean)": field}, label="T")


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

    def solver(self, checkpoint: str | None = None) -> PINNSolver:
        """RAR adds 250 points (of 20 000 scored candidates) at each quarter of the Adam phase."""
        resampling = Resampling("rar", every=max(self.adam_iterations // 4, 1), candidates=20000, add=250) \
            if self.rar else None
        return PINNSolver(hidden=tuple(self.hidden), n_domain=self.n_domain, n_boundary=200, n_initial=200,
                          adam_iterations=self.adam_iterations, lbfgs_iterations=self.lbfgs_iterations,
                          resampling=resampling, seed=self.seed, dtype=self.dtype, checkpoint=checkpoint)


def run_burgers(out: str, options: BurgersOptions | None = None, resume: bool = False, verbose: bool = True) -> dict:
    """Train the Burgers PINN, score it against the Cole–Hopf reference on Raissi's 256 × 100 grid; write *out*."""
    options = options or BurgersOptions()
    if options.n_domain < 1 or options.adam_iterations < 0 or options.lbfgs_iterations < 0:
        raise UserInputError("collocation points must be positive and iteration counts ≥ 0", "pde burgers")
    x, t = reference_grid()
    X, T = np.meshgrid(x, t)
    reference = burgers_reference(X, T)
    out_dir = Path(out)
    options.solver().config.validate()
    solver = options.solver(_checkpoint(out_dir, "burgers.pt", resume))
    with pinn_bar("PINN Burgers", verbose) as bar:
        result = solver.solve(burgers_problem(NU, options.hard), bar)
    pred = result.predict({"x": X.ravel(), "t": T.ravel()}).reshape(X.shape)
    err = pred - reference
    metrics = {"rel_l2": float(np.linalg.norm(err) / np.linalg.norm(reference)),
               "max_abs_error": float(np.abs(err).max()), "wall_s": result.wall_s, "adam_s": result.adam_s,
               "lbfgs_s": result.lbfgs_s, "adam_iterations": result.adam_iterations,
               "lbfgs_iterations": result.lbfgs_iterations, "final_loss": result.final_loss,
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

