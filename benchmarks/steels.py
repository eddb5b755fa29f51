"""matbench_steels: what better composition features buy over the default composition model (issue 17, §4).

Protocol (one process, the Matbench v0.1 folds ``KFold(5, shuffle=True, random_state=18012019)``, the
score is the mean over the five test folds of the yield-strength MAE in MPa):

* ``default`` — the model ``nnsurrogate table train DATA --formula-column formula`` fits with its
  defaults (the blend of the network with boosted and extra trees, one tree member on the element
  fractions only), seed 0: the 81.5 MPa of the Matbench section, measured again here;
* ``rf_magpie`` — the peer of the Matbench section: a 200-tree random forest on the Magpie-style
  features (scikit-learn);
* ``et_fractions`` — the blend's fractions-only member on its own: extra trees
  (:class:`~nnsurrogate.tabular.ForestRegressor`, ``max_features=0.5``) on the atomic fractions of
  the elements, 500 trees; the steels are one alloy family (Fe with up to 13 alloying elements), where
  element statistics add little that the fractions do not hold;
* ``et_fractions_log`` — the same with log₁₀ of every fraction (floored at 10⁻⁵) appended, since
  micro-alloying levels (C, N, Nb, Ti at 10⁻⁴–10⁻²) act on a log scale;
* ``et_magpie`` — the same extra trees on all Magpie-style features, to separate the learner from
  the features;
* tree arms run with seeds 0, 1, 2; the table gives the mean over seeds and the largest seed-to-seed
  difference.

Multi-fidelity is not tried: no cheaper estimate of these steels' yield strength exists in
``../shared/data`` (no calculation covers 13-element alloys, and a strengthening model fitted to the
same rows is a feature, not a second fidelity).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from rich.console import Console

from _common import machine_info, machine_line, markdown_table, now_iso, publish, standalone_outputs
from matbench import _forest, _load, _options, _ours
from nnsurrogate.core import metrics as M
from nnsurrogate.core.splits import CVSpec, cv_folds
from nnsurrogate.tabular.composition import CompositionFeaturizer
from nnsurrogate.tabular.tree_models import ForestRegressor

NAME = "steels"
SEEDS, QUICK_SEEDS = (0, 1, 2), (0,)
ET_TREES, LOG_FLOOR = 500, 1e-5
BEST_PUBLISHED = {"TPOT-Mat (best)": 79.95, "MODNet": 87.76}
#: (key, label); tree arms are fitted for every seed.
ARMS = (("default", "default composition model (nnsurrogate, blend)"),
        ("rf_magpie", "random forest on Magpie features (scikit-learn, peer)"),
        ("et_fractions", "extra trees on element fractions (nnsurrogate ForestRegressor)"),
        ("et_fractions_log", "extra trees on fractions + log₁₀ fractions"),
        ("et_magpie", "extra trees on all Magpie features"))


def _features(formulas) -> dict[str, np.ndarray]:
    """Feature matrices of the tree arms (no fitting: composition features are per-row)."""
    feat = CompositionFeaturizer().fit(formulas)
    X = feat.transform(formulas)
    frac = np.array([j for j, n in enumerate(feat.get_feature_names_out()) if n.startswith("frac_")])
    F = X[:, frac]
    F = F[:, F.max(axis=0) > 0]  # the elements that occur in the table
    return {"et_fractions": F, "et_fractions_log": np.hstack([F, np.log10(np.maximum(F, LOG_FLOOR))]),
            "et_magpie": X}


def _trees(X, y, train, test, seed: int) -> dict:
    cpu = time.process_time()
    model = ForestRegressor(n_estimators=ET_TREES, max_features=0.5, random_state=seed).fit(X[train], y[train])
    return {"pred": model.predict(X[test]), "cpu_s": time.process_time() - cpu}


def _row(y, out) -> dict:
    return {"mae": M.mae(y, out["pred"]), "rmse": M.rmse(y, out["pred"]), "r2": M.r2(y, out["pred"]),
            "cpu_s": out["cpu_s"]}


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    started = time.perf_counter()
    ds = _load("matbench_steels.csv", "formula", "target", "regress", quick)
    folds = cv_folds(CVSpec("matbench", 5), len(ds))[: 2 if quick else 5]
    features = _features(ds.formulas)
    seeds = QUICK_SEEDS if quick else SEEDS
    per_seed: dict[str, dict[int, list[dict]]] = {key: {} for key, _ in ARMS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, (train, test) in enumerate(folds):
            console.print(f"  {NAME}: fold {k + 1}/{len(folds)} …", style="dim")
            per_seed["default"].setdefault(0, []).append(_row(ds.y[test], _ours(ds, train, test, _options(quick))))
            per_seed["rf_magpie"].setdefault(0, []).append(_row(ds.y[test], _forest(ds, train, test)))
            for key, X in features.items():
                for seed in seeds:
                    per_seed[key].setdefault(seed, []).append(_row(ds.y[test], _trees(X, ds.y, train, test, seed)))
    summary = {}
    for key, label in ARMS:
        means = {seed: float(np.mean([r["mae"] for r in rows])) for seed, rows in per_seed[key].items()}
        fold_std = float(np.mean([np.std([r["mae"] for r in rows]) for rows in per_seed[key].values()]))
        summary[key] = {"label": label, "mae_mean": float(np.mean(list(means.values()))), "mae_per_seed": means,
                        "seed_range": float(max(means.values()) - min(means.values())), "fold_std": fold_std,
                        "cpu_s_per_fold": float(np.mean([r["cpu_s"] for rows in per_seed[key].values() for r in rows]))}
    best_key = min(summary, key=lambda k: summary[k]["mae_mean"])
    best = summary[best_key]["mae_mean"]
    targets = {"steels_below_best_published": {
        "target": f"mean MAE < {BEST_PUBLISHED['TPOT-Mat (best)']} MPa (best published)", "value": best, "arm": best_key,
        "default": summary["default"]["mae_mean"], "met": bool(best < BEST_PUBLISHED["TPOT-Mat (best)"])}}
    result = {"name": NAME, "created": now_iso(), "quick": quick, "machine": machine_info(), "n_rows": len(ds),
              "n_folds": len(folds), "seeds": list(seeds), "et_trees": ET_TREES, "per_seed": per_seed,
              "summary": summary, "leaderboard": BEST_PUBLISHED, "targets": targets,
              "runtime_s": round(time.perf_counter() - started, 1)}
    return publish(NAME, result, results_dir, markdown_path, console, "matbench_steels (mean of 5 folds, MPa)", _table,
                   markdown)


def _table(result: dict):
    headers = ["model", "MAE, MPa (mean of folds)", "± over folds", "seed range", "fit CPU s / fold"]
    rows = [[s["label"], f"{s['mae_mean']:.2f}", f"{s['fold_std']:.1f}",
             f"{s['seed_range']:.2f}" if len(s["mae_per_seed"]) > 1 else "—", f"{s['cpu_s_per_fold']:.1f}"]
            for s in result["summary"].values()]
    rows += [[f"{name} (published, not rerun)", f"{value:.2f}", "—", "—", "—"] for name, value in result["leaderboard"].items()]
    return headers, rows


def markdown(result: dict) -> str:
    headers, rows = _table(result)
    t = result["targets"]["steels_below_best_published"]
    lines = [f"## matbench_steels: composition features (`benchmarks/{NAME}.py`)", "",
             __doc__.split("\n\n", 1)[1].split("Multi-fidelity")[0].strip(), "", *markdown_table(headers, rows), "",
             "Multi-fidelity is not tried: " + __doc__.split("Multi-fidelity is not tried: ")[1].strip(), "",
             "Targets:", "",
             f"- below the best published {BEST_PUBLISHED['TPOT-Mat (best)']} MPa: {'met' if t['met'] else 'MISSED'} — "
             f"best arm `{t['arm']}` {t['value']:.2f} MPa; the default model {t['default']:.2f} MPa", "",
             f"Machine: {machine_line(result['machine'])}; one thread. Run {result['created']}, {result['runtime_s']:.0f} s; "
             f"every fold and seed in `benchmarks/results/{NAME}.json`."]
    return "\n".join(lines)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    run(quick, *standalone_outputs(quick), Console(width=150))
