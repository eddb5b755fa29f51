"""Systems, reference data and single runs of the ``al_wide`` benchmark (imported by ``al_wide.py``).

Every frame here is labelled by the real reference calculator: ASE's EMT for the Cu–Au alloy, tblite's
GFN2-xTB for ethanol. Reference MD (the same Langevin integrator as the potentials') gives the test
set and the pool; both are drawn from the whole space (every structure, every temperature), with seeds
that no active-learning run uses.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text

NEP_SMALL = {"cutoff": (5.0, 4.0), "n_max": (4, 4), "basis_size": (8, 8), "l_max": (4, 2, 0), "neurons": 30}

#: Every strategy: labels to the budget (the stopping rule recorded, so that every learning curve spans the same
#: labels), MD that goes on round after round, the calibration fitted on the last 3 rounds' fresh frames.
LOOP = {"stop_on_rule": False, "continue_md": True, "calibration_history": 3}

#: Per system: reference, structures, temperatures (K), MD time step (fs), frames per (structure, T)
#: in the test set and the pool, and the active-learning settings (ALConfig keywords) of every strategy.
SYSTEMS = {
    "cuau": {
        "title": "EMT Cu–Au (bulk Cu₃Au-like alloy, (100) slab, vacancy; 300–1500 K)",
        "calculator": "emt", "temperatures": (300.0, 900.0, 1500.0), "timestep": 2.0,
        "n_test": 10, "n_pool": 30, "n_initial": 3, "rattle": 0.05, "every": 40, "equilibrate": 100,
        "al": {"committee": 4, "per_iteration": 6, "iterations": 10, "calibration_frames": 2, "md_steps": 150,
               "sample_every": 10, "min_separation": 30, "max_uncertainty": 1.0, "train_steps": 1500,
               "warm_steps": 500, "warm_learning_rate": 2e-3, "hyper": NEP_SMALL,
               **LOOP},
        "train": {"batch_size": 4, "lambda_v": 0.1, "epochs": 100},
    },
    "ethanol": {
        "title": "GFN2-xTB ethanol (300–1000 K)",
        "calculator": "xtb", "temperatures": (300.0, 600.0, 1000.0), "timestep": 0.5,
        "n_test": 20, "n_pool": 40, "n_initial": 5, "rattle": 0.03, "every": 40, "equilibrate": 200,
        "al": {"committee": 4, "per_iteration": 4, "iterations": 12, "calibration_frames": 2, "md_steps": 400,
               "sample_every": 10, "min_separation": 40, "max_uncertainty": 2.0, "train_steps": 1500,
               "warm_steps": 500, "warm_learning_rate": 2e-3, "hyper": NEP_SMALL,
               **LOOP},
        "train": {"batch_size": 4, "lambda_v": 0.0, "epochs": 100},
    },
}
#: How the target and the stopping threshold follow from the committee trained on the whole pool.
TARGET_OVER_FULL_POOL = 2.0    # target test force MAE = this × the full-pool committee's
THRESHOLD_OVER_TARGET = 4.0    # calibrated-σ threshold (eV/Å) = this × the target MAE
FULL_POOL_STEPS = 6000         # Adam steps of each member of the full-pool committee


def structures(system: str) -> list:
    """The start structures of *system*, in the order MD runs cycle through them."""
    from ase.build import bulk, fcc100, molecule

    if system == "ethanol":
        return [molecule("CH3CH2OH")]
    rng = np.random.default_rng(11)
    cell = bulk("Cu", "fcc", a=3.75, cubic=True).repeat((2, 2, 2))
    symbols = np.array(cell.get_chemical_symbols())
    symbols[rng.choice(len(cell), len(cell) // 4, replace=False)] = "Au"
    cell.set_chemical_symbols(symbols.tolist())
    slab = fcc100("Cu", (2, 2, 5), a=3.75, vacuum=6.0, periodic=True)
    symbols = np.array(slab.get_chemical_symbols())
    symbols[rng.choice(len(slab), len(slab) // 4, replace=False)] = "Au"
    slab.set_chemical_symbols(symbols.tolist())
    vacancy = cell.copy()
    del vacancy[5]
    return [cell, slab, vacancy]


def reference_data(system: str, work: Path, console: Console, quick: bool) -> dict:
    """Initial, test and pool frames of *system* as extended XYZ (made once, then reused)."""
    from ase.io import write

    from nnsurrogate.atomistic.labelers import label_atoms, labeler

    spec = SYSTEMS[system]
    paths = {k: work / f"{k}.xyz" for k in ("initial", "test", "pool")}
    if all(p.is_file() for p in paths.values()):
        return {k: str(v) for k, v in paths.items()}
    console.print(Text(f"  al_wide: {system} reference frames ({spec['calculator']}) …", style="dim"))
    calc = labeler(spec["calculator"])()
    starts = structures(system)
    initial = []
    for k in range(spec["n_initial"]):  # interleaved: structure 0, 1, 2, 0, 1, 2, …
        for s, atoms in enumerate(starts):
            frame = atoms.copy()
            frame.rattle(spec["rattle"], seed=100 * s + k)
            frame = label_atoms(frame, calc)
            frame.info["config_type"] = f"initial_{s}"
            initial.append(frame)
    scale = 0.2 if quick else 1.0
    test = _md_frames(starts, calc, spec, max(2, round(spec["n_test"] * scale)), seed=1)
    pool = _md_frames(starts, calc, spec, max(3, round(spec["n_pool"] * scale)), seed=2)
    work.mkdir(parents=True, exist_ok=True)
    for key, frames in (("initial", initial), ("test", test), ("pool", pool)):
        write(paths[key], frames, format="extxyz")
    return {k: str(v) for k, v in paths.items()}


def _md_frames(starts: list, calc, spec: dict, n: int, seed: int) -> list:
    """*n* frames per (structure, temperature) from reference Langevin MD (``equilibrate`` steps first)."""
    from nnsurrogate.atomistic.labelers import label_atoms
    from nnsurrogate.atomistic.sampling import md_snapshots

    out = []
    for s, atoms in enumerate(starts):
        for temperature in spec["temperatures"]:
            every, skip = spec["every"], spec["equilibrate"] // spec["every"]
            frames = md_snapshots(atoms, calc, temperature, spec["equilibrate"] + every * n, every,
                                  spec["timestep"], seed=1000 * seed + 10 * s + int(temperature) // 100)
            for frame in frames[skip + 1: skip + 1 + n]:
                labelled = label_atoms(frame, calc)
                labelled.info["config_type"] = f"md_{s}_{temperature:g}K"
                out.append(labelled)
    return out


def al_settings(system: str, threshold: float, quick: bool) -> dict:
    """ALConfig keywords of every strategy: the system's settings, one MD run per (structure, T)."""
    spec = SYSTEMS[system]
    n_structures = len(structures(system))
    al = {**spec["al"], "calculator": spec["calculator"], "model": "nep", "threshold": threshold,
          "timestep": spec["timestep"],
          # run k: temperature k // n_structures, start frame k % n_initial (the interleaved structures)
          "temperatures": tuple(t for t in spec["temperatures"] for _ in range(n_structures))}
    # the MD guard must sit above the stopping threshold (a weak full-pool committee, as in --quick, sets a high one)
    al["max_uncertainty"] = max(al["max_uncertainty"], 2.0 * threshold)
    if quick:
        al.update(iterations=1, committee=2, md_steps=20, sample_every=5, min_separation=0, train_steps=30,
                  warm_steps=15, per_iteration=2)
    return al


def one_run(system: str, strategy: str, seed: int, data: dict, al: dict, train: dict, work: str) -> dict:
    """One active-learning run in a worker process (resumed from its folder if interrupted)."""
    from dataclasses import replace

    import torch

    from nnsurrogate.atomistic.active_learning import ALConfig, run_active_learning
    from nnsurrogate.atomistic.data import read_frames
    from nnsurrogate.atomistic.sampling import read_structures
    from nnsurrogate.atomistic.training import PotentialTrainConfig

    torch.set_num_threads(1)
    pool = read_structures(data["pool"]) if strategy == "pool_random" else None
    config = ALConfig(**{**al, "temperatures": tuple(al["temperatures"]), "hyper": dict(al["hyper"])},
                      strategy="random" if strategy == "pool_random" else strategy, seed=seed)
    cfg = replace(PotentialTrainConfig(**train), seed=seed)
    initial, test = read_frames(data["initial"], cutoff=5.0), read_frames(data["test"], cutoff=5.0)
    wall, cpu = time.perf_counter(), time.process_time()
    summary = run_active_learning(initial, config, cfg, Path(work) / f"{system}_{strategy}_{seed}", test, resume=True,
                                  pool=pool)
    return {"system": system, "strategy": strategy, "seed": seed, "status": summary["status"],
            "stop_reason": summary.get("stop_reason"), "n_rounds": summary["n_rounds"],
            "n_labels": summary["n_labels"], "curve": summary["learning_curve"],
            "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def full_pool_committee(system: str, data: dict, al: dict, train: dict, work: str, quick: bool) -> dict:
    """The committee trained on every pool frame plus the initial ones (fresh, FULL_POOL_STEPS steps):
    its test errors set the target."""
    import math
    from dataclasses import replace

    import torch

    from nnsurrogate.atomistic.active_learning import test_errors
    from nnsurrogate.atomistic.committee import CommitteeCalculator, fit_committee
    from nnsurrogate.atomistic.data import read_frames
    from nnsurrogate.atomistic.training import PotentialTrainConfig

    torch.set_num_threads(1)
    frames = read_frames(data["initial"], cutoff=5.0) + read_frames(data["pool"], cutoff=5.0)
    test = read_frames(data["test"], cutoff=5.0)
    steps = 40 if quick else FULL_POOL_STEPS
    cfg = replace(PotentialTrainConfig(**train), epochs=max(1, math.ceil(steps / math.ceil(len(frames) / train["batch_size"]))))
    wall, cpu = time.perf_counter(), time.process_time()
    members, _ = fit_committee(frames, "nep", dict(al["hyper"]), al["committee"], cfg)
    errors = test_errors(CommitteeCalculator(members), test)
    return {"n_frames": len(frames), "steps": steps, "test": errors, "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu, "work": work}
