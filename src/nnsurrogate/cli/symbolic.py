"""``nnsurrogate symbolic …``: symbolic regression on tables (CSV or Parquet)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nnsurrogate.cli import options
from nnsurrogate.cli.common import console
from nnsurrogate.cli.settings_file import configurable

app = typer.Typer(help="Symbolic regression: a short formula for a column of a table.", no_args_is_help=True)


@app.command()
@configurable("symbolic fit")
def fit(
    data: Path = typer.Argument(..., help="Table (.csv or .parquet)."),
    target: str = typer.Option(..., "--target", help="Column to explain."),
    inputs: str = typer.Option(None, "--inputs", help="Comma-separated input columns (default: every numeric column but the target)."),
    max_length: int = typer.Option(30, "--max-length", help="Most nodes of a searched expression tree."),
    generations: int = typer.Option(None, "--generations", help="Generations of search (default: the back end's, "
                                    "Operon 200, gplearn 20); the same seed then gives the same formula on any machine."),
    time_limit: float = typer.Option(None, "--time-limit", help="Also stop after this many seconds, reading the "
                                     "table included (the formula then depends on the machine's speed)."),
    seed: int = typer.Option(0, "--seed", help="Random seed for the test split and the search."),
    backend: str = typer.Option("operon", "--backend", help="operon (fast, fitted constants) or gplearn."),
    functions: str = typer.Option(None, "--functions", help="Allowed operators, e.g. add,sub,mul,div,sqrt,exp,log (the default)."),
    test_fraction: float = options.test_fraction(0.2, "Fraction of rows held out to score the formula."),
    out: Path = options.out_dir("Output folder: metrics.json, config.yaml, pareto.csv, formula.py "
                              "(a NumPy function), formula.tex, plots/."),
    quiet: bool = options.quiet(),
) -> None:
    """Search for a formula TARGET ≈ f(inputs); report it with its test R², MAE and a Pareto front."""
    from nnsurrogate.core.tables import parse_column_list
    from nnsurrogate.symbolic.workflow import FitOptions, fit_table

    columns = parse_column_list(inputs)
    settings = FitOptions(target=target, inputs=tuple(columns) if columns else None, max_length=max_length,
                         generations=generations, time_limit=time_limit, seed=seed, backend=backend, functions=functions,
                         test_size=test_fraction, verbose=0 if quiet else 1)
    report = fit_table(str(data), str(out), settings)
    console.print(f"[bold]{target}[/bold] ≈ {report['formula']}", highlight=False)
    table = Table(show_header=True, header_style="bold")
    for column in ("complexity", "test R²", "test MAE", "rows (train/test)", "search, s"):
        table.add_column(column, justify="right")
    table.add_row(str(report["complexity"]), f"{report['r2_test']:.5g}", f"{report['mae_test']:.4g}",
                  f"{report['n_train']}/{report['n_test']}", f"{report['search_seconds']:.1f}")
    console.print(table)
    console.print(f"metrics, Pareto front and plots written to {out}/ ({report['fit_seconds']:.1f} s)")
