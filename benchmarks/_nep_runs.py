"""Child processes of the NEP benchmark (``benchmarks/nep.py``): one training run each.

``python benchmarks/_nep_runs.py ours|torchnep CONFIG.json`` trains on CONFIG's data and appends one
JSON line per epoch to CONFIG["trace"]: wall and CPU seconds since the trainer was called (data
reading and preprocessing included), the epoch and the test-set energy and force RMSE. Both tools
get the test file as their validation file, so both evaluate it after every epoch and keep the
epoch with the lowest validation loss. A run stops at CONFIG["budget_s"] of wall time: ours through
its own time limit (it then writes ``nep.txt``), TorchNEP by exiting the process (its
``nep_best.txt`` is on disk from the last improvement; a copy taken after each completed epoch
guards against a kill in the middle of a write).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path


def _trace_writer(path: Path, t0: float, c0: float):
    handle = open(path, "w", encoding="utf-8")

    def write(epoch: int, energy: float, force: float, **extra) -> None:
        row = {"wall_s": time.time() - t0, "cpu_s": time.process_time() - c0, "epoch": epoch,
               "test_energy_rmse": energy, "test_force_rmse": force, **extra}
        handle.write(json.dumps(row) + "\n")
        handle.flush()

    return write


def run_ours(cfg: dict) -> None:
    import torch

    torch.set_num_threads(cfg["threads"])
    from nnsurrogate.atomistic.data import read_frames
    from nnsurrogate.atomistic.training import PotentialTrainConfig, make_batch, train_potential
    from nnsurrogate.atomistic.workflow import TrainInputs, build_model, finish_run, prepare_sets

    t0, c0 = time.time(), time.process_time()
    trace = _trace_writer(Path(cfg["trace"]), t0, c0)
    hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg["hyper"].items()}
    inputs = TrainInputs(train=Path(cfg["train"]), valid=Path(cfg["test"]), hyper=hyper, threads=cfg["threads"],
                         reference=cfg.get("reference", TrainInputs.reference))
    train_frames = read_frames(cfg["train"], cutoff=max(hyper["cutoff"]))
    test_frames = read_frames(cfg["test"], cutoff=max(hyper["cutoff"]))
    model, _ = build_model(inputs, train_frames, cfg["seed"])
    train, test = prepare_sets(model, train_frames, test_frames, torch.float32, cfg["train"])
    batch, _ = make_batch(model, train, range(len(train)), torch.device("cpu"), torch.float64)
    model.initialize(batch, float((train.energy / train.n_atoms).mean()))
    model.set_max_neighbors(train.max_neighbors())
    config = PotentialTrainConfig(epochs=10**9, time_limit=max(cfg["budget_s"] - (time.time() - t0), 1.0),
                                  seed=cfg["seed"], **cfg.get("train_options", {}))
    result = train_potential(model, train, test, config,
                             lambda epoch, _, info: trace(epoch, info["valid"][0], info["valid"][1],
                                                          train_energy_rmse=info["train"][0],
                                                          train_force_rmse=info["train"][1], lr=info["lr"]))
    finish_run(model, result, train_frames, test_frames, Path(cfg["out"]), config)


def _nep_in(cfg: dict, species: list[str]) -> str:
    h = cfg["hyper"]
    lines = [f"type {len(species)} {' '.join(species)}", f"cutoff {h['cutoff'][0]} {h['cutoff'][1]}",
             f"n_max {h['n_max'][0]} {h['n_max'][1]}", f"basis_size {h['basis_size'][0]} {h['basis_size'][1]}",
             f"l_max {' '.join(str(v) for v in h['l_max'])}", f"neuron {h['neurons']}", "epoch 100000"]
    return "\n".join(lines) + "\n"


def _watch_loss_file(out: Path, trace, budget: float, t0: float) -> None:
    """Turn each new row of TorchNEP's loss.out into a trace line; leave the process at the budget."""
    loss, best, seen = out / "loss.out", out / "nep_best.txt", 0
    while True:
        time.sleep(0.2)
        rows = []
        if loss.exists():
            rows = [r.split() for r in loss.read_text().splitlines() if r.strip() and not r.startswith("#")]
        for row in rows[seen:]:  # epoch loss E F V S E_test F_test V_test S_test
            trace(int(row[0]), float(row[6]), float(row[7]))
            if best.exists():
                shutil.copyfile(best, out / "nep_best_snapshot.txt")
        seen = max(seen, len(rows))
        if time.time() - t0 > budget:
            os._exit(0)


def run_torchnep(cfg: dict) -> None:
    import torch

    torch.set_num_threads(cfg["threads"])
    from ase.io import read
    from torchnep import train_nep

    out = Path(cfg["out"])
    out.mkdir(parents=True, exist_ok=True)
    symbols = {s for a in read(cfg["train"], ":") for s in a.get_chemical_symbols()}
    from ase.data import atomic_numbers

    species = sorted(symbols, key=lambda s: atomic_numbers[s])
    (out / "nep.in").write_text(_nep_in(cfg, species))
    t0, c0 = time.time(), time.process_time()
    trace = _trace_writer(Path(cfg["trace"]), t0, c0)
    threading.Thread(target=_watch_loss_file, args=(out, trace, cfg["budget_s"], t0), daemon=True).start()
    train_nep(str(out / "nep.in"), cfg["train"], output_dir=str(out), device="cpu", valid_file=cfg["test"],
              run_seed=cfg["seed"], prediction_interval=0, use_compile=False, checkpoint_interval=10**6,
              print_interval=10**6)
    time.sleep(0.5)  # let the watcher record the last epoch


def run_torchnep_finetune(cfg: dict) -> None:
    """TorchNEP's fine-tuning of a published nep.txt (CONFIG["from"]) on CONFIG["train"], element-slimmed,
    holding out CONFIG["valid_ratio"]; stops at CONFIG["budget_s"] like :func:`run_torchnep`."""
    import torch

    torch.set_num_threads(1)
    from torchnep import train_nep

    out = Path(cfg["out"])
    out.mkdir(parents=True, exist_ok=True)
    lines = Path(cfg["from"]).read_text().splitlines()[:7]
    head = {line.split()[0]: line.split()[1:] for line in lines}
    species = lines[0].split()[2:]
    zbl = [f"zbl {head['zbl'][1]}"] if "zbl" in head else []  # nep.in: the outer cutoff (inner = half)
    (out / "nep.in").write_text("\n".join([
        f"type {len(species)} {' '.join(species)}", *zbl, f"cutoff {' '.join(head['cutoff'][:2])}",
        f"n_max {' '.join(head['n_max'])}", f"basis_size {' '.join(head['basis_size'])}",
        f"l_max {' '.join(head['l_max'])}", f"neuron {head['ANN'][0]}", f"lr {cfg['lr']}", "epoch 100000"]) + "\n")
    t0, c0 = time.time(), time.process_time()
    trace = _trace_writer(out / "trace.jsonl", t0, c0)
    threading.Thread(target=_watch_loss_file, args=(out, trace, cfg["budget_s"], t0), daemon=True).start()
    train_nep(str(out / "nep.in"), cfg["train"], output_dir=str(out), device="cpu", valid_ratio=cfg["valid_ratio"],
              finetune_from=cfg["from"], slim_types=True, run_seed=cfg["seed"], prediction_interval=0,
              use_compile=False, checkpoint_interval=10**6, print_interval=10**6)
    time.sleep(0.5)


def run_train_test(cfg: dict) -> None:
    """One accuracy run of the NEP benchmark (``_nep_data.train_and_test``); its result to CONFIG["result"]."""
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _nep_data

    hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg["hyper"].items()}
    result = _nep_data.train_and_test(Path(cfg["train"]), Path(cfg["test"]), Path(cfg["out"]), hyper,
                                      cfg["budget_s"], cfg["options"])
    Path(cfg["result"]).write_text(json.dumps(result, default=float))


if __name__ == "__main__":
    config = json.loads(Path(sys.argv[2]).read_text())
    {"ours": run_ours, "torchnep": run_torchnep, "train_test": run_train_test,
     "torchnep_finetune": run_torchnep_finetune}[sys.argv[1]](config)
