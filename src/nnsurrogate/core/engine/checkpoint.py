"""One checkpoint format for every trainer.

A checkpoint file holds ``{"format", "kind", "signature", "state", "rng"}``: *state* is whatever the
trainer's ``state_dict()`` objects return (tensors, NumPy arrays and plain containers), *rng* the
random generators the run draws from. The file is one safetensors file: the tensors and arrays as
named raw arrays, the rest as JSON in its metadata (:func:`encode` / :func:`decode`), so loading
never unpickles anything. Writes are atomic (a temporary sibling renamed into place), and a file
written for another trainer, other data or other settings is refused with a one-line error instead
of being resumed into a wrong run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import atomic_path

__all__ = ["FORMAT", "Checkpoint", "decode", "encode", "read_checkpoint", "signature_of"]

#: Written into every checkpoint; a file with another value is not resumed.
FORMAT = "nnsurrogate-checkpoint/2"
_META_KEY = "nnsurrogate"


def encode(obj: Any, arrays: dict[str, torch.Tensor]) -> Any:
    """A JSON-able skeleton of *obj*; its tensors and arrays go into *arrays* under fresh names.

    Tensors become ``{"$t": name}``, NumPy arrays ``{"$a": name}``, NumPy scalars
    ``{"$s": [dtype, value]}``, tuples ``{"$tuple": [...]}`` and dicts with keys that are not plain
    strings ``{"$d": [[key, value], ...]}``; numbers, strings, ``None`` and lists stay as they are.
    """
    if isinstance(obj, torch.Tensor):
        name = f"t{len(arrays)}"
        arrays[name] = obj.detach().cpu().contiguous().clone()
        return {"$t": name}
    if isinstance(obj, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = torch.from_numpy(np.ascontiguousarray(obj).copy())
        return {"$a": name}
    if isinstance(obj, np.generic):
        return {"$s": [obj.dtype.str, obj.item()]}
    if isinstance(obj, (bool, int, float, str)) or obj is None:
        return obj
    if isinstance(obj, tuple):
        return {"$tuple": [encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [encode(v, arrays) for v in obj]
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: encode(v, arrays) for k, v in obj.items()}
        return {"$d": [[encode(k, arrays), encode(v, arrays)] for k, v in obj.items()]}
    raise TypeError(f"a checkpoint cannot hold a {type(obj).__name__}")


def decode(obj: Any, arrays: Mapping[str, torch.Tensor]) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(obj, list):
        return [decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "$t" in obj:
        return arrays[obj["$t"]]
    if "$a" in obj:
        return arrays[obj["$a"]].numpy()
    if "$s" in obj:
        dtype, value = obj["$s"]
        return np.dtype(dtype).type(value)
    if "$tuple" in obj:
        return tuple(decode(v, arrays) for v in obj["$tuple"])
    if "$d" in obj:
        return {_hashable(decode(k, arrays)): decode(v, arrays) for k, v in obj["$d"]}
    return {k: decode(v, arrays) for k, v in obj.items()}


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


def signature_of(*parts: Any) -> str:
    """A stable hex digest of *parts* (JSON-able values, numpy arrays or tensors).

    Two runs with the same signature may resume each other's checkpoints.
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            part = part.detach().cpu().numpy()
        if hasattr(part, "tobytes") and hasattr(part, "dtype"):
            import numpy as np

            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=repr).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


class Checkpoint:
    """The resumable state of one run, in one file.

    Parameters
    ----------
    path : path-like
        The checkpoint file.
    kind : str
        Which trainer writes it (``"ensemble"``, ``"potential"``, ``"graph"``, ``"gas2d"``, ``"pinn"``).
    signature : str, optional
        Digest of everything that must match for a resume (data, settings; see :func:`signature_of`).
    global_rng : bool
        Also save and restore PyTorch's global CPU generator (dropout masks, ``torch.rand``).
    """

    def __init__(self, path: str | os.PathLike, kind: str, signature: str = "", global_rng: bool = True) -> None:
        self.path = Path(path)
        self.kind = kind
        self.signature = signature
        self.global_rng = global_rng

    def exists(self) -> bool:
        return self.path.is_file()

    def save(self, state: Mapping[str, Any], generators: Iterable[torch.Generator] = ()) -> None:
        """Write *state* and the state of *generators* (and the global generator) atomically."""
        rng = {"generators": [g.get_state() for g in generators]}
        if self.global_rng:
            rng["torch"] = torch.get_rng_state()
        from safetensors.torch import save_file

        blob = {"format": FORMAT, "kind": self.kind, "signature": self.signature, "state": dict(state), "rng": rng}
        arrays: dict[str, torch.Tensor] = {}
        skeleton = json.dumps(encode(blob, arrays))
        with atomic_path(self.path) as tmp:
            save_file(arrays, os.fspath(tmp), metadata={_META_KEY: skeleton})

    def load(self, generators: Iterable[torch.Generator] = ()) -> dict | None:
        """The saved state (``None`` when there is no file); restores the generators' states.

        Raises
        ------
        UserInputError
            The file is unreadable, not a checkpoint of this format and kind, or has another signature.
        """
        if not self.exists():
            return None
        blob = self._read()
        if not isinstance(blob, dict) or blob.get("format") != FORMAT or blob.get("kind") != self.kind:
            raise UserInputError(f"not a checkpoint of this kind of run ({self.kind}); delete it or run "
                                 "without resuming", str(self.path))
        if blob.get("signature") != self.signature:
            raise UserInputError("the checkpoint was written for other data or settings; delete it or run "
                                 "without resuming", str(self.path))
        generators = list(generators)
        states = blob["rng"].get("generators", [])
        if len(states) != len(generators):
            raise UserInputError("the checkpoint does not match this run's random generators", str(self.path))
        for generator, saved in zip(generators, states):
            generator.set_state(saved)
        if self.global_rng and "torch" in blob["rng"]:
            torch.set_rng_state(blob["rng"]["torch"])
        return blob["state"]

    def _read(self) -> Any:
        return read_checkpoint(self.path)

    def remove(self) -> None:
        """Delete the file (after a run has finished and its results are written)."""
        if self.exists():
            self.path.unlink()


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The whole content of a checkpoint file (format, kind, signature, state, rng), unchecked."""
    from safetensors import safe_open

    path = Path(path)
    with open(path, "rb") as fh:
        if fh.read(2) == b"PK":  # a zip archive: torch.save, before format 2
            raise UserInputError("not a checkpoint of this kind of run (a pickle, from an earlier nnsurrogate "
                                 "or another program, is never read); delete it or run without resuming",
                                 str(path))
    try:
        with safe_open(os.fspath(path), framework="pt") as fh:
            skeleton = json.loads((fh.metadata() or {})[_META_KEY])
            arrays = {name: fh.get_tensor(name) for name in fh.keys()}
        return decode(skeleton, arrays)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's file problem
        raise UserInputError(f"unreadable checkpoint ({type(exc).__name__})", str(path)) from None
