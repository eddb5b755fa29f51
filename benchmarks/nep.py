"""NEP interatomic potentials: training speed against TorchNEP, accuracy on public data, MD speed.

Targets (issue 5, "Targets"), all measured in one run on one machine:

* against TorchNEP (PyPI ``torchnep``, the PyTorch NEP4 trainer) on EMT copper and an EMT Cu–Au
  alloy, same data and NEP hyperparameters (cutoff 5/4 Å, n_max 4/4, basis 8/8, l_max 4 2 0,
  30 neurons): wall time to reach test force RMSE targets, and the final test energy / force RMSE
  after the same time budget — ours ≤ TorchNEP on both;
* mlearn (Zuo et al. 2020) Si, Ge, Li, Mo: test energy MAE ≤ 5 meV/atom, force MAE ≤ 0.10 eV/Å;
* rMD17 ethanol (1000 train / 1000 test): force MAE ≤ 18 meV/Å (GAP's 18.1);
* GPUMD's PbTe training example (25 DFT frames, 5 held out): the same head-to-head, with the
  architecture of GPUMD's published PbTe model;
* MD on a 4000-atom Cu cell: our ASE calculator ≥ 0.5× the atom-steps/s of calorine's CPUNEP
  (GPUMD's C++ NEP_CPU) on the same ``nep.txt`` (issue 13's MD targets are in ``nep_md.py``).

``python benchmarks/nep.py --part versus:cuau --part mlearn`` reruns only those parts and keeps the
others from the committed ``nep.json``.

Protocol: each training run (ours and TorchNEP) is its own process (``_nep_runs.py``), one torch
thread; the two trainers of a data set run at the same time, one on each of the two cores, so both
see the same machine load (the accuracy runs, ours only, also run two at a time); clocks start when the trainer is called (reading and
preprocessing the data count). Both get the test file as validation set and evaluate it after
every epoch. Final errors are recomputed for both exported files with calorine's CPUNEP, one
evaluator for both. TorchNEP runs with its own training defaults (batch 32, lr 0.01, λ_e 0.01,
λ_f 1, λ_v 0.01, weight decay 1e-4); ours with its defaults (batch 4, Adam lr 4e-3 halved after 10
epochs without improvement, λ_e 1, λ_f 1, λ_v 0.1).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text

from _common import machine_info, machine_line, now_iso, update_markdown_section, write_json
import _nep_data as data
import _nep_report as report

NAME = "nep"
HERE = Path(__file__).resolve().parent
HYPER = {"cutoff": [5.0, 4.0], "n_max": [4, 4], "basis_size": [8, 8], "l_max": [4, 2, 0], "neurons": 30}
#: GPUMD's PbTe example: the architecture of its published nep.txt (cutoff 8/4 Å, n_max 6/6, basis 6/6).
PBTE_HYPER = {"cutoff": [8.0, 4.0], "n_max": [6, 6], "basis_size": [6, 6], "l_max": [4, 2, 0], "neurons": 30}
HYPERS = {"cu": HYPER, "cuau": HYPER, "pbte": PBTE_HYPER}
BUDGET_S, QUICK_BUDGET_S = 240.0, 25.0
#: meV/Å; PbTe: 2× and 1.25× the training force RMSE GPUMD's own run reached (40 meV/Å, its loss.out).
FORCE_TARGETS = {"cu": (30.0, 20.0), "cuau": (60.0, 40.0), "pbte": (80.0, 50.0)}
PARTS = ("versus:cu", "versus:cuau", "versus:pbte", "mlearn", "ethanol", "md")
THREADS, SEED = 1, 0


def _child(tool: str, name: str, files: dict, budget: float, work: Path, console: Console) -> dict:
    """Run one training process; return its trace and where its model file is."""
    out = work / f"{name}_{tool}"
    shutil.rmtree(out, ignore_errors=True)  # a stale loss.out or checkpoint would leak into this run's trace
    trace = out.with_suffix(".trace.jsonl")
    cfg = {"train": str(files["train"]), "test": str(files["test"]), "out": str(out), "trace": str(trace),
           "budget_s": budget, "seed": SEED, "threads": THREADS, "hyper": HYPERS[name]}
    cfg_path = out.with_suffix(".json")
    cfg_path.write_text(json.dumps(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
    console.print(Text(f"  {NAME}: {tool} on {name}, {budget:.0f} s budget …", style="dim"))
    with open(out.with_suffix(".log"), "w") as log:
        code = subprocess.run([sys.executable, str(HERE / "_nep_runs.py"), tool, str(cfg_path)], env=env,
                              stdout=log, stderr=subprocess.STDOUT, timeout=budget + 900).returncode
    rows = [json.loads(line) for line in trace.read_text().splitlines()] if trace.exists() else []
    model = out / ("nep.txt" if tool == "ours" else "nep_best.txt")
    return {"returncode": code, "trace": rows, "model": str(model), "snapshot": str(out / "nep_best_snapshot.txt")}


def head_to_head(name: str, files: dict, budget: float, work: Path, console: Console) -> dict:
    """TorchNEP and ours at the same time (one process on each core), on one data set; time-to-target
    and final errors."""
    from concurrent.futures import ThreadPoolExecutor

    test = data.read_test(files["test"])
    result = {"targets_meV_A": list(FORCE_TARGETS[name]), "budget_s": budget, "side_by_side": True}
    tools = ("torchnep", "ours")
    with ThreadPoolExecutor(2) as pool:
        runs = dict(zip(tools, pool.map(lambda tool: _child(tool, name, files, budget, work, console), tools)))
    for tool in tools:
        run = runs[tool]
        final = data.final_errors(run["model"], run["snapshot"], test)
        result[tool] = {**report.trace_summary(run["trace"], FORCE_TARGETS[name], budget), **final,
                        "returncode": run["returncode"], "trace": run["trace"]}
    return result


def _save_part(work: Path, name: str, part: dict) -> None:
    """Keep each finished part in the work folder, so a failure later in a long run loses nothing measured."""
    write_json(work / f"part_{name}.json", part)


def _parts(work: Path, quick: bool, budget: float, parts: tuple[str, ...], previous: dict, console: Console) -> dict:
    """Run *parts* (see :data:`PARTS`); the others are taken from *previous* (an earlier nep.json)."""
    versus = dict(previous.get("versus_torchnep", {}))
    names = [p.split(":")[1] for p in parts if p.startswith("versus:")]
    if names:
        files = {**data.emt_datasets(work.parent / "nep_data", quick, console),
                 "pbte": data.pbte_dataset(work.parent / "nep_data")}
        for name in names:
            versus[name] = head_to_head(name, files[name], budget, work, console)
        _save_part(work, "versus", versus)
    accuracy = data.accuracy_runs(work, quick, parts, console)
    mlearn = accuracy.get("mlearn", previous.get("mlearn"))
    ethanol = accuracy.get("ethanol", previous.get("rmd17_ethanol"))
    _save_part(work, "accuracy", {"mlearn": mlearn, "ethanol": ethanol})
    md = (data.md_speed(Path(versus["cu"]["ours"]["model_path"]), quick, console) if "md" in parts
          else previous["md_speed"])
    return {"versus_torchnep": {k: versus[k] for k in ("cu", "cuau", "pbte") if k in versus}, "mlearn": mlearn,
            "rmd17_ethanol": ethanol, "md_speed": md}


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console, parts: tuple[str, ...] = PARTS) -> dict:
    """Run *parts* (default: all), print the tables, write ``<results_dir>/nep.json`` and the Markdown
    section; with only some parts, the others come from the nep.json already there."""
    started = time.perf_counter()
    machine = machine_info()
    work = HERE / "_work" / ("nep_quick" if quick else "nep")
    work.mkdir(parents=True, exist_ok=True)
    budget = QUICK_BUDGET_S if quick else BUDGET_S
    target = Path(results_dir) / f"{NAME}.json"
    previous = json.loads(target.read_text()) if set(parts) != set(PARTS) else {}
    measured = _parts(work, quick, budget, parts, previous, console)
    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine,
              "protocol": {"hyper": HYPER, "hypers": HYPERS, "budget_s": budget, "threads": THREADS, "seed": SEED,
                           "emt": data.EMT_PROTOCOL, "pbte": data.PBTE_PROTOCOL, "force_targets_meV_A": FORCE_TARGETS},
              **measured, "runtime_s": time.perf_counter() - started}
    if previous:
        result["parts_run"] = {**previous.get("parts_run", {p: previous["created"] for p in PARTS}),
                               **{p: result["created"] for p in parts}}
        result["runtime_s"] += previous.get("runtime_s", 0.0)
    result["targets"] = report.targets(result)
    write_json(target, result)
    update_markdown_section(markdown_path, NAME, report.markdown(result, machine_line(machine)))
    report.print_tables(result, console)
    return result


def _parts_argument(argv: list[str]) -> tuple[str, ...]:
    """``--part NAME`` (repeatable) from *argv*; all parts without it."""
    chosen = tuple(argv[k + 1] for k, a in enumerate(argv[:-1]) if a == "--part")
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        raise SystemExit(f"error: unknown part {', '.join(unknown)} (choose from {', '.join(PARTS)})")
    return chosen or PARTS


if __name__ == "__main__":  # python benchmarks/nep.py [--quick] [--part versus:cuau …]
    quick = "--quick" in sys.argv
    sys.exit(0 if run(quick, HERE / ("_work/results" if quick else "results"),
                      HERE / "_work" / "BENCHMARKS.md" if quick else HERE.parent / "BENCHMARKS.md",
                      Console(), _parts_argument(sys.argv)) else 1)
