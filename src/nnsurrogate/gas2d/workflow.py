"""File-to-file workflows behind ``nnsurrogate gas2d generate`` and ``nnsurrogate gas2d train``.

``generate`` writes a data folder (``train.npz``, ``test.npz``, ``dataset.json``); ``train`` reads
one, trains a LeNet, scores it on the test samples and writes ``OUT/model/``, ``OUT/metrics.json``
and ``OUT/plots/{parity,confusion}.png``. Inputs are validated before anything is written; every file
is written atomically; an interrupted training resumes from ``OUT/.checkpoint/`` with ``resume``.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from nnsurrogate.core.engine.budget import time_limit_scope
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import CHECKPOINT_DIR, write_json
from nnsurrogate.core.plots import parity_plot
from nnsurrogate.gas2d.classes import force_classes
from nnsurrogate.gas2d.dataset import Gas2DData, GasSpec, generate, load_data, save_data
from nnsurrogate.gas2d.evaluation import majority_baseline, score
from nnsurrogate.gas2d.network import lenet_feature_size
from nnsurrogate.gas2d.plots import confusion_plot
from nnsurrogate.gas2d.training import TrainSettings, fit, make_config

__all__ = ["PAPER_ACCURACY_BOTH", "evaluate_model", "generate_folder", "train_folder"]

#: Best both-components accuracy reported by Zharikov, Zavyalov & Sivashova (2022), 28 × 28 LeNet.
PAPER_ACCURACY_BOTH = 0.71


def generate_folder(out: str, spec: GasSpec, n_samples: int, test_fraction: float = 0.2, seed: int = 0,
                    progress=None) -> dict:
    """Generate *n_samples* targets and write them split into train and test parts.

    The split is by box (whole boxes go to one side), the first ``round((1 − test_fraction)·n)``
    samples (rounded down to whole boxes) to training: 50 000 samples give the paper's 40 000 / 10 000.

    Returns
    -------
    dict
        Counts and the generator parameters (also in ``dataset.json``).
    """
    if not 0.0 < test_fraction < 1.0:
        raise UserInputError(f"test fraction must be between 0 and 1, got {test_fraction}", "test_fraction")
    n_train = int(round((1.0 - test_fraction) * n_samples)) // spec.targets_per_box * spec.targets_per_box
    if n_train < 1 or n_train >= n_samples:
        raise UserInputError(f"{n_samples} samples are too few to split into train and test", "n_samples")
    start = time.perf_counter()
    data = generate(spec, n_samples, seed, progress)
    parts = {"train": data.subset(np.arange(n_train)), "test": data.subset(np.arange(n_train, n_samples))}
    counts = np.diff(data.offsets)
    info = {"seed": seed, "test_fraction": test_fraction, "mean_neighbours_in_window": float(counts.mean()),
            "force_std_eV_A": float(np.sqrt(np.mean(np.var(data.forces, axis=0)))),
            "units": {"positions": "Å", "forces": "eV/Å", "density": "1/Å²"},
            "generate_seconds": round(time.perf_counter() - start, 3)}
    save_data(out, parts, info)
    return {"n_train": n_train, "n_test": n_samples - n_train, **info, "spec": data.spec}


def evaluate_model(model, train: Gas2DData, test: Gas2DData) -> tuple[dict, dict]:
    """Scores of *model* on *test* with the majority-class baseline from *train* beside them, and its predictions."""
    c = model.config
    pred = model.predict(test.descriptor(c.grid, c.descriptor))
    metrics = score(pred["classes"], pred["forces"], test.forces, c.f_max, c.n_classes)
    metrics["majority_class"] = majority_baseline(train.forces, test.forces, c.f_max, c.n_classes)
    metrics["paper_accuracy_both"] = PAPER_ACCURACY_BOTH
    return metrics, pred


def train_folder(data_dir: str, out: str, settings: TrainSettings, resume: bool = False,
                 progress: Progress | None = None) -> dict:
    """Train on ``DATA/train.npz``, score on ``DATA/test.npz``, write the model, metrics and plots.

    *progress* is called after every mini-batch (see :func:`~nnsurrogate.gas2d.training.fit`).

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    with time_limit_scope(settings.time_limit):  # reading the data counts against the limit
        train, test = load_data(data_dir, "train"), load_data(data_dir, "test")
        config = make_config(train, settings)  # bad settings fail before anything is written
        if config.network == "lenet":
            lenet_feature_size(config.grid)
        out_dir = Path(out)
        ckpt_dir = out_dir / CHECKPOINT_DIR
        if not resume and ckpt_dir.exists():
            shutil.rmtree(ckpt_dir)
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        model, history = fit(train, settings, progress, ckpt_dir / "gas2d.pt")
    fit_s = time.perf_counter() - start
    metrics, pred = evaluate_model(model, train, test)
    c = model.config
    metrics.update(head=c.head, recipe=settings.recipe, descriptor=c.descriptor, network=c.network, grid=c.grid, n_classes=c.n_classes, f_max=c.f_max,
                   fmax_rule=c.data.get("fmax_rule"), n_train=train.n_samples, n_test=test.n_samples,
                   settings=asdict(settings), data=train.spec, history=history, epochs_run=len(history),
                   stopped_by=model.stopped_by, time_limit=settings.time_limit, fit_seconds=round(fit_s, 3),
                   units={"force_mae": "eV/Å", "force_rmse": "eV/Å", "force_std": "eV/Å", "f_max": "eV/Å"})
    model.save(out_dir / "model", extra={"training": {"settings": asdict(settings), "n_train": train.n_samples}})
    write_json(out_dir / "metrics.json", metrics)
    _plots(out_dir / "plots", test, pred, metrics)
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    return metrics


def _plots(folder: Path, test: Gas2DData, pred: dict, metrics: dict) -> None:
    title = (f"{metrics['head']}: both-components accuracy {metrics['accuracy_both']:.3f}, "
             f"R² {metrics['force_r2']:.3f}")
    parity_plot(folder / "parity.png", test.forces.ravel(), pred["forces"].ravel(), label="force component, eV/Å",
                title=title)
    true = force_classes(test.forces[:, 0], metrics["f_max"], metrics["n_classes"])
    confusion_plot(folder / "confusion.png", true, pred["classes"][:, 0], metrics["n_classes"],
                   title="classes of F_x")
