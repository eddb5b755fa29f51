"""Fine-tuning a published NEP against training from scratch and against TorchNEP's fine-tuning (issue 13).

GPUMD's general-purpose UNEP-v1 (16 metals, ``nep4_zbl``) is fine-tuned with
``potential train --from UNEP-v1 --slim`` on two data sets whose elements it knows:

- mlearn Mo (PBE DFT, 194 training and 23 test frames), the issue's target set;
- EMT Cu–Au (the ``nep`` benchmark's Langevin-MD frames, 200 training and 60 test frames; EMT is not
  UNEP-v1's DFT reference, so the prior is partly wrong there).

Against it, on the same frames and wall-clock budget (one thread, one process per core, two at a time):
the same architecture trained from zero by us (cutoffs 6/5 Å, n_max 4/4, basis 8/8, l_max 4/2/1, 80
neurons, the ZBL term 1–2 Å as UNEP-v1's), and TorchNEP's own fine-tuning of the same file
(``train_nep(finetune_from=UNEP-v1, slim_types=True)``, the same learning rate 1e-3 and otherwise
its defaults). Every run holds out 10 % of its training frames for validation, keeps its best
validation epoch, and is scored on the test frames with ``potential test`` (energy and force MAE; the
files are plain ``nep.txt``, evaluated exactly as CPUNEP does). Learning curves over 25, 50, 100 and
all training frames (one fixed shuffle). TorchNEP's run is given the wall time our fine-tuning run on
the same frames took, process start to end (our ``--time-limit`` counts training only). UNEP-v1 as
published (zero-shot) is scored too. The target:
fine-tuned on 50 frames ≤ from scratch on all frames on mlearn Mo, in energy and in force MAE.

``python benchmarks/nep_finetune.py [--quick] [--sets mo,cuau]`` (a set given alone reruns only it and
keeps the others from the committed json).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text

from _common import (machine_info, machine_line, markdown_table, now_iso, rich_table, run_cli,
                     update_markdown_section, write_json)

NAME = "nep_finetune"
HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "atoms"
UNEP = SHARED / "gpumd" / "potentials" / "Song-2024-UNEP-v1-AgAlAuCrCuMgMoNiPbPdPtTaTiVWZr.txt"
MO = SHARED / "mlearn" / "Mo"
SIZES = (25, 50, 100, None)  # None: every training frame
BUDGET_S, QUICK_BUDGET_S = 60.0, 8.0
#: UNEP-v1's architecture, for the from-scratch runs (the ZBL term as the file's: 1 to 2 Å).
SCRATCH = ["--cutoff", "6,5", "--n-max", "4,4", "--basis-size", "8,8", "--l-max", "4,2,1", "--neurons", "80",
           "--zbl", "1,2"]
FINE_TUNE = ["--slim", "--lr", "1e-3"]
KINDS = ("fine-tuned", "scratch", "TorchNEP fine-tuned")
PARALLEL_RUNS = 2
VALID_FRACTION = 0.1
#: Seconds a TorchNEP run's process takes before its clock starts (Python and PyTorch imports), measured
#: on this machine; subtracted so that its process wall equals our run's.
TORCHNEP_START_S = 1.0


def _datasets(work: Path, quick: bool, console: Console) -> dict[str, dict[str, Path]]:
    import _nep_data as data

    cuau = data.emt_datasets(work.parent / "nep_data", quick, console)["cuau"]
    return {"mo": {"train": MO / "train.xyz", "test": MO / "test.xyz"}, "cuau": cuau}


def _subset(frames_path: Path, n: int | None, out: Path) -> tuple[Path, int]:
    from ase.io import read, write

    frames = read(frames_path, ":")
    n = len(frames) if n is None or n > len(frames) else n
    order = np.random.default_rng(0).permutation(len(frames))[:n]
    write(out, [frames[k] for k in sorted(order)], format="extxyz")
    return out, n


def _score(model: Path, test: Path, out: Path) -> dict:
    run_cli(["potential", "test", model, test, "--out", out])
    metrics = json.loads((out / "metrics.json").read_text())
    return {k: metrics[k] for k in ("energy_mae_meV_atom", "force_mae_meV_A", "energy_rmse_meV_atom",
                                    "force_rmse_meV_A")}


def _command(kind: str, data: Path, out: Path, budget: float) -> list[str]:
    if kind == "TorchNEP fine-tuned":
        config = out.with_suffix(".job.json")
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps({"train": str(data), "out": str(out), "from": str(UNEP), "lr": 1e-3,
                                      "budget_s": budget, "valid_ratio": VALID_FRACTION, "seed": 0}))
        return [sys.executable, str(HERE / "_nep_runs.py"), "torchnep_finetune", str(config)]
    extra = ["--from", UNEP, *FINE_TUNE] if kind == "fine-tuned" else SCRATCH
    cli = Path(sys.executable).with_name("nnsurrogate")
    return [str(cli), "potential", "train", str(data), *map(str, extra), "--time-limit", str(budget),
            "--valid-fraction", str(VALID_FRACTION), "--threads", "1", "--quiet", "--out", str(out)]


def _train(job: dict) -> dict:
    """One training run in its own process; its wall and CPU seconds (children included)."""
    out = Path(job["out"])
    command = _command(job["kind"], Path(job["data"]), out, job["budget_s"])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    started = time.perf_counter()
    with open(out.with_suffix(".log"), "w") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall, cpu = time.perf_counter() - started, usage.ru_utime + usage.ru_stime
    model = out / "nep.txt" if job["kind"] != "TorchNEP fine-tuned" else out / "nep_best_snapshot.txt"
    if not model.exists():
        return {"failed": f"exit status {status}, no model written (see {out.with_suffix('.log').name})"}
    epochs = json.loads((out / "metrics.json").read_text())["epochs_run"] if (out / "metrics.json").exists() \
        else _torchnep_epochs(out)
    return {"wall_s": wall, "cpu_s": cpu, "epochs_run": epochs, "model": str(model)}


def _torchnep_epochs(out: Path) -> int:
    loss = out / "loss.out"
    rows = [r for r in loss.read_text().splitlines() if r.strip() and not r.startswith("#")] if loss.exists() else []
    return len(rows)


def _run_set(name: str, files: dict[str, Path], work: Path, budget: float, sizes, console: Console) -> dict:
    """Every kind at every size, :data:`PARALLEL_RUNS` processes at a time. TorchNEP's run stops when
    its process has run as long as our fine-tuning run on the same frames took (our ``--time-limit``
    counts training only, TorchNEP's clock starts before it reads the data), so both get the same wall."""
    jobs, seen = [], set()
    for size in sizes:
        data, n = _subset(files["train"], size, work / f"{name}_train_{size or 'all'}.xyz")
        if n in seen:
            continue
        seen.add(n)
        for kind in KINDS:
            tag = kind.replace(" ", "_")
            jobs.append({"set": name, "kind": kind, "n_frames": n, "data": str(data), "budget_s": budget,
                         "out": str(work / name / f"{tag}_{n}")})
    ours: dict[int, Future] = {}

    def one(job: dict) -> dict:
        if job["kind"] == "TorchNEP fine-tuned":  # ours on these frames started before this job (job order)
            mine = ours[job["n_frames"]].result()
            job = {**job, "budget_s": mine.get("wall_s", budget) - TORCHNEP_START_S}
        console.print(Text(f"  nep_finetune: {name}, {job['kind']}, {job['n_frames']} frames, "
                           f"{job['budget_s']:.0f} s …", style="dim"))
        Path(job["out"]).parent.mkdir(parents=True, exist_ok=True)
        run = _train(job)
        if "failed" not in run:
            run.update(_score(Path(run.pop("model")), files["test"], Path(job["out"]) / "test"))
        return {"kind": job["kind"], "n_frames": job["n_frames"], **run}

    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = []
        for job in jobs:
            futures.append(pool.submit(one, job))
            if job["kind"] == "fine-tuned":
                ours[job["n_frames"]] = futures[-1]
        runs = [f.result() for f in futures]
    zero = _score(UNEP, files["test"], work / name / "zero_shot")
    return {"zero_shot": zero, "runs": runs, "n_test": _count(files["test"])}


def _count(path: Path) -> int:
    from ase.io import read

    return len(read(path, ":"))


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console, sets=("mo", "cuau")) -> dict:
    """Zero-shot UNEP-v1, then fine-tuned, from-scratch and TorchNEP fine-tuned runs at each size."""
    if not (UNEP.is_file() and MO.is_dir()):
        result = {"benchmark": NAME, "skipped": "shared data not found", "targets": {}}
        write_json(Path(results_dir) / f"{NAME}.json", result)
        return result
    started, cpu = time.perf_counter(), time.process_time()
    budget = QUICK_BUDGET_S if quick else BUDGET_S
    sizes = SIZES[:2] if quick else SIZES
    work = HERE / "_work" / NAME
    work.mkdir(parents=True, exist_ok=True)
    files = _datasets(work, quick, console)
    path = Path(results_dir) / f"{NAME}.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    results = previous.get("sets", {}) if not quick and previous.get("protocol", {}).get("budget_s") == budget else {}
    for name in sets:
        results[name] = _run_set(name, files[name], work, budget, sizes, console)
    import torchnep

    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine_info(),
              "peer": {"torchnep": torchnep.__version__ if hasattr(torchnep, "__version__") else "installed"},
              "protocol": {"budget_s": budget, "threads": 1, "parallel_runs": PARALLEL_RUNS, "scratch": SCRATCH,
                           "fine_tune": FINE_TUNE, "torchnep": {"lr": 1e-3, "slim_types": True},
                           "sizes": [s or "all" for s in sizes], "valid_fraction": VALID_FRACTION},
              "sets": results}
    result["targets"] = targets(result)
    result["runtime_s"], result["runtime_cpu_s"] = time.perf_counter() - started, time.process_time() - cpu
    write_json(path, result)
    for name in results:
        console.print(_table(result, name))
    update_markdown_section(markdown_path, NAME, markdown(result))
    return result


def targets(result: dict) -> dict:
    """On mlearn Mo: fine-tuned on 50 frames ≤ from scratch on the most frames, energy and force MAE."""
    mo = result["sets"].get("mo")
    if not mo:
        return {}
    runs = {(r["kind"], r["n_frames"]): r for r in mo["runs"] if "failed" not in r}
    most = max(r["n_frames"] for r in mo["runs"])
    tuned, scratch = runs.get(("fine-tuned", 50)), runs.get(("scratch", most))
    if tuned is None or scratch is None:
        return {}
    met = all(tuned[k] <= scratch[k] for k in ("energy_mae_meV_atom", "force_mae_meV_A"))
    return {"finetune50_le_scratch_all": {
        "met": met, "target": f"mlearn Mo: fine-tuned on 50 frames ≤ scratch on {most} frames (energy and force MAE)",
        "fine_tuned_50": {k: tuned[k] for k in ("energy_mae_meV_atom", "force_mae_meV_A")},
        "scratch_all": {k: scratch[k] for k in ("energy_mae_meV_atom", "force_mae_meV_A")}}}


TITLES = {"mo": "mlearn Mo (PBE DFT)", "cuau": "EMT Cu–Au"}
HEADERS = ["model", "training frames", "test energy MAE (meV/atom)", "test force MAE (meV/Å)", "epochs",
           "wall / CPU s"]


def _rows(block: dict) -> list[list[str]]:
    z = block["zero_shot"]
    rows = [["UNEP-v1 as published", "0", f"{z['energy_mae_meV_atom']:.2f}", f"{z['force_mae_meV_A']:.1f}", "—", "—"]]
    for r in sorted(block["runs"], key=lambda r: (r["n_frames"], KINDS.index(r["kind"]))):
        if "failed" in r:
            rows.append([r["kind"], str(r["n_frames"]), "failed", r["failed"], "—", "—"])
            continue
        rows.append([r["kind"], str(r["n_frames"]), f"{r['energy_mae_meV_atom']:.2f}", f"{r['force_mae_meV_A']:.1f}",
                     str(r["epochs_run"]), f"{r['wall_s']:.0f} / {r['cpu_s']:.0f}"])
    return rows


def _table(result: dict, name: str):
    return rich_table(f"{TITLES[name]}: fine-tuned UNEP-v1, from scratch, TorchNEP fine-tuned", HEADERS,
                      _rows(result["sets"][name]))


def markdown(result: dict) -> str:
    p = result["protocol"]
    lines = ["## Fine-tuning a published NEP (UNEP-v1 on mlearn Mo and EMT Cu–Au)", "",
             f"{p['budget_s']:.0f} s of wall time per run on one thread ({p['parallel_runs']} runs at a time, one "
             "per core), 10 % of each training set held out for validation, scored on the test frames with "
             "`potential test`. Fine-tuned: `potential train --from UNEP-v1 --slim --lr 1e-3` (our default recipe "
             "otherwise); scratch: UNEP-v1's descriptor and network sizes (cutoffs 6/5 Å, n_max 4/4, basis 8/8, "
             "l_max 4/2/1, 80 neurons, `--zbl 1,2`); TorchNEP fine-tuned: `train_nep(finetune_from=UNEP-v1, "
             f"slim_types=True)`, lr 1e-3, its defaults otherwise (TorchNEP {result['peer']['torchnep']}), stopped "
             "when its process has run as long as our fine-tuning run on the same frames. "
             f"Machine: {machine_line(result['machine'])}."]
    for name, block in result["sets"].items():
        lines += ["", f"**{TITLES[name]}** ({block['n_test']} test frames)", "",
                  *markdown_table(HEADERS, _rows(block))]
    for key, t in result["targets"].items():
        lines += ["", f"Target `{key}` ({t['target']}): {'met' if t['met'] else 'missed'} — fine-tuned 50: "
                  f"{t['fine_tuned_50']['energy_mae_meV_atom']:.2f} meV/atom, {t['fine_tuned_50']['force_mae_meV_A']:.1f} "
                  f"meV/Å; scratch all: {t['scratch_all']['energy_mae_meV_atom']:.2f} meV/atom, "
                  f"{t['scratch_all']['force_mae_meV_A']:.1f} meV/Å."]
    return "\n".join(lines)


if __name__ == "__main__":  # python benchmarks/nep_finetune.py [--quick] [--sets mo,cuau]
    args = sys.argv[1:]
    chosen = args[args.index("--sets") + 1].split(",") if "--sets" in args else ["mo", "cuau"]
    root = HERE.parent
    run("--quick" in args, HERE / "results", root / "BENCHMARKS.md", Console(), tuple(chosen))
