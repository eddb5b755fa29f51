"""Model files: safetensors weights plus a JSON header; loading never unpickles code.

A model folder holds

- ``weights.safetensors``: named tensors (safetensors stores raw arrays only);
- ``model.json``: format name and version, package version, the model kind, the SHA-256 of the
  weights file, and whatever the model needs to rebuild itself (inputs with units, scalers, ...).

Loading checks the format, the kind, the version and the checksum before touching the weights, so
a foreign, truncated or edited file fails with a one-line :class:`ModelFileError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from nnsurrogate import __version__
from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.core.files import atomic_dir

FORMAT = "nnsurrogate-model"
FORMAT_VERSION = 1
WEIGHTS_FILE = "weights.safetensors"
HEADER_FILE = "model.json"


def save_model(directory: str | os.PathLike, kind: str, tensors: dict[str, Any], header: dict[str, Any]) -> None:
    """Write a model folder atomically (an existing folder is replaced only when the new one is complete).

    Parameters
    ----------
    directory : path-like
        Target folder.
    kind : str
        Model kind, e.g. ``"tabular.SurrogateRegressor"``; checked on loading.
    tensors : dict of str to array-like
        Weights; NumPy arrays or torch tensors.
    header : dict
        JSON-serialisable metadata.
    """
    with atomic_dir(directory) as tmp:
        weights = tmp / WEIGHTS_FILE
        save_file({k: torch.as_tensor(np.asarray(v)).contiguous() for k, v in tensors.items()}, os.fspath(weights))
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "kind": kind,
            "weights_sha256": _sha256(weights),
            **header,
        }
        (tmp / HEADER_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load_model(directory: str | os.PathLike, kind: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify a model folder written by :func:`save_model`.

    Returns
    -------
    tensors : dict of str to numpy.ndarray
    header : dict
    """
    directory = Path(directory)
    where = str(directory)
    header_path, weights_path = directory / HEADER_FILE, directory / WEIGHTS_FILE
    if not header_path.is_file() or not weights_path.is_file():
        raise ModelFileError(f"no model here: expected {HEADER_FILE} and {WEIGHTS_FILE}", where)
    header = _read_header(header_path)
    if header.get("format") != FORMAT:
        raise ModelFileError("not an nnsurrogate model file", str(header_path))
    try:
        version = int(header.get("format_version", 0))
    except (TypeError, ValueError):
        bad = header.get("format_version")
        raise ModelFileError(f"model.json has an invalid format_version {bad!r}", str(header_path)) from None
    if version > FORMAT_VERSION:
        raise ModelFileError(f"model format {header.get('format_version')} is newer than this nnsurrogate ({__version__})", where)
    if header.get("kind") != kind:
        raise ModelFileError(f"model is a '{header.get('kind')}', expected '{kind}'", where)
    if header.get("weights_sha256") != _sha256(weights_path):
        raise ModelFileError("weights do not match the checksum in model.json (modified or corrupted)", str(weights_path))
    try:
        tensors = {k: v.numpy() for k, v in load_file(os.fspath(weights_path)).items()}
    except (SafetensorError, OSError, ValueError, TypeError) as exc:  # TypeError: a dtype NumPy lacks (bfloat16)
        raise ModelFileError(f"unreadable weights: {exc}", str(weights_path)) from None
    return tensors, header


def _read_header(path: Path) -> dict[str, Any]:
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"model.json is not valid JSON: {exc}", str(path)) from None
    if not isinstance(header, dict):
        raise ModelFileError("model.json does not hold an object", str(path))
    return header


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
