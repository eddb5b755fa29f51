"""Distillation of a trained SA-GAT run into short formulas: where the crystal and symbolic pillars meet.

The crystal pillar supplies the screened feature tables of a run folder
(:mod:`nnsurrogate.crystal.distill`), the symbolic pillar the formula search
(:class:`~nnsurrogate.symbolic.SymbolicRegressor`); pillars never import each other, so this recipe
joins them. :func:`distill_run` searches a formula on the top-k features (and, optionally, on all
features, for time and accuracy), scores each on the run's test structures and writes

- ``OUT/metrics.json``: the target, the network's test scores, the sizes and one report per search;
- ``OUT/pareto_<search>.csv``: the Pareto front of each search with test scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nnsurrogate.core.files import write_json
from nnsurrogate.core.tables import write_table
from nnsurrogate.crystal.distill import DistillInputs, distill, load_distill_inputs
from nnsurrogate.symbolic import SymbolicRegressor
from nnsurrogate.symbolic.distill import pareto_with_test
from nnsurrogate.symbolic.export import write_formula_files

__all__ = ["DEFAULT_FOLDER", "DistillOutcome", "distill_run"]

#: Output folder inside the run folder when none is given.
DEFAULT_FOLDER = "distill"


@dataclass(frozen=True)
class DistillOutcome:
    """What :func:`distill_run` wrote.

    Attributes
    ----------
    report : dict
        The contents of ``metrics.json``: ``target``, ``network`` (``r2_test``, ``mae_test``),
        ``n_train``, ``n_test`` and, per search (``top_k``, ``all_features``), the report of
        :func:`nnsurrogate.crystal.distill.distill`.
    folder : pathlib.Path
        Where the files are.
    fronts : dict of str to pandas.DataFrame
        The Pareto front of each search, with test scores (as in ``pareto_<search>.csv``).
    """

    report: dict[str, Any]
    folder: Path
    fronts: dict[str, pd.DataFrame] = field(default_factory=dict)


def distill_run(run_dir: str | Path, top_k: int = 8, time_limit: float | None = None, max_length: int = 15,
                fit_to: str = "network", compare_all: bool = True, seed: int = 0, out: str | Path | None = None,
                verbose: int = 0, generations: int | None = None) -> DistillOutcome:
    """Distil the *top_k* highest-attention features of an SA-GAT run into a formula; write the results.

    Parameters
    ----------
    run_dir : path-like
        Output folder of an SA-GAT training run (``feature_importance.csv``, ``structure_features.parquet``).
    top_k : int
        Features (by decreasing attention, among those that vary) the first search may use (≥ 1).
    time_limit : float, optional
        Seconds of formula search per search, on top of the generations (``None``: no wall-clock limit).
    max_length : int
        Most nodes of a searched expression tree.
    fit_to : {"network", "target"}
        Fit the network's predictions (distillation) or the true target.
    compare_all : bool
        Also search on all features.
    seed : int
        Random seed of the searches.
    out : path-like, optional
        Output folder (default ``run_dir / "distill"``).
    verbose : int
        1 shows the searches' progress bars.
    generations : int, optional
        Generations per search (``None``: the back end's default); with no time limit, reproducible.

    Returns
    -------
    DistillOutcome
    """
    inputs = load_distill_inputs(run_dir)
    folder = Path(out) if out is not None else Path(run_dir) / DEFAULT_FOLDER

    def make() -> SymbolicRegressor:
        return SymbolicRegressor(generations=generations, time_limit=time_limit, max_length=max_length,
                                 random_state=seed, verbose=verbose)

    runs = {"top_k": inputs.top(top_k)}
    if compare_all:
        runs["all_features"] = inputs.top(len(inputs.ranking))
    report = {"target": inputs.target, "network": inputs.network_scores(), "n_train": len(inputs.train),
              "n_test": len(inputs.test)}
    searched = {name: _search(inputs, columns, make, fit_to) for name, columns in runs.items()}
    fronts = {}
    for name, (result, front) in searched.items():
        exports = result.pop("exports")
        write_formula_files(folder, exports, stem=f"formula_{name}")
        result["latex"] = exports["latex"]
        report[name], fronts[name] = result, front
        write_table(front, folder / f"pareto_{name}.csv")
    write_json(folder / "metrics.json", report)
    return DistillOutcome(report, folder, fronts)


def _search(inputs: DistillInputs, columns: list[str], make, fit_to: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """One formula search through the crystal pillar's :func:`distill`; returns its report and Pareto front."""
    holder = {}

    def factory():
        holder["model"] = make()
        return holder["model"]

    result = distill(inputs, columns, factory, fit_to)
    result["exports"] = holder["model"].export(inputs.target)
    return result, pareto_with_test(holder["model"], inputs.test[columns], inputs.y_test)
