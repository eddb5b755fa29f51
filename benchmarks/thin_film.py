"""Thin-film conductivity: the default ``SurrogateRegressor`` against scikit-learn peers.

Targets (issue "Benchmarks"): the best test MAE of the four model families, R² ≥ 0.995 on ln κ,
prediction of 10⁵ rows in under 1 s, and honest uncertainty (about 68 % / 95 % of the test errors
within 1σ / 2σ).

Protocol, identical for every model and run in one process:

* data: ``sample_thin_film(2000, seed=0)`` (Latin hypercube; thickness log-uniform 10 nm–10 µm,
  roughness 0–2 nm, temperature 100–800 K; κ ≈ 11–660 W/(m·K));
* split: ``train_test_split(test_size=0.2, random_state=0)``, 1600 training / 400 test rows;
* model seeds 0, 1, 2 (``random_state``); the data and split never change;
* inputs log₁₀(thickness), roughness, temperature and target ln κ for every model, as a careful user
  would set them up: ``SurrogateRegressor(log_target=True)`` does both itself (``log_inputs="auto"``
  picks the thickness); the peers get a ``FunctionTransformer`` and a ``TransformedTargetRegressor``
  (ln / exp), and ``MLPRegressor`` also a ``StandardScaler``; all predictions are in W/(m·K);
* fit time: one ``fit`` on the 1600 rows; predict time: median of 3 ``predict`` calls on 10⁵ rows
  drawn in the same box (thickness log-uniform, the others uniform; inputs only).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from _common import (machine_info, machine_line, median_time, now_iso, summarize, timed_cpu,
                     update_markdown_section, write_json)
from nnsurrogate.core import metrics
from nnsurrogate.tabular import SurrogateRegressor
from nnsurrogate.tabular.thin_film import sample_thin_film

NAME = "thin_film"
N_ROWS, DATA_SEED = 2000, 0
TEST_SIZE, SPLIT_SEED = 0.2, 0
SEEDS, QUICK_SEEDS = (0, 1, 2), (0,)
N_PREDICT, PREDICT_REPEATS, PREDICT_SEED = 100_000, 3, 12345
FEATURES = ("thickness_nm", "roughness_nm", "temperature_K")
TARGET = "kappa_W_mK"
#: The sampling box, passed explicitly to sample_thin_film and used for the 10⁵ prediction rows.
BOX = {"thickness_range_nm": (10.0, 1.0e4), "roughness_range_nm": (0.0, 2.0), "temperature_range_K": (100.0, 800.0)}
#: One reasonable hand-tuned MLPRegressor, so that the MLP comparison is not against defaults only.
TUNED_MLP = {"hidden_layer_sizes": (64, 64), "max_iter": 2000, "early_stopping": True, "n_iter_no_change": 50,
             "tol": 0.0}
R2_LOG_TARGET, PREDICT_TARGET_S = 0.995, 1.0
METRICS = ("mae", "rmse", "max_error", "r2", "r2_log", "fit_s", "fit_cpu_s", "predict_1e5_s")
UQ_METRICS = ("coverage_1sigma", "coverage_2sigma", "nll", "abs_z_q68", "abs_z_q95", "student_t_nu",
              "student_t_coverage_1std")


@dataclass(frozen=True)
class Data:
    X_train: np.ndarray  # (1600, 3) thickness nm, roughness nm, temperature K
    y_train: np.ndarray  # (1600,) κ, W/(m·K)
    X_test: np.ndarray  # (400, 3)
    y_test: np.ndarray  # (400,)
    X_predict: np.ndarray  # (N_PREDICT, 3), inputs only


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    build: Callable[[int], Any]  # seed -> unfitted estimator
    params: dict
    ours: bool = False


def log10_thickness(X):
    """Inputs (n, 3) with column 0 (thickness, nm) replaced by its log₁₀."""
    X = np.array(X, dtype=np.float64, copy=True)
    X[:, 0] = np.log10(X[:, 0])
    return X


def _peer(*steps) -> TransformedTargetRegressor:
    pipe = Pipeline([("log10_thickness", FunctionTransformer(log10_thickness)), *steps])
    return TransformedTargetRegressor(regressor=pipe, func=np.log, inverse_func=np.exp)


def _surrogate_params() -> dict:
    """Every parameter of the default SurrogateRegressor (JSON-ready), so the results say what 'default' was."""
    params = SurrogateRegressor(log_target=True).get_params()
    params["hidden"] = list(params["hidden"])
    params.pop("random_state")
    return params


def contenders() -> list[Contender]:
    """The default SurrogateRegressor and its scikit-learn peers, each built from a seed."""
    scale = ("scale", StandardScaler())
    return [
        Contender("surrogate", "SurrogateRegressor (nnsurrogate, default)",
                  lambda s: SurrogateRegressor(log_target=True, random_state=s), _surrogate_params(), ours=True),
        Contender("mlp_default", "MLPRegressor (default)",
                  lambda s: _peer(scale, ("mlp", MLPRegressor(random_state=s))), {}),
        Contender("mlp_tuned", "MLPRegressor (tuned)",
                  lambda s: _peer(scale, ("mlp", MLPRegressor(random_state=s, **TUNED_MLP))), dict(TUNED_MLP)),
        Contender("random_forest", "RandomForestRegressor",
                  lambda s: _peer(("rf", RandomForestRegressor(random_state=s))), {}),
        Contender("hist_gbr", "HistGradientBoostingRegressor",
                  lambda s: _peer(("hgb", HistGradientBoostingRegressor(random_state=s))), {}),
    ]


def prediction_inputs(n: int, seed: int) -> np.ndarray:
    """*n* input rows (n, 3) in :data:`BOX`: thickness log-uniform, roughness and temperature uniform."""
    rng = np.random.default_rng(seed)
    (d_lo, d_hi), (r_lo, r_hi), (t_lo, t_hi) = BOX.values()
    thickness = 10.0 ** rng.uniform(np.log10(d_lo), np.log10(d_hi), n)
    return np.column_stack([thickness, rng.uniform(r_lo, r_hi, n), rng.uniform(t_lo, t_hi, n)])


def load_data() -> Data:
    frame = sample_thin_film(N_ROWS, seed=DATA_SEED, **BOX)
    X, y = frame[list(FEATURES)].to_numpy(), frame[TARGET].to_numpy()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=TEST_SIZE, random_state=SPLIT_SEED)
    return Data(X_tr, y_tr, X_te, y_te, prediction_inputs(N_PREDICT, PREDICT_SEED))


def _tail_shape(z: np.ndarray) -> dict:
    """Student-t fit (location 0) of standardised errors z = (y − ŷ)/σ, shape (n,).

    Returns the degrees of freedom ν and the share of a t_ν distribution inside ±1 of its own standard
    deviation: 0.683 for ν → ∞ (Gaussian), more for heavy tails. It tells whether a 1σ coverage above 68 % is
    a mis-scaled σ or errors that are not Gaussian.
    """
    nu, _, scale = stats.t.fit(z, floc=0.0)
    nu = float(min(nu, 1e3))
    sd = scale * np.sqrt(nu / (nu - 2.0)) if nu > 2.0 else float("inf")
    inside = float(2.0 * stats.t.cdf(1.0 * sd / scale, nu) - 1.0) if np.isfinite(sd) else 1.0
    return {"student_t_nu": nu, "student_t_coverage_1std": inside}


def _diagnostics(contender: Contender, est) -> dict:
    """Training facts worth keeping: epochs, iterations, convergence, which inputs were logged."""
    if contender.ours:
        return {"n_epochs": est.n_epochs_, "log_inputs": [bool(v) for v in est.log_inputs_]}
    inner = est.regressor_[-1]
    out = {"n_iter": int(inner.n_iter_)} if hasattr(inner, "n_iter_") else {}
    if isinstance(inner, MLPRegressor):
        out["converged"] = bool(inner.n_iter_ < inner.max_iter)
    return out


def fit_and_score(contender: Contender, seed: int, data: Data, repeats: int) -> dict:
    """Fit one model with one seed; test metrics, fit time and the 10⁵-row predict time."""
    est = contender.build(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, fit_s, fit_cpu_s = timed_cpu(lambda: est.fit(data.X_train, data.y_train))
    if contender.ours:
        pred, std = est.predict(data.X_test, return_std=True)
    else:
        pred, std = est.predict(data.X_test), None
    row = {"seed": seed, **metrics.regression_report(data.y_test, pred, std)}
    row["r2_log"] = metrics.r2(np.log(data.y_test), np.log(pred))
    if std is not None:  # quantiles of |error|/σ; 1.00 and 2.00 for Gaussian errors with honest σ
        abs_z = np.abs(data.y_test - pred) / std
        row["abs_z_q68"], row["abs_z_q95"] = (float(np.quantile(abs_z, q)) for q in (0.6827, 0.9545))
        row.update(_tail_shape((data.y_test - pred) / std))
    row["fit_s"], row["fit_cpu_s"] = fit_s, fit_cpu_s
    row["predict_1e5_s"], row["predict_1e5_all_s"] = median_time(lambda: est.predict(data.X_predict), repeats)
    row["warnings"] = sorted({w.category.__name__ for w in caught})
    row.update(_diagnostics(contender, est))
    return row


def _summaries(rows: list[dict], ours: bool) -> dict:
    keys = METRICS + (UQ_METRICS if ours else ())
    return {k: summarize([r[k] for r in rows]) for k in keys}


def _compare(models: dict) -> dict:
    """The best peer by median MAE, and ours ÷ that peer for MAE, fit and predict time."""
    ours = next(k for k, m in models.items() if m["ours"])
    peers = [k for k, m in models.items() if not m["ours"]]
    med = lambda k, metric: models[k]["summary"][metric]["median"]  # noqa: E731
    best = min(peers, key=lambda k: med(k, "mae"))
    return {
        "ours": ours,
        "best_peer": best,
        "ours_over_best_peer": {m: med(ours, m) / med(best, m) for m in ("mae", "fit_s", "fit_cpu_s", "predict_1e5_s")},
        "mae_over_ours": {k: med(k, "mae") / med(ours, "mae") for k in models},
    }


def _coverage_band(nominal: float, n_test: int) -> tuple[float, float]:
    """nominal ± 3 binomial standard errors for *n_test* rows."""
    half = 3.0 * math.sqrt(nominal * (1.0 - nominal) / n_test)
    return round(nominal - half, 3), round(nominal + half, 3)


def _targets(models: dict, comparison: dict, n_test: int) -> dict:
    ours = models[comparison["ours"]]
    s = ours["summary"]
    peers = [m for k, m in models.items() if k != comparison["ours"]]
    wins_each_seed = all(r["mae"] < min(p["per_seed"][i]["mae"] for p in peers) for i, r in enumerate(ours["per_seed"]))
    best_peer_mae = models[comparison["best_peer"]]["summary"]["mae"]["median"]
    band1, band2 = _coverage_band(0.6827, n_test), _coverage_band(0.9545, n_test)
    c1, c2 = s["coverage_1sigma"]["median"], s["coverage_2sigma"]["median"]
    return {
        "best_mae": {"target": "median test MAE below every peer's median", "value": s["mae"]["median"],
                     "best_peer_value": best_peer_mae, "wins_every_seed": wins_each_seed,
                     "met": s["mae"]["median"] < best_peer_mae},
        "r2_log": {"target": f"R² on ln κ ≥ {R2_LOG_TARGET} on every seed", "value": s["r2_log"]["min"],
                   "met": s["r2_log"]["min"] >= R2_LOG_TARGET},
        "predict_1e5": {"target": f"median predict time for 10⁵ rows < {PREDICT_TARGET_S} s",
                        "value": s["predict_1e5_s"]["median"], "met": s["predict_1e5_s"]["median"] < PREDICT_TARGET_S},
        "coverage": {"target": f"median coverage 1σ in {list(band1)}, 2σ in {list(band2)} (0.683 / 0.954 ± 3 s.e.)",
                     "value": [c1, c2], "met": band1[0] <= c1 <= band1[1] and band2[0] <= c2 <= band2[1]},
    }


def _protocol(seeds) -> dict:
    return {"n_rows": N_ROWS, "data_seed": DATA_SEED, "box": BOX, "test_size": TEST_SIZE, "split_seed": SPLIT_SEED,
            "n_train": int(round(N_ROWS * (1 - TEST_SIZE))), "n_test": int(round(N_ROWS * TEST_SIZE)),
            "model_seeds": list(seeds), "features": list(FEATURES), "target": TARGET,
            "inputs": "log10(thickness), roughness, temperature; target ln κ, predictions exp-transformed back",
            "n_predict": N_PREDICT, "predict_repeats": PREDICT_REPEATS, "predict_seed": PREDICT_SEED,
            "units": {"mae": "W/(m·K)", "rmse": "W/(m·K)", "max_error": "W/(m·K)", "fit_s": "s wall clock",
                      "fit_cpu_s": "s CPU of this process, all threads", "predict_1e5_s": "s wall clock",
                      "nll": "nats per test row, κ in W/(m·K)"}}


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    """Run the benchmark, print the table, write ``<results_dir>/thin_film.json`` and the Markdown section."""
    started = time.perf_counter()
    seeds = QUICK_SEEDS if quick else SEEDS
    machine = machine_info()
    data = load_data()
    models = {}
    for c in contenders():
        rows = []
        for seed in seeds:
            console.print(Text(f"  {NAME}: {c.label}, seed {seed} …", style="dim"))
            rows.append(fit_and_score(c, seed, data, PREDICT_REPEATS))
        models[c.key] = {"label": c.label, "ours": c.ours, "params": c.params, "per_seed": rows,
                         "summary": _summaries(rows, c.ours)}
    comparison = _compare(models)
    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine,
              "protocol": _protocol(seeds), "models": models, "comparison": comparison,
              "targets": _targets(models, comparison, len(data.y_test)),
              "runtime_s": time.perf_counter() - started}
    write_json(Path(results_dir) / f"{NAME}.json", result)
    update_markdown_section(markdown_path, NAME, markdown(result))
    print_table(result, console)
    return result


# ------------------------------------------------------------------------------------- reporting
def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}f}"


def _spread(stat: dict, digits: int, show_range: bool) -> str:
    text = _fmt(stat["median"], digits)
    return f"{text} [{_fmt(stat['min'], digits)}, {_fmt(stat['max'], digits)}]" if show_range else text


def table_rows(result: dict) -> list[list[str]]:
    """One row of formatted cells per model, in the order of :data:`HEADERS`."""
    multi = len(result["protocol"]["model_seeds"]) > 1
    ratio = result["comparison"]["mae_over_ours"]
    rows = []
    for key, m in result["models"].items():
        s = m["summary"]
        med = lambda k, digits: _fmt(s[k]["median"], digits)  # noqa: E731
        rows.append([m["label"], _spread(s["mae"], 3, multi), _fmt(ratio[key], 2), med("r2", 5), med("r2_log", 5),
                     _spread(s["fit_s"], 2, multi), med("fit_cpu_s", 2), med("predict_1e5_s", 3)])
    return rows


HEADERS = ["model", "test MAE, W/(m·K)", "MAE ÷ ours", "R² κ", "R² ln κ", "fit, s", "fit CPU, s",
           "predict 10⁵ rows, s"]


def _target_lines(result: dict) -> list[tuple[bool, str]]:
    """(met, sentence) for each target."""
    t = result["targets"]
    mark = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    best = result["models"][result["comparison"]["best_peer"]]["label"]
    b, r, p, c = t["best_mae"], t["r2_log"], t["predict_1e5"], t["coverage"]
    return [
        (b["met"], f"best MAE of the four: {mark(b['met'])} — {b['value']:.3f} vs {b['best_peer_value']:.3f} "
                   f"W/(m·K) ({best}); lower than every peer on every seed: {b['wins_every_seed']}"),
        (r["met"], f"R² on ln κ ≥ {R2_LOG_TARGET}: {mark(r['met'])} — worst seed {r['value']:.5f}"),
        (p["met"], f"predict 10⁵ rows < {PREDICT_TARGET_S:g} s: {mark(p['met'])} — median {p['value']:.3f} s"),
        (c["met"], f"uncertainty coverage ≈ 68 % / 95 %: {mark(c['met'])} — 1σ {c['value'][0]:.3f}, "
                   f"2σ {c['value'][1]:.3f}; {c['target']}"),
    ]


def _uq_line(result: dict) -> str:
    s = result["models"][result["comparison"]["ours"]]["summary"]
    return (f"SurrogateRegressor uncertainty on the test rows: coverage 1σ {_spread(s['coverage_1sigma'], 3, True)}, "
            f"2σ {_spread(s['coverage_2sigma'], 3, True)}, Gaussian NLL {_spread(s['nll'], 2, True)} nats/row; "
            f"68.3 % / 95.4 % quantiles of |error|/σ {_fmt(s['abs_z_q68']['median'], 2)} / "
            f"{_fmt(s['abs_z_q95']['median'], 2)} (1 / 2 for Gaussian errors); a Student-t fit to the standardised "
            f"errors gives ν = {_fmt(s['student_t_nu']['median'], 2)}, whose ±1 standard deviation holds "
            f"{_fmt(s['student_t_coverage_1std']['median'], 3)} of the mass (0.683 for Gaussian errors)")


def _seed_free_note(result: dict) -> list[str]:
    """A sentence naming models whose test MAE is the same for every seed (nothing random at this size)."""
    same = [m["label"] for m in result["models"].values()
            if len(m["per_seed"]) > 1 and len({r["mae"] for r in m["per_seed"]}) == 1]
    if not same:
        return []
    return ["", f"Same result for every seed (no randomness at this data size, e.g. no early-stopping split below "
                f"10 000 rows in HistGradientBoostingRegressor): {', '.join(same)}."]


def markdown(result: dict) -> str:
    """The thin-film section of BENCHMARKS.md (between its markers)."""
    p, c = result["protocol"], result["comparison"]
    r = c["ours_over_best_peer"]
    best = result["models"][c["best_peer"]]["label"]
    seeds = ", ".join(map(str, p["model_seeds"]))
    tuned = ", ".join(f"{k}={v}" for k, v in TUNED_MLP.items())
    lines = [
        "## Thin-film thermal conductivity (`benchmarks/thin_film.py`)",
        "",
        "Silicon-film κ(thickness, roughness, temperature) from "
        f"`sample_thin_film({p['n_rows']}, seed={p['data_seed']})`; fixed split {p['n_train']} train / "
        f"{p['n_test']} test (`random_state={p['split_seed']}`); model seeds {seeds}. Every model gets "
        "log₁₀(thickness), roughness, temperature as inputs and ln κ as target (peers, all scikit-learn, via "
        "`FunctionTransformer` + `TransformedTargetRegressor`; MLPs standardised); metrics in W/(m·K) on the test "
        f"rows. Predict time: median of {p['predict_repeats']} calls on 10⁵ rows from the same box. "
        f"Tuned MLP: `{tuned}`.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(HEADERS) - 1)) + "|",
        *("| " + " | ".join(row) + " |" for row in table_rows(result)),
        "",
        f"Medians over seeds, [min, max] over seeds in brackets. Ours ÷ best peer ({best}): MAE {r['mae']:.2f}×, "
        f"fit time {r['fit_s']:.1f}× (CPU {r['fit_cpu_s']:.1f}×), predict time {r['predict_1e5_s']:.2f}×. "
        "Fit CPU is the process's CPU time over all its threads; it is steadier than wall time on a busy machine.",
        "",
        _uq_line(result) + ".",
        *_seed_free_note(result),
        "",
        "Targets:",
        "",
        *(f"- {line}" for _, line in _target_lines(result)),
        "",
        f"Machine: {machine_line(result['machine'])}; load average at start "
        f"{result['machine']['load_average_1_5_15_min']} (other processes make times noisy). "
        f"Run {result['created']}, {result['runtime_s']:.0f} s; every seed in `benchmarks/results/{NAME}.json`.",
    ]
    return "\n".join(lines)


def print_table(result: dict, console: Console) -> None:
    title = f"Thin-film κ, {len(result['protocol']['model_seeds'])} seed(s), medians"
    table = Table(title=title)
    for i, h in enumerate(HEADERS):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in table_rows(result):
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)
    console.print(Text(_uq_line(result)))
    for met, line in _target_lines(result):
        console.print(Text(line, style="green" if met else "bold red"))
    console.print(Text(f"{machine_line(result['machine'])}; {result['runtime_s']:.0f} s", style="dim"))
