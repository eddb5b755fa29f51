"""Behler–Parrinello beside NEP, and active learning against random selection (issue 6).

Parts, all in one process on one machine (one torch thread):

1. **BP vs NEP** on mlearn Si (Zuo et al. 2020) and rMD17 ethanol (1000 train / 1000 test): each model
   trained for the same wall-clock budget on the same split (10 % of the training file held out for
   validation, seed 0), BP with the package defaults, NEP with the NEP benchmark's settings; test
   energy and force MAE, training time, MD speed (velocity Verlet, a 512-atom Si cell / one ethanol
   molecule, atom-steps per second).
2. **Active learning** on EMT copper (32-atom fcc cells) from 10 rattled frames: a committee of four
   NEP models, MD at 300, 600 and 900 K each round, up to 5 frames labelled per round with EMT;
   uncertainty-driven selection (trust window 0.05–0.5 eV/Å) against random frames from the same MD
   (the control), three seeds, the two runs of a seed side by side. The test set (60 frames of EMT MD at the three temperatures) is fixed. Measured: labels
   (reference calculations, the 10 initial frames included) needed until the committee's test force
   MAE is at most ``TARGET_FORCE_MAE``; their median over seeds.

Targets: labels with uncertainty ÷ labels with random ≤ 0.5 (``label_ratio_uncertainty_vs_random``),
and the uncertainty-driven loop converges (no MD snapshot above the threshold) in fewer than 10 rounds.

Results: the keys ``"bp"`` and ``"active_learning"`` of ``results/bp_gas2d_al.json`` (the 2D-gas
benchmark writes ``"gas2d"`` in the same file; each reads, updates its keys and writes atomically).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import _bp_al_runs as runs
from _common import machine_info, machine_line, now_iso, update_markdown_section, write_json

NAME = "bp_al"
RESULTS_FILE = "bp_gas2d_al.json"
HERE = Path(__file__).resolve().parent
BUDGETS = {"si": 240.0, "ethanol": 480.0}
QUICK_BUDGETS = {"si": 15.0, "ethanol": 15.0}
MD_STEPS, QUICK_MD_STEPS = 10, 2
TARGET_FORCE_MAE = 25.0  # meV/Å, test force MAE of the committee mean (4× what 240 random MD frames give)
RATIO_TARGET, ROUNDS_TARGET = 0.5, 10
SEEDS, QUICK_SEEDS = (0, 1, 2), (0,)
#: Active-learning settings (ALConfig and PotentialTrainConfig keywords) shared by both strategies.
AL_SETTINGS = {
    "al": {"calculator": "emt", "model": "nep", "committee": 4, "temperatures": (300.0, 600.0, 900.0),
           "iterations": 8, "per_iteration": 5, "threshold": 0.05, "max_uncertainty": 0.5, "md_steps": 200,
           "sample_every": 10, "min_separation": 30, "timestep": 2.0, "warm_start": True, "train_steps": 800,
           "warm_steps": 400, "warm_learning_rate": 2e-3,
           "hyper": {"cutoff": (5.0, 4.0), "n_max": (4, 4), "basis_size": (8, 8), "l_max": (4, 2, 0), "neurons": 30}},
    "train": {"epochs": 100, "batch_size": 4, "lambda_v": 0.1},
}
QUICK_AL = {"al": {**AL_SETTINGS["al"], "iterations": 1, "md_steps": 40, "per_iteration": 4, "committee": 2,
                   "train_steps": 20, "warm_steps": 10},
            "train": AL_SETTINGS["train"]}


def _settings_key(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=list).encode()).hexdigest()[:10]


def active_learning(quick: bool, work: Path, console: Console) -> dict:
    """Both strategies for every seed; labels to reach the target, their ratio, rounds to converge."""
    settings = QUICK_AL if quick else AL_SETTINGS
    work = work / f"al_{_settings_key(settings)}"
    data = runs.emt_copper_data(work, 2 if quick else 20, console)
    results = runs.active_learning_runs(QUICK_SEEDS if quick else SEEDS, data, settings, work, console)
    needed = {s: runs.labels_needed(r, TARGET_FORCE_MAE) for s, r in results.items()}
    unc, rnd = needed["uncertainty"]["median"], needed["random"]["median"]
    ratio = unc / rnd if unc is not None and rnd is not None else None
    return {"settings": json.loads(json.dumps(settings, default=list)), "target_force_mae_meV_A": TARGET_FORCE_MAE,
            "n_test": 3 * (2 if quick else 20), "n_initial": 10, "runs": results, "labels_needed": needed,
            "label_ratio_uncertainty_vs_random": ratio}


def targets(result: dict) -> dict:
    al = result["active_learning"]
    ratio = al["label_ratio_uncertainty_vs_random"]
    unc = al["runs"]["uncertainty"]
    rounds = [r["n_rounds"] for r in unc]
    converged = all(r["status"] == "converged" and r["n_rounds"] < ROUNDS_TARGET for r in unc)
    return {"label_ratio": {"met": ratio is not None and ratio <= RATIO_TARGET, "measured": ratio,
                            "target": f"≤ {RATIO_TARGET}"},
            "converged_rounds": {"met": converged, "rounds": rounds, "status": [r["status"] for r in unc],
                                 "target": f"converged in < {ROUNDS_TARGET} rounds"}}


def write_results(results_dir: Path, bp: dict, al: dict) -> Path:
    """Merge the ``bp`` and ``active_learning`` keys into the shared results file (read, update, atomic write)."""
    path = Path(results_dir) / RESULTS_FILE
    shared = {}
    if path.is_file():
        try:
            shared = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            shared = {}
    shared["bp"], shared["active_learning"] = bp, al
    write_json(path, shared)
    return path


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    """Run both parts, print the tables, write the results keys and the Markdown section."""
    started, cpu = time.perf_counter(), time.process_time()
    machine = machine_info()
    work = HERE / "_work" / NAME
    bp = runs.bp_versus_nep(QUICK_BUDGETS if quick else BUDGETS, work, console, QUICK_MD_STEPS if quick else MD_STEPS)
    al = active_learning(quick, work, console)
    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine,
              "bp": bp, "active_learning": al}
    result["targets"] = targets(result)
    result["runtime_s"], result["runtime_cpu_s"] = time.perf_counter() - started, time.process_time() - cpu
    meta = {k: result[k] for k in ("benchmark", "created", "quick", "machine", "runtime_s", "runtime_cpu_s")}
    write_results(results_dir, {**meta, "datasets": bp},
                  {**meta, **al, "targets": result["targets"]})
    console.print(bp_table(bp))
    console.print(al_table(al))
    update_markdown_section(markdown_path, NAME, markdown(result))
    return result


# ---------------------------------------------------------------------------------------- report
def _fmt(value, spec: str = ".3g") -> str:
    return "—" if value is None else format(value, spec)


def bp_rows(bp: dict) -> list[list[str]]:
    rows = []
    for name, pair in bp.items():
        for model, r in pair.items():
            rows.append([runs.DATASETS[name][0], model.upper(), _fmt(r["test"]["energy_mae_meV_atom"], ".2f"),
                         _fmt(r["test"]["force_mae_meV_A"], ".1f"), f"{r['train_wall_s']:.0f}",
                         f"{r['train_cpu_s']:.0f}", str(r["epochs"]), f"{r['md']['atom_steps_per_s']:.0f}"])
    return rows


BP_COLUMNS = ("data", "model", "test E MAE (meV/atom)", "test F MAE (meV/Å)", "train wall (s)", "train CPU (s)",
              "epochs", "MD atom-steps/s")


def bp_table(bp: dict) -> Table:
    table = Table(title="Behler–Parrinello beside NEP (same split, same training budget)", header_style="bold")
    for col in BP_COLUMNS:
        table.add_column(col, justify="right")
    for row in bp_rows(bp):
        table.add_row(*row)
    return table


def _curve_text(run: dict) -> str:
    return ", ".join(f"{c['n_labels']}: {_fmt(c.get('force_mae_meV_A'), '.0f')}" for c in run["curve"])


def al_table(al: dict) -> Table:
    table = Table(title=f"active learning, EMT Cu: labels to reach test force MAE ≤ {al['target_force_mae_meV_A']:g} "
                        "meV/Å", header_style="bold")
    for col in ("strategy", "seed", "labels needed", "rounds", "status", "labels: test F MAE (meV/Å)"):
        table.add_column(col)
    for strategy, rs in al["runs"].items():
        for r, needed in zip(rs, al["labels_needed"][strategy]["per_seed"]):
            table.add_row(strategy, str(r["seed"]), _fmt(needed, "d"), str(r["n_rounds"]), r["status"], _curve_text(r))
    return table


def _md_table(header: tuple, rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def markdown(result: dict) -> str:
    """The ``bp_al`` section of BENCHMARKS.md."""
    al, t = result["active_learning"], result["targets"]
    s = al["settings"]["al"]
    status = {k: "met" if v["met"] else "MISSED" for k, v in t.items()}
    al_rows = []
    for strategy, rs in al["runs"].items():
        for r, needed in zip(rs, al["labels_needed"][strategy]["per_seed"]):
            al_rows.append([strategy, str(r["seed"]), _fmt(needed, "d"), str(r["n_rounds"]), r["status"],
                            f"{r['wall_s'] / 60:.0f}", _curve_text(r)])
    med = al["labels_needed"]
    ratio = al["label_ratio_uncertainty_vs_random"]
    return "\n".join([
        "## Behler–Parrinello and active learning (`bp_al`)",
        "",
        f"Machine: {machine_line(result['machine'])}; load average at the start "
        f"{result['machine']['load_average_1_5_15_min']} (other jobs shared the two cores, so wall times are "
        f"inflated; CPU seconds are given beside them). Whole benchmark: {result['runtime_s'] / 60:.0f} min.",
        "",
        "### BP beside NEP (same split, same wall-clock training budget, one thread)",
        "",
        "Each model trained for the same budget on the training file with 10 % held out (seed 0), then tested on "
        "the test file. BP: package defaults (8 G2 per element on a grid from the shortest distance in the data "
        "to 5 Å, 8 G4 per element pair within 4 Å, 2×20 tanh). NEP: the NEP benchmark's settings. MD speed: "
        "velocity Verlet, float64, a 512-atom Si cell / one ethanol molecule.",
        "",
        _md_table(BP_COLUMNS, bp_rows(result["bp"])),
        "",
        "### Active learning on EMT copper",
        "",
        f"Committee of {s['committee']} NEP models; each round MD at {', '.join(f'{x:g}' for x in s['temperatures'])} K "
        f"({s['md_steps']} steps of {s['timestep']:g} fs, a snapshot every {s['sample_every']}), up to "
        f"{s['per_iteration']} frames labelled with EMT (largest max-atom force std between {s['threshold']} and "
        f"{s['max_uncertainty']} eV/Å, ≥ {s['min_separation']} steps apart; or random snapshots of the same MD), "
        f"at most {s['iterations']} rounds; members trained {s['train_steps']} Adam steps, then {s['warm_steps']} "
        f"warm-started steps per round (batch 4); "
        f"{al['n_initial']} rattled initial frames; fixed test set of {al['n_test']} EMT MD frames. Labels needed = "
        f"frames labelled (initial ones included) when the committee's test force MAE first reaches "
        f"{al['target_force_mae_meV_A']:g} meV/Å.",
        "",
        _md_table(("strategy", "seed", "labels needed", "rounds", "status", "wall (min)", "labels: test F MAE (meV/Å)"),
                  al_rows),
        "",
        f"Median labels needed: uncertainty {_fmt(med['uncertainty']['median'])}, random {_fmt(med['random']['median'])}; "
        f"ratio **{_fmt(ratio, '.2f')}**.",
        "",
        "| target | measured | status |",
        "|---|---|---|",
        f"| labels with uncertainty ÷ labels with random ≤ {RATIO_TARGET} | {_fmt(ratio, '.2f')} | {status['label_ratio']} |",
        f"| uncertainty-driven loop converges in < {ROUNDS_TARGET} rounds | rounds {t['converged_rounds']['rounds']}, "
        f"status {t['converged_rounds']['status']} | {status['converged_rounds']} |",
    ])
