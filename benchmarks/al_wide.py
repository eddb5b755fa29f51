"""Active learning where the configuration space is wide (issue 15): does selecting by uncertainty save
reference calculations, does the loop stop on its own rule, does the calibrated σ mean an error, and
does on-the-fly MD finish a run the starting model would leave?

Two systems with real reference calculators (:mod:`_al_wide_data`): an EMT Cu–Au alloy (bulk, a (100)
slab and a vacancy cell at 300, 900 and 1500 K, melting included) and ethanol with tblite's GFN2-xTB
(300, 600 and 1000 K). For each, a test set and a pool drawn by reference MD from the whole space
(every structure and temperature, seeds no run uses), and a few rattled starting frames.

Strategies, same committee (4 NEP), same training schedule, same labelling budget, seeds 0, 1, 2:

- ``uncertainty``: MD with the committee, label the frames of largest calibrated spread;
- ``diverse``: the same, the batch spread by farthest-point sampling in a pair-distance fingerprint space;
- ``random``: random frames from the same committee MD runs;
- ``pool_random``: random frames from the reference-MD pool (passive learning).

Every round labels 2 random MD frames (pool frames for ``pool_random``) to calibrate the committee's
spread (σ_cal = a σ^b); they count as labels. The target test force MAE is TARGET_OVER_FULL_POOL × that
of the committee trained on the whole pool; the calibrated stopping threshold THRESHOLD_OVER_TARGET ×
the target. Measured: the learning curves, labels to reach the target (median over seeds) and their
ratio against each random control, why each loop stopped, the test coverage of the calibrated σ, and
(alloy) on-the-fly MD at 1500 K from a committee trained on the 300 K pool frames alone.

Targets (issue 15): labels(uncertainty) / labels(random) ≤ 0.5 on both systems (stretch ≤ 0.2); the
loop stops on its uncertainty rule, not on the budget; 1σ / 2σ coverage within 0.6–0.75 / 0.9–0.97;
on-the-fly MD finishes where the guard alone stops, and its final committee meets the target.

``python benchmarks/al_wide.py [--quick] [--part cuau|ethanol|otf|report] [--seeds 0,1,2] [--workers 2]``: each part
merges its results into ``results/al_wide.json``; runs resume from ``_work/al_wide/``.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text

import _al_wide_data as D
from _bp_al_runs import parallel
from _common import machine_info, machine_line, markdown_table, now_iso, rich_table, update_markdown_section, write_json

NAME = "al_wide"
HERE = Path(__file__).resolve().parent
STRATEGIES = ("uncertainty", "diverse", "random", "pool_random")
SEEDS = (0, 1, 2)
RATIO_TARGET, RATIO_STRETCH = 0.5, 0.2
COVERAGE_WINDOWS = {"coverage_1sigma": (0.6, 0.75), "coverage_2sigma": (0.9, 0.97)}
OTF = {"steps": 2000, "temperature": 1500.0, "retrain_steps": 300, "max_labels": 60, "retrain_lr": 2e-3}


def _load(path: Path) -> dict:
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            pass
    return {"benchmark": NAME, "systems": {}}


def system_part(system: str, seeds, quick: bool, work: Path, console: Console, workers: int = 2) -> dict:
    """Reference data, the full-pool committee (the target), then every strategy for every seed."""
    spec = D.SYSTEMS[system]
    work = work / system
    data = D.reference_data(system, work, console, quick)
    al0 = D.al_settings(system, 1.0, quick)
    console.print(Text(f"  {NAME}: {system} committee on the whole pool …", style="dim"))
    saved = work / "full_pool.json"  # made once: a resumed part keeps the target and threshold its runs started with
    if saved.is_file():
        full = json.loads(saved.read_text(encoding="utf-8"))
    else:
        full = D.full_pool_committee(system, data, al0, spec["train"], str(work), quick)
        saved.write_text(json.dumps(full, indent=1), encoding="utf-8")
    target = D.TARGET_OVER_FULL_POOL * full["test"]["force_mae_meV_A"]
    threshold = D.THRESHOLD_OVER_TARGET * target / 1000.0
    al = D.al_settings(system, threshold, quick)
    jobs = [(D.one_run, system, strategy, seed, data, al, spec["train"], str(work))
            for seed in seeds for strategy in STRATEGIES]
    console.print(Text(f"  {NAME}: {system}, {len(jobs)} active-learning runs, {workers} at a time …", style="dim"))
    started = time.perf_counter()
    runs = parallel(jobs, workers)
    return {"title": spec["title"], "settings": json.loads(json.dumps({"al": al, "train": spec["train"]}, default=list)),
            "data": {k: _count(v) for k, v in data.items()}, "full_pool": full, "target_force_mae_meV_A": target,
            "threshold_eV_A": threshold, "runs": runs, "wall_s": time.perf_counter() - started}


def _count(path: str) -> int:
    from ase.io import read

    return len(read(path, ":"))


def otf_part(quick: bool, work: Path, results: dict, console: Console) -> dict:
    """Alloy at 1500 K: a committee trained on the 300 K pool frames; the guard alone, then on the fly."""
    import numpy as np
    from ase.io import read, write

    from _common import run_cli

    cuau = results["systems"].get("cuau")
    if cuau is None:
        raise SystemExit("run --part cuau first (its data, target and threshold)")
    folder = work / "cuau"
    pool_cold = [f for f in read(folder / "pool.xyz", ":") if f.info.get("config_type", "").endswith("_300K")]
    valid = pool_cold[::3]  # calibration frames the committee does not train on
    cold = read(folder / "initial.xyz", ":") + [f for k, f in enumerate(pool_cold) if k % 3]
    out = folder / "otf"
    out.mkdir(parents=True, exist_ok=True)
    write(out / "cold.xyz", cold, format="extxyz")
    write(out / "start.xyz", D.structures("cuau")[0], format="extxyz")
    s, al = cuau["settings"], cuau["settings"]["al"]
    console.print(Text(f"  {NAME}: committee on {len(cold)} frames at 300 K …", style="dim"))
    steps = 40 if quick else 6000
    if not (out / "cold" / "committee" / "committee.json").is_file():
        run_cli(["potential", "committee", out / "cold.xyz", "--out", out / "cold", "--members", al["committee"],
                 "--epochs", max(1, math.ceil(steps / math.ceil(len(cold) / s["train"]["batch_size"]))),
                 "--batch-size", s["train"]["batch_size"], "--lambda-v", s["train"]["lambda_v"], "--quiet",
                 *_hyper_flags(al["hyper"])])
        write(out / "valid_cold.xyz", valid, format="extxyz")
        run_cli(["potential", "calibrate", out / "cold" / "committee", out / "valid_cold.xyz"])
    threshold = cuau["threshold_eV_A"]
    md = ["potential", "md", out / "cold" / "committee", out / "start.xyz", "--ensemble", "nvt", "--temperature",
          OTF["temperature"], "--timestep", 2.0, "--steps", 50 if quick else OTF["steps"], "--friction", 0.02,
          "--uncertainty-stop", threshold, "--quiet"]
    from nnsurrogate.cli.main import run as cli

    console.print(Text(f"  {NAME}: MD at 1500 K with the guard alone …", style="dim"))
    guard_code = cli([str(a) for a in [*md, "--out", out / "guard"]])
    guard = json.loads((out / "guard" / "md.json").read_text())
    console.print(Text(f"  {NAME}: MD at 1500 K labelling on the fly …", style="dim"))
    wall, cpu = time.perf_counter(), time.process_time()
    fly_code = cli([str(a) for a in [*md, "--out", out / "fly", "--label-on-the-fly", "emt", "--train-data",
                                     out / "cold.xyz", "--max-labels", 4 if quick else OTF["max_labels"],
                                     "--retrain-steps", 10 if quick else OTF["retrain_steps"], "--retrain-lr",
                                     OTF["retrain_lr"], "--resume"]])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    fly = json.loads((out / "fly" / "md.json").read_text())
    from nnsurrogate.atomistic.active_learning import test_errors
    from nnsurrogate.atomistic.committee import load_committee_calculator
    from nnsurrogate.atomistic.data import read_frames

    test = read_frames(folder / "test.xyz", cutoff=5.0)
    errors = {name: test_errors(load_committee_calculator(path), test)
              for name, path in (("cold", out / "cold" / "committee"), ("final", out / "fly" / "committee"))}
    spread = np.genfromtxt(out / "fly" / "uncertainty.csv", delimiter=",", names=True)
    return {"settings": {**OTF, "threshold_eV_A": threshold, "n_cold_frames": len(cold), "cold_steps": steps},
            "guard": {"exit_code": guard_code, "steps_done": guard["steps_done"], "stopped": guard["stopped"],
                      "stop_kind": guard.get("stop_kind")},
            "on_the_fly": {"exit_code": fly_code, "steps_done": fly["steps_done"], "status": fly["status"],
                           "n_labels": fly["n_labels"], "labelled_steps": fly["labelled_steps"],
                           "stopped": fly.get("stopped"), "wall_s": wall, "cpu_s": cpu,
                           "max_force_std_eV_A": float(np.max(spread["max_force_std_eV_A"]))},
            "test": errors, "target_force_mae_meV_A": cuau["target_force_mae_meV_A"]}


def _hyper_flags(hyper: dict) -> list:
    flags = []
    for key, value in hyper.items():
        flag = "--" + key.replace("_", "-")
        flags += [flag, ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value]
    return flags


# ------------------------------------------------------------------------------------------ analysis
def labels_needed(curve: list[dict], target: float) -> int | None:
    from nnsurrogate.atomistic.active_learning import labels_to_reach

    return labels_to_reach(curve, target)


def _median(values: list) -> float | None:
    """Median, a run that never reached the target counting as infinitely many labels (None: that)."""
    if not values:
        return None
    m = statistics.median([math.inf if v is None else v for v in values])
    return None if math.isinf(m) else m


def analyse(part: dict) -> dict:
    """Per strategy: labels needed per seed and their median, stop reasons, final calibration coverage;
    the ratios of uncertainty and diverse against both random controls."""
    target = part["target_force_mae_meV_A"]
    out = {}
    for strategy in STRATEGIES:
        runs = [r for r in part["runs"] if r["strategy"] == strategy]
        needed = [labels_needed(r["curve"], target) for r in runs]
        last = [next((c for c in reversed(r["curve"]) if "coverage_1sigma" in c), None) for r in runs]
        out[strategy] = {"per_seed": needed, "median": _median(needed),
                         "stopped_on_rule": [r["status"] == "converged" for r in runs],
                         "status": [r["status"] for r in runs], "n_labels": [r["n_labels"] for r in runs],
                         "coverage_1sigma": [c["coverage_1sigma"] if c else None for c in last],
                         "coverage_2sigma": [c["coverage_2sigma"] if c else None for c in last]}
    for name in ("uncertainty", "diverse"):
        for control in ("random", "pool_random"):
            a, b = out[name]["median"], out[control]["median"]
            out[f"ratio_{name}_vs_{control}"] = a / b if a is not None and b is not None else None
    return out


def targets(result: dict) -> dict:
    t = {}
    for system, part in result["systems"].items():
        a = part["analysis"]
        ratio = a["ratio_uncertainty_vs_random"]
        t[f"{system}_label_ratio"] = {"measured": ratio, "target": f"≤ {RATIO_TARGET} (stretch ≤ {RATIO_STRETCH})",
                                      "met": ratio is not None and ratio <= RATIO_TARGET,
                                      "stretch_met": ratio is not None and ratio <= RATIO_STRETCH}
        t[f"{system}_stops_on_rule"] = {"measured": a["uncertainty"]["status"], "target": "converged, not budget",
                                        "met": all(a["uncertainty"]["stopped_on_rule"])}
        for key, (low, high) in COVERAGE_WINDOWS.items():
            values = [v for v in a["uncertainty"][key] if v is not None]
            med = statistics.median(values) if values else None
            t[f"{system}_{key}"] = {"measured": med, "target": f"{low}–{high}",
                                    "met": med is not None and low <= med <= high}
    otf = result.get("otf")
    if otf:
        final = otf["test"]["final"]["force_mae_meV_A"]
        t["otf_finishes_where_the_guard_stops"] = {
            "measured": {"guard": otf["guard"]["stop_kind"], "on_the_fly": otf["on_the_fly"]["status"],
                         "final_force_mae_meV_A": final},
            "target": "guard alone stops on the spread; on the fly finishes; final test F MAE ≤ target",
            "met": otf["guard"]["stop_kind"] == "spread" and otf["on_the_fly"]["status"] == "finished"
            and final <= otf["target_force_mae_meV_A"]}
    return t


# -------------------------------------------------------------------------------------------- report
def _fmt(value, spec: str = ".3g") -> str:
    return "—" if value is None else format(value, spec)


def _curve(run: dict) -> str:
    return ", ".join(f"{c['n_labels']}: {_fmt(c.get('force_mae_meV_A'), '.0f')}" for c in run["curve"])


def rows(part: dict) -> list[list[str]]:
    target, out = part["target_force_mae_meV_A"], []
    for r in sorted(part["runs"], key=lambda r: (STRATEGIES.index(r["strategy"]), r["seed"])):
        out.append([r["strategy"], str(r["seed"]), _fmt(labels_needed(r["curve"], target), "d"), str(r["n_labels"]),
                    r["status"], f"{r['cpu_s'] / 60:.0f}", _curve(r)])
    return out


HEADERS = ("strategy", "seed", "labels to target", "labels spent", "stopped", "CPU min", "labels: test F MAE (meV/Å)")


def plot_curves(path: Path, part: dict) -> None:
    """Test force MAE against labels: the median over seeds per strategy, the band between min and max."""
    import numpy as np

    from nnsurrogate.core.plots import new_figure, save_figure

    fig, ax = new_figure(figsize=(6, 4), dpi=120)
    for strategy in STRATEGIES:
        runs = [r for r in part["runs"] if r["strategy"] == strategy]
        grid = sorted({c["n_labels"] for r in runs for c in r["curve"]})
        if not grid:
            continue
        values = np.array([[np.interp(n, [c["n_labels"] for c in r["curve"]], [c["force_mae_meV_A"] for c in r["curve"]],
                                      right=np.nan) for n in grid] for r in runs])
        ax.plot(grid, np.nanmedian(values, axis=0), "o-", ms=3, label=strategy)
        ax.fill_between(grid, np.nanmin(values, axis=0), np.nanmax(values, axis=0), alpha=0.15)
    ax.axhline(part["target_force_mae_meV_A"], color="k", ls="--", lw=1, label="target")
    ax.set_xlabel("reference calculations (labels)")
    ax.set_ylabel("test force MAE (meV/Å)")
    ax.set_yscale("log")
    ax.set_title(part["title"], fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def markdown(result: dict) -> str:
    lines = ["## Active learning on wide configuration spaces (`al_wide`, issue 15)", "",
             f"Machine: {machine_line(result['machine'])}; two runs at a time, one thread each.",
             "Strategies: `uncertainty` (largest calibrated committee spread from committee MD), `diverse` (the same, "
             "batch spread in a pair-distance fingerprint space), `random` (random frames of the same committee MD), "
             "`pool_random` (random frames of the reference-MD pool). Committee of 4 NEP, same schedule and budget; "
             "2 random frames per round calibrate the spread and count as labels. Target: "
             f"{D.TARGET_OVER_FULL_POOL:g}× the test force MAE of the committee trained on the whole pool; stopping "
             f"threshold on the calibrated σ: {D.THRESHOLD_OVER_TARGET:g}× the target."]
    for system, part in result["systems"].items():
        a = part["analysis"]
        lines += ["", f"### {part['title']}", "",
                  f"Data: {part['data']['initial']} initial, {part['data']['pool']} pool, {part['data']['test']} test "
                  f"frames. Full-pool committee: test force MAE {part['full_pool']['test']['force_mae_meV_A']:.1f} "
                  f"meV/Å → target {part['target_force_mae_meV_A']:.1f} meV/Å, threshold "
                  f"{part['threshold_eV_A']:.3f} eV/Å.", "", *markdown_table(HEADERS, rows(part)), "",
                  "Median labels to the target: " + ", ".join(f"{s} {_fmt(a[s]['median'], '.0f')}" for s in STRATEGIES)
                  + ". Ratios: " + ", ".join(f"{k[6:].replace('_vs_', ' ÷ ')} {_fmt(v, '.2f')}" for k, v in a.items()
                                             if k.startswith("ratio_")) + ".",
                  f"![learning curves]({'results/' + NAME + '_' + system + '.png'})"]
    if result.get("otf"):
        o = result["otf"]
        lines += ["", "### On-the-fly MD, Cu–Au bulk at 1500 K", "",
                  f"Committee trained on {o['settings']['n_cold_frames']} frames at 300 K (the initial ones and two "
                  f"thirds of the 300 K pool; calibrated on the other third), threshold {o['settings']['threshold_eV_A']:.3f} eV/Å, "
                  f"{o['settings']['steps']} steps of 2 fs. Guard alone: {o['guard']['stopped'] or 'finished'} "
                  f"({o['guard']['steps_done']} steps). On the fly: {o['on_the_fly']['status']} after "
                  f"{o['on_the_fly']['steps_done']} steps, {o['on_the_fly']['n_labels']} EMT labels, "
                  f"{o['on_the_fly']['cpu_s'] / 60:.0f} CPU min. Test force MAE (all structures and temperatures): "
                  f"start {o['test']['cold']['force_mae_meV_A']:.1f}, final {o['test']['final']['force_mae_meV_A']:.1f} "
                  f"meV/Å (target {o['target_force_mae_meV_A']:.1f})."]
    lines += ["", "Targets:", ""]
    for key, t in result["targets"].items():
        lines.append(f"- `{key}` ({t['target']}): {'met' if t['met'] else 'MISSED'} — measured {t['measured']}")
    return "\n".join(lines)


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console, part: str = "all",
        seeds=SEEDS, workers: int = 2) -> dict:
    work = HERE / "_work" / (NAME + ("_quick" if quick else ""))
    path = Path(results_dir) / f"{NAME}.json"
    result = _load(path)
    started = time.perf_counter()
    for system in ("cuau", "ethanol"):  # every frame is computed here: no shared data needed
        if part in ("all", system):
            new = system_part(system, seeds if not quick else (0,), quick, work, console, workers)
            old = result["systems"].get(system, {}).get("runs", [])
            done = {(r["strategy"], r["seed"]) for r in new["runs"]}
            new["runs"] = [r for r in old if (r["strategy"], r["seed"]) not in done] + new["runs"]
            new["analysis"] = analyse(new)
            result["systems"][system] = new
            write_json(path, result)
    if part in ("all", "otf"):
        result["otf"] = otf_part(quick, work, result, console)
    result.update({"created": now_iso(), "quick": quick, "machine": machine_info()})
    result["targets"] = targets(result)
    result["runtime_s"] = result.get("runtime_s", 0.0) + time.perf_counter() - started
    write_json(path, result)
    for system, data in result["systems"].items():
        console.print(rich_table(f"{data['title']}: target {data['target_force_mae_meV_A']:.1f} meV/Å", HEADERS,
                                 rows(data)))
        plot_curves(Path(results_dir) / f"{NAME}_{system}.png", data)
    update_markdown_section(markdown_path, NAME, markdown(result))
    return result


def _option(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


if __name__ == "__main__":  # python benchmarks/al_wide.py [--quick] [--part …] [--seeds 0,1,2] [--workers 2]
    quick = "--quick" in sys.argv
    run(quick, HERE / ("_work/results" if quick else "results"),
        HERE / "_work" / "BENCHMARKS.md" if quick else HERE.parent / "BENCHMARKS.md", Console(),
        _option("--part", "all"), tuple(int(s) for s in _option("--seeds", "0,1,2").split(",")),
        int(_option("--workers", "2")))
