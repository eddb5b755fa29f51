"""Summaries, targets, tables and the BENCHMARKS.md section of the NEP benchmark."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table
from rich.text import Text

MLEARN_E_MAE, MLEARN_F_MAE = 5.0, 0.10  # meV/atom, eV/Å
ETHANOL_F_MAE = 18.0  # meV/Å (GAP 18.1)
MD_RATIO = 0.5
PUBLISHED_ETHANOL = {"MACE": (0.4, 2.1), "NequIP": (0.4, 2.8), "ANI": (2.5, 13.4), "GAP": (3.5, 18.1)}


def trace_summary(trace: list[dict], targets: tuple[float, ...], budget: float) -> dict:
    """First time (wall and CPU) each force target was reached, best test force RMSE within budget."""
    rows = [r for r in trace if r["wall_s"] <= budget * 1.02]
    out = {"epochs_in_budget": len(rows)}
    for t in targets:
        hit = next((r for r in rows if 1000 * r["test_force_rmse"] <= t), None)
        out[f"time_to_{t:g}_s"] = hit["wall_s"] if hit else None
        out[f"cpu_to_{t:g}_s"] = hit["cpu_s"] if hit else None
    forces = [1000 * r["test_force_rmse"] for r in rows if math.isfinite(r["test_force_rmse"])]
    out["best_epoch_force_rmse_meV_A"] = min(forces) if forces else None
    return out


def _le(a, b) -> bool:
    return a is not None and (b is None or a <= b)


def _versus_targets(name: str, v: dict) -> dict:
    ours, peer = v["ours"], v["torchnep"]
    times = {f"{t:g}": (ours[f"time_to_{t:g}_s"], peer[f"time_to_{t:g}_s"]) for t in v["targets_meV_A"]}
    time_met = all(_le(a, b) for a, b in times.values())
    final = {k: (ours[f"final_{k}"], peer[f"final_{k}"]) for k in ("energy_rmse_meV_atom", "force_rmse_meV_A")}
    return {f"{name}_time_to_target": {"met": time_met, "ours_vs_torchnep_s": times},
            f"{name}_final_error": {"met": all(a <= b for a, b in final.values()), "ours_vs_torchnep": final}}


def targets(result: dict) -> dict:
    out = {}
    for name, v in result["versus_torchnep"].items():
        out.update(_versus_targets(name, v))
    per = {}
    for element, r in result["mlearn"]["elements"].items():
        if "test" in r:
            per[element] = (r["test"]["energy_mae_meV_atom"], r["test"]["force_mae_meV_A"] / 1000)
    out["mlearn"] = {"met": bool(per) and all(e <= MLEARN_E_MAE and f <= MLEARN_F_MAE for e, f in per.values()),
                     "energy_mae_meV_atom_force_mae_eV_A": per}
    eth = result["rmd17_ethanol"]
    if "test" in eth:
        out["rmd17_ethanol"] = {"met": eth["test"]["force_mae_meV_A"] <= ETHANOL_F_MAE,
                                "force_mae_meV_A": eth["test"]["force_mae_meV_A"]}
    runs = result["md_speed"]["runs"]
    best = max((k for k in runs if k.startswith("ours")), key=lambda k: runs[k]["atom_steps_per_s"])
    ratio = runs[best]["atom_steps_per_s"] / runs["cpunep"]["atom_steps_per_s"]
    ratio64 = runs["ours_float64_1t"]["atom_steps_per_s"] / runs["cpunep"]["atom_steps_per_s"]
    out["md_speed"] = {"met": ratio >= MD_RATIO, "best_ours": best, "ratio_to_cpunep": ratio,
                       "ratio_float64_1_thread": ratio64}
    return out


def _f(x, digits=1, unit=""):
    return "not reached" if x is None else f"{x:.{digits}f}{unit}"


def _versus_rows(result: dict) -> list[list[str]]:
    rows = []
    for name, v in result["versus_torchnep"].items():
        label = {"cu": "EMT Cu", "cuau": "EMT Cu–Au", "pbte": "GPUMD PbTe (DFT)"}[name]
        for tool, tool_label in (("ours", "nnsurrogate"), ("torchnep", "TorchNEP")):
            r = v[tool]
            times = " / ".join(f"{_f(r[f'time_to_{t:g}_s'], 0)} ({_f(r[f'cpu_to_{t:g}_s'], 0)})"
                               for t in v["targets_meV_A"])
            rows.append([label, tool_label, times, f"{r['epochs_in_budget']}",
                         f"{r['final_energy_rmse_meV_atom']:.2f}", f"{r['final_force_rmse_meV_A']:.1f}"])
    return rows


VERSUS_HEADERS = ["data", "trainer", "s to reach F targets, wall (CPU)", "epochs", "final E RMSE, meV/atom",
                  "final F RMSE, meV/Å"]


def _target_lines(result: dict) -> list[tuple[bool, str]]:
    t = result["targets"]
    lines = []
    for name in result["versus_torchnep"]:
        tt, fe = t[f"{name}_time_to_target"], t[f"{name}_final_error"]
        times = ", ".join(f"{k} meV/Å: {_f(a, 0)} s vs {_f(b, 0)} s" for k, (a, b) in tt["ours_vs_torchnep_s"].items())
        lines.append((tt["met"], f"{name} time to target ≤ TorchNEP: {'met' if tt['met'] else 'MISSED'} — {times}"))
        (ea, eb), (fa, fb) = fe["ours_vs_torchnep"].values()
        lines.append((fe["met"], f"{name} final error ≤ TorchNEP: {'met' if fe['met'] else 'MISSED'} — "
                                 f"E {ea:.2f} vs {eb:.2f} meV/atom, F {fa:.1f} vs {fb:.1f} meV/Å"))
    m = t["mlearn"]
    per = "; ".join(f"{el} {e:.2f} meV/atom, {f:.3f} eV/Å" for el, (e, f) in m["energy_mae_meV_atom_force_mae_eV_A"].items())
    lines.append((m["met"], f"mlearn MAE ≤ 5 meV/atom and ≤ 0.10 eV/Å: {'met' if m['met'] else 'MISSED'} — {per}"))
    if "rmd17_ethanol" in t:
        e = t["rmd17_ethanol"]
        lines.append((e["met"], f"rMD17 ethanol force MAE ≤ 18 meV/Å: {'met' if e['met'] else 'MISSED'} — "
                                f"{e['force_mae_meV_A']:.1f} meV/Å"))
    s = t["md_speed"]
    lines.append((s["met"], f"MD speed ≥ 0.5× CPUNEP: {'met' if s['met'] else 'MISSED'} — {s['ratio_to_cpunep']:.2f}× "
                            f"({s['best_ours']}); float64 single thread {s['ratio_float64_1_thread']:.2f}×"))
    return lines


def _md_rows(result: dict) -> list[list[str]]:
    runs = result["md_speed"]["runs"]
    ref = runs["cpunep"]["atom_steps_per_s"]
    return [[k, f"{r['atom_steps_per_s']:,.0f}", f"{r['atom_steps_per_cpu_s']:,.0f}", f"{r['atom_steps_per_s'] / ref:.2f}"]
            for k, r in runs.items()]


def _accuracy_rows(result: dict) -> list[list[str]]:
    rows = []
    for element, r in result["mlearn"]["elements"].items():
        if "test" in r:
            rows.append([f"mlearn {element}", f"{r['test']['n_frames']}", f"{r['test']['energy_mae_meV_atom']:.2f} meV/atom",
                         f"{r['test']['force_mae_meV_A'] / 1000:.3f} eV/Å", f"{r['epochs']} ({r['train_wall_s']:.0f} s)"])
    eth = result["rmd17_ethanol"]
    if "test" in eth:
        rows.append(["rMD17 ethanol", f"{eth['test']['n_frames']}",
                     f"{eth['test_energy_mae_meV_molecule']:.2f} meV/molecule",
                     f"{eth['test']['force_mae_meV_A']:.1f} meV/Å", f"{eth['epochs']} ({eth['train_wall_s']:.0f} s)"])
    return rows


def _md_table(result: dict) -> list[str]:
    a = result["md_speed"]["agreement_with_cpunep"]
    return ["| calculator | atom-steps/s | atom-steps per CPU s | ÷ CPUNEP |", "|---|---:|---:|---:|",
            *("| " + " | ".join(r) + " |" for r in _md_rows(result)), "",
            f"Same nep.txt (our Cu model), {result['md_speed']['n_atoms']} atoms, velocity Verlet 1 fs, "
            f"{next(iter(result['md_speed']['runs'].values()))['steps']} timed steps after 2 warm-up steps; suffix = "
            f"torch threads. Ours vs CPUNEP on the start frame: max |ΔF| {a['max_abs_force_diff_eV_A']:.1e} eV/Å, "
            f"|ΔE| {a['energy_diff_eV_atom']:.1e} eV/atom. GPU: {result['md_speed']['gpu']}."]


def markdown(result: dict, machine: str) -> str:
    p = result["protocol"]
    h = p["hyper"]
    lines = [
        "## NEP interatomic potentials (`benchmarks/nep.py`)", "",
        f"**Against TorchNEP** {_torchnep_version()} on EMT data made by ASE (Langevin MD, 300 → 1200 K ramp; "
        f"{p['emt']['frames_per_size']['train']} + {p['emt']['frames_per_size']['train']} training frames of 32 and 108 "
        f"atoms, {p['emt']['frames_per_size']['test']} + {p['emt']['frames_per_size']['test']} test frames from a "
        "separate run; Cu–Au: random 50/50 fcc). Same NEP hyperparameters (cutoff "
        f"{h['cutoff'][0]:g}/{h['cutoff'][1]:g} Å, n_max {h['n_max'][0]}/{h['n_max'][1]}, basis "
        f"{h['basis_size'][0]}/{h['basis_size'][1]}, l_max {' '.join(map(str, h['l_max']))}, {h['neurons']} neurons), "
        f"one process each, {p['threads']} torch thread, the two trainers side by side (one on each core), "
        f"{p['budget_s']:.0f} s wall budget from the trainer call "
        "(data reading and preprocessing included). Each tool keeps its own training defaults and evaluates the test "
        "set after every epoch; final errors are recomputed for both exported files with calorine's CPUNEP.", "",
        "| " + " | ".join(VERSUS_HEADERS) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 4) + "|",
        *("| " + " | ".join(r) + " |" for r in _versus_rows(result)), "",
        "Force targets: " + ", ".join(f"{name} {' / '.join(f'{t:g}' for t in p['force_targets_meV_A'][name])} meV/Å"
                                      for name in result["versus_torchnep"]) + ". PbTe: GPUMD's training example "
        f"(25 DFT frames of 250 atoms, {p.get('pbte', {}).get('test_frames', 5)} held out for testing, files as GPUMD "
        "has them), the architecture of GPUMD's published PbTe nep.txt (cutoff 8/4 Å, n_max 6/6, basis 6/6, "
        "l_max 4 2 0, 30 neurons)." + (" Parts rerun separately (`--part`): " + ", ".join(
            f"{k} {v[:10]}" for k, v in result["parts_run"].items()) + "." if "parts_run" in result else ""), "",
        "**Accuracy on public data** (ours only; each model trained for a fixed time, two runs at a time (one per "
        "core), 10 % of the training file held out for validation, errors on the test file):", "",
        "| data | test frames | energy MAE | force MAE | epochs (time) |", "|---|---:|---:|---:|---:|",
        *("| " + " | ".join(r) + " |" for r in _accuracy_rows(result)), "",
        "Published rMD17 ethanol results (1000 training configurations, energy meV / force meV/Å): "
        + ", ".join(f"{k} {e} / {f}" for k, (e, f) in PUBLISHED_ETHANOL.items()) + ".", "",
        "**MD speed**:", "", *_md_table(result), "", "Targets:", "",
        *(f"- {line}" for _, line in _target_lines(result)), "",
        f"Machine: {machine}; load average at start {result['machine']['load_average_1_5_15_min']} (other processes "
        f"share the cores, so times are noisy; CPU seconds are steadier). Run {result['created']}, "
        f"{result['runtime_s']:.0f} s; traces and every number in `benchmarks/results/nep.json`.",
    ]
    return "\n".join(lines)


def _torchnep_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("torchnep")
    except metadata.PackageNotFoundError:
        return ""


def print_tables(result: dict, console: Console) -> None:
    table = Table(title="NEP vs TorchNEP")
    for i, head in enumerate(VERSUS_HEADERS):
        table.add_column(head, justify="left" if i < 2 else "right")
    for row in _versus_rows(result):
        table.add_row(*row)
    console.print(table)
    acc = Table(title="accuracy")
    for head in ("data", "test frames", "energy MAE", "force MAE", "epochs (time)"):
        acc.add_column(head)
    for row in _accuracy_rows(result):
        acc.add_row(*row)
    console.print(acc)
    md = Table(title="MD atom-steps/s")
    for head in ("calculator", "atom-steps/s", "per CPU s", "÷ CPUNEP"):
        md.add_column(head)
    for row in _md_rows(result):
        md.add_row(*row)
    console.print(md)
    for met, line in _target_lines(result):
        console.print(Text(line, style="green" if met else "bold red"))
