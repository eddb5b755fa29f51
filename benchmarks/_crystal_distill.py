"""Distillation part of the crystal benchmark: SA-GAT's top-k features → a short formula, and its speed-up.

For a trained SA-GAT model with its training and test structures:

1. the per-structure mean of each of the 178 per-atom features forms the tables
   (:meth:`PreparedCrystals.structure_table`); the top-k features by mean attention are chosen;
2. **top-k run**: ``SymbolicRegressor(max_length=15, time_limit=T_K)`` fitted to the network's predictions
   on the training structures; the chosen formula's validation R² (on the regressor's own held-out
   rows) becomes the accuracy bar R*. Sympy's node count can exceed the search's tree length, so the
   formula for the complexity target is the one of complexity ≤ 15 on the Pareto front with the best
   validation R² (never chosen on test rows); it is scored on the test structures against the truth;
3. **time to R***: the same search on the top-k features and on all features, each stopping as soon as
   a formula reaches R* (``target_r2``), with time limits T_K and 25 × T_K. The speed-up is the ratio of
   their wall-clock fit times; when the all-feature search never reaches R*, the ratio is a lower bound.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.console import Console
from rich.text import Text

from nnsurrogate.core import metrics
from nnsurrogate.crystal.distill import DistillInputs, distill

TOP_K, MAX_LENGTH = 8, 15
T_K, QUICK_T_K, ALL_FACTOR = 20.0, 2.0, 25.0
R2_GAP, SPEEDUP_TARGET, COMPLEXITY_TARGET = 0.05, 20.0, 15


def _inputs(keep: dict, target: str) -> DistillInputs:
    model = keep["model"]
    ranking = model.feature_importance()["feature"].tolist()
    return DistillInputs(keep["train"].structure_table().reset_index(drop=True),
                         keep["test"].structure_table().reset_index(drop=True),
                         np.asarray(keep["y_train"], float), np.asarray(keep["y_test"], float),
                         model.predict(keep["train"]), np.asarray(keep["pred_test"], float), ranking, target)


def _regressor(time_limit: float, target_r2: float | None = None):
    from nnsurrogate.symbolic import SymbolicRegressor

    return lambda: _Recorder(SymbolicRegressor(max_length=MAX_LENGTH, time_limit=time_limit, target_r2=target_r2,
                                               random_state=0))


class _Recorder:
    """Wraps a SymbolicRegressor so the benchmark can read its validation R² and stop reason after ``distill``."""

    def __init__(self, estimator) -> None:
        self.estimator = estimator

    def fit(self, X, y):
        self.estimator.fit(X, y)
        front = self.estimator.pareto_
        self.validation_r2_ = float(front.loc[front["selected"], "r2"].iloc[0])
        self.columns_ = list(X.columns)
        self.formula_, self.complexity_ = self.estimator.formula_, self.estimator.complexity_
        self.stopped_by_ = self.estimator.stopped_by_
        return self

    def predict(self, X):
        return self.estimator.predict(X)


def _run(inputs: DistillInputs, columns: list[str], factory) -> dict[str, Any]:
    holder: dict[str, Any] = {}

    def make():
        holder["model"] = factory()
        return holder["model"]

    from nnsurrogate.symbolic.distill import pareto_with_test

    report = distill(inputs, columns, make, "network")
    model = holder["model"]
    front = pareto_with_test(model.estimator, inputs.test[columns], inputs.y_test)
    short = front[front["complexity"] <= COMPLEXITY_TARGET]
    best = short.loc[short["r2"].idxmax()]  # chosen on validation R², never on the test rows
    report.update(validation_r2=model.validation_r2_, stopped_by=model.stopped_by_, n_columns=len(columns),
                  short_formula={"formula": str(best["formula"]), "complexity": int(best["complexity"]),
                                 "validation_r2": float(best["r2"]), "r2_test": _none(best["r2_test"]),
                                 "mae_test": _none(best["mae_test"])},
                  pareto=[{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                          for row in front[["complexity", "formula", "r2", "r2_test", "selected"]].to_dict("records")])
    return report


def _none(value) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def run(keep: dict, target: str, quick: bool, console: Console) -> dict[str, Any]:
    """The three searches for one data set; JSON-ready."""
    inputs = _inputs(keep, target)
    t_k = QUICK_T_K if quick else T_K
    top, every = inputs.top(TOP_K), inputs.top(len(inputs.ranking))
    best = _run(inputs, top, _regressor(t_k))
    bar = best["validation_r2"]  # the search's own chosen formula sets the accuracy bar
    top_to_bar = _run(inputs, top, _regressor(t_k, bar))
    all_to_bar = _run(inputs, every, _regressor(ALL_FACTOR * t_k, bar))
    network = {"r2_test": metrics.r2(inputs.y_test, inputs.net_test), "mae_test": metrics.mae(inputs.y_test, inputs.net_test)}
    reached = all_to_bar["stopped_by"] == "target r2"
    result = {"target": target, "top_k": TOP_K, "max_length": MAX_LENGTH, "time_limit_top_k_s": t_k,
              "time_limit_all_s": ALL_FACTOR * t_k, "n_train": len(inputs.train), "n_test": len(inputs.test),
              "network": network, "top_k_formula": best, "r2_bar": bar, "top_k_to_bar": top_to_bar,
              "all_to_bar": all_to_bar, "all_reached_bar": reached,
              "speedup": all_to_bar["fit_seconds"] / max(top_to_bar["fit_seconds"], 1e-9),
              "speedup_is_lower_bound": not reached}
    short = best["short_formula"]
    console.print(Text(f"distillation {target}: {short['formula']} (complexity {short['complexity']}, test R² "
                       f"{_f(short['r2_test'])} vs network {network['r2_test']:.4f}); speed-up "
                       f"{'≥ ' if not reached else ''}{result['speedup']:.1f}×"))
    return result


def _f(value, digits: int = 4) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def targets(distill_results: dict) -> dict:
    """Met / missed for each data set: a short formula close to the network, and the speed-up."""
    out = {}
    for name, r in distill_results.items():
        best, net = r["top_k_formula"]["short_formula"], r["network"]["r2_test"]
        r2 = best["r2_test"] if best["r2_test"] is not None else -math.inf
        ok_formula = best["complexity"] <= COMPLEXITY_TARGET and r2 >= net - R2_GAP
        all_r2 = r["all_to_bar"]["r2_test"] if r["all_to_bar"]["r2_test"] is not None else -math.inf
        top_r2 = r["top_k_to_bar"]["r2_test"] if r["top_k_to_bar"]["r2_test"] is not None else -math.inf
        ok_speed = r["speedup"] >= SPEEDUP_TARGET and top_r2 >= all_r2
        out[f"distill_{name}_formula"] = {"met": bool(ok_formula), "formula": best["formula"],
                                          "complexity": best["complexity"], "r2_test": best["r2_test"],
                                          "network_r2_test": net}
        out[f"distill_{name}_speedup"] = {"met": bool(ok_speed), "value": r["speedup"], "lower_bound": r["speedup_is_lower_bound"],
                                          "r2_test_top_k": r["top_k_to_bar"]["r2_test"], "r2_test_all": r["all_to_bar"]["r2_test"]}
    return out


def target_lines(t: dict) -> list[tuple[bool, str]]:
    mark = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    lines = []
    for name in sorted({k.split("_")[1] for k in t if k.startswith("distill_")}):
        f, s = t[f"distill_{name}_formula"], t[f"distill_{name}_speedup"]
        lines.append((f["met"], f"{name} distilled formula, complexity ≤ {COMPLEXITY_TARGET} and test R² within "
                                f"{R2_GAP} of the network's: {mark(f['met'])} — complexity {f['complexity']}, R² "
                                f"{_f(f['r2_test'])} vs network {f['network_r2_test']:.4f}"))
        bound = "≥ " if s["lower_bound"] else ""
        lines.append((s["met"], f"{name} symbolic regression on the top {TOP_K} ≥ {SPEEDUP_TARGET:g}× faster than on all "
                                f"features at equal or better R²: {mark(s['met'])} — {bound}{s['value']:.1f}×, test R² "
                                f"{_f(s['r2_test_top_k'])} (top {TOP_K}) vs {_f(s['r2_test_all'])} (all)"))
    return lines


def markdown_lines(distill_results: dict) -> list[str]:
    head = ["data", "inputs", "formula (fitted to the network)", "complexity", "test R²", "R² vs network", "fit, s"]
    lines = [f"Distillation: SA-GAT's top {TOP_K} features by mean attention (per-structure means), "
             f"`SymbolicRegressor(max_length={MAX_LENGTH})` (Operon) fitted to the network's predictions on the "
             "training structures, scored on the test structures. 'to R*' rows: searches stopped as soon as a "
             "formula reaches the validation R* of the top-k formula (limits T and 25 T).", "",
             "| " + " | ".join(head) + " |", "|---|---|---|---:|---:|---:|---:|"]
    for name, r in distill_results.items():
        net = r["network"]
        lines.append(f"| {name} | SA-GAT network | — | — | {net['r2_test']:.4f} | 1 | — |")
        short = r["top_k_formula"]["short_formula"]
        rows = [(r["top_k_formula"], f"top {TOP_K}, {r['time_limit_top_k_s']:g} s, chosen"),
                ({**short, "fidelity_r2_test": None, "fit_seconds": None}, f"top {TOP_K}, best of complexity ≤ {COMPLEXITY_TARGET}"),
                (r["top_k_to_bar"], f"top {TOP_K}, to R* = {r['r2_bar']:.4f}"),
                (r["all_to_bar"], f"all {r['all_to_bar']['n_columns']}, to R*")]
        for x, label in rows:
            formula = x["formula"].replace("|", "\\|")
            seconds = "" if x["fit_seconds"] is None else f"{x['fit_seconds']:.1f}"
            lines.append(f"| {name} | {label} | `{formula}` | {x['complexity']} | {_f(x['r2_test'])} | "
                         f"{_f(x['fidelity_r2_test'])} | {seconds} |")
    return lines
