"""MACE on mlearn Si and Mo beside our NEP (issue 14, the mlearn target).

``potential train --model mace`` (package defaults: 32x0e + 32x1o, two layers, l_max 3, correlation 3,
cutoff 5 Å, batch 4) on every training frame of mlearn Si (214) and Mo (194), 10 % held out for
validation, the best validation epoch kept, scored on the test frames (25 and 23) with ``potential
test``. One thread per run, the two elements side by side (one per core), the same wall budget each.
Beside it: our NEP on the same files from the ``nep`` benchmark (``nep.json``, 600 s each).

``python benchmarks/mace_mlearn.py [--quick]``
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console

from _common import machine_info, machine_line, markdown_table, now_iso, rich_table, update_markdown_section, write_json
from pretrained_finetune import MACE_SCRATCH, _train

NAME = "mace_mlearn"
HERE = Path(__file__).resolve().parent
MLEARN = HERE.parent.parent / "shared" / "data" / "atoms" / "mlearn"
ELEMENTS = ("Si", "Mo")
BUDGET_S, QUICK_BUDGET_S = 1500.0, 20.0


def _train_element(element: str, work: Path, budget: float, console: Console) -> dict:
    job = {"kind": "MACE from scratch", "n_frames": "all", "data": MLEARN / element / "train.xyz",
           "test": MLEARN / element / "test.xyz", "extra": MACE_SCRATCH, "budget_s": budget,
           "out": work / f"mace_{element}"}
    return _train(job, console)


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    started = time.perf_counter()
    budget = QUICK_BUDGET_S if quick else BUDGET_S
    work = HERE / "_work" / (NAME + ("_quick" if quick else ""))
    work.mkdir(parents=True, exist_ok=True)
    if not MLEARN.is_dir():
        result = {"benchmark": NAME, "skipped": "shared data not found", "targets": {}}
        write_json(Path(results_dir) / f"{NAME}.json", result)
        return result
    with ThreadPoolExecutor(len(ELEMENTS)) as pool:  # one process per element, side by side
        runs = dict(zip(ELEMENTS, pool.map(lambda e: _train_element(e, work, budget, console), ELEMENTS)))
    nep_path = HERE / "results" / "nep.json"
    nep = json.loads(nep_path.read_text())["mlearn"] if nep_path.exists() else {}
    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine_info(),
              "protocol": {"budget_s": budget, "threads": 1, "mace": MACE_SCRATCH, "valid_fraction": 0.1},
              "mace": runs, "nep": {e: nep.get("elements", {}).get(e, {}).get("test") for e in ELEMENTS},
              "nep_budget_s": nep.get("budget_s"), "targets": {}}
    result["runtime_s"] = time.perf_counter() - started
    write_json(Path(results_dir) / f"{NAME}.json", result)
    console.print(rich_table("mlearn: MACE beside NEP", HEADERS, _rows(result)))
    update_markdown_section(markdown_path, NAME, markdown(result))
    return result


HEADERS = ["element", "model", "test energy MAE (meV/atom)", "test force MAE (meV/Å)", "epochs", "wall / CPU s"]


def _rows(result: dict) -> list[list[str]]:
    rows = []
    for e in ELEMENTS:
        m = result["mace"][e]
        rows.append([e, "MACE", *(["failed", m["failed"], "—", "—"] if "failed" in m else
                                  [f"{m['energy_mae_meV_atom']:.2f}", f"{m['force_mae_meV_A']:.1f}", str(m["epochs_run"]),
                                   f"{m['wall_s']:.0f} / {m['cpu_s']:.0f}"])])
        n = result["nep"].get(e)
        if n:
            rows.append([e, f"NEP (nep.json, {result['nep_budget_s']:.0f} s)", f"{n['energy_mae_meV_atom']:.2f}",
                         f"{n['force_mae_meV_A']:.1f}", "—", "—"])
    return rows


def markdown(result: dict) -> str:
    p = result["protocol"]
    return "\n".join(["## MACE on mlearn Si and Mo (`benchmarks/mace_mlearn.py`)", "",
                      f"`potential train --model mace` (package defaults, batch 4), {p['budget_s']:.0f} s of wall time per "
                      "element on one thread, the two side by side, 10 % held out for validation, scored on the test "
                      "frames. NEP: the `nep` benchmark's runs on the same files. "
                      f"Machine: {machine_line(result['machine'])}.", "", *markdown_table(HEADERS, _rows(result))])


if __name__ == "__main__":  # python benchmarks/mace_mlearn.py [--quick]
    quick = "--quick" in sys.argv
    run(quick, HERE / ("_work/results" if quick else "results"),
        HERE / "_work" / "BENCHMARKS.md" if quick else HERE.parent / "BENCHMARKS.md", Console())
