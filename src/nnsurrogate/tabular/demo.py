"""The demo: silicon thin-film thermal conductivity, from physics-model data to instant predictions.

1. Generate 2000 films κ(d, η, T) with the Callaway–Holland + Fuchs–Sondheimer model
   (:mod:`nnsurrogate.tabular.thin_film`), or reuse ``demo_out/films.csv`` from an earlier run.
2. Train the default ensemble on log κ with an 80/20 hold-out (``table train`` with ``--log-target``).
3. Predict films the model has not seen, each with ±σ and an in-domain flag, beside the physics model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnsurrogate.core.tables import read_table, write_table
from nnsurrogate.tabular.table_model import TableModel
from nnsurrogate.tabular.thin_film import COLUMNS, kappa_film, sample_thin_film
from nnsurrogate.tabular.workflow import TrainOptions, train_table

N_FILMS = 2000
# New films (thickness nm, roughness nm, temperature K); the last lies outside the training box (d < 10 nm).
NEW_FILMS = (
    (20.0, 0.5, 300.0),
    (50.0, 0.2, 300.0),
    (100.0, 1.0, 300.0),
    (1000.0, 0.3, 400.0),
    (5000.0, 1.5, 200.0),
    (30.0, 1.8, 700.0),
    (5.0, 0.5, 300.0),
)


@dataclass(frozen=True)
class DemoResult:
    """What the demo measured: hold-out metrics, the new-film table and timings (seconds)."""

    metrics: dict
    films: pd.DataFrame
    data_path: Path
    data_reused: bool
    data_seconds: float
    predict_seconds: float


def films_data(path: Path, seed: int = 0) -> tuple[bool, float]:
    """Reuse *path* if it holds the demo table, else generate it; returns (reused, seconds)."""
    start = time.perf_counter()
    if path.is_file():
        try:
            frame = read_table(path)
            if tuple(frame.columns) == COLUMNS and len(frame) == N_FILMS:
                return True, time.perf_counter() - start
        except ValueError:
            pass
    write_table(sample_thin_film(N_FILMS, seed=seed), path)
    return False, time.perf_counter() - start


def run_demo(out: str | Path = "demo_out", seed: int = 0, verbose: int = 1, epochs: int | None = None) -> DemoResult:
    """Run the whole demo, writing ``out/{films.csv, model/, metrics.json, plots/parity.png, new_films.csv}``."""
    out = Path(out)
    data_path = out / "films.csv"
    reused, data_seconds = films_data(data_path, seed)
    options = TrainOptions(target="kappa_W_mK", inputs=COLUMNS[:3], log_target=True, seed=seed,
                           verbose=verbose, epochs=epochs)
    metrics = train_table(str(data_path), str(out), options)
    model = TableModel.load(out / "model")
    new = pd.DataFrame(NEW_FILMS, columns=list(COLUMNS[:3]))
    start = time.perf_counter()
    table = model.predict_frame(new, "demo films")
    predict_seconds = time.perf_counter() - start
    table["kappa_physics_W_mK"] = kappa_film(new["thickness_nm"], new["roughness_nm"], new["temperature_K"])
    table["error_percent"] = 100.0 * (table["kappa_W_mK_pred"] / table["kappa_physics_W_mK"] - 1.0)
    table["within_2sigma"] = np.abs(table["kappa_W_mK_pred"] - table["kappa_physics_W_mK"]) <= 2 * table["kappa_W_mK_std"]
    write_table(table, out / "new_films.csv")
    return DemoResult(metrics, table, data_path, reused, data_seconds, predict_seconds)
