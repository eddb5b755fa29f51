"""Runs behind ``nnsurrogate pde …``: heat rod by every method, inverse α, Burgers; outputs to a folder.

Each run validates its inputs before any work, writes ``metrics.json``, ``solution.csv``,
``plots/*.png`` and ``model/`` atomically (file by file), and keeps a training checkpoint in
``OUT/.checkpoint/`` until it finishes, so ``--resume`` continues an interrupted run.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from collections.abc import Mapping
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnsurrogate.core.engine.budget import time_limit_scope
from nnsurrogate.core.engine.progress import Progress, progress_bar
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import CHECKPOINT_DIR, write_json
from nnsurrogate.core.tables import write_table
from nnsurrogate.pde import plots
from nnsurrogate.pde.fd import GridSolution, check_stability, crank_nicolson_heat, explicit_heat, max_stable_dt
from nnsurrogate.pde.heat import HeatRod, field_errors, heat_analytic, heat_problem, regular_grid
from nnsurrogate.pde.pinn import AdaptiveWeights, PINNResult, PINNSolver, Resampling, SolverConfig
from nnsurrogate.pde.savefile import save_pinn

METHODS = ("pinn", "fd", "cn")


@dataclass(frozen=True)
class PINNOptions:
    """PINN settings exposed on the command line (see :class:`~nnsurrogate.pde.pinn.SolverConfig`).

    float32 by default: with the corner in the particular part and scaled variables the rod needs no
    more (the benchmark measures the same error as float64 at half the time).
    """

    adam_iterations: int = 1000
    lbfgs_iterations: int = 1000
    hidden: tuple[int, ...] = (20, 20, 20)
    n_domain: int = 2540
    corner: str = "erfc"
    hard: bool = True
    scaled: bool = True
    adaptive_weights: bool = False
    rar: bool = False
    dtype: str = "float32"
    seed: int = 0
    time_limit: float | None = None

    def solver(self, checkpoint: str | None = None) -> PINNSolver:
        return PINNSolver(SolverConfig(
            hidden=tuple(self.hidden), n_domain=self.n_domain, adam_iterations=self.adam_iterations,
            lbfgs_iterations=self.lbfgs_iterations, dtype=self.dtype, scale_inputs=self.scaled, seed=self.seed,
            adaptive_weights=AdaptiveWeights() if self.adaptive_weights else None,
            resampling=Resampling(every=max(self.adam_iterations // 5, 1)) if self.rar else None,
            checkpoint=checkpoint, time_limit=self.time_limit))


def parse_methods(text: str) -> tuple[str, ...]:
    """``"all"``, one method or a comma list of ``pinn``, ``fd``, ``cn``."""
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    if parts == ["all"]:
        return METHODS
    bad = [p for p in parts if p not in METHODS]
    if bad or not parts:
        raise UserInputError(f"unknown method '{bad[0] if bad else text}'; choose pinn, fd, cn or all", "methods")
    return tuple(dict.fromkeys(parts))


def plan_time_steps(rod: HeatRod, nx: int, nt: int | None, methods: tuple[str, ...], auto_dt: bool) -> int:
    """The number of time steps: *nt* if given (checked for stability when the explicit scheme runs),
    else the smallest stable count for the explicit scheme, at least 100."""
    if nx < 2:
        raise UserInputError(f"need at least 2 space intervals, got nx = {nx}", "nx")
    if nt is None:
        stable = math.ceil(rod.t_end / max_stable_dt(rod.alpha, rod.length / nx) * (1 - 1e-12))
        return max(100, stable if "fd" in methods else 100)
    if nt < 1:
        raise UserInputError(f"need at least 1 time step, got nt = {nt}", "nt")
    if "fd" in methods and not auto_dt:
        check_stability(rod, nx, nt)
    return nt


def _render_pinn(metrics: Mapping[str, object]) -> str:
    """``"adam  loss 0.0123"``: the phase and the total loss of a PINN progress call."""
    loss = metrics.get("loss")
    text = f"loss {loss:.3g}" if isinstance(loss, float) and math.isfinite(loss) else "loss —"
    return f"{metrics.get('phase', '')}  {text}".strip()


def pinn_bar(description: str, enabled: bool = True) -> ContextManager[Progress | None]:
    """A rich progress bar on stderr; yields a ``progress(iteration, total, metrics)`` callback or ``None``."""
    return progress_bar(description, enabled, render=_render_pinn)


def _checkpoint(out: Path, name: str, resume: bool) -> str:
    ckpt_dir = out / CHECKPOINT_DIR
    path = ckpt_dir / name
    if not resume and path.exists():
        path.unlink()
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    return str(path)


def _grid_fields(rod: HeatRod, nx: int, nt: int, methods, auto_dt: bool) -> tuple[dict, dict]:
    """Finite-difference fields and their metrics on the regular grid."""
    fields, info = {}, {}
    if "fd" in methods:
        sol: GridSolution = explicit_heat(rod, nx, nt, auto_dt)
        fields["fd"], info["fd"] = sol.T, {"gamma": sol.gamma, "substeps": sol.substeps, "wall_s": sol.wall_s}
    if "cn" in methods:
        sol = crank_nicolson_heat(rod, nx, nt)
        fields["cn"], info["cn"] = sol.T, {"gamma": sol.gamma, "wall_s": sol.wall_s}
    return fields, info


def run_heat1d(rod: HeatRod, out: str, methods: tuple[str, ...] = METHODS, nx: int = 50, nt: int | None = None,
               auto_dt: bool = False, pinn: PINNOptions | None = None, resume: bool = False,
               verbose: bool = True) -> dict:
    """Solve the rod by the chosen methods, compare each with the analytic solution, write *out*.

    Returns
    -------
    dict
        The metrics written to ``out/metrics.json``: per method ``rel_l2``, ``rel_l2_t_ge_1pct``,
        ``max_abs_error``, ``wall_s`` (and details: for the PINN the iterations each phase ran and
        ``stopped_by``, what ended its training), plus the problem and the grid.
    """
    pinn = pinn or PINNOptions()
    with time_limit_scope(pinn.time_limit):  # checks it; the exact and FD solutions before the PINN count
        nt = plan_time_steps(rod, nx, nt, methods, auto_dt)
        if "pinn" in methods:  # every check before any work or output
            problem = heat_problem(rod, pinn.corner, pinn.hard, pinn.scaled)
            pinn.solver().config.validate()
        x, t = regular_grid(rod, nx, nt)
        X, T = np.meshgrid(x, t)
        exact = heat_analytic(rod, X, T)
        fields, info = _grid_fields(rod, nx, nt, methods, auto_dt)
        out_dir = Path(out)
        result = None
        if "pinn" in methods:
            solver = pinn.solver(_checkpoint(out_dir, "pinn.pt", resume))
            with pinn_bar("PINN heat rod", verbose) as bar:
                result = solver.solve(problem, bar)
            fields["pinn"] = result.predict({"x": X.ravel(), "t": T.ravel()}).reshape(X.shape)
            info["pinn"] = _pinn_info(result, pinn)
        metrics = {"problem": _rod_dict(rod), "grid": {"nx": nx, "nt": nt, "dx": rod.length / nx, "dt": rod.t_end / nt}}
        for name in (m for m in METHODS if m in fields):
            metrics[name] = {**field_errors(fields[name], exact, t, rod.t_end), **info[name]}
        _write_heat(out_dir, rod, x, t, exact, fields, metrics, result, pinn)
        shutil.rmtree(out_dir / CHECKPOINT_DIR, ignore_errors=True)
        return metrics


def _rod_dict(rod: HeatRod) -> dict:
    return {k: getattr(rod, k) for k in ("alpha", "length", "t_end", "t_left", "t_right", "t_initial")}


def _pinn_info(result: PINNResult, options: PINNOptions) -> dict:
    return {"wall_s": result.wall_s, "adam_s": result.adam_s, "lbfgs_s": result.lbfgs_s,
            "adam_iterations": result.adam_iterations, "lbfgs_iterations": result.lbfgs_iterations,
            "stopped_by": result.stopped_by, "time_limit": options.time_limit, "final_loss": result.final_loss,
            "n_collocation": result.n_collocation,
            "options": {**dataclasses.asdict(options), "hidden": list(options.hidden)}}


def _write_heat(out: Path, rod: HeatRod, x, t, exact, fields: dict, metrics: dict, result, pinn: PINNOptions) -> None:
    X, T = np.meshgrid(x, t)
    table = pd.DataFrame({"x": X.ravel(), "t": T.ravel(), "T_analytic": exact.ravel()})
    for name in (m for m in METHODS if m in fields):
        table[f"T_{name}"] = fields[name].ravel()
    write_table(table, out / "solution.csv")
    shown = {"analytic": exact, **{m: fields[m] for m in METHODS if m in fields}}
    plots.field_maps(out / "plots" / "fields.png", x, t, shown, label="T")
    errors = {f"{m} − analytic": fields[m] - exact for m in METHODS if m in fields}
    plots.field_maps(out / "plots" / "errors.png", x, t, errors, label="error in T", cmap="coolwarm", symmetric=True,
                      shared=False)
    times = [rod.t_end * f for f in (0.01, 0.1, 0.3, 1.0)]
    plots.profiles(out / "plots" / "profiles.png", x, t, shown, times, reference="analytic")
    if result is not None:
        plots.loss_history(out / "plots" / "pinn_loss.png", result.history, result.adam_iterations)
        save_pinn(out / "model", result, "pde.heat1d", {"rod": _rod_dict(rod),
                                                         "pinn": metrics["pinn"]["options"]})
    write_json(out / "metrics.json", metrics)
