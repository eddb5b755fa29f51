"""Potential models behind one small interface, and their model files.

Every potential is a :class:`PotentialModel` (a ``torch.nn.Module``) with

- ``kind`` (e.g. ``"atomistic.nep"``), ``species`` (tuple of symbols), ``cutoff`` (Å),
  ``reference_energies`` (eV per element, added outside the network);
- ``featurize(frames, dtype, widths, where) -> list[dict]``: per-frame geometry, computed once;
  ``neighbor_widths(frames)``; ``collate(list[dict]) -> batch`` (a dict with at least ``types``
  (A,), ``frame`` (A,), ``n_atoms`` (F,));
- ``forward(batch, forces, virial, create_graph) -> {"energies", "energy", "forces", "virial"}``
  without the reference energies (forces and virial from pair gradients,
  :mod:`nnsurrogate.atomistic.forces`);
- ``reset_parameters(generator)``, ``initialize(batch, target_energy_per_atom)``;
- ``to_saved() -> (tensors, header)`` and ``from_saved(tensors, header)`` for model files.

The trainer (:mod:`~nnsurrogate.atomistic.training`), the ASE calculator, ``potential test`` and
the metrics use only this interface, so other models (Behler–Parrinello, committees) plug in by
adding their class to :func:`model_classes`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nnsurrogate.core.errors import ModelFileError, UserInputError
from nnsurrogate.core.modelio import HEADER_FILE, load_model, save_model


class PotentialModel(nn.Module):
    """Base class of every potential model: the interface of the module docstring and the trainer's defaults.

    A subclass implements ``featurize``, ``neighbor_widths``, ``collate``, ``forward``,
    ``reset_parameters``, ``initialize``, ``to_saved`` and ``from_saved``, sets ``kind``,
    ``reference_energies`` and provides ``species`` and ``cutoff``. It may override what the trainer
    (:func:`~nnsurrogate.atomistic.training.train_potential`) asks of it:

    Attributes
    ----------
    kind : str
        Model kind written to model files (e.g. ``"atomistic.nep"``).
    spec : object or None
        Architecture with ``to_json()`` (part of a checkpoint's signature), or ``None``.
    bias_by_shift : bool
        ``True``: the energy offset is not stepped by Adam (it is left out of :meth:`parameter_groups`)
        but moved in closed form through :meth:`shift_energy` after every step.
    shortest_training_distance : float or None
        Shortest interatomic distance (Å) in the training frames, read from the model folder (``None``
        for a ``nep.txt`` or a model trained before it was recorded).
    model_type : str
        ``"potential"`` (energies and forces), or what a tensorial model predicts instead (a NEP's
        ``"dipole"`` or ``"polarizability"``).
    charge_mode : int
        0, or the electrostatics mode of a charge-aware model (GPUMD's qNEP: 1, 2 or 3).
    eval_batch_atoms : int or None
        Most atoms per evaluation batch in :func:`~nnsurrogate.atomistic.evaluation.predict_frames`
        (``None``: no cap of the model's own), for a model whose evaluation graph grows fast (CHGNet).
    """

    kind: str = ""
    spec: Any = None
    bias_by_shift: bool = False
    shortest_training_distance: float | None = None
    model_type: str = "potential"
    charge_mode: int = 0
    eval_batch_atoms: int | None = None
    species: tuple[str, ...]
    cutoff: float
    reference_energies: tuple[float, ...]

    def parameter_groups(self, lr: float) -> list[dict]:
        """Adam parameter groups; default: every trainable parameter at *lr*."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]

    def shift_energy(self, delta: float) -> None:
        """Add *delta* (eV) to every site energy. Default: the model has no free energy offset, so the
        trainer's closed-form shift leaves it unchanged."""

    def featurize(self, frames, dtype=torch.float32, widths=None, where: str = "") -> list[dict]:
        raise NotImplementedError

    def neighbor_widths(self, frames) -> tuple[int, ...]:
        raise NotImplementedError

    def to_saved(self) -> tuple[dict, dict]:
        raise NotImplementedError


#: What ``--model`` builds from scratch (``potential train/committee/active-learn``).
TRAINABLE = ("nep", "bp", "mace")


def model_classes() -> dict[str, Any]:
    """Model kind → class with ``from_saved``; the one place new kinds are registered."""
    from nnsurrogate.atomistic.bp.model import BPModel
    from nnsurrogate.atomistic.chgnet import CHGNetModel
    from nnsurrogate.atomistic.mace.model import MACEModel
    from nnsurrogate.atomistic.nep.model import NEPModel
    from nnsurrogate.atomistic.sevennet import SevenNetModel

    return {NEPModel.kind: NEPModel, BPModel.kind: BPModel, MACEModel.kind: MACEModel,
            SevenNetModel.kind: SevenNetModel, CHGNetModel.kind: CHGNetModel}


def save_potential(model, directory: str | os.PathLike, extra: dict | None = None) -> None:
    """Write *model* to a model folder (safetensors + model.json, atomically)."""
    tensors, header = model.to_saved()
    header = {**header, **(extra or {})}
    if getattr(model, "shortest_training_distance", None) is not None:
        training = header.get("training") if isinstance(header.get("training"), dict) else {}
        header["training"] = {**training, "shortest_distance_A": float(model.shortest_training_distance)}
    save_model(directory, model.kind, tensors, header)


def _peek_kind(directory: Path) -> str:
    try:
        header = json.loads((directory / HEADER_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise ModelFileError(f"no readable {HEADER_FILE}", str(directory)) from None
    return str(header.get("kind", "")) if isinstance(header, dict) else ""


def load_potential(path: str | os.PathLike, dtype: str | torch.dtype = "float64", device: str = "cpu",
                   tensorial: bool = False):
    """Load a potential from a model folder, a run folder (``DIR/model``), a ``nep.txt`` or the name
    ``sevennet-0`` / ``chgnet`` (the pretrained SevenNet-0 and CHGNet 0.3.0 that ship inside ``sevenn`` and
    ``chgnet``).

    Parameters
    ----------
    path : path-like
    dtype : str or torch.dtype
        ``"float64"`` (default) or ``"float32"``.
    device : str
        ``"cpu"`` or ``"cuda"``.
    tensorial : bool
        Also accept a tensorial NEP (dipole or polarizability), which has no energies or forces.
    """
    from nnsurrogate.atomistic.labelers import pretrained_name

    dtype = resolve_dtype(dtype)
    name = pretrained_name(path)
    path = Path(path)
    if name == "sevennet-0":
        from nnsurrogate.atomistic.sevennet import SevenNetModel

        model = SevenNetModel.pretrained()
    elif name == "chgnet":
        from nnsurrogate.atomistic.chgnet import CHGNetModel

        model = CHGNetModel.pretrained()
    elif path.is_file():
        from nnsurrogate.atomistic.nep.nepfile import read_nep

        model = read_nep(path)
    else:
        if (path / "model" / HEADER_FILE).is_file():
            path = path / "model"
        if not path.is_dir():
            raise UserInputError("no such model folder or nep.txt", str(path))
        kind = _peek_kind(path)
        classes = model_classes()
        if kind not in classes:
            raise ModelFileError(f"not a potential model (kind '{kind}')", str(path))
        tensors, header = load_model(path, kind)
        try:
            model = classes[kind].from_saved(tensors, header)
        except ModelFileError as exc:
            raise ModelFileError(exc.what, exc.where or str(path)) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"model.json does not describe a {kind}: {str(exc).splitlines()[0]}", str(path)) from None
        training = header.get("training")
        model.shortest_training_distance = training.get("shortest_distance_A") if isinstance(training, dict) else None
    kind = model.model_type
    if kind != "potential" and not tensorial:
        raise UserInputError(f"this is a tensorial NEP: it predicts the {kind}, not energies and forces (evaluate it "
                             "with nnsurrogate.atomistic.calculator.load_calculator)", str(path))
    return model.to(device=resolve_device(device), dtype=dtype).eval()


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """``"float32"``/``"float64"`` (or a torch dtype) → torch dtype; anything else is a UserInputError."""
    if isinstance(dtype, torch.dtype) and dtype in (torch.float32, torch.float64):
        return dtype
    table = {"float32": torch.float32, "float64": torch.float64}
    if str(dtype) not in table:
        raise UserInputError(f"dtype must be float32 or float64, got '{dtype}'", "dtype")
    return table[str(dtype)]


def resolve_device(device: str) -> torch.device:
    """A torch device; ``cuda`` without a GPU is a one-line UserInputError."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UserInputError(f"unknown device '{device}' (use cpu or cuda)", "device") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserInputError("CUDA was requested but no GPU is available", "device")
    return dev
