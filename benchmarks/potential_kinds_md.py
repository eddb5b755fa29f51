"""MD speed and memory per atom of every potential kind on the same cells (issue 14, the speed/accuracy table).

Kinds, each through its ASE calculator:

- NEP: GPUMD's published UNEP-v1 (``nep4_zbl``, 16 metals) in our calculator, float32, and in calorine's
  CPUNEP (GPUMD's NEP_CPU);
- MACE: ``--model mace`` at the package defaults (32x0e + 32x1o, two layers, l_max 3, correlation 3,
  cutoff 5 Å), float32 — weights drawn at random: the cost of an evaluation does not depend on them;
- SevenNet-0 (sevenn's packaged checkpoint, float32) and CHGNet (chgnet's packaged weights), as their
  own calculators.

Cells: bcc Mo, 128 and 1024 atoms (a = 3.16 Å, positions rattled by 0.05 Å, 300 K Maxwell–Boltzmann
velocities; Mo is in every model). Velocity Verlet, 1 fs, two warm-up steps, then timed steps. Each
(kind, cell, threads) runs in its own process so that its peak resident memory is its own; memory per
atom = (peak RSS at 1024 atoms − peak RSS at 128 atoms) / 896.

``python benchmarks/potential_kinds_md.py [--quick]``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text

from _common import machine_info, machine_line, markdown_table, now_iso, rich_table, update_markdown_section, write_json

NAME = "potential_kinds_md"
HERE = Path(__file__).resolve().parent
UNEP = HERE.parent.parent / "shared" / "data" / "atoms" / "gpumd" / "potentials" / \
    "Song-2024-UNEP-v1-AgAlAuCrCuMgMoNiPbPdPtTaTiVWZr.txt"
KINDS = ("NEP (ours)", "NEP (CPUNEP)", "MACE", "SevenNet-0", "CHGNet")
SIZES = (128, 1024)
STEPS = {128: 10, 1024: 5}


def _calculator(kind: str):
    if kind == "NEP (ours)":
        from nnsurrogate.atomistic.calculator import load_calculator

        return load_calculator(UNEP, dtype="float32", threads=int(os.environ.get("OMP_NUM_THREADS", "1")))
    if kind == "NEP (CPUNEP)":
        from calorine.calculators import CPUNEP

        return CPUNEP(str(UNEP))
    if kind == "MACE":
        from ase.build import bulk

        from nnsurrogate.atomistic.calculator import PotentialCalculator
        from nnsurrogate.atomistic.mace import build_mace_model

        model = build_mace_model([bulk("Mo", "bcc", a=3.16, cubic=True).repeat(2)], ("Mo",), {"cutoff": 5.0})
        return PotentialCalculator([model], dtype="float32")
    from nnsurrogate.atomistic.labelers import labeler

    return labeler({"SevenNet-0": "sevennet-0", "CHGNet": "chgnet"}[kind])()


def _child(kind: str, n_atoms: int, steps: int) -> None:
    """In the child process: MD on the cell, print one JSON line (rate, peak RSS)."""
    import resource

    import numpy as np
    import torch
    from ase import units
    from ase.build import bulk
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    reps = {128: (4, 4, 4), 1024: (8, 8, 8)}[n_atoms]
    atoms = bulk("Mo", "bcc", a=3.16, cubic=True).repeat(reps)
    atoms.rattle(0.05, seed=0)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300.0, rng=np.random.default_rng(0))
    atoms.calc = _calculator(kind)
    md = VelocityVerlet(atoms, 1.0 * units.fs)
    md.run(2)
    wall, cpu = time.perf_counter(), time.process_time()
    md.run(steps)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"atom_steps_per_s": n_atoms * steps / wall, "atom_steps_per_cpu_s": n_atoms * steps / cpu,
                      "steps": steps, "wall_s": wall, "peak_rss_MiB": peak_mib}))


def _measure(kind: str, n_atoms: int, steps: int, threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(n_atoms), str(steps)], env=env,
                          capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"failed": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1][:200]}
    return json.loads(lines[-1])


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    started = time.perf_counter()
    sizes = SIZES
    cases = {}
    for kind in KINDS:
        for threads in ((1,) if kind == "NEP (CPUNEP)" else (1, 2)):
            for n in sizes:
                console.print(Text(f"  {NAME}: {kind}, {n} atoms, {threads} thread(s) …", style="dim"))
                cases[f"{kind}|{n}|{threads}"] = _measure(kind, n, 1 if quick else STEPS[n], threads)
    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine_info(),
              "protocol": {"cells": "bcc Mo, a = 3.16 Å, rattled 0.05 Å, 300 K", "sizes": list(sizes),
                           "steps": STEPS, "warm_up_steps": 2, "nep": UNEP.name,
                           "mace": "package defaults, random weights, float32"},
              "cases": cases, "targets": {}}
    result["runtime_s"] = time.perf_counter() - started
    write_json(Path(results_dir) / f"{NAME}.json", result)
    console.print(rich_table("MD speed and memory per potential kind (bcc Mo)", HEADERS, _rows(result)))
    update_markdown_section(markdown_path, NAME, markdown(result))
    return result


HEADERS = ["kind", "threads", "atom-steps/s, 128 atoms", "atom-steps/s, 1024 atoms", "peak RSS 1024 atoms (MiB)",
           "memory per atom (KiB)"]


def _rows(result: dict) -> list[list[str]]:
    rows = []
    for kind in KINDS:
        for threads in (1, 2):
            small, big = (result["cases"].get(f"{kind}|{n}|{threads}") for n in SIZES)
            if small is None:
                continue
            rate = [f"{c['atom_steps_per_s']:,.0f}" if c and "failed" not in c else "failed" for c in (small, big)]
            ok = all(c and "failed" not in c for c in (small, big))
            per_atom = (1024 * (big["peak_rss_MiB"] - small["peak_rss_MiB"]) / (SIZES[1] - SIZES[0])) if ok else None
            rows.append([kind, str(threads), *rate, f"{big['peak_rss_MiB']:.0f}" if ok else "—",
                         f"{per_atom:.1f}" if per_atom is not None else "—"])
    return rows


def markdown(result: dict) -> str:
    return "\n".join(["## MD speed and memory per potential kind (`benchmarks/potential_kinds_md.py`)", "",
                      "Velocity Verlet, 1 fs, two warm-up steps, then 10 (128 atoms) or 5 (1024 atoms) timed steps on "
                      "bcc Mo; each case in its own process. NEP: UNEP-v1 (ours float32, and CPUNEP); MACE: package "
                      "defaults (random weights), float32; SevenNet-0 and CHGNet: their own calculators and packaged "
                      "weights. Memory per atom: the growth of the peak resident memory from 128 to 1024 atoms. "
                      f"Machine: {machine_line(result['machine'])}.", "", *markdown_table(HEADERS, _rows(result))])


if __name__ == "__main__":  # python benchmarks/potential_kinds_md.py [--quick]
    if "--child" in sys.argv:
        k = sys.argv.index("--child")
        _child(sys.argv[k + 1], int(sys.argv[k + 2]), int(sys.argv[k + 3]))
    else:
        quick = "--quick" in sys.argv
        run(quick, HERE / ("_work/results" if quick else "results"),
            HERE / "_work" / "BENCHMARKS.md" if quick else HERE.parent / "BENCHMARKS.md", Console())
