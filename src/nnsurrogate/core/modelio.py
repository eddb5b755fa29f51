"""Model files: safetensors weights plus a JSON header; loading never unpickles code.

A model folder holds

- ``weights.safetensors``: named tensors (safetensors stores raw arrays only);
- ``model.json``: format name and version, package version, the model kind, the SHA-256 of the
  weights file, the name, shape and dtype of every tensor (``tensors``, from format 2), and whatever
  the model needs to rebuild itself (inputs with units, scalers, ...).

Loading checks the format, the kind, the version, the checksum and every tensor against the header
before touching the weights, and :func:`load_weights` checks them against the module the header
describes, so a foreign, truncated or edited file fails with a one-line :class:`ModelFileError`
naming the file and the tensor (an edit that recomputes the checksum included).
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
FORMAT_VERSION = 2
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
    arrays = {k: torch.as_tensor(np.asarray(v)).contiguous() for k, v in tensors.items()}
    with atomic_dir(directory) as tmp:
        weights = tmp / WEIGHTS_FILE
        save_file(arrays, os.fspath(weights))
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "kind": kind,
            "weights_sha256": _sha256(weights),
            "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")}
                        for k, v in arrays.items()},
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
    if version >= 2:
        _check_manifest(header.get("tensors"), tensors, weights_path)
    return tensors, header


def _check_manifest(manifest: Any, tensors: dict[str, np.ndarray], weights_path: Path) -> None:
    """Every tensor of the weights file has the name, shape and dtype that ``model.json`` lists."""
    where = str(weights_path)
    if not isinstance(manifest, dict):
        raise ModelFileError("model.json lists no tensors (format 2 needs 'tensors')", str(weights_path.parent))
    for name in sorted(set(manifest) ^ set(tensors)):
        side = "model.json lists it but the weights lack it" if name in manifest else "model.json does not list it"
        raise ModelFileError(f"tensor '{name}': {side}", where)
    for name, array in tensors.items():
        entry = manifest[name] if isinstance(manifest[name], dict) else {}
        shape, dtype = entry.get("shape"), entry.get("dtype")
        if not isinstance(shape, list) or tuple(shape) != tuple(array.shape):
            raise ModelFileError(f"tensor '{name}' has shape {tuple(array.shape)}, model.json says {shape}", where)
        if dtype != _dtype_name(array):
            raise ModelFileError(f"tensor '{name}' has dtype {array.dtype}, model.json says {dtype}", where)


def _dtype_name(array: np.ndarray) -> str:
    """The torch name of a NumPy array's dtype (``float32``, ``int64``, ``uint8``, ``bool``)."""
    return str(torch.from_numpy(np.zeros(0, dtype=array.dtype)).dtype).removeprefix("torch.")


def load_weights(module: torch.nn.Module, tensors: dict[str, Any], where: str, prefix: str = "") -> None:
    """Load *tensors* (names with *prefix*) into *module*, refusing any that the module, as the header
    describes it, does not have in that shape.

    Parameters
    ----------
    module : torch.nn.Module
        Built from the header; its state dict says which names and shapes the weights must have.
    tensors : dict of str to array-like
    where : str
        The model folder, for the error message.
    prefix : str
        Only tensors whose names start with it are this module's (``"net."``); it is stripped.

    Raises
    ------
    ModelFileError
        Naming the first missing, unexpected or mis-shaped tensor.
    """
    expected = module.state_dict()
    given = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    for name in sorted(set(expected) ^ set(given)):
        problem = "is missing from the weights" if name in expected else "is not part of the model model.json describes"
        raise ModelFileError(f"tensor '{prefix}{name}' {problem}", where)
    state = {}
    for name, target in expected.items():
        value = torch.as_tensor(np.asarray(given[name]))
        if tuple(value.shape) != tuple(target.shape):
            raise ModelFileError(f"tensor '{prefix}{name}' has shape {tuple(value.shape)}; the model model.json "
                                 f"describes needs {tuple(target.shape)}", where)
        state[name] = value.to(target.dtype)
    module.load_state_dict(state, strict=True)


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
