"""PDE pillar: heat-rod PINN against DeepXDE and finite differences, PINN options, Burgers, inverse α.

Targets (issue 4):

* heat rod (α = 0.1, L = 1, t_end = 1; T = 0 | 0 | 1): PINN ``rel_l2_t_ge_1pct`` ≤ 1e-3 (stretch 1e-4)
  within 120 s on 2 CPU cores, explicit FD and Crank–Nicolson on the same grid beside it;
* DeepXDE's default recipe (3 × 20 tanh, Adam 10⁻³ then L-BFGS; float32) with the same collocation
  counts, iteration budget and machine, in the same run: our error ≤ DeepXDE's and our time ≤ DeepXDE's;
* Burgers (ν = 0.01/π): ``rel_l2`` ≤ 1e-3 against the Cole–Hopf reference within 10 minutes;
* inverse: 50 measurements with 1 % noise, |α̂ − α|/α ≤ 2 %.

Protocol: every PINN runs single-threaded (``torch.set_num_threads(1)``), one after another in this
process, after an untimed warm-up run of each library; errors are measured on the CLI's regular grid (51 × 501 nodes, t ≥ 0.01 t_end for the
``t_ge_1pct`` figure) against the analytic solution. Wall time covers training only; CPU time is
the process's CPU seconds over the same span (steadier than wall time when other jobs share the
machine). Ablations change one option of our recipe at a time, same budget, seed 0.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

import _pde_peer
from _common import machine_info, machine_line, now_iso, update_markdown_section, write_json
from _pde_report import markdown, target_lines
from nnsurrogate.pde import AdaptiveWeights, PINNSolver, Resampling
from nnsurrogate.pde.burgers import burgers_problem, burgers_reference, reference_grid
from nnsurrogate.pde.fd import crank_nicolson_heat, explicit_heat
from nnsurrogate.pde.heat import HeatRod, field_errors, heat_analytic, heat_problem, regular_grid
from nnsurrogate.pde.inverse import estimate_alpha, synthetic_measurements
from nnsurrogate.pde.workflow import PINNOptions
from nnsurrogate.pde.workflow_inverse import BurgersOptions

NAME = "pde"
ROD = HeatRod()
#: Physical units for the scaling ablation: a 5 cm steel rod (α = 1.2·10⁻⁵ m²/s) over 100 s, 300 K → 400 K.
STEEL = HeatRod(alpha=1.2e-5, length=0.05, t_end=100.0, t_left=300.0, t_right=400.0, t_initial=300.0)
GRID = (50, 500)
POINTS = {"n_domain": 2540, "n_boundary": 80, "n_initial": 160}  # DeepXDE's heat example
#: Budget of the DeepXDE comparison (Adam, L-BFGS iterations), and of the CLI defaults (target 1, ablations).
BUDGET, QUICK_BUDGET = (2000, 2000), (200, 200)
CLI_BUDGET = (PINNOptions().adam_iterations, PINNOptions().lbfgs_iterations)
DTYPE = PINNOptions().dtype
SEEDS, QUICK_SEEDS = (0, 1, 2), (0,)
INVERSE_SEEDS, QUICK_INVERSE_SEEDS = (0, 1, 2), (0,)
TARGET_T_GE_1PCT, STRETCH, TARGET_WALL_S = 1e-3, 1e-4, 120.0
BURGERS_TARGET, BURGERS_WALL_S, INVERSE_TARGET = 1e-3, 600.0, 0.02

#: (key, label, heat_problem kwargs, solver overrides): one option changed at a time.
VARIANTS = [
    ("default", "ours: erfc corner + hard constraints + scaling, float32 (default)", {}, {}),
    ("float64", "ours, float64", {}, {"dtype": "float64"}),
    ("soft_raw", "soft conditions, no corner term, no scaling", {"corner": "none", "hard": False, "scaled": False},
     {"scale_inputs": False}),
    ("soft", "soft conditions, no corner term, scaled", {"corner": "none", "hard": False}, {}),
    ("soft_adaptive", "… + adaptive loss weights", {"corner": "none", "hard": False},
     {"adaptive_weights": AdaptiveWeights()}),
    ("soft_rar", "… + RAR resampling", {"corner": "none", "hard": False},
     {"resampling": Resampling("rar", every=400, candidates=10000, add=100)}),
    ("hard_bc", "hard boundary values, soft initial value, no corner term", {"corner": "none"}, {}),
    ("erfc_soft", "erfc corner term, soft conditions", {"hard": False}, {}),
]


def _grid(rod: HeatRod):
    x, t = regular_grid(rod, *GRID)
    X, T = np.meshgrid(x, t)
    return x, t, X, T, heat_analytic(rod, X, T)


def _scores(pred: np.ndarray, rod: HeatRod, t: np.ndarray, exact: np.ndarray) -> dict:
    return field_errors(pred.reshape(exact.shape), exact, t, rod.t_end)


def run_ours(rod: HeatRod, problem_kw: dict, solver_kw: dict, seed: int, budget: tuple[int, int]) -> dict:
    """Train our PINN; errors on the grid, wall and CPU seconds of training."""
    x, t, X, T, exact = _grid(rod)
    solver = PINNSolver(**{**POINTS, "dtype": DTYPE, **solver_kw}, adam_iterations=budget[0],
                        lbfgs_iterations=budget[1], seed=seed)
    cpu = time.process_time()
    result = solver.solve(heat_problem(rod, **problem_kw))
    cpu = time.process_time() - cpu
    pred = result.predict({"x": X.ravel(), "t": T.ravel()})
    return {**_scores(pred, rod, t, exact), "wall_s": result.wall_s, "cpu_s": cpu, "adam_s": result.adam_s,
            "lbfgs_s": result.lbfgs_s, "lbfgs_iterations": result.lbfgs_iterations, "final_loss": result.final_loss,
            "seed": seed}


def run_peer(seed: int, budget: tuple[int, int]) -> dict:
    x, t, X, T, exact = _grid(ROD)
    out = _pde_peer.run_deepxde_heat(ROD, seed, POINTS["n_domain"], POINTS["n_boundary"], POINTS["n_initial"],
                                     budget[0], budget[1], np.column_stack([X.ravel(), T.ravel()]))
    pred = out.pop("pred")
    return {**_scores(pred, ROD, t, exact), **out, "seed": seed}


def run_fd() -> dict:
    x, t, X, T, exact = _grid(ROD)
    out = {}
    for key, fn in (("fd", lambda: explicit_heat(ROD, *GRID)), ("cn", lambda: crank_nicolson_heat(ROD, *GRID))):
        sol = fn()
        out[key] = {**_scores(sol.T, ROD, t, exact), "wall_s": sol.wall_s, "gamma": sol.gamma}
    return out


def run_burgers(quick: bool) -> dict:
    options = BurgersOptions(adam_iterations=200, lbfgs_iterations=300) if quick else BurgersOptions()
    x, t = reference_grid()
    X, T = np.meshgrid(x, t)
    reference = burgers_reference(X, T)
    cpu = time.process_time()
    result = options.solver().solve(burgers_problem())
    cpu = time.process_time() - cpu
    err = result.predict({"x": X.ravel(), "t": T.ravel()}).reshape(X.shape) - reference
    return {"rel_l2": float(np.linalg.norm(err) / np.linalg.norm(reference)), "max_abs_error": float(np.abs(err).max()),
            "wall_s": result.wall_s, "cpu_s": cpu, "adam_iterations": result.adam_iterations,
            "lbfgs_iterations": result.lbfgs_iterations, "n_collocation": result.n_collocation,
            "final_loss": result.final_loss, "options": {**options.__dict__, "hidden": list(options.hidden)}}


def _least_squares_alpha(data) -> float:
    """α by nonlinear least squares on the analytic solution: the statistical floor for these data."""
    from scipy.optimize import least_squares

    def resid(log_alpha):
        rod = HeatRod(float(np.exp(log_alpha[0])), ROD.length, ROD.t_end, ROD.t_left, ROD.t_right, ROD.t_initial)
        return heat_analytic(rod, data.x, data.t) - data.T

    return float(np.exp(least_squares(resid, [np.log(0.03)]).x[0]))


def run_inverse(seed: int, quick: bool) -> dict:
    data = synthetic_measurements(ROD, n=50, noise=0.01, seed=seed)
    kwargs = {"n_members": 2, "config": None} if quick else {"n_members": 5}
    if quick:
        from nnsurrogate.pde.inverse import INVERSE_CONFIG

        kwargs["config"] = PINNSolver(INVERSE_CONFIG, adam_iterations=200, lbfgs_iterations=200).config
    cpu = time.process_time()
    result = estimate_alpha(ROD, data, seed=seed, **kwargs)
    cpu = time.process_time() - cpu
    lsq = _least_squares_alpha(data)
    return {"data_seed": seed, "alpha": result.alpha, "alpha_std": result.alpha_std, "members": result.members,
            "rel_error": abs(result.alpha - ROD.alpha) / ROD.alpha, "within_2std": abs(result.alpha - ROD.alpha)
            <= 2 * result.alpha_std, "data_rmse": result.data_rmse, "wall_s": result.wall_s, "cpu_s": cpu,
            "least_squares_alpha": lsq, "least_squares_rel_error": abs(lsq - ROD.alpha) / ROD.alpha}


def _median(rows: list[dict], key: str) -> float:
    return float(statistics.median(r[key] for r in rows))


def _summary(rows: list[dict]) -> dict:
    keys = ("rel_l2", "rel_l2_t_ge_1pct", "max_abs_error", "wall_s", "cpu_s")
    return {k: {"median": _median(rows, k), "min": min(r[k] for r in rows), "max": max(r[k] for r in rows)}
            for k in keys if all(k in r for r in rows)}


def _heat_section(quick: bool, console: Console) -> dict:
    budget, seeds = (QUICK_BUDGET, QUICK_SEEDS) if quick else (BUDGET, SEEDS)
    cli_budget = QUICK_BUDGET if quick else CLI_BUDGET
    runs = {"cli": [], "ours": [], "deepxde": []}
    for seed in seeds:
        console.print(Text(f"  {NAME}: heat, ours (CLI defaults and DeepXDE's budget) and DeepXDE, seed {seed} …",
                           style="dim"))
        runs["cli"].append(run_ours(ROD, {}, {}, seed, cli_budget))
        runs["ours"].append(run_ours(ROD, {}, {}, seed, budget))
        runs["deepxde"].append(run_peer(seed, budget))
    ablations = {"default": {"label": VARIANTS[0][1], **runs["cli"][0]}}
    for key, label, problem_kw, solver_kw in VARIANTS[1:]:
        console.print(Text(f"  {NAME}: heat option '{key}' …", style="dim"))
        ablations[key] = {"label": label, **run_ours(ROD, problem_kw, solver_kw, 0, cli_budget)}
    scaling = {}
    for key, scaled in (("scaled", True), ("unscaled", False)):
        console.print(Text(f"  {NAME}: steel rod in SI units, {key} …", style="dim"))
        scaling[key] = run_ours(STEEL, {"scaled": scaled}, {"scale_inputs": scaled}, 0, cli_budget)
    return {"budget": {"adam_iterations": budget[0], "lbfgs_iterations": budget[1], **POINTS},
            "cli_budget": {"adam_iterations": cli_budget[0], "lbfgs_iterations": cli_budget[1]},
            "dtype": DTYPE, "seeds": list(seeds), "runs": runs, "summary": {k: _summary(v) for k, v in runs.items()},
            "fd": run_fd(), "ablations": ablations, "scaling": scaling}


def _targets(heat: dict, burgers: dict, inverse: list[dict]) -> dict:
    cli, ours, peer = heat["summary"]["cli"], heat["summary"]["ours"], heat["summary"]["deepxde"]
    err, wall = ours["rel_l2_t_ge_1pct"]["median"], ours["wall_s"]["median"]
    err1 = cli["rel_l2_t_ge_1pct"]["median"]
    worst_inv = max(r["rel_error"] for r in inverse)
    return {
        "heat_accuracy": {"met": err1 <= TARGET_T_GE_1PCT and cli["wall_s"]["max"] <= TARGET_WALL_S, "value": err1,
                          "stretch_met": err1 <= STRETCH, "wall_s_max": cli["wall_s"]["max"],
                          "cpu_s_max": cli["cpu_s"]["max"]},
        "vs_deepxde_error": {"met": err <= peer["rel_l2_t_ge_1pct"]["median"], "value": err,
                             "peer": peer["rel_l2_t_ge_1pct"]["median"]},
        "vs_deepxde_time": {"met": wall <= peer["wall_s"]["median"], "value": wall, "peer": peer["wall_s"]["median"],
                            "cpu": ours["cpu_s"]["median"], "peer_cpu": peer["cpu_s"]["median"]},
        "burgers": {"met": burgers["rel_l2"] <= BURGERS_TARGET and burgers["wall_s"] <= BURGERS_WALL_S,
                    "value": burgers["rel_l2"], "wall_s": burgers["wall_s"]},
        "inverse": {"met": worst_inv <= INVERSE_TARGET, "value": worst_inv},
    }


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    """Run every section, print the tables, write ``<results_dir>/pde.json`` and the Markdown section."""
    started = time.perf_counter()
    machine = machine_info()
    machine["versions"]["deepxde"] = _pde_peer.deepxde_version()
    console.print(Text(f"  {NAME}: warm-up (imports, first calls; not timed) …", style="dim"))
    run_ours(ROD, {}, {}, 0, (20, 20))
    run_peer(0, (20, 20))
    heat = _heat_section(quick, console)
    console.print(Text(f"  {NAME}: Burgers …", style="dim"))
    burgers = run_burgers(quick)
    inverse = []
    for seed in QUICK_INVERSE_SEEDS if quick else INVERSE_SEEDS:
        console.print(Text(f"  {NAME}: inverse α, data seed {seed} …", style="dim"))
        inverse.append(run_inverse(seed, quick))
    machine["load_average_end"] = machine_info()["load_average_1_5_15_min"]
    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine, "heat": heat,
              "burgers": burgers, "inverse": inverse, "targets": _targets(heat, burgers, inverse),
              "runtime_s": time.perf_counter() - started}
    write_json(Path(results_dir) / f"{NAME}.json", result)
    update_markdown_section(markdown_path, NAME, markdown(result, machine_line(machine)))
    _print(result, console)
    return result


def _print(result: dict, console: Console) -> None:
    table = Table(title="Heat rod: medians over seeds")
    for col in ("method", "rel L2", "rel L2 t ≥ 1 %", "max |err|", "wall s", "CPU s"):
        table.add_column(col, justify="left" if col == "method" else "right")
    s = result["heat"]["summary"]
    for key, label in (("cli", "nnsurrogate PINN, CLI defaults"), ("ours", "nnsurrogate PINN, DeepXDE's budget"),
                       ("deepxde", "DeepXDE")):
        r = s[key]
        table.add_row(label, *(f"{r[k]['median']:.3g}" for k in ("rel_l2", "rel_l2_t_ge_1pct", "max_abs_error",
                                                                  "wall_s", "cpu_s")))
    for key, label in (("fd", "explicit FD"), ("cn", "Crank–Nicolson")):
        r = result["heat"]["fd"][key]
        table.add_row(label, f"{r['rel_l2']:.3g}", f"{r['rel_l2_t_ge_1pct']:.3g}", f"{r['max_abs_error']:.3g}",
                      f"{r['wall_s']:.3g}", "")
    console.print(table)
    for met, line in target_lines(result):
        console.print(Text(line, style="green" if met else "bold red"))
