"""File-to-file workflow behind ``nnsurrogate symbolic fit``.

Everything is validated before the search starts; the outputs (``metrics.json``, ``pareto.csv``,
``plots/parity.png``, ``plots/pareto.png``) are written only when the fit has succeeded, each file
atomically, so a failed or interrupted run leaves no half-written file.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from nnsurrogate.core import metrics
from nnsurrogate.core.engine.budget import time_limit_scope
from nnsurrogate.core.errors import DataWarning, UserInputError
from nnsurrogate.core.files import write_json
from nnsurrogate.core.plots import parity_plot, tidy_axes
from nnsurrogate.core.tables import numeric_column, numeric_matrix, read_table, require_columns, write_table
from nnsurrogate.core.units import unit_from_name
from nnsurrogate.symbolic.distill import pareto_with_test
from nnsurrogate.symbolic.export import write_formula_files
from nnsurrogate.symbolic.functions import check_functions
from nnsurrogate.symbolic.regressor import BACKENDS, SymbolicRegressor

#: The package each back end imports (both are in the ``symbolic`` extra).
BACKEND_PACKAGES = {"operon": "pyoperon", "gplearn": "gplearn"}
#: Column names in ``pareto.csv``: the front's errors are on the validation rows (part of the training rows).
PARETO_CSV_NAMES = {"r2": "r2_validation", "mae": "mae_validation", "mse": "mse_validation"}
#: Fewest rows a table must have (a few for the search, its validation part and the test rows).
MIN_ROWS = 10


@dataclass(frozen=True)
class FitOptions:
    """Settings of ``symbolic fit`` (see the CLI help for each)."""

    target: str
    inputs: tuple[str, ...] | None = None
    max_length: int = 30
    generations: int | None = None
    time_limit: float | None = None
    seed: int = 0
    backend: str = "operon"
    functions: str | None = None
    test_size: float = 0.2
    verbose: int = 0

    def check(self) -> tuple[str, ...]:
        """Validate the options; returns the function names."""
        if self.backend not in BACKENDS:
            raise UserInputError(f"unknown back end '{self.backend}'; use {' or '.join(BACKENDS)}", "backend")
        package = BACKEND_PACKAGES[self.backend]
        if importlib.util.find_spec(package) is None:
            raise UserInputError(f"the {self.backend} back end needs the package '{package}': "
                                 "pip install 'nnsurrogate[symbolic]'", "backend")
        if self.max_length < 3:
            raise UserInputError(f"max_length must be at least 3, got {self.max_length}", "max_length")
        if self.time_limit is not None and not self.time_limit > 0:
            raise UserInputError(f"time_limit must be positive, got {self.time_limit:g}", "time_limit")
        if self.generations is not None and self.generations < 1:
            raise UserInputError(f"generations must be at least 1, got {self.generations}", "generations")
        if not 0.0 < self.test_size < 1.0:
            raise UserInputError(f"test_size must be between 0 and 1, got {self.test_size:g}", "test_size")
        return check_functions(self.functions, "functions")


def load_table(path: str, options: FitOptions) -> tuple[pd.DataFrame, np.ndarray]:
    """The input columns (validated numbers) and the target of the table at *path*."""
    frame = read_table(path)
    require_columns(frame, [options.target], path)
    if options.inputs is None:
        inputs = default_inputs(frame, options.target)
        if not inputs:
            raise UserInputError(f"no numeric column besides the target '{options.target}'; name the input columns", path)
    else:
        inputs = list(options.inputs)
        if options.target in inputs:
            raise UserInputError(f"the target '{options.target}' is also listed as an input", "inputs")
        if len(set(inputs)) != len(inputs):
            raise UserInputError("an input column is listed twice", "inputs")
    X = pd.DataFrame(numeric_matrix(frame, inputs, path), columns=inputs)
    y = numeric_column(frame, options.target, path)
    if len(frame) < MIN_ROWS:
        raise UserInputError(f"symbolic regression needs at least {MIN_ROWS} rows, found {len(frame)}", path)
    if np.ptp(y) == 0:
        raise UserInputError(f"the target '{options.target}' is constant ({y[0]:g}); there is nothing to fit", path)
    return X, y


def default_inputs(frame: pd.DataFrame, target: str) -> list[str]:
    """Every column but *target* that holds at least one number (a typo in such a column is then an error
    naming its row); columns of text only are ignored with a :class:`~nnsurrogate.core.errors.DataWarning`."""
    chosen = []
    for name in frame.columns:
        if name == target:
            continue
        if pd.to_numeric(frame[name], errors="coerce").notna().any():
            chosen.append(name)
        else:
            warnings.warn(f"ignoring non-numeric column '{name}' (set inputs to choose the columns)", DataWarning,
                          stacklevel=3)
    return chosen


def fit_table(data: str, out: str, options: FitOptions) -> dict:
    """Fit a formula on *data*, score it on held-out rows, write ``out/{metrics.json, pareto.csv, plots/}``.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``: ``formula``, ``complexity``, ``r2_test``,
        ``mae_test``, ``rmse_test``, ``r2_train``, ``mae_train``, counts, settings and timings.
    """
    functions = options.check()
    with time_limit_scope(options.time_limit):  # reading the table counts against the limit
        X, y = load_table(data, options)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=options.test_size, random_state=options.seed)
        start = time.perf_counter()
        model = SymbolicRegressor(backend=options.backend, functions=functions, max_length=options.max_length,
                                  generations=options.generations, time_limit=options.time_limit,
                                  random_state=options.seed, verbose=options.verbose)
        model.fit(X_tr, y_tr)
    fit_seconds = time.perf_counter() - start
    pred_tr, pred_te = model.predict(X_tr), model.predict(X_te)
    report = {
        "formula": model.formula_, "complexity": int(model.complexity_),
        "r2_test": metrics.r2(y_te, pred_te), "mae_test": metrics.mae(y_te, pred_te),
        "rmse_test": metrics.rmse(y_te, pred_te), "r2_train": metrics.r2(y_tr, pred_tr),
        "mae_train": metrics.mae(y_tr, pred_tr), "n_train": int(len(y_tr)), "n_test": int(len(y_te)),
        "target": options.target, "inputs": list(X.columns),
        "units": {c: unit_from_name(c) for c in [*X.columns, options.target]},
        "backend": options.backend, "functions": list(functions), "max_length": options.max_length,
        "time_limit": options.time_limit, "seed": options.seed, "generations": int(model.n_generations_),
        "stopped_by": model.stopped_by_, "search_seconds": round(model.search_seconds_, 3),
        "fit_seconds": round(fit_seconds, 3),
    }
    _write_outputs(Path(out), model, report, X_te, y_te, pred_te)
    return report


def _write_outputs(out: Path, model: SymbolicRegressor, report: dict, X_te: pd.DataFrame, y_te: np.ndarray,
                   pred_te: np.ndarray) -> None:
    front = pareto_with_test(model, X_te, y_te)
    write_table(front.rename(columns=PARETO_CSV_NAMES), out / "pareto.csv")
    exports = model.export(report["target"])
    write_formula_files(out, exports)
    report["latex"] = exports["latex"]
    parity_plot(out / "plots" / "parity.png", y_te, pred_te, label=report["target"],
                title=f"test rows: R² {report['r2_test']:.4f}, complexity {report['complexity']}")
    pareto_plot(out / "plots" / "pareto.png", front)
    write_json(out / "metrics.json", report)


def pareto_plot(path: Path, front: pd.DataFrame) -> None:
    """1 − R² against complexity for every formula of the front (validation and test rows), log scale."""
    from matplotlib.figure import Figure

    from nnsurrogate.core.files import atomic_path

    fig = Figure(figsize=(4.8, 3.6), dpi=120)
    ax = fig.subplots()
    for column, label, marker in (("r2", "validation", "o-"), ("r2_test", "test", "s--")):
        values = pd.to_numeric(front[column], errors="coerce").to_numpy(dtype=float)
        ax.plot(front["complexity"], np.clip(1.0 - values, 1e-12, None), marker, ms=4, label=label)
    chosen = front[front["selected"]]
    if len(chosen):
        ax.axvline(int(chosen["complexity"].iloc[0]), color="k", lw=0.8, ls=":", label="chosen")
    ax.set_yscale("log")
    ax.set_xlabel("complexity (nodes)")
    ax.set_ylabel("1 − R²")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tidy_axes(fig)
        fig.savefig(tmp, format="png")
