"""Powder XRD → properties: the 1D-CNN on computed patterns against composition models and crystal graphs.

Target (issue 17, §2): the XRD model clearly beats the composition-only model on K_VRH (it sees the
structure), with numbers.

Protocol. Structures of ``../shared/data/crystals/mp_matminer/`` — ``elastic_tensor_2015`` (1181,
target log₁₀ K_VRH/GPa) and ``dielectric_constant`` (1056, target band gap, eV). Patterns: pymatgen's
``XRDCalculator`` (Cu Kα, 2θ 10–90°), rendered on a 0.1° grid with 0.3° FWHM peaks and normalised to
a maximum of 1 (``nnsurrogate spectra xrd`` + ``spectra train`` defaults). Folds: the 5-fold split of
``benchmarks/crystal.py`` (``KFold(5, shuffle=True, random_state=18012019)``), so that the K_VRH folds
are those of the SA-GAT / CGCNN rows of the crystal section. Models on every fold, in this run:

* ``xrd_cnn`` — :class:`SpectrumRegressor` at its defaults (5 CNNs, augmentation: ±3-point shifts,
  σ ≤ 1.5-point broadening, 2 % noise);
* ``composition_nn`` / ``composition_rf`` — :class:`CompositionFeaturizer` + the default
  :class:`SurrogateRegressor` / a 500-tree random forest (the composition-only baselines of
  ``benchmarks/crystal.py``);
* ``composition_xrd_rf`` — the same random forest on the composition features and the pattern
  pooled to 1° bins (80 intensities): whether the pattern adds to what the formula tells;
* ``crystal_sagat`` — the SA-GAT crystal graph with the settings of the crystal section, seed 0,
  fitted here on the same folds: the model that sees the whole structure.
Each (data, model, fold) result is kept in ``benchmarks/_work/spectra/`` as it finishes.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text
from sklearn.model_selection import KFold

from _common import (machine_info, machine_line, markdown_table, now_iso, publish, standalone_outputs, timed_cpu,
                     write_json)
from crystal import KFOLD_SEED, N_FOLDS, _fit_gnn, _formula, _prepared, composition_models
from nnsurrogate.core import metrics as M
from nnsurrogate.crystal.io import read_crystals
from nnsurrogate.recipes.xrd import xrd_peaks
from nnsurrogate.tabular.spectra.preprocess import SpectrumGrid, spectra_on_grid
from nnsurrogate.tabular.spectra.regressor import SpectrumRegressor

NAME = "spectra"
HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "crystals" / "mp_matminer"
WORK = HERE / "_work" / NAME
SETS = {"K_VRH": ("elastic_tensor_2015.json.gz", "K_VRH", True), "band_gap": ("dielectric_constant.json.gz", "band_gap", False)}
GRID, FWHM = SpectrumGrid(10.0, 90.0, 0.1), 0.3
MODELS = ("xrd_cnn", "composition_nn", "composition_rf", "composition_xrd_rf", "crystal_sagat")
#: Grid points pooled into one input of the composition + pattern forest (0.1° × 10 = 1°).
POOL = 10
LABELS = {"xrd_cnn": "XRD 1D-CNN (nnsurrogate spectra)", "composition_nn": "composition-only SurrogateRegressor",
          "composition_rf": "composition-only random forest",
          "composition_xrd_rf": "random forest on composition + pattern (1° bins)",
          "crystal_sagat": "SA-GAT crystal graph (nnsurrogate)"}


def _data(key: str, quick: bool):
    """Patterns on the grid (n, L), targets (n,) and formulas (n) of one set (cached in _work)."""
    cache = WORK / f"{key}{'.quick' if quick else ''}.npz"
    if cache.is_file():
        saved = np.load(cache, allow_pickle=True)
        return saved["X"], saved["y"], list(saved["formulas"])
    file, target, log = SETS[key]
    data = read_crystals(DATA / file, target)
    crystals, y = data.crystals, np.asarray(data.targets, dtype=np.float64)
    if quick:
        crystals, y = crystals[:120], y[:120]
    curves = {str(k): xrd_peaks(c) for k, c in enumerate(crystals)}
    X = spectra_on_grid(curves, GRID, "peaks", FWHM)
    if log:
        y = np.log10(np.maximum(y, 1.0))
    formulas = [_formula(c) for c in crystals]
    WORK.mkdir(parents=True, exist_ok=True)
    np.savez(cache, X=X, y=y, formulas=np.asarray(formulas, dtype=object))
    return X, y, formulas


def _sagat(key: str, y, tr, te, quick: bool, console: Console) -> tuple[np.ndarray, float, float, dict]:
    """SA-GAT on the set's crystal graphs (the crystal benchmark's cache), on the same targets as the XRD rows."""
    file, target, log = SETS[key]
    graphs, values, _ = _prepared(DATA / file, target, quick, console)
    values = np.asarray(values, dtype=np.float64)
    if not np.allclose(np.log10(np.maximum(values, 1.0)) if log else values, y):
        raise SystemExit("the crystal graphs and the XRD patterns do not hold the same structures in the same order")
    _, pred, info = _fit_gnn("sagat", 0, quick, graphs.subset(tr), y[tr], graphs.subset(te))
    return pred, info["fit_s"], info["fit_cpu_s"], {"epochs": info["epochs"], "best_epoch": info["best_epoch"]}


def _composition_xrd(X, y, formulas, tr, te):
    """The composition forest with the pooled pattern appended to its features."""
    from sklearn.ensemble import RandomForestRegressor

    from crystal import RF_PARAMS
    from nnsurrogate.tabular.composition import CompositionFeaturizer

    n = X.shape[1] // POOL * POOL
    inputs = np.hstack([CompositionFeaturizer().fit_transform(np.asarray(formulas, dtype=object)),
                        X[:, :n].reshape(len(X), -1, POOL).mean(axis=2)])
    forest = RandomForestRegressor(random_state=0, **RF_PARAMS)
    _, wall, cpu = timed_cpu(lambda: forest.fit(inputs[tr], y[tr]))
    return forest.predict(inputs[te]), wall, cpu, {}


def _fit(model: str, X, y, formulas, tr, te, quick: bool, console: Console | None = None, key: str = "K_VRH") -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model == "crystal_sagat":
            pred, wall, cpu, extra = _sagat(key, y, tr, te, quick, console or Console())
        elif model == "composition_xrd_rf":
            pred, wall, cpu, extra = _composition_xrd(X, y, formulas, tr, te)
        elif model == "xrd_cnn":
            est = SpectrumRegressor(random_state=0, **({"ensemble": 2, "max_epochs": 20} if quick else {}))
            _, wall, cpu = timed_cpu(lambda: est.fit(X[tr], y[tr]))
            pred = est.predict(X[te])
            extra = {"epochs": est.n_epochs_}
        else:
            est = composition_models(0)[model]
            f = np.asarray(formulas, dtype=object)
            _, wall, cpu = timed_cpu(lambda: est.fit(f[tr], y[tr]))
            pred = est.predict(f[te])
            extra = {}
    return {"mae": M.mae(y[te], pred), "rmse": M.rmse(y[te], pred), "r2": M.r2(y[te], pred), "fit_s": wall,
            "fit_cpu_s": cpu, **extra}


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console, sets=tuple(SETS), models=MODELS,
        only_folds=None) -> dict:
    """Every (set, model, fold) not yet kept in ``_work/spectra``, then the summary of those finished.

    *only_folds* (fold numbers) lets two processes share the folds of one run on a two-core machine.
    """
    started = time.perf_counter()
    work = WORK / ("quick" if quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    for key in sets:
        X, y, formulas = _data(key, quick)
        folds = list(KFold(N_FOLDS, shuffle=True, random_state=KFOLD_SEED).split(np.arange(len(y))))[: 1 if quick else N_FOLDS]
        for model in models:
            for k, (tr, te) in enumerate(folds):
                path = work / f"{key}_{model}_fold{k}.json"
                if path.is_file() or (only_folds is not None and k not in only_folds):
                    continue
                row = _fit(model, X, y, formulas, tr, te, quick, console, key)
                write_json(path, {"fold": k, **row})
                console.print(Text(f"  {NAME}: {key} {model} fold {k}: MAE {row['mae']:.4f} ({row['fit_cpu_s']:.0f} s CPU)"))
    per_fold = {}
    for key in SETS:
        for model in MODELS:
            rows = sorted((json.loads(p.read_text()) for p in work.glob(f"{key}_{model}_fold*.json")), key=lambda r: r["fold"])
            if len(rows) == (1 if quick else N_FOLDS):
                per_fold.setdefault(key, {})[model] = rows
    summary = {key: {m: {s: float(np.mean([r[s] for r in rows])) for s in ("mae", "rmse", "r2", "fit_cpu_s")}
                     for m, rows in models_.items()} for key, models_ in per_fold.items()}
    targets = {}
    if "K_VRH" in summary and {"xrd_cnn", "composition_nn", "composition_rf"} <= summary["K_VRH"].keys():
        if "crystal_sagat" in summary["K_VRH"]:
            targets["kvrh_xrd_vs_crystal_graph"] = {
                "target": "reported: XRD CNN beside the crystal graph (no target)", "met": True,
                "value": summary["K_VRH"]["xrd_cnn"]["mae"], "crystal_graph": summary["K_VRH"]["crystal_sagat"]["mae"]}
        s = summary["K_VRH"]
        best_comp = min(s["composition_nn"]["mae"], s["composition_rf"]["mae"])
        wins = sum(a["mae"] < min(b["mae"], c["mae"]) for a, b, c in
                   zip(per_fold["K_VRH"]["xrd_cnn"], per_fold["K_VRH"]["composition_nn"], per_fold["K_VRH"]["composition_rf"]))
        targets["kvrh_xrd_beats_composition"] = {"target": "XRD CNN mean MAE below the best composition model, on every fold",
                                                 "met": bool(s["xrd_cnn"]["mae"] < best_comp and wins == len(per_fold["K_VRH"]["xrd_cnn"])),
                                                 "value": s["xrd_cnn"]["mae"], "best_composition": best_comp,
                                                 "folds_won": int(wins)}
    result = {"name": NAME, "created": now_iso(), "quick": quick, "machine": machine_info(), "grid": [GRID.start, GRID.stop, GRID.step],
              "fwhm": FWHM, "per_fold": per_fold, "summary": summary, "targets": targets,
              "wall_s_this_run": round(time.perf_counter() - started, 1)}
    return publish(NAME, result, results_dir, markdown_path, console, "XRD → property (mean of folds)", _table, markdown)


def _table(result: dict):
    headers = ["data", "model", "MAE (mean of folds)", "R²", "fit CPU s / fold"]
    rows = []
    for key, models in result["summary"].items():
        for m, s in models.items():
            rows.append([key, LABELS[m], f"{s['mae']:.4f}", f"{s['r2']:.3f}", f"{s['fit_cpu_s']:.0f}"])
    return headers, rows


def markdown(result: dict) -> str:
    headers, rows = _table(result)
    lines = [f"## Spectra: powder XRD → properties (`benchmarks/{NAME}.py`)", "",
             __doc__.split("\n\n", 2)[2].split("Each (data")[0].strip(), "", *markdown_table(headers, rows), "",
             "MAE in log₁₀(GPa) for K_VRH, eV for the band gap.", "", "Targets:", ""]
    for key, t in result["targets"].items():
        if "crystal_graph" in t:
            lines.append(f"- K_VRH, XRD beside the crystal graph (reported): XRD {t['value']:.4f} vs SA-GAT "
                         f"{t['crystal_graph']:.4f} log₁₀(GPa)")
            continue
        lines.append(f"- {key}: {'met' if t['met'] else 'MISSED'} — XRD {t['value']:.4f} vs best composition "
                     f"{t['best_composition']:.4f}, lower on {t['folds_won']} of {N_FOLDS} folds ({t['target']})")
    lines += ["", f"Machine: {machine_line(result['machine'])}. Run {result['created']}; every fold in "
              f"`benchmarks/results/{NAME}.json`."]
    return "\n".join(lines)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    sets = tuple(sys.argv[sys.argv.index("--sets") + 1].split(",")) if "--sets" in sys.argv else tuple(SETS)
    folds = ({int(k) for k in sys.argv[sys.argv.index("--folds") + 1].split(",")} if "--folds" in sys.argv else None)
    res = run(quick, *standalone_outputs(quick), Console(width=150), sets, only_folds=folds)
    print(json.dumps(res["targets"], indent=1))
