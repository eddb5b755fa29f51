"""Predictions of a potential on labelled frames, error metrics and parity plots.

Metric names (as in ``metrics.json``): ``energy_rmse_meV_atom``, ``energy_mae_meV_atom``
(per-atom energy errors, meV/atom), ``force_rmse_meV_A``, ``force_mae_meV_A`` (over all
Cartesian components, meV/Å), ``virial_rmse_meV_atom`` (six components of W/N for frames with a
stress, meV/atom).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from ase import Atoms

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.data import frame_labels
from nnsurrogate.core import metrics

_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


@dataclass
class Predictions:
    """Per-frame predictions: ``energy`` (F,) eV, ``forces`` list of (n_i, 3) eV/Å, ``virial`` (F, 3, 3) eV."""

    energy: np.ndarray
    forces: list[np.ndarray]
    virial: np.ndarray


@torch.no_grad()
def predict_frames(model, frames: Sequence[Atoms], batch_atoms: int = 4000, where: str = "") -> Predictions:
    """Energies (with the reference energies), forces and virials of *model* for every frame.

    Parameters
    ----------
    model : potential model (see :mod:`~nnsurrogate.atomistic.models`), in its evaluation dtype
    frames : sequence of ase.Atoms
    batch_atoms : int
        Frames are evaluated in batches of about this many atoms (at most the model's own
        ``eval_batch_atoms``, where it has one: CHGNet keeps its force graph, whose memory grows fast).
    where : str
        File name for error messages.
    """
    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    batch_atoms = min(batch_atoms, model.eval_batch_atoms or batch_atoms)
    refs = dict(zip(model.species, model.reference_energies))
    energies, forces, virials = [], [], []
    start = 0
    while start < len(frames):
        stop, atoms = start, 0
        while stop < len(frames) and (stop == start or atoms + len(frames[stop]) <= batch_atoms):
            atoms, stop = atoms + len(frames[stop]), stop + 1
        chunk = list(frames[start:stop])
        batch = model.collate(model.featurize(chunk, dtype, None, where))
        batch = {k: v.to(device) for k, v in batch.items()}
        out = model(batch, forces=True, virial=True)
        energy = out[keys.ENERGY].double().cpu().numpy()
        energies += [e + sum(refs[s] for s in a.get_chemical_symbols()) for e, a in zip(energy, chunk)]
        forces += list(torch.split(out[keys.FORCES].double().cpu(), [len(a) for a in chunk]))
        virials.append(out[keys.VIRIAL].double().cpu().numpy())
        start = stop
    return Predictions(np.array(energies), [f.numpy() for f in forces], np.concatenate(virials))


def predict_with_calculator(calculator, frames: Sequence[Atoms]) -> Predictions:
    """Energies, forces and virials (W = −V σ, eV; zero for a frame that is not periodic in all three
    directions) of any ASE *calculator* for every frame — a universal pretrained model used zero-shot.
    The results are read as a frame's labels are (:func:`~nnsurrogate.atomistic.data.frame_labels`)."""
    energies, forces, virials = [], [], []
    for frame in frames:
        atoms = frame.copy()
        atoms.calc = calculator
        atoms.get_forces()
        periodic = bool(atoms.pbc.all())
        if periodic:
            atoms.get_stress()
        results = frame_labels(atoms)
        energies.append(float(results[keys.ENERGY]))
        forces.append(results[keys.FORCES])
        virials.append(results[keys.VIRIAL] if periodic else np.zeros((3, 3)))
    return Predictions(np.array(energies), forces, np.array(virials).reshape(-1, 3, 3))


def error_metrics(pred: Predictions, frames: Sequence[Atoms]) -> dict[str, float]:
    """Energy, force and virial errors of *pred* against the labels of *frames* (meV units)."""
    labels = [frame_labels(a) for a in frames]
    n = np.array([len(a) for a in frames], dtype=np.float64)
    e_true = np.array([lab[keys.ENERGY] for lab in labels]) / n
    e_pred = pred.energy / n
    f_true = np.concatenate([lab[keys.FORCES] for lab in labels]).ravel()
    f_pred = np.concatenate(pred.forces).ravel()
    out = {"n_frames": len(frames), "n_atoms": int(n.sum()),
           "energy_rmse_meV_atom": 1000 * metrics.rmse(e_true, e_pred),
           "energy_mae_meV_atom": 1000 * metrics.mae(e_true, e_pred),
           "force_rmse_meV_A": 1000 * metrics.rmse(f_true, f_pred),
           "force_mae_meV_A": 1000 * metrics.mae(f_true, f_pred),
           "virial_rmse_meV_atom": float("nan"), "n_frames_with_virial": 0}
    rows = [k for k, lab in enumerate(labels) if keys.VIRIAL in lab]
    if rows:
        w_true = np.array([[labels[k][keys.VIRIAL][a, b] / n[k] for a, b in _VOIGT] for k in rows])
        w_pred = np.array([[pred.virial[k][a, b] / n[k] for a, b in _VOIGT] for k in rows])
        out["virial_rmse_meV_atom"] = 1000 * metrics.rmse(w_true.ravel(), w_pred.ravel())
        out["n_frames_with_virial"] = len(rows)
    return out


def parity_plots(directory: str | os.PathLike, pred: Predictions, frames: Sequence[Atoms], title: str = "") -> list[Path]:
    """``parity_energy.png`` (eV/atom) and ``parity_force.png`` (eV/Å) in *directory*."""
    from nnsurrogate.core.plots import parity_plot

    directory = Path(directory)
    labels = [frame_labels(a) for a in frames]
    n = np.array([len(a) for a in frames], dtype=np.float64)
    paths = [directory / "parity_energy.png", directory / "parity_force.png"]
    parity_plot(paths[0], np.array([lab[keys.ENERGY] for lab in labels]) / n, pred.energy / n,
                label="energy (eV/atom)", title=title)
    parity_plot(paths[1], np.concatenate([lab[keys.FORCES] for lab in labels]).ravel(),
                np.concatenate(pred.forces).ravel(), label="force component (eV/Å)", title=title)
    return paths


def loss_plot(path: str | os.PathLike, history: Sequence[Sequence[float]]) -> None:
    """Training curves (train and validation energy / force RMSE per epoch), log scale."""
    from nnsurrogate.core.plots import new_figure, save_figure

    h = np.asarray(history, dtype=np.float64).reshape(-1, 10)
    fig, ax = new_figure(figsize=(5.2, 3.8), dpi=120)
    for col, label, style in ((3, "train E (eV/atom)", "C0--"), (6, "valid E (eV/atom)", "C0-"),
                              (4, "train F (eV/Å)", "C1--"), (7, "valid F (eV/Å)", "C1-")):
        ax.plot(h[:, 0], h[:, col], style, label=label, lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("RMSE")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
