"""Saving and loading a trained :class:`CrystalRegressor` through :mod:`nnsurrogate.core.modelio`.

The folder holds the network weights and, for SA-GAT, the quantile knots in ``weights.safetensors``;
``model.json`` holds the estimator parameters, the graph settings, the target's name, unit and
scaling, the per-atom feature names and the feature importances. Nothing is unpickled on loading.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.core.modelio import load_model, load_weights, save_model
from nnsurrogate.core.units import unit_from_name
from nnsurrogate.crystal.encoding import QuantileBinning
from nnsurrogate.crystal.features import feature_names
from nnsurrogate.crystal.regressor import CrystalRegressor

KIND = "crystal.CrystalRegressor"
_NET = "net."


def save_crystal_model(directory: str | os.PathLike, model: CrystalRegressor, target: str,
                       extra: dict[str, Any] | None = None) -> None:
    """Write *model* (fitted) and the name of its *target* into *directory*, atomically."""
    tensors = {_NET + k: v.detach().cpu() for k, v in model.network_.state_dict().items()}
    if model.binning_ is not None:
        tensors["binning.knots"] = model.binning_.knots
        tensors["binning.counts"] = model.binning_.counts
    importances = model.feature_importances_
    header = {
        "params": model.get_params(),
        "graph": model.graph_settings().to_dict(),
        "target": {"name": target, "unit": unit_from_name(target), "mean": model.target_mean_,
                   "scale": model.target_scale_},
        "n_node_inputs": int(model.n_node_inputs_),
        "features": list(feature_names()) if model.model == "sagat" else None,
        "feature_importances": None if importances is None else [float(v) for v in importances],
        "training": {"epochs_run": int(model.n_epochs_), "best_epoch": int(model.best_epoch_)},
        **(extra or {}),
    }
    save_model(directory, KIND, tensors, header)


def load_crystal_model(directory: str | os.PathLike) -> tuple[CrystalRegressor, dict[str, Any]]:
    """Read a folder written by :func:`save_crystal_model`; returns the fitted model and the header."""
    tensors, header = load_model(directory, KIND)
    where = str(directory)
    try:
        model = CrystalRegressor(**header["params"])
        model._check_params()
        target = header["target"]
        model.target_mean_, model.target_scale_ = float(target["mean"]), float(target["scale"])
        n_inputs = int(header["n_node_inputs"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model.json is incomplete or invalid: {exc}", where) from None
    if model.model == "sagat":
        if header.get("features") != list(feature_names()):
            raise ModelFileError("the model was trained on a different list of per-atom features", where)
        if "binning.knots" not in tensors or "binning.counts" not in tensors:
            raise ModelFileError("SA-GAT model without its feature binning", where)
        model.binning_ = QuantileBinning(tensors["binning.knots"].astype(np.float64), tensors["binning.counts"].astype(np.int64))
    else:
        model.binning_ = None
    network = model.build_network(n_inputs)
    load_weights(network, tensors, where, prefix=_NET)
    network.eval()
    model.network_, model.n_node_inputs_ = network, n_inputs
    importances = header.get("feature_importances")
    model.feature_importances_ = None if importances is None else np.asarray(importances, dtype=np.float64)
    training = header.get("training", {})
    model.n_epochs_, model.best_epoch_, model.history_ = training.get("epochs_run", 0), training.get("best_epoch", 0), []
    return model, header
