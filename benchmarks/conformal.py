"""Prediction intervals that hold their level: conformal against the Gaussian σ and against MAPIE.

Target (issue 17, §4): coverage within ±0.03 of the requested level at 68.27 % and 95.45 % on the
thin-film test set and on a second, real table.

Protocol, one process, model seeds 0, 1, 2 (the data and splits never change):

* **thin film** — the split of ``benchmarks/thin_film.py`` (1600 training / 400 test rows); the
  network is the default ``SurrogateRegressor(log_target=True)``. Arms: its calibrated Gaussian σ
  (``gaussian``); ``ConformalRegressor(method="split")`` (20 % of the training rows calibrate the
  scores |y − ŷ|/σ) and ``method="cv"`` (5-fold cross-conformal, the kept model refitted on all
  1600 rows); the peer **MAPIE** ``SplitConformalRegressor`` around the same network (its default
  absolute-residual score, the same 20 % calibration rows) — MAPIE 1.x as a user would set it up.
* **hardness** — ``../shared/data/tables/hardness_with_load.csv`` (1062 Vickers hardness values of
  compounds under a load), through ``nnsurrogate table train --formula-column composition --split
  group:composition`` (the composition blend; test compounds never seen in training, and the
  conformal calibration rows also come in whole compounds). Arms: Gaussian σ of the plain model,
  ``--conformal split``, ``--conformal cv``.

Coverage is the share of test rows inside the interval; width is the mean interval width in target
units. The test sets have 400 / ≈ 210 rows, so coverage alone has a sampling s.e. of
√(p(1 − p)/n): 0.023 / 0.032 at 68 %, 0.010 / 0.014 at 95 %.
"""

from __future__ import annotations

import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text

from _common import machine_info, machine_line, markdown_table, now_iso, publish, standalone_outputs, summarize
from thin_film import load_data
from nnsurrogate.core.conformal import gaussian_interval, interval_coverage
from nnsurrogate.tabular import SurrogateRegressor
from nnsurrogate.tabular.conformal import ConformalRegressor

NAME = "conformal"
SEEDS, QUICK_SEEDS = (0, 1, 2), (0,)
LEVELS = (0.6827, 0.9, 0.9545)
TARGET_LEVELS, TOLERANCE = (0.6827, 0.9545), 0.03
HARDNESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "tables" / "hardness_with_load.csv"
ARMS = {"gaussian": "Gaussian σ (calibrated ensemble)", "split": "conformal, split (nnsurrogate)",
        "cv": "conformal, 5-fold cross-conformal (nnsurrogate)", "mapie_split": "MAPIE SplitConformalRegressor"}


def _band_row(y, bands: dict) -> dict:
    """Coverage and mean width at every level from {level: (low, high)}."""
    return {f"{lv:g}": {"coverage": interval_coverage(y, lo, hi), "width": float(np.mean(hi - lo))}
            for lv, (lo, hi) in bands.items()}


def thin_film_seed(seed: int, data, log) -> dict:
    """All four arms on one seed of the thin-film split."""
    out = {}
    t = time.process_time()
    net = SurrogateRegressor(log_target=True, random_state=seed).fit(data.X_train, data.y_train)
    pred = net.predict_full(data.X_test)
    out["gaussian"] = {"cpu_s": time.process_time() - t,
                       "levels": _band_row(data.y_test, {lv: gaussian_interval(pred.mean, pred.std, lv) for lv in LEVELS})}
    log(f"gaussian {out['gaussian']['levels']['0.6827']['coverage']:.3f}")
    for method in ("split", "cv"):
        t = time.process_time()
        model = ConformalRegressor(SurrogateRegressor(log_target=True, random_state=seed), method=method,
                                   random_state=seed).fit(data.X_train, data.y_train)
        p = model.predict_full(data.X_test)
        out[method] = {"cpu_s": time.process_time() - t, "mae": float(np.mean(np.abs(p.mean - data.y_test))),
                       "levels": _band_row(data.y_test, {lv: model.interval_from(p, lv) for lv in LEVELS})}
        log(f"{method} {out[method]['levels']['0.6827']['coverage']:.3f}")
    out["mapie_split"] = _mapie_split(seed, data)
    return out


def _mapie_split(seed: int, data) -> dict:
    """MAPIE's split conformal around the same network, with the same 20 % calibration share."""
    from mapie.regression import SplitConformalRegressor

    rng = np.random.RandomState(seed)
    order = rng.permutation(len(data.y_train))
    n_cal = int(np.ceil(0.2 * len(order)))
    cal, train = order[:n_cal], order[n_cal:]
    t = time.process_time()
    mapie = SplitConformalRegressor(SurrogateRegressor(log_target=True, random_state=seed),
                                    confidence_level=list(LEVELS), prefit=False)
    mapie.fit(data.X_train[train], data.y_train[train])
    mapie.conformalize(data.X_train[cal], data.y_train[cal])
    _, bounds = mapie.predict_interval(data.X_test)  # (n, 2, levels)
    bands = {lv: (bounds[:, 0, j], bounds[:, 1, j]) for j, lv in enumerate(LEVELS)}
    return {"cpu_s": time.process_time() - t, "levels": _band_row(data.y_test, bands)}


def hardness_seed(seed: int, log) -> dict:
    """The three nnsurrogate arms on the hardness table through ``table train`` (grouped by compound)."""
    from nnsurrogate.tabular.workflow import TrainOptions, train_table

    out = {}
    for arm, conformal in (("gaussian", None), ("split", "split"), ("cv", "cv")):
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.process_time()
            options = TrainOptions(target="hardness", formula_column="composition", split="group:composition",
                                   seed=seed, conformal=conformal)
            m = train_table(str(HARDNESS), str(Path(tmp) / "run"), options)
        levels = ({"0.6827": {"coverage": m["coverage_1sigma"]}, "0.9545": {"coverage": m["coverage_2sigma"]}}
                  if conformal is None else
                  {"0.6827": {"coverage": m["conformal_coverage_1sigma"]},
                   "0.9545": {"coverage": m["conformal_coverage_2sigma"]}})
        out[arm] = {"cpu_s": time.process_time() - t, "mae": m["mae"], "n_test": m["n_test"], "levels": levels}
        log(f"{arm} {levels['0.6827']['coverage']:.3f} / {levels['0.9545']['coverage']:.3f}")
    return out


def _summaries(per_seed: list[dict]) -> dict:
    arms = per_seed[0].keys()
    summary = {}
    for arm in arms:
        summary[arm] = {}
        for lv in per_seed[0][arm]["levels"]:
            summary[arm][lv] = {k: summarize([r[arm]["levels"][lv][k] for r in per_seed])
                                for k in per_seed[0][arm]["levels"][lv]}
        summary[arm]["cpu_s"] = summarize([r[arm]["cpu_s"] for r in per_seed])
    return summary


def _targets(summaries: dict) -> dict:
    targets = {}
    for dataset, summary in summaries.items():
        for method in ("split", "cv"):
            values = {f"{lv:g}": summary[method][f"{lv:g}"]["coverage"]["median"] for lv in TARGET_LEVELS}
            worst = {f"{lv:g}": max(abs(summary[method][f"{lv:g}"]["coverage"][k] - lv) for k in ("min", "max"))
                     for lv in TARGET_LEVELS}
            met = all(abs(values[f"{lv:g}"] - lv) <= TOLERANCE for lv in TARGET_LEVELS)
            targets[f"{dataset}_{method}_coverage"] = {
                "target": f"median coverage within ±{TOLERANCE} of 0.6827 and 0.9545", "met": met,
                "value": values, "worst_seed_deviation": worst}
    return targets


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    """Run both datasets, print the table, write ``<results_dir>/conformal.json`` and the Markdown section."""
    started = time.perf_counter()
    seeds = QUICK_SEEDS if quick else SEEDS
    machine = machine_info()
    data = load_data()
    per_seed = {"thin_film": [], "hardness": []}
    for seed in seeds:
        log = lambda msg, s=seed: console.print(Text(f"  {NAME}: thin film seed {s}: {msg}", style="dim"))  # noqa: E731
        per_seed["thin_film"].append({"seed": seed, **thin_film_seed(seed, data, log)})
    for seed in seeds:
        log = lambda msg, s=seed: console.print(Text(f"  {NAME}: hardness seed {s}: {msg}", style="dim"))  # noqa: E731
        per_seed["hardness"].append({"seed": seed, **hardness_seed(seed, log)})
    summaries = {k: _summaries([{a: v for a, v in r.items() if a != "seed"} for r in rows])
                 for k, rows in per_seed.items()}
    result = {"name": NAME, "created": now_iso(), "quick": quick, "seeds": list(seeds), "levels": list(LEVELS),
              "machine": machine, "wall_s": round(time.perf_counter() - started, 1), "per_seed": per_seed,
              "summary": summaries, "targets": _targets(summaries)}
    return publish(NAME, result, results_dir, markdown_path, console, "interval coverage (median [min, max] over seeds)",
                   _table, markdown)


def _cell(s: dict) -> str:
    return f"{s['median']:.3f} [{s['min']:.3f}, {s['max']:.3f}]"


def _table(result: dict) -> tuple[list[str], list[list[str]]]:
    headers = ["data", "intervals", "68.27 %", "90 %", "95.45 %", "mean width 95.45 %", "CPU s / seed"]
    rows = []
    for dataset, summary in result["summary"].items():
        for arm, s in summary.items():
            width = s["0.9545"].get("width")
            rows.append([dataset.replace("_", " "), ARMS[arm], _cell(s["0.6827"]["coverage"]),
                         _cell(s["0.9"]["coverage"]) if "0.9" in s else "—", _cell(s["0.9545"]["coverage"]),
                         f"{width['median']:.3g}" if width else "—", f"{s['cpu_s']['median']:.0f}"])
    return headers, rows


def markdown(result: dict) -> str:
    headers, rows = _table(result)
    lines = [f"## Conformal prediction intervals (`benchmarks/{NAME}.py`)", "",
             __doc__.split("\n\n", 1)[1].split("Coverage is")[0].strip(), "", *markdown_table(headers, rows), "",
             "Coverage: share of test rows inside the interval (ideal: the level). Medians over seeds, [min, max] in "
             "brackets. Widths in W/(m·K) (thin film) and GPa (hardness).", "", "Targets:", ""]
    for key, t in result["targets"].items():
        v = t["value"]
        lines.append(f"- {key}: {'met' if t['met'] else 'MISSED'} — 68.27 % → {v['0.6827']:.3f}, "
                     f"95.45 % → {v['0.9545']:.3f} ({t['target']}; worst seed off by "
                     f"{t['worst_seed_deviation']['0.6827']:.3f} / {t['worst_seed_deviation']['0.9545']:.3f})")
    lines += ["", f"Machine: {machine_line(result['machine'])}. Run {result['created']}, {result['wall_s']:.0f} s; "
              f"every seed in `benchmarks/results/{NAME}.json`."]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    quick = "--quick" in sys.argv
    res = run(quick, *standalone_outputs(quick), Console(width=150))
    print(json.dumps(res["targets"], indent=1))
