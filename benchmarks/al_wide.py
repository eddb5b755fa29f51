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
RULE_FACTORS = (2.0, 3.0, 4.0)  # stopping thresholds (× the target MAE) evaluated after the fact
COVERAGE_WINDOWS = {"coverage_1sigma": (0.6, 0.75), "coverage_2sigma": (0.9, 0.97)}
#: On-the-fly MD: per structure 2000 steps of 2 fs at 1500 K, at most 40 labels, 300 warm Adam steps after each.
#: The guard compares one step's largest calibrated per-atom σ with 3× the target MAE: at the target every atom's
#: σ_cal ≈ 1.25× the MAE, and the most uncertain of 20–32 atoms sits about 2× above the mean.
OTF = {"steps": 2000, "temperature": 1500.0, "retrain_steps": 300, "max_labels": 40, "retrain_lr": 2e-3,
       "threshold_over_target": 3.0}


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
    """Alloy at 1500 K: a committee trained on the 300 K frames alone; per structure (bulk, slab, vacancy)
    MD with the guard alone, then a chain of on-the-fly runs (each continues the previous one's committee,
    training frames and calibration, refitting the calibration's scale on every label)."""
    from ase.io import read, write

    cuau = results["systems"].get("cuau")
    if cuau is None:
        raise SystemExit("run --part cuau first (its data, target and threshold)")
    folder = work / "cuau"
    out = folder / "otf"
    out.mkdir(parents=True, exist_ok=True)
    cold = _cold_committee(folder, out, cuau, quick, console)
    target = cuau["target_force_mae_meV_A"]
    threshold = OTF["threshold_over_target"] * target / 1000.0
    names = ("bulk", "slab", "vacancy")
    from nnsurrogate.cli.main import run as cli

    guards, flights, model, data = {}, {}, out / "cold" / "committee", out / "cold.xyz"
    for name, atoms in zip(names, D.structures("cuau")):
        write(out / f"start_{name}.xyz", atoms, format="extxyz")
        md = ["potential", "md", None, out / f"start_{name}.xyz", "--ensemble", "nvt", "--temperature",
              OTF["temperature"], "--timestep", 2.0, "--steps", 50 if quick else OTF["steps"], "--friction", 0.02,
              "--uncertainty-stop", threshold, "--seed", 5, "--quiet"]
        console.print(Text(f"  {NAME}: {name} at 1500 K, the 300 K committee with the guard alone …", style="dim"))
        md[2] = out / "cold" / "committee"
        code = cli([str(a) for a in [*md, "--out", out / f"guard_{name}"]])
        guards[name] = {"exit_code": code, **_md_json(out / f"guard_{name}")}
        console.print(Text(f"  {NAME}: {name} at 1500 K labelling on the fly …", style="dim"))
        md[2] = model
        wall, cpu = time.perf_counter(), time.process_time()
        code = cli([str(a) for a in [*md, "--out", out / f"fly_{name}", "--label-on-the-fly", "emt", "--train-data",
                                     data, "--max-labels", 4 if quick else OTF["max_labels"], "--retrain-steps",
                                     10 if quick else OTF["retrain_steps"], "--retrain-lr", OTF["retrain_lr"],
                                     "--recalibrate", "--resume"]])
        flights[name] = {"exit_code": code, **_md_json(out / f"fly_{name}"), "wall_s": time.perf_counter() - wall,
                         "cpu_s": time.process_time() - cpu}
        model, data = out / f"fly_{name}" / "committee", out / f"fly_{name}" / "data.xyz"
    return {"settings": {**OTF, "threshold_eV_A": threshold, **cold}, "guard": guards, "on_the_fly": flights,
            "test": _otf_test(folder, out, names, model), "target_force_mae_meV_A": target}


def _cold_committee(folder: Path, out: Path, cuau: dict, quick: bool, console: Console) -> dict:
    """The committee of the 300 K frames (the initial ones and two thirds of the 300 K pool), calibrated on
    the other third; made once."""
    from ase.io import read, write

    from _common import run_cli

    pool_cold = [f for f in read(folder / "pool.xyz", ":") if f.info.get("config_type", "").endswith("_300K")]
    valid = pool_cold[::3]  # calibration frames the committee does not train on
    cold = read(folder / "initial.xyz", ":") + [f for k, f in enumerate(pool_cold) if k % 3]
    s, al = cuau["settings"], cuau["settings"]["al"]
    steps = 40 if quick else 6000
    if not (out / "cold" / "committee" / "committee.json").is_file():
        console.print(Text(f"  {NAME}: committee on {len(cold)} frames at 300 K …", style="dim"))
        write(out / "cold.xyz", cold, format="extxyz")
        run_cli(["potential", "committee", out / "cold.xyz", "--out", out / "cold", "--members", al["committee"],
                 "--epochs", max(1, math.ceil(steps / math.ceil(len(cold) / s["train"]["batch_size"]))),
                 "--batch-size", s["train"]["batch_size"], "--lambda-v", s["train"]["lambda_v"], "--quiet",
                 *_hyper_flags(al["hyper"])])
        write(out / "valid_cold.xyz", valid, format="extxyz")
        run_cli(["potential", "calibrate", out / "cold" / "committee", out / "valid_cold.xyz"])
    return {"n_cold_frames": len(cold), "n_calibration_frames": len(valid), "cold_steps": steps}


def _md_json(folder: Path) -> dict:
    """What a report needs of an MD run's ``md.json`` and ``uncertainty.csv``."""
    import numpy as np

    md = json.loads((folder / "md.json").read_text(encoding="utf-8"))
    spread = np.genfromtxt(folder / "uncertainty.csv", delimiter=",", names=True)
    keep = ("steps_done", "stopped", "stop_kind", "status", "n_labels", "labelled_steps")
    return {**{k: md.get(k) for k in keep}, "max_force_std_eV_A": float(np.max(spread["max_force_std_eV_A"]))}


def _otf_test(folder: Path, out: Path, names, final: Path) -> dict:
    """Test errors of the 300 K committee and of the last on-the-fly one: on every test frame, and per
    structure on its 1500 K test frames; with the calibrated coverage."""
    from nnsurrogate.atomistic.active_learning import test_errors
    from nnsurrogate.atomistic.committee import load_committee_calculator
    from nnsurrogate.atomistic.data import read_frames

    test = read_frames(folder / "test.xyz", cutoff=5.0)
    subsets = {"all": test, **{f"{name}_1500K": [f for f in test if f.info.get("config_type") == f"md_{k}_1500K"]
                               for k, name in enumerate(names)}}
    out_errors = {}
    for label, path in (("cold", out / "cold" / "committee"), ("final", final)):
        calculator = load_committee_calculator(path)
        out_errors[label] = {key: test_errors(calculator, frames) for key, frames in subsets.items() if frames}
    return out_errors


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


def rule_fires(curve: list[dict], threshold: float) -> dict | None:
    """The first round whose MD all finished with every calibrated σ ≤ *threshold* (eV/Å): where the
    stopping rule at that threshold fires (labels spent, the test force MAE of that round's committee);
    ``None``: never within the budget. Exact after the fact for a run to the budget, whose selection
    does not depend on the threshold."""
    for row in curve:
        u = row.get("max_force_std_eV_A")
        if u is not None and row.get("md_stable", True) and u <= threshold:
            return {"n_labels": row["n_labels"], "force_mae_meV_A": row.get("force_mae_meV_A")}
    return None


def _at_labels(curve: list[dict], n: int) -> float | None:
    """Test force MAE of the last round with at most *n* labels."""
    rows = [c for c in curve if c["n_labels"] <= n and c.get("force_mae_meV_A") is not None]
    return rows[-1]["force_mae_meV_A"] if rows else None


def analyse(part: dict) -> dict:
    """Per strategy: labels needed per seed and their median, where the stopping rule fires (at the run's
    threshold and at RULE_FACTORS × the target), the MAE at a common budget, the final calibration coverage;
    the ratios of uncertainty and diverse against both random controls (an upper bound where the control
    never reached the target: its median labels are then more than its budget)."""
    target = part["target_force_mae_meV_A"]
    budget = min(r["n_labels"] for r in part["runs"])
    out = {"common_budget": budget}
    for strategy in STRATEGIES:
        runs = [r for r in part["runs"] if r["strategy"] == strategy]
        needed = [labels_needed(r["curve"], target) for r in runs]
        last = [next((c for c in reversed(r["curve"]) if "coverage_1sigma" in c), None) for r in runs]
        rule = {f"{f:g}x": [rule_fires(r["curve"], f * target / 1000.0) for r in runs] for f in RULE_FACTORS}
        out[strategy] = {"per_seed": needed, "median": _median(needed), "budget": [r["n_labels"] for r in runs],
                         "rule": rule, "rule_fired": [rule_fires(r["curve"], part["threshold_eV_A"]) for r in runs],
                         "status": [r["status"] for r in runs], "n_labels": [r["n_labels"] for r in runs],
                         "mae_at_budget": _median_of([_at_labels(r["curve"], budget) for r in runs]),
                         "mae_at_half_budget": _median_of([_at_labels(r["curve"], budget // 2) for r in runs]),
                         "coverage_1sigma": [c["coverage_1sigma"] if c else None for c in last],
                         "coverage_2sigma": [c["coverage_2sigma"] if c else None for c in last]}
    for name in ("uncertainty", "diverse"):
        for control in ("random", "pool_random"):
            a, b = out[name]["median"], out[control]["median"]
            ratio = {"value": a / b if a is not None and b is not None else None, "bound": None}
            if a is not None and b is None:  # the control never got there in the median seed: < a / its budget
                ratio["bound"] = a / max(out[control]["budget"])
            out[f"ratio_{name}_vs_{control}"] = ratio
    return out


def _median_of(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ratio_text(ratio: dict | None) -> str:
    if not ratio:
        return "—"
    if ratio["value"] is not None:
        return f"{ratio['value']:.2f}"
    return f"< {ratio['bound']:.2f}" if ratio["bound"] is not None else "—"


def targets(result: dict) -> dict:
    t = {}
    for system, part in result["systems"].items():
        a = part["analysis"]
        ratio = a["ratio_uncertainty_vs_random"]
        best = ratio["value"] if ratio["value"] is not None else ratio["bound"]
        t[f"{system}_label_ratio"] = {"measured": _ratio_text(ratio),
                                      "target": f"≤ {RATIO_TARGET} (stretch ≤ {RATIO_STRETCH})",
                                      "met": best is not None and best <= RATIO_TARGET,
                                      "stretch_met": best is not None and best <= RATIO_STRETCH}
        fired = a["uncertainty"]["rule_fired"]
        t[f"{system}_stops_on_rule"] = {
            "measured": "; ".join("never" if f is None else f"{f['n_labels']} labels ({f['force_mae_meV_A']:.0f} meV/Å)"
                                  for f in fired),
            "target": f"the rule (σ_cal ≤ {part['threshold_eV_A']:.3f} eV/Å) fires before the budget, every seed",
            "met": all(f is not None for f in fired)}
        for key, (low, high) in COVERAGE_WINDOWS.items():
            med = _median_of(a["uncertainty"][key])
            t[f"{system}_{key}"] = {"measured": None if med is None else round(med, 3), "target": f"{low}–{high}",
                                    "met": med is not None and low <= med <= high}
    otf = result.get("otf")
    if otf and isinstance(otf.get("guard"), dict) and "bulk" in otf["guard"]:
        final = otf["test"]["final"]["all"]["force_mae_meV_A"]
        fired = [n for n, g in otf["guard"].items() if g["stop_kind"] == "spread"]
        finished = [n for n, f in otf["on_the_fly"].items() if f["status"] == "finished"]
        t["otf_finishes_where_the_guard_stops"] = {
            "measured": f"guard fired on {', '.join(fired) or 'none'}; on the fly finished {', '.join(finished) or 'none'}"
                        f"; final test F MAE {final:.1f} meV/Å",
            "target": "the guard alone stops; on the fly finishes; final test F MAE ≤ target",
            "met": bool(fired) and len(finished) == len(otf["on_the_fly"]) and final <= otf["target_force_mae_meV_A"]}
    return t


# -------------------------------------------------------------------------------------------- report
def _fmt(value, spec: str = ".3g") -> str:
    return "—" if value is None else format(value, spec)


def _curve(run: dict) -> str:
    return ", ".join(f"{c['n_labels']}: {_fmt(c.get('force_mae_meV_A'), '.0f')}" for c in run["curve"])


def rows(part: dict) -> list[list[str]]:
    target, out = part["target_force_mae_meV_A"], []
    for r in sorted(part["runs"], key=lambda r: (STRATEGIES.index(r["strategy"]), r["seed"])):
        fired = rule_fires(r["curve"], part["threshold_eV_A"])
        out.append([r["strategy"], str(r["seed"]), _fmt(labels_needed(r["curve"], target), "d"), str(r["n_labels"]),
                    "never" if fired is None else f"{fired['n_labels']}: {fired['force_mae_meV_A']:.0f}",
                    f"{r['cpu_s'] / 60:.0f}", _curve(r)])
    return out


HEADERS = ("strategy", "seed", "labels to target", "labels spent", "rule fires (labels: MAE)", "CPU min",
           "labels: test F MAE (meV/Å)")


def _rule_text(a: dict, strategy: str) -> str:
    """Median labels and test MAE where the rule fires, per threshold factor ('never' counts as the budget)."""
    parts = []
    for factor, fired in a[strategy]["rule"].items():
        n = sum(f is not None for f in fired)
        if not n:
            parts.append(f"{factor}: never")
            continue
        labels = _median_of([f["n_labels"] for f in fired if f])
        mae = _median_of([f["force_mae_meV_A"] for f in fired if f])
        parts.append(f"{factor}: {n}/{len(fired)} seeds, {labels:.0f} labels, {mae:.0f} meV/Å")
    return "; ".join(parts)


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
             "2 random frames per round calibrate the spread (fitted on the last 3 rounds' fresh frames) and count "
             "as labels. The committee MD of each round continues the last round's. Every run labels to its budget; "
             "the stopping rule (every MD run finished and every calibrated σ of the round's snapshots below the "
             "threshold) is recorded where it fires, and evaluated after the fact at 2, 3 and 4× the target. Target: "
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
                  + ". Ratios: " + ", ".join(f"{k[6:].replace('_vs_', ' ÷ ')} {_ratio_text(v)}" for k, v in a.items()
                                             if k.startswith("ratio_")) + ".",
                  "",
                  f"Median test force MAE at {a['common_budget'] // 2} / {a['common_budget']} labels (meV/Å): "
                  + ", ".join(f"{s} {_fmt(a[s]['mae_at_half_budget'], '.1f')} / {_fmt(a[s]['mae_at_budget'], '.1f')}"
                              for s in STRATEGIES) + ".",
                  "",
                  "Where the stopping rule fires (uncertainty strategy; threshold = factor × target): "
                  + _rule_text(a, "uncertainty") + ".",
                  "",
                  f"![learning curves]({'results/' + NAME + '_' + system + '.png'})"]
    if result.get("otf") and "bulk" in result["otf"].get("guard", {}):
        lines += otf_markdown(result["otf"])
    lines += ["", "Targets:", ""]
    for key, t in result["targets"].items():
        lines.append(f"- `{key}` ({t['target']}): {'met' if t['met'] else 'MISSED'} — measured {t['measured']}")
    return "\n".join(lines)


def otf_markdown(o: dict) -> list[str]:
    cfg = o["settings"]
    rows_ = []
    for name, guard in o["guard"].items():
        fly = o["on_the_fly"][name]
        cold, final = (o["test"][k].get(f"{name}_1500K", {}).get("force_mae_meV_A") for k in ("cold", "final"))
        rows_.append([name, f"{guard['steps_done']}" + (" (stopped on σ)" if guard["stop_kind"] == "spread" else ""),
                      f"{guard['max_force_std_eV_A']:.3f}", fly["status"] or "—", str(fly["n_labels"]),
                      f"{fly['cpu_s'] / 60:.1f}", f"{_fmt(cold, '.1f')} → {_fmt(final, '.1f')}"])
    c, f = o["test"]["cold"]["all"], o["test"]["final"]["all"]
    return ["", "### On-the-fly MD, Cu–Au at 1500 K", "",
            f"A committee trained on {cfg['n_cold_frames']} frames at 300 K (the initial ones and two thirds of the "
            f"300 K pool; calibrated on the other {cfg['n_calibration_frames']}) runs {cfg['steps']} steps of 2 fs at "
            f"1500 K on each structure: first with the guard alone (`--uncertainty-stop` "
            f"{cfg['threshold_eV_A']:.3f} eV/Å = {cfg['threshold_over_target']:g}× the target), then labelling on "
            f"the fly (`--label-on-the-fly emt --recalibrate`, at most {cfg['max_labels']} labels per structure, "
            f"{cfg['retrain_steps']} warm Adam steps after each), the three runs chained (bulk → slab → vacancy: "
            "each continues the last one's committee, frames and calibration).", "",
            *markdown_table(("structure", "guard alone: steps", "max σ_cal (eV/Å)", "on the fly", "labels", "CPU min",
                             "1500 K test F MAE, 300 K → final (meV/Å)"), rows_), "",
            f"Whole test set (every structure and temperature): force MAE {c['force_mae_meV_A']:.1f} → "
            f"{f['force_mae_meV_A']:.1f} meV/Å (target {o['target_force_mae_meV_A']:.1f}); calibrated coverage at "
            f"1σ / 2σ {_fmt(c.get('coverage_1sigma'), '.2f')} / {_fmt(c.get('coverage_2sigma'), '.2f')} → "
            f"{_fmt(f.get('coverage_1sigma'), '.2f')} / {_fmt(f.get('coverage_2sigma'), '.2f')}."]


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console, part: str = "all",
        seeds=SEEDS, workers: int = 2) -> dict:
    work = HERE / "_work" / (NAME + ("_quick" if quick else ""))
    path = Path(results_dir) / f"{NAME}.json"
    result = _load(path)
    started = time.perf_counter()
    for system in ("cuau", "ethanol"):  # every frame is computed here: no shared data needed
        if part in ("all", system):
            new = system_part(system, seeds if not quick else (0,), quick, work, console, workers)
            result = _load(path)  # another part may have finished meanwhile: merge into what is there now
            old = result["systems"].get(system, {}).get("runs", [])
            done = {(r["strategy"], r["seed"]) for r in new["runs"]}
            new["runs"] = [r for r in old if (r["strategy"], r["seed"]) not in done] + new["runs"]
            new["analysis"] = analyse(new)
            result["systems"][system] = new
            write_json(path, result)
    if part in ("all", "otf"):
        otf = otf_part(quick, work, result, console)
        result = _load(path)
        result["otf"] = otf
    for data in result["systems"].values():  # (re)analysed with this file's analysis
        data["analysis"] = analyse(data)
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
