"""``nnsurrogate pde …``: the heat rod by PINN and finite differences, inverse α, Burgers."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nnsurrogate.cli import options
from nnsurrogate.cli.common import console, parse_int_list
from nnsurrogate.cli.settings_file import configurable

_PINN_TIME_HELP = ("Wall-clock limit of the PINN training, s, building its network and collocation points "
                   "included: Adam stops after the iteration during which it runs out, L-BFGS between chunks of at "
                   "most 250 iterations; metrics.json notes it (default: none, the iteration counts decide).")

app = typer.Typer(help="PDEs: physics-informed networks beside analytic and finite-difference solutions.",
                  no_args_is_help=True)


def _rod(alpha: float, length: float, t_end: float, t_left: float, t_right: float, t_initial: float):
    """A HeatRod whose errors name the command-line option."""
    from nnsurrogate.core.errors import UserInputError
    from nnsurrogate.pde.heat import HeatRod

    try:
        return HeatRod(alpha, length, t_end, t_left, t_right, t_initial)
    except UserInputError as exc:
        option = {"alpha": "--alpha", "length": "--length", "t_end": "--t-end", "t_left": "--t-left",
                  "t_right": "--t-right", "t_initial": "--t-initial"}.get(exc.where, exc.where)
        raise UserInputError(exc.what, option) from None


def _error_table(metrics: dict, methods) -> Table:
    table = Table(title="error against the analytic solution", header_style="bold")
    for col in ("method", "rel. L2", "rel. L2 (t ≥ 1 % t_end)", "max |error|", "time, s"):
        table.add_column(col, justify="left" if col == "method" else "right")
    names = {"pinn": "PINN", "fd": "explicit FD", "cn": "Crank–Nicolson"}
    for m in methods:
        r = metrics[m]
        table.add_row(names[m], f"{r['rel_l2']:.3e}", f"{r['rel_l2_t_ge_1pct']:.3e}", f"{r['max_abs_error']:.3e}",
                      f"{r['wall_s']:.2f}")
    return table


@app.command()
@configurable("pde heat1d")
def heat1d(
    alpha: float = typer.Option(0.1, "--alpha", help="Thermal diffusivity α (m²/s, or units consistent with L and t)."),
    length: float = typer.Option(1.0, "--length", help="Rod length L."),
    t_end: float = typer.Option(1.0, "--t-end", help="Final time."),
    t_left: float = typer.Option(0.0, "--t-left", help="Temperature at x = 0."),
    t_right: float = typer.Option(1.0, "--t-right", help="Temperature at x = L."),
    t_initial: float = typer.Option(0.0, "--t-initial", help="Initial temperature inside the rod."),
    method: str = typer.Option("all", "--method", help="pinn, fd, cn, all, or a comma list."),
    nx: int = typer.Option(50, "--nx", help="Grid intervals in x (finite differences and the comparison grid)."),
    nt: int = typer.Option(None, "--nt", help="Time steps (default: the fewest stable explicit steps, ≥ 100)."),
    auto_dt: bool = typer.Option(False, "--auto-dt", help="Refine Δt of the explicit scheme instead of refusing γ > 1/2."),
    iterations: int = typer.Option(1000, "--iterations", help="PINN Adam iterations."),
    lbfgs: int = typer.Option(1000, "--lbfgs-iterations", help="PINN L-BFGS iterations (at most)."),
    time_limit: float = options.time_limit(_PINN_TIME_HELP),
    hidden: str = typer.Option("20,20,20", "--hidden", help="PINN hidden-layer widths."),
    points: int = typer.Option(2540, "--points", help="PINN collocation points."),
    corner: str = typer.Option("erfc", "--corner", help="erfc: corner jump carried by erfc terms; none: left to the network."),
    soft: bool = typer.Option(False, "--soft", help="Boundary and initial values as loss terms instead of built in."),
    no_scaling: bool = typer.Option(False, "--no-scaling", help="Raw coordinates and temperatures into the network."),
    adaptive_weights: bool = typer.Option(False, "--adaptive-weights", help="Gradient-norm balancing of loss weights."),
    rar: bool = typer.Option(False, "--rar", help="Residual-based adaptive refinement of collocation points."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 (enough for the rod) or float64."),
    seed: int = typer.Option(0, "--seed", help="Random seed (network and collocation points)."),
    out: Path = options.out_dir("Output folder: metrics.json, config.yaml, solution.csv, plots/, model/."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted PINN run from OUT/.checkpoint."),
    quiet: bool = options.quiet(),
) -> None:
    """Heat rod T_t = α T_xx: PINN, explicit finite differences and Crank–Nicolson against the exact solution."""
    from nnsurrogate.pde.workflow import PINNOptions, parse_methods, run_heat1d

    rod = _rod(alpha, length, t_end, t_left, t_right, t_initial)
    methods = parse_methods(method)
    pinn = PINNOptions(adam_iterations=iterations, lbfgs_iterations=lbfgs, hidden=parse_int_list(hidden, "--hidden"),
                       n_domain=points, corner=corner, hard=not soft, scaled=not no_scaling,
                       adaptive_weights=adaptive_weights, rar=rar, dtype=dtype, seed=seed, time_limit=time_limit)
    metrics = run_heat1d(rod, str(out), methods, nx, nt, auto_dt, pinn, resume, verbose=not quiet)
    console.print(_error_table(metrics, [m for m in ("pinn", "fd", "cn") if m in metrics]))
    if "pinn" in metrics:
        p = metrics["pinn"]
        console.print(f"PINN: {p['adam_iterations']} Adam + {p['lbfgs_iterations']} L-BFGS iterations "
                      f"({p['stopped_by']})")
    console.print(f"grid {metrics['grid']['nx']} × {metrics['grid']['nt']} intervals; results written to {out}/")


@app.command("inverse-heat")
@configurable("pde inverse-heat")
def inverse_heat(
    data: Path = typer.Argument(..., help="Measurements table (.csv or .parquet) with columns x, t, T."),
    length: float = typer.Option(..., "--length", help="Rod length L."),
    t_end: float = typer.Option(..., "--t-end", help="Final time (measurements lie in [0, t_end])."),
    t_left: float = typer.Option(0.0, "--t-left", help="Temperature at x = 0."),
    t_right: float = typer.Option(1.0, "--t-right", help="Temperature at x = L."),
    t_initial: float = typer.Option(0.0, "--t-initial", help="Initial temperature inside the rod."),
    members: int = options.members(5, "Ensemble fits (bootstrap resamples) for the uncertainty."),
    alpha_guess: float = typer.Option(None, "--alpha-guess", help="Starting α (default 0.1 L²/t_end)."),
    alpha_field: bool = typer.Option(False, "--alpha-field", help="Estimate α(x) as a small network."),
    iterations: int = typer.Option(1000, "--iterations", help="Adam iterations per fit."),
    lbfgs: int = typer.Option(1000, "--lbfgs-iterations", help="L-BFGS iterations per fit (at most)."),
    points: int = typer.Option(1000, "--points", help="Collocation points per fit."),
    time_limit: float = options.time_limit("Wall-clock limit of all fits, s, reading the measurements included: "
                                           "each member still to fit gets an equal part of the time left when it "
                                           "starts (default: none, the iteration counts decide)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    out: Path = options.out_dir("Output folder: metrics.json (alpha, alpha_std), config.yaml, fit.csv, plots/."),
    quiet: bool = options.quiet(),
) -> None:
    """Estimate the diffusivity α from sparse, noisy temperatures and the heat equation."""
    from nnsurrogate.pde.workflow_inverse import InverseOptions, run_inverse_heat

    rod = _rod(1.0, length, t_end, t_left, t_right, t_initial)
    settings = InverseOptions(members, alpha_guess, alpha_field, iterations, lbfgs, seed, points, time_limit)
    metrics = run_inverse_heat(str(data), rod, str(out), settings, verbose=not quiet)
    console.print(f"alpha = {metrics['alpha']:.5g} ± {metrics['alpha_std']:.2g} (ensemble of {members}; "
                  f"data RMSE {metrics['data_rmse']:.3g}; fits ended by {', '.join(metrics['stopped_by'])}); "
                  f"results written to {out}/")


@app.command()
@configurable("pde burgers")
def burgers(
    out: Path = options.out_dir("Output folder: metrics.json, config.yaml, solution.csv, plots/, model/."),
    hidden: str = typer.Option("32,32,32,32", "--hidden", help="Hidden-layer widths."),
    points: int = typer.Option(4000, "--points", help="Collocation points (RAR adds more)."),
    iterations: int = typer.Option(1000, "--iterations", help="Adam iterations."),
    lbfgs: int = typer.Option(6000, "--lbfgs-iterations", help="L-BFGS iterations (at most)."),
    time_limit: float = options.time_limit(_PINN_TIME_HELP),
    no_rar: bool = typer.Option(False, "--no-rar", help="No residual-based adaptive refinement."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 or float64."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run from OUT/.checkpoint."),
    quiet: bool = options.quiet(),
) -> None:
    """Viscous Burgers (ν = 0.01/π) by PINN, scored against a Cole–Hopf reference solution."""
    from nnsurrogate.pde.workflow_inverse import BurgersOptions, run_burgers

    settings = BurgersOptions(parse_int_list(hidden, "--hidden"), points, iterations, lbfgs, not no_rar, True, seed,
                              dtype, time_limit)
    metrics = run_burgers(str(out), settings, resume, verbose=not quiet)
    console.print(f"Burgers PINN: rel. L2 error {metrics['rel_l2']:.3e}, max |error| {metrics['max_abs_error']:.3g}, "
                  f"{metrics['wall_s']:.0f} s, {metrics['adam_iterations']} Adam + {metrics['lbfgs_iterations']} "
                  f"L-BFGS iterations ({metrics['stopped_by']}); results written to {out}/")
