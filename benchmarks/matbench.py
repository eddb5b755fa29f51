"""Composition → property on Matbench v0.1, AFLOW κ and hardness: the default composition model vs a random forest.

Protocol, identical for every model and run in one process:

* Matbench tasks (``matbench_expt_gap``, ``matbench_steels``, ``matbench_glass``): the Matbench v0.1
  folds ``KFold(n_splits=5, shuffle=True, random_state=18012019)``; the score is the mean over the
  5 test folds of the MAE (ROC-AUC from predicted probabilities for the 0/1 glass task, reported
  beside the balanced accuracy);
* ours: the model that ``nnsurrogate table train DATA --formula-column formula`` fits with its
  defaults (:func:`nnsurrogate.tabular.cv.fit_table_model`, seed 0), refitted in every fold, the
  featurizer and scalers on the training rows only;
* peer: a scikit-learn random forest on the same features (:class:`CompositionFeaturizer` in a
  pipeline, refitted per fold): 200 trees, ``max_features=0.3`` for regression and ``"sqrt"`` for
  classification, ``random_state=0``;
* AFLOW κ at 300 K: the given split; models fit on train ∪ val (ours holds out its own
  validation rows) with the target log κ (``--log-target``; the forest fits log κ too), test MAE on
  κ in W/(m·K) and on log₁₀ κ;
* hardness with load: 5-fold CV of ``table cv --inputs load`` with random folds and with folds
  grouped by reduced formula (same seed), to show the leak of repeated compounds;
* CPU time of each fit + predict (this process, all threads; torch and BLAS on one thread).

The published Matbench v0.1 leaderboard figures quoted beside the results are those named in the
issue; they were not rerun here.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from _common import machine_info, machine_line, now_iso, update_markdown_section, write_json
from nnsurrogate.core import metrics as M
from nnsurrogate.core.splits import CVSpec, cv_folds, leak_report
from nnsurrogate.core.training import torch_threads
from nnsurrogate.tabular.composition import CompositionFeaturizer
from nnsurrogate.tabular.cv import fit_table_model
from nnsurrogate.tabular.dataset import Dataset, TableSpec, load_dataset
from nnsurrogate.tabular.estimators import ModelOptions

NAME = "matbench"
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tables"
SEED = 0
RF_TREES = 200


@dataclass(frozen=True)
class Task:
    key: str
    file: str
    kind: str  # regress | classify
    unit: str
    leaderboard: dict  # published Matbench v0.1 figures quoted in the issue
    target: float | None = None  # MAE ≤ target (regress) or ROC-AUC ≥ target (classify)
    stretch: float | None = None  # beat the best published figure


TASKS = (
    Task("matbench_expt_gap", "matbench_expt_gap.csv", "regress", "eV",
         {"Darwin (best)": 0.2865, "MODNet": 0.3327, "CrabNet": 0.3463, "RF-SCM/Magpie": 0.4461}, 0.33, 0.2865),
    Task("matbench_steels", "matbench_steels.csv", "regress", "MPa",
         {"TPOT-Mat (best)": 79.95, "MODNet": 87.76}, 88.0, 79.95),
    Task("matbench_glass", "matbench_glass.csv", "classify", "", {}, 0.90),
)


def _ours(ds: Dataset, train: np.ndarray, test: np.ndarray, options: ModelOptions) -> dict:
    """Fit the default composition model on *train*; predictions on *test* and CPU seconds."""
    cpu = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_table_model(ds, train, options, "target")
    X = model.input_matrix(ds.frame.iloc[test], "test rows")
    if ds.task == "classify":
        out = {"proba": model.estimator.predict_proba(X)[:, 1]}
    else:
        pred = model.estimator.predict_full(X)
        out = {"pred": pred.mean, "std": pred.std}
    out["cpu_s"] = time.process_time() - cpu
    return out


def _forest(ds: Dataset, train: np.ndarray, test: np.ndarray, log_target: bool = False) -> dict:
    cpu = time.process_time()
    if ds.task == "classify":
        rf = RandomForestClassifier(n_estimators=RF_TREES, max_features="sqrt", n_jobs=1, random_state=SEED)
    else:
        rf = RandomForestRegressor(n_estimators=RF_TREES, max_features=0.3, n_jobs=1, random_state=SEED)
    pipe = make_pipeline(CompositionFeaturizer(), rf)
    y = np.log(ds.y[train]) if log_target else ds.y[train]
    pipe.fit(ds.formulas[train], y)
    if ds.task == "classify":
        out = {"proba": pipe.predict_proba(ds.formulas[test])[:, 1]}
    else:
        pred = pipe.predict(ds.formulas[test])
        out = {"pred": np.exp(pred) if log_target else pred}
    out["cpu_s"] = time.process_time() - cpu
    return out


def _fold_metrics(kind: str, y: np.ndarray, out: dict) -> dict:
    if kind == "classify":
        report = M.classification_report(y.astype(int), out["proba"])
        return {k: report[k] for k in ("roc_auc", "balanced_accuracy", "f1", "log_loss")} | {"cpu_s": out["cpu_s"]}
    row = {"mae": M.mae(y, out["pred"]), "rmse": M.rmse(y, out["pred"]), "r2": M.r2(y, out["pred"]), "cpu_s": out["cpu_s"]}
    if "std" in out:
        row["coverage_1sigma"] = M.coverage(y, out["pred"], out["std"], 1.0)
    return row


def run_matbench_task(task: Task, quick: bool, console: Console) -> dict:
    """Both models on every Matbench fold of *task* (the first two folds and 600 rows with ``quick``)."""
    ds = _load(task.file, "formula", "target", task.kind, quick)
    folds = cv_folds(CVSpec("matbench", 5), len(ds))[: 2 if quick else 5]
    options = _options(quick)
    per_fold = {"ours": [], "random_forest": []}
    for k, (train, test) in enumerate(folds):
        console.print(Text(f"  {task.key}: fold {k + 1}/{len(folds)} …", style="dim"))
        per_fold["ours"].append(_fold_metrics(task.kind, ds.y[test], _ours(ds, train, test, options)))
        per_fold["random_forest"].append(_fold_metrics(task.kind, ds.y[test], _forest(ds, train, test)))
    summary = {name: M.summarize_folds(rows) | {"cpu_s_total": float(sum(r["cpu_s"] for r in rows))}
               for name, rows in per_fold.items()}
    return {"task": task.key, "kind": task.kind, "unit": task.unit, "n_rows": len(ds), "n_folds": len(folds),
            "per_fold": per_fold, "summary": summary, "leaderboard": task.leaderboard,
            "target": task.target, "stretch": task.stretch}


def run_aflow(quick: bool, console: Console) -> dict:
    """κ at 300 K on the given split: fit on train ∪ val, score on test (κ and log₁₀ κ)."""
    folder = DATA / "aflow_kappa_300K"
    frames = [pd.read_csv(folder / f"{part}.csv") for part in ("train", "val", "test")]
    fit_frame = pd.concat(frames[:2], ignore_index=True)
    test_frame = frames[2]
    if quick:
        fit_frame, test_frame = fit_frame.iloc[:600], test_frame.iloc[:200]
    whole = pd.concat([fit_frame, test_frame], ignore_index=True)
    path = Path(f"/tmp/nnsurrogate_bench_aflow_{'quick' if quick else 'full'}.csv")
    whole.to_csv(path, index=False)
    ds = load_dataset(str(path), TableSpec("target", formula_column="formula", task="regress", duplicates="keep"))
    train, test = np.arange(len(fit_frame)), np.arange(len(fit_frame), len(whole))
    console.print(Text("  aflow κ: fitting …", style="dim"))
    options = ModelOptions(**{**_options(quick).__dict__, "log_target": True})
    results = {"ours": _ours(ds, train, test, options), "random_forest": _forest(ds, train, test, log_target=True)}
    y = ds.y[test]
    models = {}
    for name, out in results.items():
        models[name] = {"mae_kappa": M.mae(y, out["pred"]), "mae_log10_kappa": M.mae(np.log10(y), np.log10(out["pred"])),
                        "r2_log10_kappa": M.r2(np.log10(y), np.log10(out["pred"])), "cpu_s": out["cpu_s"]}
    return {"n_fit": len(train), "n_test": len(test), "unit": "W/(m·K)", "models": models}


def run_hardness(quick: bool, console: Console) -> dict:
    """Random vs grouped-by-formula 5-fold CV of hardness(composition, load), both models."""
    ds = _load("hardness_with_load.csv", "composition", "hardness", "regress", quick, inputs=("load",))
    options = _options(quick)
    out = {}
    for grouping in ("random", "formula"):
        spec = CVSpec("group", 5) if grouping == "formula" else CVSpec("kfold", 5)
        folds = cv_folds(spec, len(ds), SEED, groups=ds.groups)[: 2 if quick else 5]
        rows = {"ours": [], "random_forest": []}
        for k, (train, test) in enumerate(folds):
            console.print(Text(f"  hardness, {grouping} folds: {k + 1}/{len(folds)} …", style="dim"))
            rows["ours"].append(_fold_metrics("regress", ds.y[test], _ours(ds, train, test, options)))
            rows["random_forest"].append(_fold_metrics("regress", ds.y[test], _hardness_forest(ds, train, test)))
        out[grouping] = {"leak_report": leak_report(ds.groups, folds), "per_fold": rows,
                         "summary": {name: M.summarize_folds(r) for name, r in rows.items()}}
    return {"n_rows": len(ds), "n_compounds": int(len(set(ds.groups))), "unit": "GPa", "cv": out}


def _hardness_forest(ds: Dataset, train: np.ndarray, test: np.ndarray) -> dict:
    """The forest on composition features plus the load column."""
    cpu = time.process_time()
    featurizer = CompositionFeaturizer().fit(ds.formulas[train])
    X = np.column_stack([featurizer.transform(ds.formulas), ds.X])
    rf = RandomForestRegressor(n_estimators=RF_TREES, max_features=0.3, n_jobs=1, random_state=SEED).fit(X[train], ds.y[train])
    return {"pred": rf.predict(X[test]), "cpu_s": time.process_time() - cpu}


def _load(file: str, formula: str, target: str, kind: str, quick: bool, inputs: tuple = ()) -> Dataset:
    path = DATA / file
    if quick:
        frame = pd.read_csv(path, encoding="utf-8-sig")
        frame = frame.sample(n=min(600, len(frame)), random_state=0).sort_index()
        path = Path(f"/tmp/nnsurrogate_bench_quick_{file}")
        frame.to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the hardness table's repeated rows are averaged (the default policy)
        return load_dataset(str(path), TableSpec(target, inputs or None, formula, kind, "mean"))


def _options(quick: bool) -> ModelOptions:
    return ModelOptions(ensemble=2, epochs=30, seed=SEED) if quick else ModelOptions(seed=SEED)


def _targets(tasks: dict) -> dict:
    targets = {}
    for task in TASKS:
        s = tasks[task.key]["summary"]["ours"]
        if task.kind == "classify":
            value = s["roc_auc_mean"]
            targets[task.key] = {"target": f"mean ROC-AUC ≥ {task.target}", "value": value, "met": value >= task.target}
            continue
        value = s["mae_mean"]
        targets[task.key] = {"target": f"mean MAE ≤ {task.target:g} {task.unit}", "value": value,
                             "met": value <= task.target}
        targets[f"{task.key}_stretch"] = {"target": f"mean MAE < {task.stretch:g} {task.unit} (best published)",
                                          "value": value, "met": value < task.stretch}
    return targets


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    """Run every part, print the tables, write ``<results_dir>/matbench.json`` and the Markdown section."""
    if not DATA.is_dir():
        raise SystemExit(f"shared data folder not found: {DATA}")
    started, cpu0 = time.perf_counter(), time.process_time()
    machine = machine_info()
    with torch_threads(1), threadpool_limits(1):
        tasks = {t.key: run_matbench_task(t, quick, console) for t in TASKS}
        aflow = run_aflow(quick, console)
        hardness = run_hardness(quick, console)
    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine,
              "protocol": {"folds": "KFold(n_splits=5, shuffle=True, random_state=18012019)", "model_seed": SEED,
                           "ours": "nnsurrogate table train --formula-column defaults (fit_table_model, ModelOptions())",
                           "random_forest": {"n_estimators": RF_TREES, "max_features": {"regress": 0.3, "classify": "sqrt"}},
                           "units": {"cpu_s": "s CPU of this process, all threads"}},
              "tasks": tasks, "aflow_kappa_300K": aflow, "hardness_with_load": hardness,
              "targets": _targets(tasks), "runtime_s": time.perf_counter() - started,
              "cpu_s": time.process_time() - cpu0}
    write_json(Path(results_dir) / f"{NAME}.json", result)
    update_markdown_section(markdown_path, NAME, markdown(result))
    print_tables(result, console)
    return result


# ------------------------------------------------------------------------------------- reporting
def _pm(summary: dict, key: str, digits: int) -> str:
    return f"{summary[f'{key}_mean']:.{digits}f} ± {summary[f'{key}_std']:.{digits}f}"


def _task_rows(result: dict) -> list[list[str]]:
    rows = []
    for task in TASKS:
        r = result["tasks"][task.key]
        s_ours, s_rf = r["summary"]["ours"], r["summary"]["random_forest"]
        if task.kind == "classify":
            score = lambda s: f"ROC-AUC {_pm(s, 'roc_auc', 4)}; balanced acc. {_pm(s, 'balanced_accuracy', 3)}"  # noqa: E731
        else:
            digits = 4 if task.unit == "eV" else 1
            score = lambda s, d=digits: f"MAE {_pm(s, 'mae', d)} {task.unit}"  # noqa: E731
        board = "; ".join(f"{k} {v:g}" for k, v in task.leaderboard.items()) or "—"
        target = (f"≥ {task.target:g}" if task.kind == "classify" else f"≤ {task.target:g}") if task.target else "—"
        met = result["targets"][task.key]["met"]
        rows.append([task.key, str(r["n_rows"]), score(s_ours), f"{s_ours['cpu_s_total']:.0f}", score(s_rf),
                     f"{s_rf['cpu_s_total']:.0f}", board, f"{target}: {'met' if met else 'MISSED'}"])
    return rows


HEADERS = ["task", "rows", "ours (mean ± std over folds)", "ours CPU, s", "random forest, same features",
           "forest CPU, s", "published (Matbench v0.1)", "target"]


def markdown(result: dict) -> str:
    """The matbench section of BENCHMARKS.md (between its markers)."""
    a, h = result["aflow_kappa_300K"], result["hardness_with_load"]
    lines = [
        "## Composition → property: Matbench, AFLOW κ, hardness (`benchmarks/matbench.py`)",
        "",
        "Matbench v0.1 protocol: `KFold(n_splits=5, shuffle=True, random_state=18012019)`, mean over the 5 test "
        "folds. *Ours* is what `nnsurrogate table train DATA --formula-column formula` fits with its defaults, "
        "refitted in every fold (featurizer and scalers on the training rows only, model seed 0). The random "
        f"forest ({RF_TREES} trees, `max_features` 0.3 for regression, √d for classification) sees the same "
        "`CompositionFeaturizer` features. Published figures are those quoted in the issue, not rerun here. "
        "CPU seconds are for all 5 folds (fit + predict, one thread).",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---", "---:"] + ["---"] * (len(HEADERS) - 2)) + "|",
        *("| " + " | ".join(row) + " |" for row in _task_rows(result)),
        "",
        *_aflow_lines(a),
        "",
        *_hardness_lines(h),
        "",
        "Targets:",
        "",
        *(f"- {k}: {t['target']} — {'met' if t['met'] else 'MISSED'} ({t['value']:.4g})"
          for k, t in result["targets"].items()),
        "",
        f"Machine: {machine_line(result['machine'])}; load average at start "
        f"{result['machine']['load_average_1_5_15_min']}. Whole benchmark: {result['cpu_s'] / 60:.0f} min CPU, "
        f"{result['runtime_s'] / 60:.0f} min wall{' (quick smoke run)' if result['quick'] else ''}; "
        "raw numbers (every fold) in `benchmarks/results/matbench.json`.",
    ]
    return "\n".join(lines)


def _aflow_lines(a: dict) -> list[str]:
    o, r = a["models"]["ours"], a["models"]["random_forest"]
    return [
        f"AFLOW lattice thermal conductivity at 300 K (given split; fit on {a['n_fit']} train + val rows, "
        f"{a['n_test']} test rows; both models fit log κ):",
        "",
        "| model | test MAE κ, W/(m·K) | test MAE log₁₀ κ | R² log₁₀ κ | CPU, s |",
        "|---|---:|---:|---:|---:|",
        f"| ours | {o['mae_kappa']:.3f} | {o['mae_log10_kappa']:.4f} | {o['r2_log10_kappa']:.4f} | {o['cpu_s']:.0f} |",
        f"| random forest | {r['mae_kappa']:.3f} | {r['mae_log10_kappa']:.4f} | {r['r2_log10_kappa']:.4f} | {r['cpu_s']:.0f} |",
    ]


def _hardness_lines(h: dict) -> list[str]:
    lines = [f"Hardness with load ({h['n_rows']} rows after averaging repeated (compound, load) rows, "
             f"{h['n_compounds']} compounds): 5-fold CV, random folds against folds grouped by reduced formula.",
             "",
             "| folds | test rows whose compound is in training | ours MAE, GPa | random forest MAE, GPa |",
             "|---|---:|---:|---:|"]
    for grouping, label in (("random", "random K-fold"), ("formula", "grouped by formula")):
        c = h["cv"][grouping]
        leak = c["leak_report"]
        lines.append(f"| {label} | {leak['n_test_rows_seen_in_train']} "
                     f"({100 * leak['fraction_test_rows_seen_in_train']:.0f} %) | {_pm(c['summary']['ours'], 'mae', 2)} | "
                     f"{_pm(c['summary']['random_forest'], 'mae', 2)} |")
    return lines


def print_tables(result: dict, console: Console) -> None:
    table = Table(title=f"{NAME}: Matbench v0.1 protocol", header_style="bold")
    for h in HEADERS:
        table.add_column(h)
    for row in _task_rows(result):
        table.add_row(*row)
    console.print(table)
    for line in _aflow_lines(result["aflow_kappa_300K"]) + [""] + _hardness_lines(result["hardness_with_load"]):
        console.print(Text(line))
