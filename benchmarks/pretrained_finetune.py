"""Universal pretrained potentials on mlearn Mo and Si: zero-shot, fine-tuned, against models trained from
scratch (issue 14, the fine-tuning target).

- zero-shot: SevenNet-0 (``sevenn``'s packaged checkpoint) and CHGNet (``chgnet``'s packaged weights),
  scored as they are with ``potential test sevennet-0|chgnet``;
- fine-tuned: ``potential train --from sevennet-0`` and ``--from chgnet`` (all weights, their own energy
  shifts kept and moved in closed form, lr 1e-3) on 25, 50 and 100 training frames (one fixed shuffle, as
  ``nep_finetune``);
- from scratch on every training frame (Mo 194, Si 214): MACE (``--model mace``, the package defaults: 32x0e +
  32x1o, two layers, l_max 3, correlation 3, cutoff 5 Å) and NEP (UNEP-v1's architecture, as in
  ``nep_finetune``).

Every run gets the same wall-clock budget on one thread (two runs at a time, one per core), holds out
10 % of its frames for validation, keeps its best validation epoch and is scored on the element's test
frames (energy and force MAE). Target, per element and fine-tuned model: fine-tuned on 50 frames beats
every from-scratch model trained on all frames, in energy and in force MAE.

``python benchmarks/pretrained_finetune.py [--quick] [--parallel N] [--beside TEXT]``; ``--rerun-failed`` trains
the runs the results record as failed again and merges them in.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.text import Text

from _common import machine_info, machine_line, markdown_table, now_iso, rich_table, update_markdown_section, write_json
from nep_finetune import MO, SCRATCH as NEP_SCRATCH, VALID_FRACTION, _count, _score, _subset

NAME = "pretrained_finetune"
HERE = Path(__file__).resolve().parent
SIZES = (25, 50, 100)
BUDGET_S, QUICK_BUDGET_S = 300.0, 20.0
FINE_TUNE = ["--from", "sevennet-0", "--lr", "1e-3", "--batch-size", "4"]
FINE_TUNES = {"SevenNet-0 fine-tuned": FINE_TUNE, "CHGNet fine-tuned": ["--from", "chgnet", "--lr", "1e-3",
                                                                        "--batch-size", "4"]}
#: mlearn sets: element → folder (Mo first, the set of the committed runs before Si was added).
SETS = {"Mo": MO, "Si": MO.parent / "Si"}
MACE_SCRATCH = ["--model", "mace", "--cutoff", "5", "--batch-size", "4"]
PARALLEL_RUNS = 2  # one per core; ``--parallel 1`` when another one-thread benchmark holds the other core


def _jobs(work: Path, folder: Path, sizes, budget: float) -> list[dict]:
    jobs, tag = [], folder.name.lower()
    for size in sizes:
        data, n = _subset(folder / "train.xyz", size, work / f"{tag}_train_{size}.xyz")
        jobs += [{"kind": kind, "n_frames": n, "data": data, "extra": extra} for kind, extra in FINE_TUNES.items()]
    data, n = _subset(folder / "train.xyz", None, work / f"{tag}_train_all.xyz")
    jobs += [{"kind": "MACE from scratch", "n_frames": n, "data": data, "extra": MACE_SCRATCH},
             {"kind": "NEP from scratch", "n_frames": n, "data": data, "extra": NEP_SCRATCH}]
    prefix = "" if folder == MO else f"{tag}_"  # Mo keeps the folder names of the earlier runs
    for job in jobs:
        job.update(budget_s=budget, test=folder / "test.xyz",
                   out=work / f"{prefix}{job['kind'].split()[0].lower()}_{job['n_frames']}")
    return jobs


def _train(job: dict, console: Console) -> dict:
    """One ``potential train`` in its own process; wall and CPU seconds, epochs, errors on ``job["test"]``
    (default: mlearn Mo's test frames)."""
    import json

    console.print(Text(f"  {NAME}: {job['kind']}, {job['n_frames']} frames, {job['budget_s']:.0f} s …", style="dim"))
    out = Path(job["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).with_name("nnsurrogate")), "potential", "train", str(job["data"]),
               *map(str, job["extra"]), "--time-limit", str(job["budget_s"]), "--valid-fraction", str(VALID_FRACTION),
               "--threads", "1", "--quiet", "--out", str(out)]
    started = time.perf_counter()
    with open(out.with_suffix(".log"), "w") as log:
        proc = subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
                                stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall, cpu = time.perf_counter() - started, usage.ru_utime + usage.ru_stime
    base = {"kind": job["kind"], "n_frames": job["n_frames"]}
    if not (out / "metrics.json").exists():
        return {**base, "failed": f"exit status {status} (see {out.with_suffix('.log').name})"}
    epochs = json.loads((out / "metrics.json").read_text())["epochs_run"]
    test = Path(job.get("test", MO / "test.xyz"))
    return {**base, "wall_s": wall, "cpu_s": cpu, "epochs_run": epochs, **_score(out, test, out / "test")}


def rerun_failed(results_dir: Path, markdown_path: Path, console: Console, parallel: int = PARALLEL_RUNS,
                 beside: str = "") -> dict:
    """Train again the runs the committed results record as failed (same jobs, same budget) and merge them in."""
    import json

    path = Path(results_dir) / f"{NAME}.json"
    result = json.loads(path.read_text(encoding="utf-8"))
    work = HERE / "_work" / NAME
    budget = result["protocol"]["budget_s"]
    todo = []
    for element, part in result["sets"].items():
        failed = {(r["kind"], r["n_frames"]) for r in part["runs"] if "failed" in r}
        todo += [(element, job) for job in _jobs(work, SETS[element], SIZES, budget)
                 if (job["kind"], job["n_frames"]) in failed]
    with ThreadPoolExecutor(parallel) as pool:
        again = list(pool.map(lambda item: (item[0], _train(item[1], console)), todo))
    for element, new in again:
        runs = result["sets"][element]["runs"]
        runs[:] = [new if (r["kind"], r["n_frames"]) == (new["kind"], new["n_frames"]) else r for r in runs]
    result["protocol"]["rerun"] = {"runs": [f"{e}: {r['kind']} {r['n_frames']}" for e, r in again], "created": now_iso(),
                                   "parallel_runs": parallel, "beside": beside}
    result["targets"] = targets(result)
    write_json(path, result)
    update_markdown_section(markdown_path, NAME, markdown(result))
    return result


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console, parallel: int = PARALLEL_RUNS,
        beside: str = "") -> dict:
    if not MO.is_dir():
        result = {"benchmark": NAME, "skipped": "shared data not found", "targets": {}}
        write_json(Path(results_dir) / f"{NAME}.json", result)
        return result
    started = time.perf_counter()
    budget = QUICK_BUDGET_S if quick else BUDGET_S
    work = HERE / "_work" / (NAME + ("_quick" if quick else ""))
    work.mkdir(parents=True, exist_ok=True)
    sets = {}
    for element, folder in SETS.items():
        if not folder.is_dir():
            continue
        prefix = "" if folder == MO else f"{element.lower()}_"
        zero = {name: _score(name, folder / "test.xyz", work / f"{prefix}zero_{name}") for name in ("sevennet-0", "chgnet")}
        jobs = _jobs(work, folder, SIZES[:1] if quick else SIZES, budget)
        with ThreadPoolExecutor(parallel) as pool:
            runs = list(pool.map(lambda job: _train(job, console), jobs))
        sets[element] = {"n_test": _count(folder / "test.xyz"), "zero_shot": zero, "runs": runs}
    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine_info(),
              "protocol": {"budget_s": budget, "threads": 1, "parallel_runs": parallel, "beside": beside, "fine_tunes": FINE_TUNES,
                           "mace_scratch": MACE_SCRATCH, "nep_scratch": NEP_SCRATCH, "sizes": list(SIZES),
                           "valid_fraction": VALID_FRACTION}, "sets": sets}
    result["targets"] = targets(result)
    result["runtime_s"] = time.perf_counter() - started
    write_json(Path(results_dir) / f"{NAME}.json", result)
    for element, part in sets.items():
        console.print(rich_table(f"mlearn {element}: universal models zero-shot, fine-tuned, and from scratch",
                                 HEADERS, _rows(part)))
    update_markdown_section(markdown_path, NAME, markdown(result))
    return result


def targets(result: dict) -> dict:
    """Per element and fine-tuned model: fine-tuned on 50 frames < every from-scratch model on all frames
    (energy and force MAE)."""
    out, keys = {}, ("energy_mae_meV_atom", "force_mae_meV_A")
    for element, part in result["sets"].items():
        runs = [r for r in part["runs"] if "failed" not in r]
        scratch = [r for r in runs if "scratch" in r["kind"]]
        for kind in FINE_TUNES:
            tuned = next((r for r in runs if r["kind"] == kind and r["n_frames"] == 50), None)
            if tuned is None or not scratch:
                continue
            best = {k: min(r[k] for r in scratch) for k in keys}
            out[f"{kind.split()[0].lower()}_finetune50_beats_every_scratch_all_{element}"] = {
                "met": all(tuned[k] < best[k] for k in keys),
                "target": f"mlearn {element}: {kind} on 50 frames < every from-scratch model on all frames "
                          "(energy and force MAE)",
                "fine_tuned_50": {k: tuned[k] for k in keys}, "best_scratch_all": best}
    return out


HEADERS = ["model", "training frames", "test energy MAE (meV/atom)", "test force MAE (meV/Å)", "epochs",
           "wall / CPU s"]


def _rows(part: dict) -> list[list[str]]:
    rows = [[f"{name} zero-shot", "0", f"{z['energy_mae_meV_atom']:.1f}", f"{z['force_mae_meV_A']:.1f}", "—", "—"]
            for name, z in part["zero_shot"].items()]
    for r in part["runs"]:
        if "failed" in r:
            rows.append([r["kind"], str(r["n_frames"]), "failed", r["failed"], "—", "—"])
            continue
        rows.append([r["kind"], str(r["n_frames"]), f"{r['energy_mae_meV_atom']:.2f}", f"{r['force_mae_meV_A']:.1f}",
                     str(r["epochs_run"]), f"{r['wall_s']:.0f} / {r['cpu_s']:.0f}"])
    return rows


def _concurrency(protocol: dict) -> str:
    n, beside = protocol["parallel_runs"], protocol.get("beside")
    if n > 1:
        return f"{n} runs at a time, one per core"
    return f"one run at a time, {'beside ' + beside + ' on the other core' if beside else 'the other core idle'}"


def markdown(result: dict) -> str:
    p = result["protocol"]
    lines = ["## Universal pretrained potentials on mlearn Mo and Si (zero-shot, fine-tuned, from scratch)", "",
             f"{p['budget_s']:.0f} s of wall time per training run on one thread ({_concurrency(p)}), 10 % of each training set held out for validation, scored on the test frames "
             "with `potential test`. Fine-tuned: `potential train --from sevennet-0|chgnet --lr 1e-3 --batch-size 4` "
             "(all weights; the models' own energy shifts kept). From scratch on all training frames: `--model mace` "
             "(package defaults) and NEP with UNEP-v1's architecture. Zero-shot: the packaged weights as they are. "
             f"Machine: {machine_line(result['machine'])}."]
    rerun = p.get("rerun")
    if rerun:
        lines += ["", f"Trained again on {rerun['created'][:10]} (the first attempt failed): {', '.join(rerun['runs'])}; "
                  f"{_concurrency({'parallel_runs': rerun['parallel_runs'], 'beside': rerun.get('beside')})}."]
    for element, part in result["sets"].items():
        lines += ["", f"mlearn {element} ({part['n_test']} test frames):", "", *markdown_table(HEADERS, _rows(part))]
    for key, t in result["targets"].items():
        lines += ["", f"Target `{key}` ({t['target']}): {'met' if t['met'] else 'missed'} — fine-tuned 50: "
                  f"{t['fine_tuned_50']['energy_mae_meV_atom']:.2f} meV/atom, {t['fine_tuned_50']['force_mae_meV_A']:.1f} "
                  f"meV/Å; best from scratch on all: {t['best_scratch_all']['energy_mae_meV_atom']:.2f} meV/atom, "
                  f"{t['best_scratch_all']['force_mae_meV_A']:.1f} meV/Å."]
    return "\n".join(lines)


def _option(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


if __name__ == "__main__":  # python benchmarks/pretrained_finetune.py [--quick | --rerun-failed] [--parallel N] [--beside T]
    quick = "--quick" in sys.argv
    args = (HERE / ("_work/results" if quick else "results"),
            HERE / "_work" / "BENCHMARKS.md" if quick else HERE.parent / "BENCHMARKS.md", Console())
    options = (int(_option("--parallel", str(PARALLEL_RUNS))), _option("--beside", ""))
    if "--rerun-failed" in sys.argv:
        rerun_failed(*args, *options)
    else:
        run(quick, *args, *options)
