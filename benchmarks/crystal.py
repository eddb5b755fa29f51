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
import pickle
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
import _crystal_screening as screening
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
PARTS = ("perov", "kvrh", "distill", "planted", "scaling")
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
    """5-fold log₁₀ K_VRH: SA-GAT, CGCNN and the composition random forest on the same folds.

    Every finished fold is kept in ``_work/crystal/kvrh_folds*.json`` (fold 0's SA-GAT in the keep
    file the distillation part reads), so an interrupted part resumes at the next fold.
    """
    data, y, formulas = _elastic_data(quick, console)
    folds = list(KFold(N_FOLDS, shuffle=True, random_state=KFOLD_SEED).split(np.arange(len(y))))
    keys = (*ELASTIC_GNNS, "composition_rf")
    progress = WORK / f"kvrh_folds{'.quick' if quick else ''}.json"
    per_fold: dict[str, list[dict]] = (json.loads(progress.read_text(encoding="utf-8")) if progress.is_file()
                                       else {k: [] for k in keys})
    for k, (tr, te) in enumerate(folds):
        if any(r["fold"] == k for r in per_fold["composition_rf"]):
            continue
        for kind in ELASTIC_GNNS:
            model, pred, info = _fit_gnn(kind, 0, quick, data.subset(tr), y[tr], data.subset(te))
            per_fold[kind].append({"fold": k, **_scores(y[te], pred), **info})
            if kind == "sagat" and k == 0:
                _save_keep("kvrh", quick, {"model": model, "train": data.subset(tr), "test": data.subset(te),
                                           "y_train": y[tr], "y_test": y[te], "pred_test": pred})
        rf = composition_models(0)["composition_rf"]
        pred, info = _fit_composition(rf, [formulas[i] for i in tr], y[tr], [formulas[i] for i in te])
        per_fold["composition_rf"].append({"fold": k, **_scores(y[te], pred), **info})
        write_json(progress, per_fold)
        console.print(Text(f"K_VRH fold {k}: " + ", ".join(f"{m} {per_fold[m][-1]['mae']:.4f}" for m in keys)))
    keep = load_keep("kvrh", quick)
    models = {}
    for key in keys:
        rows = per_fold[key]
        models[key] = {"label": LABELS[key], "per_fold": rows,
                       "mean": {m: float(np.mean([r[m] for r in rows])) for m in ("mae", "rmse", "r2", "fit_s", "fit_cpu_s")}}
    protocol = {"n_structures": len(y), "folds": N_FOLDS, "kfold_seed": KFOLD_SEED, "target": "log10(K_VRH / GPa)"}
    return {"protocol": protocol, "models": models}, keep


def _targets(result: dict) -> dict:
    """Met / missed for every target whose part has been measured."""
    targets: dict[str, Any] = {}
    if "perovskites" in result:
        models = result["perovskites"]["models"]
        mae = {k: v["summary"]["mae"]["median"] for k, v in models.items()}
        per_seed = {k: [r["mae"] for r in models[k]["per_seed"]] for k in ("sagat", "cgcnn")}
        every_seed = all(a < b for a, b in zip(per_seed["sagat"], per_seed["cgcnn"]))
        spread = max(float(np.std(per_seed[k])) for k in per_seed) if len(per_seed["sagat"]) > 1 else None
        targets["perov_sagat_below_cgcnn_every_seed"] = {
            "met": bool(every_seed), "value": mae["sagat"], "cgcnn": mae["cgcnn"], "sagat_per_seed": per_seed["sagat"],
            "cgcnn_per_seed": per_seed["cgcnn"], "seed_std_max": spread}
        targets["perov_sagat_le_0.06"] = {"met": bool(mae["sagat"] <= PEROV_MAE_TARGET), "value": mae["sagat"],
                                          "target": PEROV_MAE_TARGET}
    if "elastic" in result:
        k = {key: v["mean"]["mae"] for key, v in result["elastic"]["models"].items()}
        targets["kvrh_sagat_below_cgcnn_and_rf"] = {
            "met": bool(k["sagat"] < k["cgcnn"] and k["sagat"] < k["composition_rf"]), "value": k["sagat"],
            "rf": k["composition_rf"], "cgcnn": k["cgcnn"]}
    if "distillation" in result:
        targets.update(distillation.targets(result["distillation"]))
    if "planted" in result:
        targets["planted_top5_every_seed"] = result["planted"]["target"]
    return targets


def _keep_path(name: str, quick: bool) -> Path:
    return WORK / f"{name}_sagat_keep{'.quick' if quick else ''}.pkl"


def _save_keep(name: str, quick: bool, keep: dict) -> None:
    """The seed-0 SA-GAT model and its data, for the distillation parts (``_work/crystal``)."""
    WORK.mkdir(parents=True, exist_ok=True)
    _keep_path(name, quick).write_bytes(pickle.dumps(keep))


def rebuild_kvrh_keep(quick: bool, console: Console) -> dict:
    """Fold 0's SA-GAT again (same folds, seed and settings as ``--part kvrh``), for a fresh checkout whose
    ``_work`` cache is gone; its test MAE is compared with the committed fold-0 figure by the caller."""
    data, y, _ = _elastic_data(quick, console)
    tr, te = next(iter(KFold(N_FOLDS, shuffle=True, random_state=KFOLD_SEED).split(np.arange(len(y)))))
    console.print(Text("K_VRH fold 0: refitting the SA-GAT kept for distillation …", style="dim"))
    model, pred, info = _fit_gnn("sagat", 0, quick, data.subset(tr), y[tr], data.subset(te))
    keep = {"model": model, "train": data.subset(tr), "test": data.subset(te), "y_train": y[tr], "y_test": y[te],
            "pred_test": pred, "refit": {**_scores(y[te], pred), **info}}
    _save_keep("kvrh", quick, keep)
    return keep


def load_keep(name: str, quick: bool) -> dict:
    path = _keep_path(name, quick)
    if not path.is_file():
        raise SystemExit(f"run --part {'perov' if name == 'perov5' else 'kvrh'} first ({path} is missing)")
    return pickle.loads(path.read_bytes())


#: The result keys each part writes (also kept in ``_work/crystal/parts/PART.json``, so parts run by
#: different processes at the same time are merged instead of overwriting one another).
PART_KEYS = {"perov": "perovskites", "kvrh": "elastic", "distill": "distillation", "planted": "planted",
             "scaling": "scaling"}


def _run_part(part: str, quick: bool, console: Console) -> Any:
    if part == "perov":
        value, keep = run_perovskites(quick, console)
        _save_keep("perov5", quick, keep)
        return value
    if part == "kvrh":  # run_elastic keeps fold 0's SA-GAT itself, as soon as it is trained
        return run_elastic(quick, console)[0]
    if part == "distill":  # the data sets whose SA-GAT is ready; earlier results of the others are kept
        saved = _part_file("distill", quick)
        value = json.loads(saved.read_text(encoding="utf-8"))["value"] if saved.is_file() else _committed("distillation", quick)
        if not _keep_path("kvrh", quick).is_file() and _committed("elastic", quick):
            rebuild_kvrh_keep(quick, console)
        for name, target in (("perov5", "heat_all"), ("kvrh", "log10_K_VRH")):
            if _keep_path(name, quick).is_file():
                value[name] = distillation.run(load_keep(name, quick), target, quick, console)
            else:
                console.print(Text(f"distillation: no SA-GAT for {name} yet (run its part first); skipped"))
        return value
    if part == "planted":
        prepared, _, _ = _prepared(PEROV_TRAIN, "heat_all", quick, console)
        seeds = QUICK_SEEDS if quick else SEEDS
        return screening.planted(prepared, lambda seed, epochs: CrystalRegressor(
            model="sagat", random_state=seed, **dict(GNN_PARAMS, max_epochs=epochs)), seeds, quick, console)
    if part == "scaling":
        return screening.scaling(quick, console)
    raise SystemExit(f"unknown part '{part}'; choose from {', '.join((*PARTS, 'report'))}")


def _committed(key: str, quick: bool) -> dict:
    """A part's value in the committed ``results/crystal.json`` (empty when absent or from the other mode)."""
    path = Path(__file__).resolve().parent / "results" / f"{NAME}.json"
    result = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return dict(result.get(key, {})) if result.get("quick") == quick else {}


def _part_file(part: str, quick: bool) -> Path:
    return WORK / ("parts.quick" if quick else "parts") / f"{part}.json"


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console, parts=PARTS) -> dict:
    """Run *parts* (default all; ``report`` only merges), merge every finished part into ``crystal.json``
    and rewrite the markdown section."""
    start = time.perf_counter()
    for part in parts:
        if part == "report":
            continue
        begun, machine = time.perf_counter(), machine_info()
        value = _run_part(part, quick, console)
        record = {"value": value, "runtime_s": time.perf_counter() - begun, "machine": machine, "created": now_iso()}
        _part_file(part, quick).parent.mkdir(parents=True, exist_ok=True)
        write_json(_part_file(part, quick), record)
    path = Path(results_dir) / f"{NAME}.json"
    result = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}  # read now: other parts may have written
    if result.get("quick", quick) != quick:
        result = {k: v for k, v in result.items() if k == "symbolic_sanity"}
    result.update({"name": NAME, "quick": quick, "gnn_params": GNN_PARAMS, "rf_params": RF_PARAMS,
                   "matbench_perovskites_reference": MATBENCH_PEROVSKITES})
    for part, key in PART_KEYS.items():
        if _part_file(part, quick).is_file():
            record = json.loads(_part_file(part, quick).read_text(encoding="utf-8"))
            result[key] = record["value"]
            result.setdefault("part_runtime_s", {})[part] = record["runtime_s"]
            result.setdefault("machines", {})[part] = {**record["machine"], "created": record["created"]}
    if "machines" in result:
        latest = max(result["machines"], key=lambda k: result["machines"][k]["created"])
        result["machine"], result["created"] = result["machines"][latest], result["machines"][latest]["created"]
    result["targets"] = _targets(result)
    result["runtime_s"] = sum(result.get("part_runtime_s", {}).values())
    write_json(path, result)
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
    lines = []
    if "perov_sagat_below_cgcnn_every_seed" in t:
        a, b = t["perov_sagat_below_cgcnn_every_seed"], t["perov_sagat_le_0.06"]
        seeds = ", ".join(f"{x:.4f} vs {y:.4f}" for x, y in zip(a["sagat_per_seed"], a["cgcnn_per_seed"]))
        noise = "" if a["seed_std_max"] is None else f"; seed-to-seed std ≤ {a['seed_std_max']:.4f}"
        lines += [(a["met"], f"perov5 SA-GAT below CGCNN on every seed: {mark(a['met'])} — per seed {seeds} eV/cell{noise}"),
                  (b["met"], f"perov5 SA-GAT ≤ {PEROV_MAE_TARGET} eV/cell: {mark(b['met'])} — median {b['value']:.4f} eV/cell")]
    if "kvrh_sagat_below_cgcnn_and_rf" in t:
        c = t["kvrh_sagat_below_cgcnn_and_rf"]
        lines.append((c["met"], f"K_VRH 5-fold MAE of SA-GAT below CGCNN and the composition random forest: "
                                f"{mark(c['met'])} — log₁₀K SA-GAT {c['value']:.4f}, CGCNN {c['cgcnn']:.4f}, RF {c['rf']:.4f}"))
    if "planted_top5_every_seed" in t:
        p = result["planted"]
        ranks = "; ".join(", ".join(str(r["ranks"][f]) for f in p["features"]) for r in p["runs"])
        ok = t["planted_top5_every_seed"]["met"]
        lines.append((ok, f"planted features all in the top {p['target']['top']} on every seed: {mark(ok)} — ranks per seed {ranks}"))
    if "distillation" in result:
        lines += distillation.target_lines(t)
    return lines


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def markdown(result: dict) -> str:
    g = result["gnn_params"]
    lines = ["## Crystal graphs and distillation (`benchmarks/crystal.py`)", ""]
    if "perovskites" in result:
        p = result["perovskites"]["protocol"]
        ref = ", ".join(f"{k} {v}" for k, v in result["matbench_perovskites_reference"].items())
        lines += [
            f"Perovskite heat of formation (`perov5`, Castelli et al.): trained on `val.csv` ({p['n_train']} cells), "
            f"tested on `test.csv` ({p['n_test']}); seeds {', '.join(map(str, p['seeds']))} (medians below). Both graph "
            f"networks: 8 Å cutoff, 12 nearest neighbours, {g['max_epochs']} epochs of AdamW (batch {g['batch_size']}, "
            f"peak learning rate {g['learning_rate']}, {g['loss']} loss, {g['schedule']} schedule), best of 10 % held-out "
            f"training cells, {g.get('n_threads', 1)} thread each. Composition-only peers see the formula only (which "
            "cannot tell the A and B sites apart).", "",
            *_md_table(PEROV_HEADERS, perov_rows(result)), "",
            f"Reference, Matbench `matbench_perovskites` (same data, 18 928 entries, 5-fold, ~4× more training data): "
            f"{ref} eV/cell.", ""]
    if "elastic" in result:
        e = result["elastic"]["protocol"]
        rf = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in result["rf_params"].items())
        lines += [
            f"Bulk modulus, {e['n_structures']} structures of `elastic_tensor_2015`, target log₁₀(K_VRH/GPa), "
            f"{e['folds']}-fold `KFold(shuffle=True, random_state={e['kfold_seed']})`; the random forest (`{rf}`) sees "
            "the composition features only.", "",
            *_md_table(ELASTIC_HEADERS, elastic_rows(result)), ""]
    lines += screening.markdown_lines(result)
    if "distillation" in result:
        lines += [*distillation.markdown_lines(result["distillation"]), ""]
    lines += ["Targets:", "", *(f"- {line}" for _, line in target_lines(result)), ""]
    for part, machine in sorted(result.get("machines", {}).items()):
        lines.append(f"- part `{part}`: {machine_line(machine)}; load average at start {machine['load_average_1_5_15_min']}; "
                     f"run {machine['created']}, {result['part_runtime_s'][part]:.0f} s.")
    lines += ["", f"Every fold and seed in `benchmarks/results/{NAME}.json`. Each part used one thread, with other jobs on "
              "the second core (see the load averages; 'run' is when the part finished), so absolute times are inflated; "
              "the ratios inside a part (time to R*, cost against size) compare runs made under the same conditions."]
    return "\n".join(lines)


def print_tables(result: dict, console: Console) -> None:
    tables = []
    if "perovskites" in result:
        tables.append(("perov5 heat_all (eV/cell)", PEROV_HEADERS, perov_rows(result)))
    if "elastic" in result:
        tables.append(("log10 K_VRH, 5-fold", ELASTIC_HEADERS, elastic_rows(result)))
    for title, headers, rows in tables:
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
