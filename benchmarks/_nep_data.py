"""Data and measurements of the NEP benchmark (``benchmarks/nep.py``).

- EMT copper and Cu–Au data made with ASE's EMT and Langevin MD along a 300 → 1200 K ramp, cached in
  ``benchmarks/_work/nep_data`` (regenerated when the protocol changes);
- final test errors of an exported ``nep.txt`` through calorine's CPUNEP (one evaluator for all);
- the mlearn and rMD17 trainings (ours only), and the MD speed comparison.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data" / "atoms"
EMT_PROTOCOL = {"lattice_A": {"cu": 3.61, "cuau": 3.85}, "supercells": [[2, 2, 2], [3, 3, 3]],
                "frames_per_size": {"train": 100, "test": 30}, "quick_frames_per_size": {"train": 12, "test": 6},
                "temperature_K": [300.0, 1200.0], "timestep_fs": 4.0, "friction_per_fs": 0.02,
                "equilibration_steps": 50, "steps_between_frames": 10, "seeds": {"train": 0, "test": 1},
                "gold_fraction": {"cu": 0.0, "cuau": 0.5}}
MLEARN_HYPER = {"cutoff": (5.0, 4.0), "n_max": (4, 4), "basis_size": (8, 8), "l_max": (4, 2, 0), "neurons": 30}
ETHANOL_HYPER = {"cutoff": (6.0, 5.0), "n_max": (8, 8), "basis_size": (12, 12), "l_max": (4, 2, 1), "neurons": 100}
MLEARN_OPTIONS: dict = {}  # the training defaults (batch 4, Adam 4e-3 with plateau halving, λ 1 / 1 / 0.1)
ETHANOL_OPTIONS = {"batch_size": 32, "lambda_v": 0.0}  # 9-atom molecules: bigger batches; no stress
MLEARN_BUDGET_S, ETHANOL_BUDGET_S, QUICK_TRAIN_S = 600.0, 1800.0, 20.0


def _emt_frames(name: str, split: str, n_per_size: int):
    """Snapshots of Langevin MD with EMT while the temperature ramps from 300 to 1200 K."""
    from ase import units
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    p = EMT_PROTOCOL
    rng = np.random.default_rng(p["seeds"][split] + (10 if name == "cuau" else 0))
    frames = []
    for repeat in p["supercells"]:
        atoms = bulk("Cu", "fcc", a=p["lattice_A"][name], cubic=True).repeat(repeat)
        gold = rng.random(len(atoms)) < p["gold_fraction"][name]
        atoms.set_chemical_symbols(np.where(gold, "Au", "Cu").tolist())
        atoms.calc = EMT()
        t_lo, t_hi = p["temperature_K"]
        MaxwellBoltzmannDistribution(atoms, temperature_K=t_lo, rng=rng)
        md = Langevin(atoms, p["timestep_fs"] * units.fs, temperature_K=t_lo,
                      friction=p["friction_per_fs"] / units.fs, rng=rng, fixcm=False)
        md.run(p["equilibration_steps"])
        for k in range(n_per_size):
            md.set_temperature(temperature_K=t_lo + (t_hi - t_lo) * k / max(n_per_size - 1, 1))
            md.run(p["steps_between_frames"])
            frame = atoms.copy()
            frame.calc = SinglePointCalculator(frame, energy=atoms.get_potential_energy(),
                                               forces=atoms.get_forces(), stress=atoms.get_stress())
            frames.append(frame)
    return frames


def emt_datasets(folder: Path, quick: bool, console: Console) -> dict[str, dict[str, Path]]:
    """``{"cu": {"train": path, "test": path}, "cuau": {…}}``, generated once per protocol."""
    from ase.io import write

    folder = folder / ("quick" if quick else "full")
    folder.mkdir(parents=True, exist_ok=True)
    meta = folder / "protocol.json"
    fresh = meta.exists() and json.loads(meta.read_text()) == EMT_PROTOCOL
    key = "quick_frames_per_size" if quick else "frames_per_size"
    files = {}
    for name in ("cu", "cuau"):
        files[name] = {split: folder / f"{name}_{split}.xyz" for split in ("train", "test")}
        for split, path in files[name].items():
            if not (fresh and path.exists()):
                console.print(Text(f"  nep: EMT MD for {name} {split} …", style="dim"))
                write(path, _emt_frames(name, split, EMT_PROTOCOL[key][split]), format="extxyz")
    meta.write_text(json.dumps(EMT_PROTOCOL))
    return files


PBTE_PROTOCOL = {"source": "GPUMD examples: PbTe train.xyz (25 frames of 250 atoms, DFT)", "test_frames": 5,
                 "split_seed": 0}


def pbte_dataset(folder: Path) -> dict[str, Path]:
    """GPUMD's PbTe training example split once into training and test frames (files as GPUMD has them:
    ``force`` and ``energy`` keys, read without conversion)."""
    from ase.io import read

    frames = read(SHARED / "gpumd" / "pbte" / "train.xyz", ":")
    order = np.random.default_rng(PBTE_PROTOCOL["split_seed"]).permutation(len(frames))
    test = set(order[:PBTE_PROTOCOL["test_frames"]].tolist())
    folder.mkdir(parents=True, exist_ok=True)
    out = {"train": folder / "pbte_train.xyz", "test": folder / "pbte_test.xyz"}
    source = (SHARED / "gpumd" / "pbte" / "train.xyz").read_text().split("\n")
    blocks, k = [], 0
    while k < len(source) and source[k].strip():
        n = int(source[k])
        blocks.append("\n".join(source[k:k + n + 2]) + "\n")
        k += n + 2
    assert len(blocks) == len(frames)
    out["train"].write_text("".join(b for i, b in enumerate(blocks) if i not in test))
    out["test"].write_text("".join(b for i, b in enumerate(blocks) if i in test))
    return out


def read_test(path: Path):
    from nnsurrogate.atomistic.data import read_frames

    return read_frames(path)


def _rmse_mae(true: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    err = np.asarray(pred) - np.asarray(true)
    return float(np.sqrt(np.mean(err ** 2))), float(np.mean(np.abs(err)))


def final_errors(model: str, snapshot: str, frames) -> dict:
    """Test energy / force RMSE and MAE of a nep.txt through calorine's CPUNEP (meV/atom, meV/Å)."""
    from calorine.calculators import CPUNEP

    from nnsurrogate.atomistic.nep import read_nep
    from nnsurrogate.core.errors import UserInputError

    path, note = model, ""
    try:
        read_nep(path)
    except UserInputError:  # killed while writing: the copy taken after the last complete epoch
        path, note = snapshot, "file written during the kill; used the copy from the previous epoch"
    calc = CPUNEP(path)
    e_true, e_pred, f_true, f_pred = [], [], [], []
    for atoms in frames:
        copy = atoms.copy()
        copy.calc = calc
        e_true.append(atoms.get_potential_energy() / len(atoms))
        e_pred.append(copy.get_potential_energy() / len(atoms))
        f_true.append(atoms.get_forces().ravel())
        f_pred.append(copy.get_forces().ravel())
    e_true, e_pred = np.array(e_true), np.array(e_pred)
    e_rmse, e_mae = _rmse_mae(e_true, e_pred)
    shift = float(np.mean(e_pred - e_true))
    f_rmse, f_mae = _rmse_mae(np.concatenate(f_true), np.concatenate(f_pred))
    return {"model_path": path, "note": note, "final_energy_rmse_meV_atom": 1000 * e_rmse,
            "final_energy_mae_meV_atom": 1000 * e_mae, "final_energy_mean_error_meV_atom": 1000 * shift,
            "final_force_rmse_meV_A": 1000 * f_rmse, "final_force_mae_meV_A": 1000 * f_mae}


def train_and_test(train: Path, test: Path, out: Path, hyper: dict, budget: float, options: dict) -> dict:
    from nnsurrogate.atomistic.training import PotentialTrainConfig
    from nnsurrogate.atomistic.workflow import TrainInputs, test_workflow, train_workflow

    inputs = TrainInputs(train=train, valid=None, valid_fraction=0.1, hyper=hyper, threads=1)
    config = PotentialTrainConfig(epochs=10**9, time_limit=budget, seed=0, **options)
    started = time.perf_counter()
    fit = train_workflow(inputs, config, out)
    wall = time.perf_counter() - started
    tested = test_workflow(out, test, out / "test")
    return {"train_wall_s": wall, "epochs": fit["epochs_run"], "best_epoch": fit["best_epoch"],
            "valid": fit.get("valid"), "test": tested}


#: Training runs of the accuracy part that share the machine at a time (one process per core, one thread each).
PARALLEL_RUNS = 2


def _job(work: Path, name: str, train: Path, test: Path, hyper: dict, budget: float, options: dict) -> dict:
    out = work / name
    return {"name": name, "train": str(train), "test": str(test), "out": str(out), "budget_s": budget,
            "hyper": {k: list(v) if isinstance(v, tuple) else v for k, v in hyper.items()}, "options": options,
            "result": str(out.with_suffix(".result.json"))}


def run_jobs(jobs: list[dict], console: Console) -> dict[str, dict]:
    """Each job (:func:`train_and_test` arguments) in its own process (``_nep_runs.py train_test``),
    :data:`PARALLEL_RUNS` at a time, in the order given; returns name → result."""
    import os
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    def one(job: dict) -> dict:
        config = Path(job["out"]).with_suffix(".job.json")
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps(job))
        console.print(Text(f"  nep: {job['name']}, {job['budget_s']:.0f} s …", style="dim"))
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        with open(Path(job["out"]).with_suffix(".log"), "w") as log:
            code = subprocess.run([sys.executable, str(Path(__file__).with_name("_nep_runs.py")), "train_test",
                                   str(config)], env=env, stdout=log, stderr=subprocess.STDOUT).returncode
        result = Path(job["result"])
        return json.loads(result.read_text()) if code == 0 and result.exists() else {"failed": f"exit {code}"}

    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        return dict(zip([j["name"] for j in jobs], pool.map(one, jobs)))


def accuracy_runs(work: Path, quick: bool, parts: tuple[str, ...], console: Console) -> dict:
    """The mlearn (one NEP per element) and rMD17 ethanol runs among *parts*, in parallel processes.

    Returns ``{"mlearn": …, "ethanol": …}`` for the parts asked."""
    budget = QUICK_TRAIN_S if quick else MLEARN_BUDGET_S
    jobs, out = [], {}
    eth_folder = SHARED / "rmd17_ethanol"
    eth_budget = QUICK_TRAIN_S if quick else ETHANOL_BUDGET_S
    if "ethanol" in parts and eth_folder.is_dir():  # the longest first
        jobs.append(_job(work, "rmd17_ethanol", eth_folder / "train.xyz", eth_folder / "test.xyz", ETHANOL_HYPER,
                         eth_budget, ETHANOL_OPTIONS))
    elements = ("Si", "Ge", "Li", "Mo")
    if "mlearn" in parts:
        jobs += [_job(work, f"mlearn_{e}", SHARED / "mlearn" / e / "train.xyz", SHARED / "mlearn" / e / "test.xyz",
                      MLEARN_HYPER, budget, MLEARN_OPTIONS) for e in elements if (SHARED / "mlearn" / e).is_dir()]
    done = run_jobs(jobs, console)
    if "mlearn" in parts:
        out["mlearn"] = {"hyper": {k: list(v) if isinstance(v, tuple) else v for k, v in MLEARN_HYPER.items()},
                         "options": MLEARN_OPTIONS, "budget_s": budget, "runs_at_a_time": PARALLEL_RUNS,
                         "elements": {e: done.get(f"mlearn_{e}", {"skipped": "data not found"}) for e in elements}}
    if "ethanol" in parts:
        if not eth_folder.is_dir():
            out["ethanol"] = {"skipped": f"{eth_folder} not found"}
        else:
            result = done["rmd17_ethanol"]
            if "test" in result:
                result["test_energy_mae_meV_molecule"] = result["test"]["energy_mae_meV_atom"] * 9  # 9 atoms
            out["ethanol"] = {"hyper": {k: list(v) if isinstance(v, tuple) else v for k, v in ETHANOL_HYPER.items()},
                              "options": ETHANOL_OPTIONS, "budget_s": eth_budget, "runs_at_a_time": PARALLEL_RUNS,
                              **result}
    return out


def md_rate(atoms, calc, steps: int, repeats: int = 1) -> dict:
    """Atom-steps per second (wall and CPU) of *steps* velocity-Verlet steps after two warm-up steps;
    with *repeats* > 1 the run of *steps* is timed that many times in a row and the median kept (this
    machine's speed drifts by ±10 % from one second to the next), every repeat's rate listed."""
    from ase import units
    from ase.md.verlet import VelocityVerlet

    system = atoms.copy()
    system.calc = calc
    md = VelocityVerlet(system, 1.0 * units.fs)
    md.run(2)  # warm-up: first neighbour lists, lazy initialisation
    timings = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        md.run(steps)
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    wall, cpu = sorted(timings)[len(timings) // 2]
    out = {"steps": steps, "wall_s": wall, "cpu_s": cpu, "atom_steps_per_s": len(system) * steps / wall,
           "atom_steps_per_cpu_s": len(system) * steps / cpu}
    if repeats > 1:
        out["repeat_atom_steps_per_s"] = [len(system) * steps / w for w, _ in timings]
    return out


def calculator_rates(atoms, contenders: list, steps: int, label: str, console: Console, repeats: int = 1) -> dict:
    """:func:`md_rate` of each ``(key, torch threads, make calculator)`` in *contenders*, key → rates."""
    from nnsurrogate.core.threads import torch_threads

    runs = {}
    for key, threads, make in contenders:
        console.print(Text(f"  {label}, {key} …", style="dim"))
        with torch_threads(threads):
            runs[key] = md_rate(atoms, make(), steps, repeats)
    return runs


def md_speed(nep_txt: Path, quick: bool, console: Console) -> dict:
    """Atom-steps per second of velocity-Verlet MD on 4000 Cu atoms with each calculator."""
    import torch
    from ase.build import bulk
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from calorine.calculators import CPUNEP

    from nnsurrogate.atomistic.calculator import load_calculator

    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((10, 10, 10))
    MaxwellBoltzmannDistribution(atoms, temperature_K=600.0, rng=np.random.default_rng(0))
    steps = 3 if quick else 20
    contenders = [(f"ours_{dtype}_{threads}t", threads, lambda d=dtype: load_calculator(nep_txt, dtype=d))
                  for dtype in ("float64", "float32") for threads in (1, 2)]
    contenders.append(("cpunep", 1, lambda: CPUNEP(str(nep_txt))))
    try:
        from torchnep.ase_calculator import NEP as TorchNEPCalculator

        contenders += [(f"torchnep_float32_{t}t", t, lambda: TorchNEPCalculator(str(nep_txt), dtype="float32"))
                       for t in (1, 2)]
    except ImportError:
        pass
    runs = calculator_rates(atoms, contenders, steps, "nep: MD speed", console)
    check = atoms.copy()
    check.calc = load_calculator(nep_txt)
    reference = atoms.copy()
    reference.calc = CPUNEP(str(nep_txt))
    agreement = {"max_abs_force_diff_eV_A": float(np.abs(check.get_forces() - reference.get_forces()).max()),
                 "energy_diff_eV_atom": abs(check.get_potential_energy() - reference.get_potential_energy()) / len(atoms)}
    return {"n_atoms": len(atoms), "runs": runs, "agreement_with_cpunep": agreement,
            "gpu": "no GPU on this machine" if not torch.cuda.is_available() else torch.cuda.get_device_name(0)}
