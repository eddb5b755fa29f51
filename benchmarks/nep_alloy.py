"""Why the EMT Cu–Au NEP levels off: an ablation of the training recipe (issue 13, deliverable 4).

In the ``nep`` benchmark our test force RMSE on the EMT Cu–Au alloy stops improving at about
33 meV/Å after ~130 s, while TorchNEP reaches 19 meV/Å in the same 240 s. Here the same data
(``_nep_data.emt_datasets``, the ``nep`` benchmark's files) and architecture are trained with our
defaults and with one change at a time — the reference energies, the batch size, the learning-rate
schedule, the loss weights, L2 regularisation, the precision — each for the same wall-clock budget on
one thread. Two runs share the machine's two cores at a time (one process per core; CPU seconds are
reported beside wall seconds so a contended run shows). Every epoch's training and test RMSE is kept,
so a plateau can be told apart from over-fitting (test rising while training falls) and from a
step that has decayed to nothing. Final errors are recomputed with calorine's CPUNEP on the
exported ``nep.txt``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.text import Text

from _common import (machine_info, machine_line, markdown_table, now_iso, rich_table, update_markdown_section,
                     write_json)
import _nep_data as data

NAME = "nep_alloy"
HERE = Path(__file__).resolve().parent
HYPER = {"cutoff": [5.0, 4.0], "n_max": [4, 4], "basis_size": [8, 8], "l_max": [4, 2, 0], "neurons": 30}
BUDGET_S, QUICK_BUDGET_S = 240.0, 15.0
PARALLEL = 2
#: The recipe before this ablation (batch 4, Adam 4e-3 halved after 10 flat epochs, λ 1/1/0.1, mean
#: reference); every variant changes it as listed. Its outcome made ``fit``, λ_e 0.1 and patience 30 the defaults.
BASE = {"lr_patience": 10, "lambda_e": 1.0}
#: name → (what changes, train options on top of BASE, reference)
VARIANTS: dict[str, tuple[str, dict, str]] = {
    "defaults": ("the old defaults: batch 4, Adam 4e-3 halved after 10 flat epochs, λ 1/1/0.1, mean reference",
                 {}, "mean"),
    "reference_fit": ("reference energies fitted per element", {}, "fit"),
    "batch_16": ("batch 16", {"batch_size": 16}, "mean"),
    "batch_32": ("batch 32 (TorchNEP's)", {"batch_size": 32}, "mean"),
    "exponential": ("learning rate decays 4e-3 → 1e-5 over the budget", {"schedule": "exponential"}, "mean"),
    "patience_30": ("halve after 30 flat epochs", {"lr_patience": 30}, "mean"),
    "lambda_e_0.1": ("energy weight 0.1", {"lambda_e": 0.1}, "mean"),
    "l2_1e-4": ("L2 weight 1e-4", {"lambda_2": 1e-4}, "mean"),
    "float64": ("float64 training", {"dtype": "float64"}, "mean"),
    "lr_1e-2": ("Adam 1e-2 (TorchNEP's)", {"learning_rate": 1e-2}, "mean"),
    # combinations of the changes that helped alone
    "fit_patience_30": ("reference fit + halve after 30 flat epochs", {"lr_patience": 30}, "fit"),
    "fit_lambda_e_0.1": ("reference fit + energy weight 0.1", {"lambda_e": 0.1}, "fit"),
    "fit_patience_30_lambda_e_0.1": ("reference fit + patience 30 + energy weight 0.1",
                                     {"lr_patience": 30, "lambda_e": 0.1}, "fit"),
    "fit_patience_30_lambda_e_0.3": ("reference fit + patience 30 + energy weight 0.3",
                                     {"lr_patience": 30, "lambda_e": 0.3}, "fit"),
    "fit_constant_lr_lambda_e_0.1": ("reference fit + energy weight 0.1, Adam 4e-3 never halved",
                                     {"lr_patience": 10**6, "lambda_e": 0.1}, "fit"),
}


def _run(name: str, options: dict, reference: str, files: dict, budget: float, work: Path) -> dict:
    out = work / name
    shutil.rmtree(out, ignore_errors=True)
    trace = work / f"{name}.trace.jsonl"  # (not with_suffix: names hold dots)
    cfg = {"train": str(files["train"]), "test": str(files["test"]), "out": str(out), "trace": str(trace),
           "budget_s": budget, "seed": 0, "threads": 1, "hyper": HYPER, "train_options": options,
           "reference": reference}
    cfg_path = work / f"{name}.json"
    cfg_path.write_text(json.dumps(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(work / f"{name}.log", "w") as log:
        code = subprocess.run([sys.executable, str(HERE / "_nep_runs.py"), "ours", str(cfg_path)], env=env,
                              stdout=log, stderr=subprocess.STDOUT, timeout=budget + 900).returncode
    rows = [json.loads(line) for line in trace.read_text().splitlines()] if trace.exists() else []
    return {"returncode": code, "trace": rows, "model": str(out / "nep.txt")}


def _summary(run: dict, test) -> dict:
    rows = run["trace"]
    if run["returncode"] != 0 or not rows:
        return {"returncode": run["returncode"], "trace": rows}
    best = min(rows, key=lambda r: r["test_force_rmse"])
    half = [r for r in rows if r["wall_s"] >= rows[-1]["wall_s"] / 2]
    final = data.final_errors(run["model"], run["model"], test)
    return {"returncode": 0, "epochs": rows[-1]["epoch"], "wall_s": rows[-1]["wall_s"], "cpu_s": rows[-1]["cpu_s"],
            "final_lr": rows[-1].get("lr"), "best_test_force_rmse_meV_A": 1000 * best["test_force_rmse"],
            "last_train_force_rmse_meV_A": 1000 * rows[-1]["train_force_rmse"],
            "last_test_force_rmse_meV_A": 1000 * rows[-1]["test_force_rmse"],
            "last_test_energy_rmse_meV_atom": 1000 * rows[-1]["test_energy_rmse"],
            "second_half_gain_meV_A": 1000 * (half[0]["test_force_rmse"] - rows[-1]["test_force_rmse"]),
            **final, "trace": rows}


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console, only: list[str] | None = None) -> dict:
    """Every variant (or those in *only*, merged into the nep_alloy.json already there)."""
    started = time.perf_counter()
    work = HERE / "_work" / (NAME + ("_quick" if quick else ""))
    work.mkdir(parents=True, exist_ok=True)
    budget = QUICK_BUDGET_S if quick else BUDGET_S
    files = data.emt_datasets(work.parent / "nep_data", quick, console)["cuau"]
    test = data.read_test(files["test"])
    names = only or (list(VARIANTS)[:3] if quick else list(VARIANTS))
    target = Path(results_dir) / f"{NAME}.json"
    previous = json.loads(target.read_text())["variants"] if only and target.exists() else {}
    console.print(Text(f"  {NAME}: {len(names)} runs of {budget:.0f} s, {PARALLEL} at a time …", style="dim"))
    with ThreadPoolExecutor(PARALLEL) as pool:
        runs = dict(zip(names, pool.map(lambda n: _run(n, {**BASE, **VARIANTS[n][1]}, VARIANTS[n][2], files, budget, work), names)))
    fresh = {n: {"change": VARIANTS[n][0], "options": {**BASE, **VARIANTS[n][1]}, "reference": VARIANTS[n][2], "run": now_iso(),
                 **_summary(runs[n], test)} for n in names}
    variants = {n: fresh.get(n, previous.get(n)) for n in VARIANTS if n in fresh or n in previous}
    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine_info(),
              "protocol": {"hyper": HYPER, "budget_s": budget, "threads_per_run": 1, "runs_at_a_time": PARALLEL,
                           "seed": 0, "data": data.EMT_PROTOCOL}, "variants": variants,
              "runtime_s": time.perf_counter() - started, "targets": {}}
    write_json(target, result)
    console.print(_table(result))
    update_markdown_section(markdown_path, NAME, markdown(result))
    return result


HEADERS = ["change", "epochs", "wall / CPU s", "final lr", "train F RMSE", "test F RMSE (best)",
           "gain in 2nd half", "test E RMSE", "CPUNEP test E / F RMSE"]


def _rows(result: dict) -> list[list[str]]:
    rows = []
    for name, v in result["variants"].items():
        if v.get("returncode") != 0:
            rows.append([v["change"], "failed", "", "", "", "", "", "", ""])
            continue
        rows.append([v["change"], str(v["epochs"]), f"{v['wall_s']:.0f} / {v['cpu_s']:.0f}", f"{v['final_lr']:.1e}",
                     f"{v['last_train_force_rmse_meV_A']:.1f}",
                     f"{v['last_test_force_rmse_meV_A']:.1f} ({v['best_test_force_rmse_meV_A']:.1f})",
                     f"{v['second_half_gain_meV_A']:.1f}", f"{v['last_test_energy_rmse_meV_atom']:.2f}",
                     f"{v['final_energy_rmse_meV_atom']:.2f} / {v['final_force_rmse_meV_A']:.1f}"])
    return rows


def _table(result: dict):
    return rich_table("EMT Cu–Au: one change at a time to the NEP training recipe", HEADERS, _rows(result))


def markdown(result: dict) -> str:
    p = result["protocol"]
    lines = ["## NEP on the Cu–Au alloy: training-recipe ablation", "",
             f"The `nep` benchmark's EMT Cu–Au frames and architecture; {p['budget_s']:.0f} s of training per run, "
             f"one thread each, {p['runs_at_a_time']} runs at a time on the two cores. Force RMSE in meV/Å (the last "
             "epoch's training error, which is a running mean over the epoch, and the test error at the last and "
             "the best epoch), energy RMSE in meV/atom; 'gain in 2nd half' is how much the test force RMSE fell "
             "over the second half of the budget; 'test E RMSE' is our model's own evaluation, 'CPUNEP' the exported "
             "`nep.txt` evaluated by calorine's CPUNEP (the two differ where the file's energies are relative to "
             f"per-element reference energies). Machine: {machine_line(result['machine'])}.", "",
             *markdown_table(HEADERS, _rows(result))]
    return "\n".join(lines)


if __name__ == "__main__":  # python benchmarks/nep_alloy.py [--quick] [--variants a,b]
    quick = "--quick" in sys.argv
    chosen = sys.argv[sys.argv.index("--variants") + 1].split(",") if "--variants" in sys.argv else None
    if chosen and set(chosen) - set(VARIANTS):
        raise SystemExit(f"error: unknown variant {', '.join(sorted(set(chosen) - set(VARIANTS)))}")
    run(quick, HERE / ("_work/results" if quick else "results"),
        HERE / "_work" / "BENCHMARKS.md" if quick else HERE.parent / "BENCHMARKS.md", Console(), chosen)
