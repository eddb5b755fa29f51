"""The command line as a newcomer meets it (issue 18): start-up time, and table cv on matbench_steels under load.

Protocol (one process drives every measurement as a subprocess of ``.venv/bin/nnsurrogate``; CPU
seconds are the child's user + system time from ``resource.getrusage(RUSAGE_CHILDREN)``):

* ``--help``: wall and CPU time of ``nnsurrogate --help`` and of ``nnsurrogate GROUP --help`` for every
  group, median of 5 runs each (targets: ≤ 0.5 s wall on an idle machine; the CPU of these runs is
  the start-up cost every command pays before its own work, target ≤ 1.5 s);
* ``table predict`` of a saved numeric-table model (the thin-film surrogate, 2 members) on 100 rows,
  the whole command: start-up, importing what the model needs (PyTorch, scikit-learn), loading,
  predicting and writing;
* ``table cv`` of ``matbench_steels`` through the command line (``--formula-column formula
  --protocol matbench``, defaults otherwise), CPU seconds of the whole run, once on the idle machine
  and once beside a busy neighbour (a second process spinning on one core for the whole run), each
  with the default ``--threads`` (the cores the process may use) and with ``--threads 1``; the
  reference is the CPU time of the same default model in ``benchmarks/steels.py`` (five folds, one
  thread) measured in this run (target: the command line within 1.5× of it, idle and loaded).
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from _common import machine_info, now_iso, publish, section_markdown, standalone_outputs
from matbench import DATA, _load, _options, _ours
from nnsurrogate.core.splits import CVSpec, cv_folds

NAME = "cli"
HERE = Path(__file__).resolve().parent
CLI = HERE.parent / ".venv" / "bin" / "nnsurrogate"
WORK = HERE / "_work" / NAME
GROUPS = ("table", "potential", "crystal", "pde", "symbolic", "gas2d", "spectra", "data")
HELP_REPEATS = 5
HELP_TARGET_S, STARTUP_TARGET_CPU_S, CV_RATIO_TARGET = 0.5, 1.5, 1.5


def _child(argv: list[str], env_threads: str | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system of the child) and exit code of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([str(CLI), *argv], capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()[-400:]}")
    return wall, cpu, done.returncode


def _help_times() -> dict:
    out = {}
    for group in ("", *GROUPS):
        argv = [group, "--help"] if group else ["--help"]
        runs = [_child(argv) for _ in range(HELP_REPEATS)]
        out[group or "nnsurrogate"] = {"median_s": statistics.median(r[0] for r in runs),
                                       "max_s": max(r[0] for r in runs), "cpu_s": statistics.median(r[1] for r in runs)}
    return out


def _predict_cpu() -> dict:
    from nnsurrogate.tabular.thin_film import sample_thin_film

    WORK.mkdir(parents=True, exist_ok=True)
    films, new = WORK / "films.csv", WORK / "new_films.csv"
    sample_thin_film(400, seed=0).to_csv(films, index=False)
    sample_thin_film(100, seed=1).drop(columns=["kappa_W_mK"]).to_csv(new, index=False)
    run = WORK / "films_run"
    _child(["table", "train", str(films), "--target", "kappa_W_mK", "--log-target", "--members", "2", "--epochs", "30",
            "--out", str(run), "--quiet"])
    rows = [_child(["table", "predict", str(run), str(new), "--out", str(WORK / f"pred{k}.csv")]) for k in range(3)]
    return {"cpu_s": statistics.median(r[1] for r in rows), "wall_s": statistics.median(r[0] for r in rows)}


def _reference_cpu() -> float:
    """CPU seconds of the default model on the five Matbench folds, in this process with one thread."""
    from nnsurrogate.core.threads import set_process_threads

    set_process_threads(1)
    ds = _load("matbench_steels.csv", "formula", "target", "regress", False)
    return float(sum(_ours(ds, tr, te, _options(False))["cpu_s"] for tr, te in cv_folds(CVSpec("matbench", 5), len(ds))))


def _cv_run(threads: int | None, busy: bool, tag: str) -> dict:
    out = WORK / f"cv_{tag}"
    argv = ([] if threads is None else ["--threads", str(threads)]) + [
        "table", "cv", str(DATA / "matbench_steels.csv"), "--target", "target", "--formula-column", "formula",
        "--protocol", "matbench", "--out", str(out), "--quiet"]
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        wall, cpu, _ = _child(argv)
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    mae = metrics.get("mae_mean", metrics.get("mae"))
    return {"threads": threads or "default", "busy_neighbour": busy, "wall_s": wall, "cpu_s": cpu, "mae": mae}


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    started = time.perf_counter()
    console.print(f"  {NAME}: --help times …", style="dim")
    helps = _help_times()
    console.print(f"  {NAME}: table predict CPU …", style="dim")
    predict = _predict_cpu()
    earlier = results_dir / f"{NAME}.json"
    if "--reuse-cv" in sys.argv and earlier.is_file():  # the slow part, from the previous run on this machine
        kept = json.loads(earlier.read_text(encoding="utf-8"))
        reference, cases, cv_created = kept["reference_cpu_s"], kept["cv"], kept.get("cv_created", kept["created"])
    else:
        console.print(f"  {NAME}: reference CPU of the steels benchmark's default model …", style="dim")
        reference = _reference_cpu()
        cases = []
        for threads, busy in ((None, False), (1, False), (None, True), (1, True)):
            console.print(f"  {NAME}: table cv steels, threads {threads or 'default'}, busy neighbour {busy} …",
                          style="dim")
            cases.append(_cv_run(threads, busy, f"{threads or 'default'}_{'busy' if busy else 'idle'}"))
        cv_created = now_iso()
    worst_help = max(h["median_s"] for h in helps.values())
    startup_cpu = max(h["cpu_s"] for h in helps.values())
    default_cases = [c for c in cases if c["threads"] == "default"]
    targets = {
        "help_under_0.5s": {"target": f"every --help ≤ {HELP_TARGET_S} s (median of {HELP_REPEATS})",
                            "value": worst_help, "met": bool(worst_help <= HELP_TARGET_S)},
        "startup_under_1.5cpu_s": {"target": f"start-up before a command's own work (CPU of --help) ≤ "
                                             f"{STARTUP_TARGET_CPU_S} CPU-s", "value": startup_cpu,
                                   "met": bool(startup_cpu <= STARTUP_TARGET_CPU_S)},
        "cv_within_1.5x": {"target": f"table cv steels via the CLI, default threads, ≤ {CV_RATIO_TARGET}× the "
                                     "benchmark's CPU, idle and beside a busy neighbour",
                           "value": [c["cpu_s"] / reference for c in default_cases],
                           "met": bool(all(c["cpu_s"] <= CV_RATIO_TARGET * reference for c in default_cases))},
    }
    result = {"name": NAME, "created": now_iso(), "quick": quick, "machine": machine_info(), "help": helps,
              "predict": predict, "reference_cpu_s": reference, "cv": cases, "cv_created": cv_created, "targets": targets,
              "runtime_s": round(time.perf_counter() - started, 1)}
    return publish(NAME, result, results_dir, markdown_path, console, "command line: start-up and threads", _table,
                   markdown)


def _table(result: dict):
    headers = ["measurement", "wall s", "CPU s", "note"]
    rows = [[f"`{'nnsurrogate' if k == 'nnsurrogate' else 'nnsurrogate ' + k} --help` (median of {HELP_REPEATS})",
             f"{v['median_s']:.2f}", f"{v['cpu_s']:.2f}", f"max {v['max_s']:.2f} s"] for k, v in result["help"].items()]
    p = result["predict"]
    rows.append(["`table predict`, 100 rows, numeric model (whole command)", f"{p['wall_s']:.2f}", f"{p['cpu_s']:.2f}",
                 "importing PyTorch and scikit-learn for the model is most of it"])
    rows.append(["steels, default model in `benchmarks/steels.py` (5 folds, 1 thread, reference)", "—",
                 f"{result['reference_cpu_s']:.0f}", "1.00×"])
    for c in result["cv"]:
        rows.append([f"`table cv` steels via the CLI, threads {c['threads']}, "
                     f"{'busy neighbour' if c['busy_neighbour'] else 'idle'}", f"{c['wall_s']:.0f}", f"{c['cpu_s']:.0f}",
                     f"{c['cpu_s'] / result['reference_cpu_s']:.2f}×; MAE {c['mae']:.2f} MPa"])
    return headers, rows


def markdown(result: dict) -> str:
    lines = []
    for t in result["targets"].values():
        value = ", ".join(f"{v:.2f}×" for v in t["value"]) if isinstance(t["value"], list) else f"{t['value']:.2f}"
        lines.append(f"{t['target']}: {'met' if t['met'] else 'MISSED'} — {value}")
    intro = __doc__.split("\n\n", 1)[1].strip() + (
        f" The `table cv` rows and their reference were measured at {result['cv_created']} "
        "(`--reuse-cv` keeps them when only the start-up part is rerun).")
    return section_markdown(f"## Command line: start-up and threads (`benchmarks/{NAME}.py`)", intro, _table(result),
                            lines, result, NAME)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    run(quick, *standalone_outputs(quick), Console(width=150))

