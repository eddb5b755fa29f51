"""NEP molecular-dynamics speed: our ASE calculator against calorine's CPUNEP (GPUMD's NEP_CPU) and
TorchNEP's, and ``potential md`` against the bare calculator loop (issue 13, deliverable 5).

Two potentials, each on its own cell:

* **Cu, 4000 atoms** (fcc 10×10×10, 600 K): the ``nep`` benchmark's architecture (cutoffs 5/4 Å,
  n_max 4/4, basis 8/8, l_max 4/2/0, 30 neurons) trained here for 60 s on the ``nep`` benchmark's EMT
  Cu frames (``potential train``, one thread) — a trained model, so ``potential md``'s guards pass;
* **Si, 512 atoms** (diamond 4×4×4, 600 K): GPUMD's published ``Si_2022_NEP4_4body.txt``.

Bare loop: ASE velocity Verlet, 1 fs, two warm-up steps, then five runs of 20 timed steps (the median
kept: this machine's speed drifts by ±10 % between seconds), for each calculator (ours in float32
and float64 on one and two threads; CPUNEP, single-threaded C++; TorchNEP float32).
``potential md``: the command as a user runs it (NVE, thermo row and trajectory frame every 10 steps,
progress bar off, guards on), in its own process; its rate is the one it reports in ``md.json`` (the
MD loop: integrator, guards, logging, trajectory), the median of three runs, and its whole process CPU
time is kept beside it.
Atom-steps per second of wall time and per CPU second. Targets: ours ≥ 1.0× CPUNEP on one thread
and ≥ 1.6× on two (4000-atom Cu, float32); ``potential md`` within 1.2× of the bare loop (same
precision and threads).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text

from _common import (machine_info, machine_line, markdown_table, now_iso, rich_table, run_cli,
                     update_markdown_section, write_json)
import _nep_data as data

NAME = "nep_md"
HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "atoms" / "gpumd" / "potentials"
CU_HYPER = ["--cutoff", "5,4", "--n-max", "4,4", "--basis-size", "8,8", "--l-max", "4,2,0", "--neurons", "30"]
TRAIN_S, QUICK_TRAIN_S = 60.0, 10.0
STEPS, QUICK_STEPS = 20, 3
REPEATS, QUICK_REPEATS = 5, 1
CLI_RUNS, QUICK_CLI_RUNS = 3, 1
CLI_STEPS, QUICK_CLI_STEPS = 100, 10


def _cells() -> dict:
    from ase.build import bulk
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    cells = {"cu": bulk("Cu", "fcc", a=3.61, cubic=True).repeat((10, 10, 10)),
             "si": bulk("Si", "diamond", a=5.43, cubic=True).repeat((4, 4, 4))}
    for atoms in cells.values():
        MaxwellBoltzmannDistribution(atoms, temperature_K=600.0, rng=np.random.default_rng(0))
    return cells


def _bare_runs(name: str, model: Path, atoms, steps: int, repeats: int, console: Console) -> dict:
    from calorine.calculators import CPUNEP

    from nnsurrogate.atomistic.calculator import load_calculator

    # ours: PyTorch on one thread; with threads=2 the calculator runs two centre blocks on two threads
    contenders = [(f"ours_{d}_{t}t", 1, lambda d=d, t=t: load_calculator(model, dtype=d, threads=t))
                  for d in ("float32", "float64") for t in (1, 2)]
    contenders.append(("cpunep", 1, lambda: CPUNEP(str(model))))
    if name == "cu":
        try:
            from torchnep.ase_calculator import NEP as TorchNEPCalculator

            contenders += [(f"torchnep_float32_{t}t", t, lambda: TorchNEPCalculator(str(model), dtype="float32"))
                           for t in (1, 2)]
        except ImportError:
            pass
    return data.calculator_rates(atoms, contenders, steps, f"{NAME}: {name}, bare loop", console, repeats)


def _cli_run(model: Path, atoms, steps: int, dtype: str, threads: int, work: Path, tag: str) -> dict:
    """``potential md`` in its own process; its reported loop rate and the process's CPU time."""
    from ase.io import write

    start = work / f"{tag}_start.xyz"
    write(start, atoms, format="extxyz")
    out = work / f"{tag}_md"
    argv = [str(Path(sys.executable).parent / "nnsurrogate"), "potential", "md", str(model), str(start), "--out", str(out),
            "--ensemble", "nve", "--temperature", "600", "--steps", str(steps), "--dtype", dtype,
            "--threads", str(threads), "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    code = subprocess.run(argv, env={**os.environ, "OMP_NUM_THREADS": str(threads)}, capture_output=True,
                          text=True).returncode
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = json.loads((out / "md.json").read_text()) if (out / "md.json").exists() else {}
    return {"returncode": code, "steps_done": summary.get("steps_done"), "loop_wall_s": summary.get("wall_s"),
            "atom_steps_per_s": summary.get("atom_steps_per_s"), "process_wall_s": wall,
            "process_cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            "stopped": summary.get("stopped")}


def _median_run(runs: list[dict]) -> dict:
    """The run of median loop rate (a failed run counts as the slowest), every run's rate listed."""
    ranked = sorted(runs, key=lambda r: r.get("atom_steps_per_s") or 0.0)
    return {**ranked[len(ranked) // 2], "run_atom_steps_per_s": [r.get("atom_steps_per_s") for r in runs]}


def _cu_model(work: Path, train_s: float, console: Console) -> Path:
    files = data.emt_datasets(work.parent / "nep_data", False, console)["cu"]
    out = work / "cu_model"
    console.print(Text(f"  {NAME}: training the Cu NEP for {train_s:.0f} s …", style="dim"))
    run_cli(["potential", "train", files["train"], *CU_HYPER, "--time-limit", train_s, "--threads", 1, "--quiet",
          "--out", out])
    return out / "nep.txt"


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    import torch

    started = time.perf_counter()
    work = HERE / "_work" / (NAME + ("_quick" if quick else ""))
    work.mkdir(parents=True, exist_ok=True)
    steps, cli_steps = (QUICK_STEPS, QUICK_CLI_STEPS) if quick else (STEPS, CLI_STEPS)
    models = {"cu": _cu_model(work, QUICK_TRAIN_S if quick else TRAIN_S, console),
              "si": SHARED / "Si_2022_NEP4_4body.txt"}
    cells = _cells()
    cases = {}
    for name, model in models.items():
        atoms = cells[name]
        bare = _bare_runs(name, model, atoms, steps, QUICK_REPEATS if quick else REPEATS, console)
        cli = {}
        for dtype, threads in (("float32", 1), ("float64", 1), ("float32", 2)):
            console.print(Text(f"  {NAME}: {name}, potential md, {dtype}, {threads} thread(s) …", style="dim"))
            runs = [_cli_run(model, atoms, cli_steps, dtype, threads, work, f"{name}_{dtype}_{threads}")
                    for _ in range(QUICK_CLI_RUNS if quick else CLI_RUNS)]
            cli[f"{dtype}_{threads}t"] = _median_run(runs)
        cases[name] = {"model": str(model), "n_atoms": len(atoms), "bare": bare, "potential_md": cli}
    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine_info(),
              "protocol": {"bare_steps": steps, "bare_repeats": QUICK_REPEATS if quick else REPEATS,
                           "potential_md_steps": cli_steps, "potential_md_runs": QUICK_CLI_RUNS if quick else CLI_RUNS, "cu_train_s": TRAIN_S,
                           "cu_hyper": CU_HYPER, "temperature_K": 600.0, "timestep_fs": 1.0},
              "cases": cases, "gpu": "no GPU on this machine" if not torch.cuda.is_available() else
              torch.cuda.get_device_name(0)}
    result["targets"] = targets(result)
    result["runtime_s"] = time.perf_counter() - started
    write_json(Path(results_dir) / f"{NAME}.json", result)
    console.print(_table(result))
    update_markdown_section(markdown_path, NAME, markdown(result))
    return result


def _ratio(a: dict | None, b: dict | None) -> float | None:
    if not a or not b or not a.get("atom_steps_per_s") or not b.get("atom_steps_per_s"):
        return None
    return a["atom_steps_per_s"] / b["atom_steps_per_s"]


def targets(result: dict) -> dict:
    cu = result["cases"]["cu"]
    one, two = _ratio(cu["bare"]["ours_float32_1t"], cu["bare"]["cpunep"]), _ratio(cu["bare"]["ours_float32_2t"],
                                                                                   cu["bare"]["cpunep"])
    out = {"md_1_thread_vs_cpunep": {"target": "≥ 1.0× CPUNEP, 4000-atom Cu, float32, one thread",
                                     "ratio": one, "met": one is not None and one >= 1.0},
           "md_2_threads_vs_cpunep": {"target": "≥ 1.6× CPUNEP, 4000-atom Cu, float32, two threads",
                                      "ratio": two, "met": two is not None and two >= 1.6}}
    slow = {}
    for name, case in result["cases"].items():
        for key, cli in case["potential_md"].items():
            ratio = _ratio(case["bare"].get(f"ours_{key}"), cli)
            slow[f"{name}_{key}"] = ratio
    worst = max((v for v in slow.values() if v is not None), default=None)
    out["potential_md_overhead"] = {"target": "bare-loop rate / potential md rate ≤ 1.2 (same precision, threads)",
                                    "ratios": slow, "worst": worst, "met": worst is not None and worst <= 1.2}
    return out


HEADERS = ["cell", "calculator", "atom-steps/s", "atom-steps/CPU-s", "vs CPUNEP"]


def _rows(result: dict) -> list[list[str]]:
    rows = []
    for name, case in result["cases"].items():
        cell = f"{name.capitalize()} {case['n_atoms']}"
        cpunep = case["bare"]["cpunep"]
        for key, r in case["bare"].items():
            ratio = _ratio(r, cpunep)
            rows.append([cell, key, f"{r['atom_steps_per_s']:,.0f}", f"{r['atom_steps_per_cpu_s']:,.0f}",
                         f"{ratio:.2f}×"])
        for key, r in case["potential_md"].items():
            rate = r.get("atom_steps_per_s")
            per_cpu = case["n_atoms"] * (r.get("steps_done") or 0) / r["process_cpu_s"] if r["process_cpu_s"] else 0
            ratio = _ratio(r, cpunep)
            rows.append([cell, f"potential md {key}", f"{rate:,.0f}" if rate else "failed",
                         f"{per_cpu:,.0f} (whole process)", f"{ratio:.2f}×" if ratio else ""])
    return rows


def _table(result: dict):
    return rich_table("NEP MD speed (velocity Verlet)", HEADERS, _rows(result))


def markdown(result: dict) -> str:
    p = result["protocol"]
    lines = ["## NEP MD speed", "",
             f"Velocity Verlet, 1 fs, two warm-up steps, then the median of {p.get('bare_repeats', 1)} runs of "
             f"{p['bare_steps']} timed steps (bare loop); `potential md` NVE for {p['potential_md_steps']} steps in its "
             f"own process, median of {p.get('potential_md_runs', 1)} runs (its reported loop rate; whole-process CPU "
             "including start-up in the second column). Cu: the `nep` benchmark's architecture trained for "
             f"{p['cu_train_s']:.0f} s on EMT Cu; Si: GPUMD's `Si_2022_NEP4_4body.txt`. CPUNEP is calorine's "
             f"binding of GPUMD's NEP_CPU (single-threaded). Machine: {machine_line(result['machine'])}.", "",
             *markdown_table(HEADERS, _rows(result))]
    for key, t in result["targets"].items():
        value = t.get("ratio", t.get("worst"))
        lines.append(f"\nTarget `{key}` ({t['target']}): {'met' if t['met'] else 'missed'} — "
                     f"{value:.2f}" if value is not None else f"\nTarget `{key}`: not measured")
    return "\n".join(lines)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    run(quick, HERE / ("_work/results" if quick else "results"),
        HERE / "_work" / "BENCHMARKS.md" if quick else HERE.parent / "BENCHMARKS.md", Console())
