"""``nnsurrogate demo``: the thin-film thermal-conductivity surrogate, end to end."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from nnsurrogate.cli.common import console, metrics_table


def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    epochs: int = typer.Option(None, "--epochs", help="Cap the training epochs (a quick look; default: early stopping)."),
) -> None:
    """Silicon thin films: physics data → trained ensemble → κ of new films ± uncertainty in milliseconds."""
    from nnsurrogate.tabular.demo import run_demo

    start = time.perf_counter()
    console.print("[bold]nnsurrogate demo[/]: in-plane thermal conductivity κ(d, η, T) of silicon films")
    result = run_demo(out, seed=seed, verbose=0 if quiet else 1, epochs=epochs)
    how = "reused" if result.data_reused else f"generated in {result.data_seconds:.1f} s"
    console.print(f"data: {result.data_path} (2000 films, Callaway–Holland + Fuchs–Sondheimer; {how})")
    console.print(metrics_table(result.metrics, "held-out films (20 %), κ in W/(m·K)", "W/(m·K)"))
    console.print(_films_table(result))
    console.print(f"predicted {len(result.films)} films in {1000 * result.predict_seconds:.1f} ms; "
                  f"wrote {out}/ (model/, metrics.json, plots/parity.png, new_films.csv) "
                  f"in {time.perf_counter() - start:.0f} s")


def _films_table(result) -> Table:
    table = Table(title="new films: surrogate vs physics model", header_style="bold")
    for name in ("d (nm)", "η (nm)", "T (K)", "κ surrogate ± σ", "κ physics", "error", "in domain"):
        table.add_column(name, justify="right")
    for row in result.films.itertuples(index=False):
        flag = "yes" if row.in_domain else "[red]no: extrapolation[/]"
        table.add_row(f"{row.thickness_nm:g}", f"{row.roughness_nm:g}", f"{row.temperature_K:g}",
                      f"{row.kappa_W_mK_pred:.1f} ± {row.kappa_W_mK_std:.2g}", f"{row.kappa_physics_W_mK:.1f}",
                      f"{row.error_percent:+.1f} %", flag)
    return table
