"""One checkpoint format for every trainer.

A checkpoint file holds ``{"format", "kind", "signature", "state", "rng"}``: *state* is whatever the
trainer's ``state_dict()`` objects return (tensors and plain containers), *rng* the random
generators the run draws from. Writes are atomic (a temporary sibling renamed into place), loading
uses ``torch.load(weights_only=True)`` (tensors and plain containers, never code), and a file written
for another trainer, other data or other settings is refused with a one-line error instead of being
resumed into a wrong run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import atomic_path

__all__ = ["FORMAT", "Checkpoint", "signature_of"]

#: Written into every checkpoint; a file with another value is not resumed.
FORMAT = "nnsurrogate-checkpoint/1"


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
        blob = {"format": FORMAT, "kind": self.kind, "signature": self.signature, "state": dict(state), "rng": rng}
        with atomic_path(self.path) as tmp:
            torch.save(blob, tmp)

    def load(self, generators: Iterable[torch.Generator] = ()) -> dict | None:
        """The saved state (``None`` when there is no file); restores the generators' states.

        Raises
        ------
        UserInputError
            The file is unreadable, not a checkpoint of this format and kind, or has another signature.
        """
        if not self.exists():
            return None
        try:
            blob = torch.load(os.fspath(self.path), weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's file problem
            raise UserInputError(f"unreadable checkpoint ({type(exc).__name__})", str(self.path)) from None
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

    def remove(self) -> None:
        """Delete the file (after a run has finished and its results are written)."""
        if self.exists():
            self.path.unlink()
