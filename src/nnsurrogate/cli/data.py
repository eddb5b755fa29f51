"""``nnsurrogate data …``: built-in physics data generators."""

from __future__ import annotations

from pathlib import Path

import typer

from nnsurrogate.cli.common import console

app = typer.Typer(help="Generate built-in physics data sets.", no_args_is_help=True)


@app.command("thin-film")
def thin_film(
    n: int = typer.Option(2000, "--n", help="Number of films (Latin hypercube samples)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same table."),
    out: Path = typer.Option(..., "--out", help="Output table (.csv or .parquet)."),
) -> None:
    """In-plane lattice thermal conductivity of silicon films, κ(d, η, T) in W/(m·K).

    Callaway–Holland bulk phonon model with Fuchs–Sondheimer boundary suppression and Ziman
    specularity; d log-uniform in [10 nm, 10 µm], η in [0, 2] nm, T in [100, 800] K.
    """
    from nnsurrogate.core.tables import write_table
    from nnsurrogate.tabular.thin_film import sample_thin_film

    with console.status(f"computing κ for {n} films"):
        frame = sample_thin_film(n, seed=seed)
    write_table(frame, out)
    console.print(f"wrote {len(frame)} films to {out} (κ from {frame['kappa_W_mK'].min():.3g} "
                  f"to {frame['kappa_W_mK'].max():.3g} W/(m·K))")
