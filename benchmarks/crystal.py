"""Crystal graphs: SA-GAT against CGCNN and composition-only peers, and symbolic distillation.

Targets (issue 7):

* perovskite heat of formation (``perov5``, ``heat_all``, eV per 5-atom cell; train on ``val.csv``,
  test on ``test.csv``): SA-GAT MAE ≤ CGCNN's and ≤ 0.06 eV; the composition-only models beside them;
* bulk modulus (``elastic_tensor_2015``, log₁₀ K_VRH, 5-fold cross-validation): SA-GAT (and CGCNN)
  beside a random forest on composition features;
* distillation: a formula of complexity ≤ 15 from the top-k SA-GAT features with test R² within 0.05
  of the network's, and symbolic regression on the top-k features ≥ 20× faster than on all features
  at equal or better R².

Protocol, the same for every model in one process:

* graphs: 8 Å cutoff, 12 nearest neighbours (plus ties); the 178 per-atom features of
  :mod:`nnsurrogate.crystal.features`; both graph networks with the same optimiser settings
  (:data:`GNN_PARAMS`), 10 % of the training structures held out for early stopping;
* composition-only peers see only the formula: :class:`nnsurrogate.tabular.composition.CompositionFeaturizer`
  (Magpie + Oliynyk statistics, fractions, norms) into ``SurrogateRegressor`` (the project's tabular
  network) and into scikit-learn's ``RandomForestRegressor`` (:data:`RF_PARAMS`: 300 trees, a third of
  the features per split);
* K_VRH folds: ``KFold(5, shuffle=True, random_state=18012019)`` (the Matbench protocol);
* distillation (:mod:`benchmarks._crystal_distill`): per-structure means of the 178 features, formula
  fitted to the network's predictions on the training structures, scored on the test structures
  against the true target.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import KFold

import _crystal_distill as distillation
from _common import machine_info, machine_line, now_iso, summarize, timed_cpu, update_markdown_section, write_json
from nnsurrogate.core import metrics
from nnsurrogate.crystal.graph import GraphSettings
from nnsurrogate.crystal.io import read_crystals
from nnsurrogate.crystal.prepare import PreparedCrystals, prepare_crystals
from nnsurrogate.crystal.regressor import CrystalRegressor

NAME = "crystal"
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "crystals"
PEROV_TRAIN, PEROV_TEST = DATA / "perov5" / "val.csv", DATA / "perov5" / "test.csv"
ELASTIC = DATA / "mp_matminer" / "elastic_tensor_2015.json.gz"
SEEDS, QUICK_SEEDS = (0, 1, 2), (0,)
WORK = Path(__file__).resolve().parent / "_work" / "crystal"
PARTS = ("perov", "kvrh", "distill")
QUICK_ROWS = 300
KFOLD_SEED, N_FOLDS = 18012019, 5
#: Optimiser and size settings shared by CGCNN and SA-GAT (architectures at their defaults).
GNN_PARAMS = {"max_epochs": 100, "batch_size": 64, "learning_rate": 2e-3, "loss": "l1", "schedule": "cosine",
              "patience": 1000, "validation_fraction": 0.1, "n_threads": 1}
QUICK_EPOCHS = 3
RF_PARAMS = {"n_estimators": 300, "max_features": 1 / 3, "n_jobs": 1}
#: Graph networks cross-validated on K_VRH (five folds each).
ELASTIC_GNNS = ("sagat", "cgcnn")
PEROV_MAE_TARGET = 0.06
#: Matbench v0.1 matbench_perovskites (same Castelli data, 18 928 entries, 5-fold), eV per cell.
MATBENCH_PEROVSKITES = {"CGCNN": 0.0452, "coGN (best)": 0.0269}


def _gnn(kind: str, seed: int, quick: bool) -> CrystalRegressor:
    params = dict(GNN_PARAMS, max_epochs=QUICK_EPOCHS if quick else GNN_PARAMS["max_epochs"])
    return CrystalRegressor(model=kind, random_state=seed, **params)


def _scores(y_true, y_pred) -> dict[str, float]:
    return {"mae": metrics.mae(y_true, y_pred), "rmse": metrics.rmse(y_true, y_pred), "r2": metrics.r2(y_true, y_pred)}


def _head_copy(path: Path, rows: int) -> Path:
    """The first *rows* entries of a CSV or split-orient JSON data set, in ``benchmarks/_work`` (quick runs)."""
    import gzip
    import json

    folder = Path(__file__).resolve().parent / "_work" / "data"
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / path.name
    if path.suffix == ".csv":
        pd.read_csv(path, nrows=rows).to_csv(copy, index=False)
    else:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            full = json.load(fh)
        with gzip.open(copy, "wt", encoding="utf-8") as fh:
            json.dump({"columns": full["columns"], "data": full["data"][:rows]}, fh)
    return copy


def _prepared(path: Path, target: str, quick: bool, console: Console) -> tuple[PreparedCrystals, np.ndarray, list[str]]:
    """Graphs, features, targets and formulas of a data set (cached in ``_work/crystal`` for the later parts)."""
    import pickle

    cache = WORK / f"{path.name}.{target}{'.quick' if quick else ''}.pkl"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    start = time.perf_counter()
    data = read_crystals(_head_copy(path, QUICK_ROWS) if quick else path, target)
    crystals, y = data.crystals, data.targets
    prepared = prepare_crystals(crystals, GraphSettings(), source=str(path))
    formulas = [_formula(c) for c in crystals]
    WORK.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps((prepared, y, formulas)))
    console.print(Text(f"prepared {len(prepared)} structures from {path.name} in {time.perf_counter() - start:.0f} s"))
    return prepared, y, formulas


def _formula(crystal) -> str:
    from collections import Counter

    return "".join(f"{s}{n}" for s, n in sorted(Counter(crystal.symbols).items()))


def composition_models(seed: int) -> dict[str, Any]:
    """Unfitted composition-only pipelines (formula strings → property), keyed as in the results."""
    from sklearn.pipeline import make_pipeline

    from nnsurrogate.tabular import SurrogateRegressor
    from nnsurrogate.tabular.composition import CompositionFeaturizer

    return {
        "composition_nn": make_pipeline(CompositionFeaturizer(), SurrogateRegressor(random_state=seed)),
        "composition_rf": make_pipeline(CompositionFeaturizer(), RandomForestRegressor(random_state=seed, **RF_PARAMS)),
    }


LABELS = {"sagat": "SA-GAT (nnsurrogate)", "cgcnn": "CGCNN (nnsurrogate)",
          "composition_nn": "composition-only SurrogateRegressor", "composition_rf": "composition-only random forest"}


def _fit_gnn(kind, seed, quick, train, y_train, test):
    model = _gnn(kind, seed, quick)
    _, wall, cpu = timed_cpu(lambda: model.fit(train, y_train))
    return model, model.predict(test), {"fit_s": wall, "fit_cpu_s": cpu, "epochs": model.n_epochs_,
                                        "best_epoch": model.best_epoch_}


def _fit_composition(model, f_train, y_train, f_test):
    _, wall, cpu = timed_cpu(lambda: model.fit(np.asarray(f_train, dtype=object), y_train))
    return model.predict(np.asarray(f_test, dtype=object)), {"fit_s": wall, "fit_cpu_s": cpu}


def run_perovskites(quick: bool, console: Console) -> tuple[dict, dict]:
    """Every model on perov5 heat_all; returns the results and what distillation needs (SA-GAT, seed 0)."""
    train, y_train, f_train = _prepared(PEROV_TRAIN, "heat_all", quick, console)
    test, y_test, f_test = _prepared(PEROV_TEST, "heat_all", quick, console)
    seeds = QUICK_SEEDS if quick else SEEDS
    results: dict[str, dict] = {k: {"label": LABELS[k], "per_seed": []} for k in LABELS}
    keep = {}
    for seed in seeds:
        for kind in ("cgcnn", "sagat"):
            model, pred, info = _fit_gnn(kind, seed, quick, train, y_train, test)
            results[kind]["per_seed"].append({"seed": seed, **_scores(y_test, pred), **info})
            console.print(Text(f"perov5 {kind} seed {seed}: MAE {results[kind]['per_seed'][-1]['mae']:.4f} eV, "
                               f"{info['fit_s']:.0f} s"))
            if kind == "sagat" and seed == seeds[0]:
                keep = {"model": model, "train": train, "test": test, "y_train": y_train, "y_test": y_test,
                        "pred_test": pred}
        for key, model in composition_models(seed).items():
            pred, info = _fit_composition(model, f_train, y_train, f_test)
            results[key]["per_seed"].append({"seed": seed, **_scores(y_test, pred), **info})
    for entry in results.values():
        entry["summary"] = {m: summarize([r[m] for r in entry["per_seed"]]) for m in ("mae", "rmse", "r2", "fit_s", "fit_cpu_s")}
    protocol = {"n_train": len(train), "n_test": len(test), "seeds": list(seeds), "unit": "eV per cell"}
    return {"protocol": protocol, "models": results}, keep


def _elastic_data(quick: bool, console: Console) -> tuple[PreparedCrystals, np.ndarray, list[str]]:
    prepared, k_vrh, formulas = _prepared(ELASTIC, "K_VRH", quick, console)
    return prepared, np.log10(k_vrh), formulas


def run_elastic(quick: bool, console: Console) -> tuple[dict, dict]:
    """5-fold log₁₀ K_VRH: SA-GAT, CGCNN and the composition random forest on the same folds."""
    data, y, formulas = _elastic_data(quick, console)
    folds = list(KFold(N_FOLDS, shuffle=True, random_state=KFOLD_SEED).split(np.arange(len(y))))
    keys = (*ELASTIC_GNNS, "composition_rf")
    per_fold: dict[str, list[dict]] = {k: [] for k in keys}
    keep = {}
    for k, (tr, te) in enumerate(folds):
        for kind in ELASTIC_GNNS:
            model, pred, info = _fit_gnn(kind, 0, quick, data.subset(tr), y[tr], data.subset(te))
            per_fold[kind].append({"fold": k, **_scores(y[te], pred), **info})
            if kind == "sagat" and k == 0:
                keep = {"model": model, "train": data.subset(tr), "test": data.subset(te), "y_train": y[tr],
                        "y_test": y[te], "pred_test": pred}
        rf = composition_models(0)["composition_rf"]
        pred, info = _fit_composition(rf, [formulas[i] for i in tr], y[tr], [formulas[i] for i in te])
        per_fold["composition_rf"].append({"fold": k, **_scores(y[te], pred), **info})
        console.print(Text(f"K_VRH fold {k}: " + ", ".join(f"{m} {per_fold[m][-1]['mae']:.4f}" for m in keys)))
    models = {}
    for key in keys:
        rows = per_fold[key]
        models[key] = {"label": LABELS[key], "per_fold": rows,
                       "mean": {m: float(np.mean([r[m] for r in rows])) for m in ("mae", "rmse", "r2", "fit_s", "fit_cpu_s")}}
    protocol = {"n_structures": len(y), "folds": N_FOLDS, "kfold_seed": KFOLD_SEED, "target": "log10(K_VRH / GPa)"}
    return {"protocol": protocol, "models": models}, keep


def _targets(perov: dict, elastic: dict, distill: dict) -> dict:
    models = perov["models"]
    mae = {k: v["summary"]["mae"]["median"] for k, v in models.items()}
    per_seed = {k: [r["mae"] for r in models[k]["per_seed"]] for k in ("sagat", "cgcnn")}
    every_seed = all(a < b for a, b in zip(per_seed["sagat"], per_seed["cgcnn"]))
    spread = max(float(np.std(per_seed[k])) for k in per_seed) if len(per_seed["sagat"]) > 1 else None
    targets = {
        "perov_sagat_below_cgcnn_every_seed": {"met": bool(every_seed), "value": mae["sagat"], "cgcnn": mae["cgcnn"],
                                               "sagat_per_seed": per_seed["sagat"], "cgcnn_per_seed": per_seed["cgcnn"],
                                               "seed_std_max": spread},
        "perov_sagat_le_0.06": {"met": bool(mae["sagat"] <= PEROV_MAE_TARGET), "value": mae["sagat"],
                                "target": PEROV_MAE_TARGET},
    }
    k = {key: v["mean"]["mae"] for key, v in elastic["models"].items()}
    targets["kvrh_sagat_below_cgcnn_and_rf"] = {"met": bool(k["sagat"] < k["cgcnn"] and k["sagat"] < k["composition_rf"]),
                                                "value": k["sagat"], "rf": k["composition_rf"], "cgcnn": k["cgcnn"]}
    targets.update(distillation.targets(distill))
    return targets


def _keep_path(name: str, quick: bool) -> Path:
    return WORK / f"{name}_sagat_keep{'.quick' if quick else ''}.pkl"


def _save_keep(name: str, quick: bool, keep: dict) -> None:
    """The seed-0 SA-GAT model and its data, for the distillation parts (``_work/crystal``)."""
    import pickle

    WORK.mkdir(parents=True, exist_ok=True)
    _keep_path(name, quick).write_bytes(pickle.dumps(keep))


def load_keep(name: str, quick: bool) -> dict:
    import pickle

    path = _keep_path(name, quick)
    if not path.is_file():
        raise SystemExit(f"run --part {'perov' if name == 'perov5' else 'kvrh'} first ({path} is missing)")
    return pickle.loads(path.read_bytes())


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console, parts=PARTS) -> dict:
    """Run *parts* (default all), merge them into ``crystal.json`` and rewrite the markdown section."""
    start = time.perf_counter()
    path = Path(results_dir) / f"{NAME}.json"
    result = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if result.get("quick", quick) != quick:
        result = {k: v for k, v in result.items() if k == "symbolic_sanity"}
    result.update({"name": NAME, "quick": quick, "gnn_params": GNN_PARAMS, "rf_params": RF_PARAMS,
                   "matbench_perovskites_reference": MATBENCH_PEROVSKITES})
    runtimes = result.setdefault("part_runtime_s", {})
    for part in parts:
        begun, machine = time.perf_counter(), machine_info()
        if part == "perov":
            result["perovskites"], keep = run_perovskites(quick, console)
            _save_keep("perov5", quick, keep)
        elif part == "kvrh":
            result["elastic"], keep = run_elastic(quick, console)
            _save_keep("kvrh", quick, keep)
        elif part == "distill":
            result["distillation"] = {"perov5": distillation.run(load_keep("perov5", quick), "heat_all", quick, console),
                                      "kvrh": distillation.run(load_keep("kvrh", quick), "log10_K_VRH", quick, console)}
        elif part != "report":
            raise SystemExit(f"unknown part '{part}'; choose from {', '.join((*PARTS, 'report'))}")
        if part != "report":
            runtimes[part] = time.perf_counter() - begun
            result.setdefault("machines", {})[part] = {**machine, "created": now_iso()}
            result["created"], result["machine"] = now_iso(), machine
    if all(k in result for k in ("perovskites", "elastic", "distillation")):
        result["targets"] = _targets(result["perovskites"], result["elastic"], result["distillation"])
    result["runtime_s"] = sum(runtimes.values())
    write_json(path, result)
    if "targets" in result:
        update_markdown_section(Path(markdown_path), NAME, markdown(result))
        print_tables(result, console)
    console.print(Text(f"crystal parts {', '.join(parts)} done in {time.perf_counter() - start:.0f} s"))
    return result


def _f(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def perov_rows(result: dict) -> list[list[str]]:
    rows = []
    for m in result["perovskites"]["models"].values():
        s = m["summary"]
        rows.append([m["label"], _f(s["mae"]["median"]), _f(s["rmse"]["median"]), _f(s["r2"]["median"]),
                     _f(s["fit_s"]["median"], 0), _f(s["fit_cpu_s"]["median"], 0)])
    return rows


def elastic_rows(result: dict) -> list[list[str]]:
    rows = []
    for m in result["elastic"]["models"].values():
        maes = [r["mae"] for r in m["per_fold"]]
        rows.append([m["label"], _f(m["mean"]["mae"]), f"[{min(maes):.4f}, {max(maes):.4f}]", _f(m["mean"]["r2"]),
                     _f(m["mean"]["fit_s"], 0)])
    return rows


PEROV_HEADERS = ["model", "test MAE, eV/cell", "RMSE", "R²", "fit, s", "fit CPU, s"]
ELASTIC_HEADERS = ["model", "MAE log₁₀K (mean of 5 folds)", "[min, max] over folds", "R²", "fit per fold, s"]


def target_lines(result: dict) -> list[tuple[bool, str]]:
    t = result["targets"]
    mark = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    a, b, c = t["perov_sagat_below_cgcnn_every_seed"], t["perov_sagat_le_0.06"], t["kvrh_sagat_below_cgcnn_and_rf"]
    seeds = ", ".join(f"{x:.4f} vs {y:.4f}" for x, y in zip(a["sagat_per_seed"], a["cgcnn_per_seed"]))
    noise = "" if a["seed_std_max"] is None else f"; seed-to-seed std ≤ {a['seed_std_max']:.4f}"
    lines = [
        (a["met"], f"perov5 SA-GAT below CGCNN on every seed: {mark(a['met'])} — per seed {seeds} eV/cell{noise}"),
        (b["met"], f"perov5 SA-GAT ≤ {PEROV_MAE_TARGET} eV/cell: {mark(b['met'])} — median {b['value']:.4f} eV/cell"),
        (c["met"], f"K_VRH 5-fold MAE of SA-GAT below CGCNN and the composition random forest: {mark(c['met'])} — "
                   f"log₁₀K SA-GAT {c['value']:.4f}, CGCNN {c['cgcnn']:.4f}, RF {c['rf']:.4f}"),
    ]
    return lines + distillation.target_lines(t)


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def markdown(result: dict) -> str:
    p, e = result["perovskites"]["protocol"], result["elastic"]["protocol"]
    g = result["gnn_params"]
    ref = ", ".join(f"{k} {v}" for k, v in result["matbench_perovskites_reference"].items())
    lines = [
        "## Crystal graphs and distillation (`benchmarks/crystal.py`)",
        "",
        f"Perovskite heat of formation (`perov5`, Castelli et al.): trained on `val.csv` ({p['n_train']} cells), "
        f"tested on `test.csv` ({p['n_test']}); seeds {', '.join(map(str, p['seeds']))}. Both graph networks: "
        f"8 Å cutoff, 12 nearest neighbours, {g['max_epochs']} epochs of AdamW (batch {g['batch_size']}, peak "
        f"learning rate {g['learning_rate']}, {g['loss']} loss, {g['schedule']} schedule), best of 10 % held-out "
        "training cells. Composition-only peers see the formula only (which cannot tell the A and B sites apart).",
        "",
        *_md_table(PEROV_HEADERS, perov_rows(result)),
        "",
        f"Reference, Matbench `matbench_perovskites` (same data, 18 928 entries, 5-fold, ~4× more training data): {ref} eV/cell.",
        "",
        f"Bulk modulus, {e['n_structures']} structures of `elastic_tensor_2015`, target log₁₀(K_VRH/GPa), "
        f"{e['folds']}-fold `KFold(shuffle=True, random_state={e['kfold_seed']})`; the random forest "
        f"(`{', '.join(f'{k}={v:.3g}' if isinstance(v, float) else f'{k}={v}' for k, v in result['rf_params'].items())}`) "
        "sees the composition features only.",
        "",
        *_md_table(ELASTIC_HEADERS, elastic_rows(result)),
        "",
        *distillation.markdown_lines(result["distillation"]),
        "",
        "Targets:",
        "",
        *(f"- {line}" for _, line in target_lines(result)),
        "",
        f"Machine: {machine_line(result['machine'])}; load average at start "
        f"{result['machine']['load_average_1_5_15_min']} (other jobs shared the 2 cores, so times are inflated). "
        f"Run {result['created']}, {result['runtime_s']:.0f} s; every fold and seed in `benchmarks/results/{NAME}.json`.",
    ]
    return "\n".join(lines)


def print_tables(result: dict, console: Console) -> None:
    for title, headers, rows in (("perov5 heat_all (eV/cell)", PEROV_HEADERS, perov_rows(result)),
                                 ("log10 K_VRH, 5-fold", ELASTIC_HEADERS, elastic_rows(result))):
        table = Table(title=title)
        for i, h in enumerate(headers):
            table.add_column(h, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*(Text(c) for c in row))
        console.print(table)
    for met, line in target_lines(result):
        console.print(Text(line, style="green" if met else "bold red"))


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--part", default=",".join(PARTS), help=f"comma-separated: {', '.join(PARTS)}, report")
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parent
    results = here / "_work" / "results" if args.quick else here / "results"
    markdown_path = here / "_work" / "BENCHMARKS.md" if args.quick else here.parent / "BENCHMARKS.md"
    results.mkdir(parents=True, exist_ok=True)
    run(args.quick, results, markdown_path, Console(), tuple(p.strip() for p in args.part.split(",") if p.strip()))


if __name__ == "__main__":
    main()
