"""The runs of the ``bp_al`` benchmark: BP beside NEP on public data, and active learning on EMT copper.

Imported by ``bp_al.py`` (tables, targets, Markdown); every function here measures something.
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text

#: The training recipe the committed results were measured with (the defaults before the nep_alloy ablation).
RECIPE = {"lambda_e": 1.0, "lr_patience": 10}

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "atoms"

#: NEP settings as in the NEP benchmark (``_nep_data.py``) for the same data sets.
NEP_HYPER = {"si": {"cutoff": (5.0, 4.0), "n_max": (4, 4), "basis_size": (8, 8), "l_max": (4, 2, 0), "neurons": 30},
             "ethanol": {"cutoff": (5.0, 4.0), "n_max": (6, 6), "basis_size": (10, 8), "l_max": (4, 2, 1),
                         "neurons": 60}}
#: Behler–Parrinello: the package defaults (automatic symmetry functions: 8 G2 per element, 8 G4 per
#: element pair within 4 Å; two hidden layers of 20, tanh).
BP_HYPER = {"si": {"cutoff": (5.0, 4.0)}, "ethanol": {"cutoff": (5.0, 4.0)}}
DATASETS = {"si": ("mlearn Si", SHARED / "mlearn" / "Si"), "ethanol": ("rMD17 ethanol", SHARED / "rmd17_ethanol")}


# ------------------------------------------------------------------------------------ BP vs NEP
def _md_rate(atoms, calc, steps: int, timestep_fs: float) -> dict:
    """Atom-steps per second of velocity-Verlet MD (after two warm-up steps)."""
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet

    system = atoms.copy()
    MaxwellBoltzmannDistribution(system, temperature_K=300.0, rng=np.random.default_rng(0))
    system.calc = calc
    md = VelocityVerlet(system, timestep_fs * units.fs)
    md.run(2)
    wall, cpu = time.perf_counter(), time.process_time()
    md.run(steps)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"n_atoms": len(system), "steps": steps, "wall_s": wall, "cpu_s": cpu,
            "atom_steps_per_s": len(system) * steps / wall, "atom_steps_per_cpu_s": len(system) * steps / cpu}


def _md_system(name: str, train_xyz: Path):
    """The MD speed system: a 512-atom Si cell (the 64-atom mlearn cell ×2×2×2) or one ethanol molecule."""
    from nnsurrogate.atomistic.data import read_frames

    frames = read_frames(train_xyz, cutoff=5.0)
    if name == "si":
        cell = next(f for f in frames if len(f) == 64 and f.info.get("config_type") == "AIMD-NVT")
        atoms = cell.repeat((2, 2, 2))
        return atoms, 1.0
    return frames[0], 0.5


def train_and_test(name: str, model: str, budget: float, work: str) -> dict:
    """Train one model for *budget* s (10 % of the training file held out, seed 0) and test it.

    Runs in a worker process (one torch thread); returns the timings, errors and the run folder.
    """
    import torch

    from nnsurrogate.atomistic.training import PotentialTrainConfig
    from nnsurrogate.atomistic.workflow import TrainInputs, test_workflow, train_workflow

    torch.set_num_threads(1)
    _, folder = DATASETS[name]
    hyper = (BP_HYPER if model == "bp" else NEP_HYPER)[name]
    out = Path(work) / f"{name}_{model}"
    inputs = TrainInputs(train=folder / "train.xyz", valid_fraction=0.1, hyper=hyper, reference="mean", threads=1,
                         model=model)
    config = PotentialTrainConfig(epochs=10**9, time_limit=budget, seed=0, **RECIPE)
    wall, cpu = time.perf_counter(), time.process_time()
    fit = train_workflow(inputs, config, out)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    test = test_workflow(out, folder / "test.xyz", out / "test")
    return {"model": model, "hyper": {k: list(v) if isinstance(v, tuple) else v for k, v in hyper.items()},
            "training_budget_s": budget, "training_loop_s": fit["training_time_s"], "train_wall_s": wall,
            "train_cpu_s": cpu, "epochs": fit["epochs_run"], "best_epoch": fit["best_epoch"],
            "valid": fit.get("valid"), "test": test, "run_folder": str(out)}


def md_speed(name: str, run_folder: str, steps: int) -> dict:
    """MD atom-steps per second of a trained model (float64, one thread) on the data set's MD system."""
    import torch

    from nnsurrogate.atomistic.calculator import load_calculator

    atoms, timestep = _md_system(name, DATASETS[name][1] / "train.xyz")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _md_rate(atoms, load_calculator(run_folder), steps if name == "si" else 10 * steps, timestep)
    finally:
        torch.set_num_threads(previous)


def parallel(jobs: list[tuple], workers: int = 2) -> list:
    """Run ``fn(*args)`` for each ``(fn, *args)`` in fresh worker processes (spawned, one torch thread
    each), *workers* at a time; results in job order. Both contenders of a comparison run side by side,
    so they share the machine's load alike."""
    import concurrent.futures as cf
    import multiprocessing
    import os

    here = str(Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join([here, *filter(None, [os.environ.get("PYTHONPATH")])])
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(job[0], *job[1:]) for job in jobs]
        return [f.result() for f in futures]


def bp_versus_nep(budgets: dict, work: Path, console: Console, md_steps: int) -> dict:
    """Per data set: BP and NEP trained side by side (same split, same wall budget), then the MD speed
    of each measured one after the other."""
    out = {}
    for name, budget in budgets.items():
        console.print(Text(f"  bp_al: BP and NEP on {DATASETS[name][0]}, {budget:.0f} s each …", style="dim"))
        results = parallel([(train_and_test, name, model, budget, str(work)) for model in ("bp", "nep")])
        for r in results:
            r["md"] = md_speed(name, r["run_folder"], md_steps)
        out[name] = {r["model"]: r for r in results}
    return out


# -------------------------------------------------------------------------------- active learning
def emt_copper_data(work: Path, n_test_per_t: int, console: Console) -> dict:
    """Initial frames (10 rattled 32-atom fcc Cu cells) and a fixed test set from EMT Langevin MD at
    300, 600 and 900 K (2 fs steps, a frame every 50 steps after 200), written as extended XYZ."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.io import write

    from nnsurrogate.atomistic.labelers import label_atoms
    from nnsurrogate.atomistic.sampling import md_snapshots

    paths = {"initial": work / "initial.xyz", "test": work / "test.xyz"}
    if all(p.is_file() for p in paths.values()):
        return {k: str(v) for k, v in paths.items()}
    console.print(Text("  bp_al: EMT copper initial and test frames …", style="dim"))
    base = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 2))
    initial = []
    for k in range(10):
        atoms = base.copy()
        atoms.rattle(0.05, seed=k)
        initial.append(label_atoms(atoms, EMT()))
    test = []
    for temperature in (300.0, 600.0, 900.0):
        frames = md_snapshots(base, EMT(), temperature, 200 + 50 * n_test_per_t, 50, 2.0, seed=int(temperature) + 7)
        test += [label_atoms(f, EMT()) for f in frames[4:4 + n_test_per_t]]
    work.mkdir(parents=True, exist_ok=True)
    write(paths["test"], test)
    write(paths["initial"], initial)
    return {k: str(v) for k, v in paths.items()}


def active_learning_run(strategy: str, seed: int, data: dict, settings: dict, work: str) -> dict:
    """One active-learning run (in a worker process); the learning curve (labels → test errors), timings.

    An interrupted benchmark resumes the run from its folder.
    """
    from dataclasses import replace

    from nnsurrogate.atomistic.active_learning import ALConfig, run_active_learning
    from nnsurrogate.atomistic.data import read_frames
    from nnsurrogate.atomistic.training import PotentialTrainConfig
    from nnsurrogate.core.training import torch_threads

    al = {**settings["al"], "temperatures": tuple(settings["al"]["temperatures"])}
    config = ALConfig(**al, strategy=strategy, seed=seed)
    train = replace(PotentialTrainConfig(**{**RECIPE, **settings["train"]}), seed=seed)
    initial, test = read_frames(data["initial"], cutoff=5.0), read_frames(data["test"], cutoff=5.0)
    wall, cpu = time.perf_counter(), time.process_time()
    with torch_threads(1):
        summary = run_active_learning(initial, config, train, Path(work) / f"al_{strategy}_{seed}", test, resume=True)
    return {"strategy": strategy, "seed": seed, "status": summary["status"], "n_rounds": summary["n_rounds"],
            "n_labels": summary["n_labels"], "curve": summary["learning_curve"],
            "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def active_learning_runs(seeds, data: dict, settings: dict, work: Path, console: Console) -> dict:
    """Both strategies for every seed; the two runs of one seed side by side."""
    jobs = [(active_learning_run, strategy, seed, data, settings, str(work))
            for seed in seeds for strategy in ("uncertainty", "random")]
    console.print(Text(f"  bp_al: active learning, {len(jobs)} runs, two at a time …", style="dim"))
    results = parallel(jobs)
    return {s: [r for r in results if r["strategy"] == s] for s in ("uncertainty", "random")}


def labels_needed(runs: list[dict], target: float) -> dict:
    """Labels to reach the target test force MAE in each run (None: not within the budget) and their
    median, a run that never reached it counting as infinitely many (a median of None means that)."""
    from nnsurrogate.atomistic.active_learning import labels_to_reach

    per = [labels_to_reach(r["curve"], target) for r in runs]
    median = statistics.median([math.inf if p is None else p for p in per]) if per else math.inf
    return {"per_seed": per, "median": None if math.isinf(median) else median}
