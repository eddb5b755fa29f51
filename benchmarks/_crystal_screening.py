"""Screening and cost parts of the crystal benchmark: planted features, and time per structure vs size.

**planted** — on the perov5 training structures (3787 cells, real element, environment and cell
features) a target is built from three per-atom features (:data:`PLANTED`) plus noise
(:func:`nnsurrogate.crystal.screening.planted_target`, noise 10 % of the spread). SA-GAT is trained on
3000 cells for each seed (:data:`PLANTED_EPOCHS` epochs, otherwise the benchmark's settings) and its
mean attention ranks the 178 features; the planted features must be in the top 5 on every seed.
Beside it, the cheap baseline ranking: permutation importance of a random forest on the per-structure
mean features (the same 3000/787 split). Stability: Spearman's ρ of the attention weights between
seeds, and the overlap of their top 8.

**scaling** — SrTiO₃ supercells from 5 to 540 atoms: seconds per structure for graph + feature
preparation and for a forward pass of SA-GAT and of CGCNN (one thread, the median of repeats), and
the slope of log(time) against log(atoms) (1 for O(n)).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from rich.console import Console
from rich.text import Text

PLANTED = ("el_ol_thermal_conductivity_W_m_K", "nb_mean_GSbandgap", "cell_vpa_over_gsvol")
PLANTED_EPOCHS, PLANTED_NOISE, PLANTED_TOP = 40, 0.1, 5
N_PLANTED_TRAIN = 3000
SUPERCELLS = ((1, 1, 1), (2, 1, 1), (2, 2, 1), (2, 2, 2), (3, 3, 2), (3, 3, 3), (4, 4, 3), (4, 4, 4), (6, 6, 3))
QUICK_SUPERCELLS = ((1, 1, 1), (2, 2, 2), (3, 3, 3))


def rf_permutation_order(table, y, train, test, seed: int) -> list[str]:
    """The columns of *table* by decreasing permutation importance (on rows *test*) of a random forest fitted
    on rows *train*: 200 trees, a third of the features per split, one job (the cheap baseline ranking)."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    rf = RandomForestRegressor(n_estimators=200, max_features=1 / 3, n_jobs=1, random_state=seed)
    rf.fit(table.iloc[train], y[train])
    result = permutation_importance(rf, table.iloc[test], y[test], n_repeats=3, random_state=seed, n_jobs=1)
    order = np.argsort(-result.importances_mean, kind="stable")
    return [table.columns[j] for j in order]


def planted(prepared, make_model, seeds, quick: bool, console: Console) -> dict[str, Any]:
    """The planted-feature part; *make_model(seed, epochs)* gives an unfitted SA-GAT CrystalRegressor."""
    from nnsurrogate.core import metrics
    from nnsurrogate.crystal.screening import planted_ranks, planted_target, rank_agreement

    y = planted_target(prepared, PLANTED, noise=PLANTED_NOISE, seed=0)
    n_train = min(N_PLANTED_TRAIN, int(0.8 * len(prepared)))
    train, test = np.arange(n_train), np.arange(n_train, len(prepared))
    tables, runs = [], []
    for seed in seeds:
        start, cpu = time.perf_counter(), time.process_time()
        model = make_model(seed, 2 if quick else PLANTED_EPOCHS).fit(prepared.subset(train), y[train])
        table = model.feature_importance()
        tables.append(table)
        ranks = planted_ranks(table, PLANTED)
        pred = model.predict(prepared.subset(test))
        runs.append({"seed": seed, "ranks": ranks, "top8": table["feature"].iloc[:8].tolist(),
                     "r2_test": metrics.r2(y[test], pred), "fit_s": time.perf_counter() - start,
                     "fit_cpu_s": time.process_time() - cpu})
        console.print(Text(f"planted seed {seed}: ranks {ranks}, test R² {runs[-1]['r2_test']:.3f}"))
    structure = prepared.structure_table().reset_index(drop=True)
    rf_order = rf_permutation_order(structure, y, train, test, 0)
    rf_ranks = {f: rf_order.index(f) + 1 for f in PLANTED}
    console.print(Text(f"planted, random-forest permutation importance: ranks {rf_ranks}"))
    all_top = all(max(r["ranks"].values()) <= PLANTED_TOP for r in runs)
    return {"features": list(PLANTED), "noise": PLANTED_NOISE, "epochs": 2 if quick else PLANTED_EPOCHS,
            "n_train": int(n_train), "n_test": int(len(test)), "runs": runs,
            "agreement": rank_agreement(tables, k=8) if len(tables) > 1 else None,
            "rf_permutation_ranks": rf_ranks, "rf_top8": rf_order[:8],
            "target": {"met": bool(all_top), "top": PLANTED_TOP}}


def _supercell(reps) -> Any:
    from nnsurrogate.crystal.structures import from_arrays

    a = 3.905
    frac = np.array([[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    shifts = np.array([[i, j, k] for i in range(reps[0]) for j in range(reps[1]) for k in range(reps[2])], float)
    positions = ((frac[None, :, :] + shifts[:, None, :]).reshape(-1, 3)) * a
    numbers = [38, 22, 8, 8, 8] * len(shifts)
    rng = np.random.default_rng(0)
    positions = positions + rng.normal(scale=0.05, size=positions.shape)  # thermal-like noise: no exact ties
    return from_arrays(f"srtio3_{'x'.join(map(str, reps))}", numbers, positions, np.diag(np.array(reps) * a))


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def scaling(quick: bool, console: Console) -> dict[str, Any]:
    """Seconds per structure against atoms per cell: preparation and the two networks' forward passes."""
    from nnsurrogate.core.threads import torch_threads
    from nnsurrogate.crystal.prepare import prepare_crystals
    from nnsurrogate.crystal.regressor import CrystalRegressor

    cells = [_supercell(r) for r in (QUICK_SUPERCELLS if quick else SUPERCELLS)]
    fitted = {kind: CrystalRegressor(model=kind, max_epochs=1, random_state=0, n_threads=1).fit(cells[:2], [0.0, 1.0])
              for kind in ("sagat", "cgcnn")}
    rows = []
    with torch_threads(1):
        for cell in cells:
            repeats = 5 if cell.n_atoms <= 100 else 3
            prepared = prepare_crystals([cell])
            row = {"atoms": int(cell.n_atoms), "edges": int(prepared.graphs[0].n_edges),
                   "prepare_s": _median_seconds(lambda: prepare_crystals([cell]), repeats)}
            for kind, model in fitted.items():
                model.predict(prepared)  # warm-up
                row[f"{kind}_forward_s"] = _median_seconds(lambda: model.predict(prepared), repeats)
            rows.append(row)
            console.print(Text(f"scaling {row['atoms']} atoms: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items()
                                                                           if k.endswith("_s"))))
    atoms = np.log([r["atoms"] for r in rows])
    slopes = {}
    for key in ("prepare_s", "sagat_forward_s", "cgcnn_forward_s"):
        big = [i for i, r in enumerate(rows) if r["atoms"] >= 40] or list(range(len(rows)))
        slopes[key] = float(np.polyfit(atoms[big], np.log([rows[i][key] for i in big]), 1)[0])
    return {"rows": rows, "slopes_from_40_atoms": slopes, "threads": 1}


def markdown_lines(result: dict) -> list[str]:
    lines: list[str] = []
    p = result.get("planted")
    if p:
        lines += [f"Planted features (perov5 structures, target from {', '.join(f'`{f}`' for f in p['features'])} plus "
                  f"{p['noise']:.0%} noise; SA-GAT {p['epochs']} epochs on {p['n_train']} cells; ranks of 178):", "",
                  "| seed | ranks of the planted features | test R² | top 8 by attention |", "|---:|---|---:|---|"]
        for r in p["runs"]:
            lines.append(f"| {r['seed']} | {', '.join(str(r['ranks'][f]) for f in p['features'])} | {r['r2_test']:.3f} | "
                         f"{', '.join(r['top8'])} |")
        ranks = ", ".join(str(p["rf_permutation_ranks"][f]) for f in p["features"])
        lines += ["", f"Random-forest permutation importance on the per-structure means (the cheap baseline): ranks {ranks}."]
        if p["agreement"]:
            a = p["agreement"]
            lines.append(f"Attention stability across seeds: Spearman ρ {a['spearman_min']:.2f}–{a['spearman_median']:.2f} "
                         f"(min–median), top-8 overlap ≥ {a['top_k_overlap_min']:.2f}.")
        lines.append("")
    s = result.get("scaling")
    if s:
        lines += ["Cost against size (SrTiO₃ supercells, one thread, median of repeats; seconds per structure):", "",
                  "| atoms | edges | prepare (graph + 178 features) | SA-GAT forward | CGCNN forward |", "|---:|---:|---:|---:|---:|"]
        for r in s["rows"]:
            lines.append(f"| {r['atoms']} | {r['edges']} | {r['prepare_s']:.4f} | {r['sagat_forward_s']:.4f} | "
                         f"{r['cgcnn_forward_s']:.4f} |")
        sl = s["slopes_from_40_atoms"]
        lines += ["", f"Slope of log time against log atoms (≥ 40 atoms; 1 is O(n)): preparation {sl['prepare_s']:.2f}, "
                  f"SA-GAT {sl['sagat_forward_s']:.2f}, CGCNN {sl['cgcnn_forward_s']:.2f}.", ""]
    return lines
