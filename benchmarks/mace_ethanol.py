"""rMD17 ethanol: our ``--model mace`` against mace-torch's own trainer at an equal CPU budget (issue 14,
the rMD17 target), with the learning curve of each and of our NEP.

Same data for every run: the 1000 training frames shuffled once (seed 0) into 950 for training and 50 for
validation (the MACE paper's split sizes), the 1000 test frames for the score. Same model size: 32x0e +
32x1o node features, two interactions, l_max 3, correlation 3, r_max 5 Å, 8 Bessel functions, envelope
p = 5, radial MLP 64-64-64, 16x0e readout, float32 training, per-element energies fitted to the training
set (ours ``--reference fit``, theirs ``--E0s average``). Each trainer keeps its own defaults otherwise
(ours: batch 4, Adam lr 4e-3, loss 0.1 · energy RMSE + force RMSE; ``mace_run_train``: batch 10, AMSGrad
lr 1e-2, loss 1 · energy MSE + 100 · force MSE, ReduceLROnPlateau), and its best validation epoch is kept.

Part ``mace``: ours and theirs side by side, one thread each (one per core), :data:`BUDGET_S` of wall time
from launch; ``mace_run_train`` has no time limit, so it is stopped at the budget and its best checkpoint
(it saves one at each improvement) is turned into its model file by ``mace_run_train --restart_latest``
with ``--max_num_epochs`` at that epoch (no further training). Part ``nep``: our NEP (the ``nep``
benchmark's ethanol hyper-parameters) on the same split and budget. The learning curve is each trainer's
validation force RMSE against its elapsed seconds (ours: the history it writes; theirs: its log's time
stamps from launch). The test scores (force and energy MAE on the 1000 test frames) are computed the same
way for every model: ours with ``potential test``, theirs through mace-torch's ASE calculator in float64.

Targets: ours ≤ theirs in test force MAE; ≤ 13.4 meV/Å (ANI) within the budget (2 CPU-hours), stretch
≤ 5 meV/Å.

``python benchmarks/mace_ethanol.py [--part mace|nep] [--quick]``
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text

from _common import machine_info, machine_line, markdown_table, now_iso, rich_table, update_markdown_section, write_json
from _nep_data import ETHANOL_HYPER, ETHANOL_OPTIONS
from nep_finetune import _score

NAME = "mace_ethanol"
HERE = Path(__file__).resolve().parent
ETHANOL = HERE.parent.parent / "shared" / "data" / "atoms" / "rmd17_ethanol"
BUDGET_S, QUICK_BUDGET_S = 7200.0, 60.0
N_VALID = 50
OURS = ["--model", "mace", "--cutoff", "5", "--batch-size", "4"]
PEER_MODEL = ["--model", "MACE", "--hidden_irreps", "32x0e + 32x1o", "--r_max", "5.0", "--num_radial_basis", "8",
              "--num_cutoff_basis", "5", "--max_ell", "3", "--correlation", "3", "--num_interactions", "2",
              "--MLP_irreps", "16x0e", "--radial_MLP", "[64, 64, 64]", "--default_dtype", "float32"]
NEP = ["--model", "nep", *[a for k, v in {**ETHANOL_HYPER, **ETHANOL_OPTIONS}.items()
                           for a in (f"--{k.replace('_', '-')}", ",".join(map(str, v)) if isinstance(v, tuple) else str(v))]]
CURVE_AT_S = (300, 900, 1800, 3600, 5400, 7200)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _split(work: Path) -> tuple[Path, Path]:
    """950 training and 50 validation frames of rMD17 ethanol's training file (one fixed shuffle)."""
    from ase.io import read, write

    train, valid = work / "train.xyz", work / "valid.xyz"
    if not (train.exists() and valid.exists()):
        frames = read(ETHANOL / "train.xyz", ":")
        order = np.random.default_rng(0).permutation(len(frames))
        write(train, [frames[k] for k in sorted(order[N_VALID:])], format="extxyz")
        write(valid, [frames[k] for k in sorted(order[:N_VALID])], format="extxyz")
    return train, valid


def _launch(command: list[str], log: Path, budget: float | None) -> dict:
    """Run *command* on one thread; stop it (SIGTERM) once *budget* wall seconds have passed since launch.
    Returns launch time (epoch s), wall and CPU seconds, exit status and whether it was stopped."""
    started, stopped = time.time(), False
    with open(log, "w") as handle:
        proc = subprocess.Popen(command, env={**os.environ, **ONE_THREAD}, stdout=handle, stderr=subprocess.STDOUT)
        while budget is not None and proc.poll() is None and time.time() - started < budget:
            time.sleep(1.0)
        if proc.poll() is None and budget is not None:
            proc.send_signal(signal.SIGTERM)
            stopped = True
        _, status, usage = os.wait4(proc.pid, 0)
    return {"launched": started, "wall_s": time.time() - started, "cpu_s": usage.ru_utime + usage.ru_stime,
            "status": status, "stopped_at_budget": stopped}


def _ours(kind: str, extra: list[str], train: Path, valid: Path, work: Path, budget: float, console: Console) -> dict:
    out = work / kind
    # an interrupted run (a checkpoint, no metrics) goes on from its checkpoint, within the same budget
    resume = (out / ".checkpoint").is_dir() and not (out / "metrics.json").is_file()
    console.print(Text(f"  {NAME}: ours ({kind}), {budget:.0f} s{', resumed' if resume else ''} …", style="dim"))
    command = [str(Path(sys.executable).with_name("nnsurrogate")), "potential", "train", str(train), "--valid",
               str(valid), *extra, "--time-limit", str(budget), "--threads", "1", "--seed", "0", "--quiet",
               "--out", str(out), *(["--resume"] if resume else [])]
    run = {**_launch(command, out.with_suffix(".log"), None), "resumed": resume}
    if not (out / "metrics.json").exists():
        return {**run, "failed": f"exit status {run['status']} (see {out.with_suffix('.log').name})"}
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    col = {name: k for k, name in enumerate(history["columns"])}
    curve = _thin([[row[col["elapsed_s"]], row[col["valid_force_rmse"]] * 1e3] for row in history["rows"]])
    return {**run, "epochs_run": metrics["epochs_run"], "best_epoch": metrics["best_epoch"],
            "training_time_s": metrics.get("training_time_s"), "curve_s_valid_force_rmse_meV_A": curve,
            "test": _score(out, ETHANOL / "test.xyz", out / "test")}


def _thin(curve: list, most: int = 2000) -> list:
    """At most about *most* points of *curve* (every k-th, the last kept): NEP logs ~20 000 epochs."""
    step = max(1, len(curve) // most)
    return curve[::step] + ([curve[-1]] if (len(curve) - 1) % step else [])


def _peer_command(train: Path, valid: Path, folder: Path, max_epochs: int, restart: bool) -> list[str]:
    command = [str(Path(sys.executable).with_name("mace_run_train")), "--name", "peer", "--work_dir", str(folder),
               "--train_file", str(train), "--valid_file", str(valid), "--energy_key", "energy", "--forces_key",
               "forces", "--E0s", "average", *PEER_MODEL, "--device", "cpu", "--seed", "0", "--eval_interval", "1",
               "--max_num_epochs", str(max_epochs), "--patience", "1000000"]
    return command + (["--restart_latest"] if restart else [])


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) INFO: Epoch (\d+): .*RMSE_F=\s*([\d.]+) meV / A")


def _peer_curve(log: Path, launched: float) -> list[list[float]]:
    """(seconds since launch, validation force RMSE meV/Å) for each epoch ``mace_run_train`` logged."""
    curve = []
    for line in log.read_text().splitlines():
        match = _STAMP.match(line)
        if match:
            stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
            curve.append([stamp - launched, float(match.group(3))])
    return curve


def _peer(train: Path, valid: Path, work: Path, budget: float, console: Console) -> dict:
    folder = work / "peer"
    console.print(Text(f"  {NAME}: mace_run_train, {budget:.0f} s …", style="dim"))
    run = _launch(_peer_command(train, valid, folder, 10**6, False), folder.with_suffix(".log"), budget)
    checkpoints = sorted(folder.glob("checkpoints/peer_run-0_epoch-*.pt"),
                         key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    if not checkpoints:
        return {**run, "failed": "no checkpoint written"}
    best_epoch = int(checkpoints[-1].stem.rsplit("-", 1)[1])
    curve = _peer_curve(folder.with_suffix(".log"), run["launched"])
    final = _launch(_peer_command(train, valid, folder, best_epoch, True), work / "peer_finalize.log", None)
    model = folder / "peer.model"
    if not model.exists():
        return {**run, "failed": f"finalizing exit status {final['status']} (see peer_finalize.log)"}
    return {**run, "epochs_run": len(curve), "best_epoch": best_epoch, "finalize_cpu_s": final["cpu_s"],
            "curve_s_valid_force_rmse_meV_A": curve, "test": _score_peer(model, ETHANOL / "test.xyz")}


def _score_peer(model: Path, test: Path) -> dict:
    """Energy (meV/atom) and force (meV/Å) MAE and RMSE of mace-torch's model file on *test*."""
    from ase.io import read
    from mace.calculators import MACECalculator

    calc = MACECalculator(model_paths=str(model), device="cpu", default_dtype="float64")
    de, df = [], []
    for atoms in read(test, ":"):
        ref_e, ref_f = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = calc
        de.append((atoms.get_potential_energy() - ref_e) / len(atoms))
        df.append((atoms.get_forces() - ref_f).ravel())
    de, df = np.asarray(de) * 1e3, np.concatenate(df) * 1e3
    return {"energy_mae_meV_atom": float(np.abs(de).mean()), "force_mae_meV_A": float(np.abs(df).mean()),
            "energy_rmse_meV_atom": float(np.sqrt((de ** 2).mean())), "force_rmse_meV_A": float(np.sqrt((df ** 2).mean())),
            "n_frames": len(de)}


def _curve_at(curve: list[list[float]], seconds: float) -> float | None:
    """Best validation force RMSE reached by *seconds* (None before the first epoch)."""
    values = [v for t, v in curve if t <= seconds]
    return min(values) if values else None


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console, part: str = "mace") -> dict:
    path = Path(results_dir) / f"{NAME}.json"
    if not ETHANOL.is_dir():
        result = {"benchmark": NAME, "skipped": "shared data not found", "targets": {}}
        write_json(path, result)
        return result
    budget = QUICK_BUDGET_S if quick else BUDGET_S
    work = HERE / "_work" / (NAME + ("_quick" if quick else ""))
    work.mkdir(parents=True, exist_ok=True)
    train, valid = _split(work)
    result = json.loads(path.read_text()) if path.exists() and not quick else {}
    result.update({"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine_info()})
    result["protocol"] = {"budget_s": budget, "threads_per_run": 1, "n_train": 950, "n_valid": N_VALID,
                          "n_test": 1000, "ours": OURS, "peer": PEER_MODEL, "nep": NEP}
    if part == "mace":
        with ThreadPoolExecutor(2) as pool:  # one process per core
            ours = pool.submit(_ours, "mace", OURS, train, valid, work, budget, console)
            peer = pool.submit(_peer, train, valid, work, budget, console)
            result["ours"], result["peer"] = ours.result(), peer.result()
    elif part == "nep":
        result["nep"] = _ours("nep", NEP, train, valid, work, budget, console)
    result["targets"] = targets(result)
    write_json(path, result)
    console.print(rich_table("rMD17 ethanol: our MACE, mace-torch's trainer, our NEP", HEADERS, _rows(result)))
    update_markdown_section(markdown_path, NAME, markdown(result))
    return result


def targets(result: dict) -> dict:
    ours, peer = (result.get(k, {}).get("test") for k in ("ours", "peer"))
    if not ours:
        return {}
    out = {"force_mae_le_13_4": {"met": ours["force_mae_meV_A"] <= 13.4, "value": ours["force_mae_meV_A"],
                                 "target": "our MACE, test force MAE ≤ 13.4 meV/Å within 2 CPU-hours"},
           "stretch_force_mae_le_5": {"met": ours["force_mae_meV_A"] <= 5.0, "value": ours["force_mae_meV_A"],
                                      "target": "stretch: ≤ 5 meV/Å"}}
    if peer:
        out["ours_le_peer"] = {"met": ours["force_mae_meV_A"] <= peer["force_mae_meV_A"],
                               "value": ours["force_mae_meV_A"], "peer": peer["force_mae_meV_A"],
                               "target": "test force MAE ≤ mace_run_train's at the same CPU budget"}
    return out


HEADERS = ["model", "test force MAE (meV/Å)", "test energy MAE (meV/atom)", "epochs (best)", "wall / CPU s",
           *[f"valid F RMSE @ {t} s" for t in CURVE_AT_S]]
LABELS = {"ours": "our MACE (`--model mace`)", "peer": "mace-torch `mace_run_train`", "nep": "our NEP"}


def _rows(result: dict) -> list[list[str]]:
    rows = []
    for key, label in LABELS.items():
        r = result.get(key)
        if not r:
            continue
        if "failed" in r:
            rows.append([label, "failed", r["failed"], *["—"] * (len(HEADERS) - 3)])
            continue
        t = r["test"]
        curve = [_curve_at(r["curve_s_valid_force_rmse_meV_A"], s) for s in CURVE_AT_S]
        rows.append([label, f"{t['force_mae_meV_A']:.1f}", f"{t['energy_mae_meV_atom']:.2f}",
                     f"{r['epochs_run']} ({r['best_epoch']})", f"{r['wall_s']:.0f} / {r['cpu_s']:.0f}",
                     *["—" if v is None else f"{v:.1f}" for v in curve]])
    return rows


def markdown(result: dict) -> str:
    p = result["protocol"]
    lines = ["## rMD17 ethanol: our MACE against mace-torch's trainer (`benchmarks/mace_ethanol.py`)", "",
             f"950 training / 50 validation frames (one fixed shuffle of the 1000 training frames), scored on the "
             f"1000 test frames. {p['budget_s']:.0f} s of wall time per run on one thread (ours and "
             "`mace_run_train` side by side, one per core); the same model size (32x0e + 32x1o, 2 interactions, "
             "l_max 3, correlation 3, r_max 5 Å, float32 training); each trainer's own defaults otherwise, its best "
             "validation epoch kept. The curve columns give the best validation force RMSE (meV/Å) reached by "
             f"that many seconds. Machine: {machine_line(result['machine'])}.", "",
             *markdown_table(HEADERS, _rows(result))]
    resumed = [LABELS[k] for k in LABELS if result.get(k, {}).get("resumed")]
    if resumed:
        lines += ["", f"Interrupted and resumed from its checkpoint within the same training-time budget: "
                      f"{', '.join(resumed)}; its wall / CPU seconds count the resumed part only."]
    for key, t in result.get("targets", {}).items():
        peer = f" (mace_run_train {t['peer']:.1f})" if "peer" in t else ""
        lines += ["", f"Target `{key}` ({t['target']}): {'met' if t['met'] else 'missed'} — "
                      f"{t['value']:.1f} meV/Å{peer}."]
    return "\n".join(lines)


if __name__ == "__main__":  # python benchmarks/mace_ethanol.py [--part mace|nep] [--quick]
    quick = "--quick" in sys.argv
    part = sys.argv[sys.argv.index("--part") + 1] if "--part" in sys.argv else "mace"
    run(quick, HERE / ("_work/results" if quick else "results"),
        HERE / "_work" / "BENCHMARKS.md" if quick else HERE.parent / "BENCHMARKS.md", Console(), part)
