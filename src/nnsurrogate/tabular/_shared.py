"""Pieces shared by the deep-ensemble estimators :class:`~nnsurrogate.tabular.regressor.SurrogateRegressor`
and :class:`~nnsurrogate.tabular.classifier.SurrogateClassifier`.

Both estimators carry the same hyper-parameters for the ensemble (``hidden``, ``activation``,
``ensemble``, ``max_epochs``, ``batch_size``, ``learning_rate``, ``weight_decay``,
``validation_fraction``, ``patience``, ``dropout``, ``random_state``, ``verbose``) and the same
persisted layout (weights under ``net.*``, input scaler under ``x_mean``/``x_scale``, a JSON
header with ``params`` and ``domain``); the functions here read and write those parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.core.modelio import load_weights
from nnsurrogate.core.nn import EnsembleMLP, check_activation
from nnsurrogate.core.scaling import Standardizer
from nnsurrogate.core.training import TrainConfig, TrainResult, train_ensemble
from nnsurrogate.core.uncertainty import DomainCheck


# ------------------------------------------------------------------ fitting
def check_ensemble_params(est) -> None:
    """Validate the ensemble hyper-parameters common to both estimators.

    Parameters
    ----------
    est : SurrogateRegressor or SurrogateClassifier
        Estimator whose ``activation``, ``ensemble``, ``hidden``, ``validation_fraction`` and
        ``dropout`` are checked.

    Raises
    ------
    ValueError
        When a setting is out of range.
    """
    check_activation(est.activation)
    if int(est.ensemble) < 1:
        raise ValueError(f"ensemble must be ≥ 1, got {est.ensemble}")
    if int(est.max_epochs) < 1:
        raise ValueError(f"max_epochs must be ≥ 1, got {est.max_epochs}")
    if not all(int(h) >= 1 for h in est.hidden):
        raise ValueError(f"hidden widths must be positive integers, got {est.hidden}")
    if not 0.0 <= float(est.validation_fraction) < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {est.validation_fraction}")
    if not 0.0 <= float(est.dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {est.dropout}")


def new_ensemble(est, n_in: int, n_out: int, generator: torch.Generator) -> EnsembleMLP:
    """Untrained ensemble with the estimator's architecture.

    Parameters
    ----------
    est : SurrogateRegressor or SurrogateClassifier
    n_in, n_out : int
        Input width (features) and output width (1 for regression, K classes for classification).
    generator : torch.Generator
        Source of the initial weights.
    """
    return EnsembleMLP(int(est.ensemble), n_in, n_out, tuple(int(h) for h in est.hidden),
                       est.activation, float(est.dropout), generator)


def ensemble_config(est, checkpoint: str | None, bootstrap: bool = False) -> TrainConfig:
    """Optimisation settings from the estimator's ``max_epochs``, ``batch_size``, ``learning_rate``,
    ``weight_decay`` and ``patience`` (the learning rate halves after ``max(patience // 4, 5)``
    epochs without improvement).

    Parameters
    ----------
    est : SurrogateRegressor or SurrogateClassifier
    checkpoint : str or None
        File for resumable training state.
    bootstrap : bool
        Resample each member's training rows with replacement.
    """
    return TrainConfig(max_epochs=int(est.max_epochs), batch_size=int(est.batch_size),
                       learning_rate=float(est.learning_rate), weight_decay=float(est.weight_decay),
                       patience=int(est.patience), lr_patience=max(int(est.patience) // 4, 5),
                       bootstrap=bootstrap, checkpoint=checkpoint)


def fit_ensemble(net: EnsembleMLP, X: torch.Tensor, Y: torch.Tensor, train: np.ndarray, val: np.ndarray,
                 config: TrainConfig, generator: torch.Generator, progress: Callable | None,
                 loss: Callable) -> TrainResult:
    """Train ``net`` in place on the rows *train*, early-stopped on the rows *val* (which may be empty).

    Parameters
    ----------
    net : EnsembleMLP
        Members to train (output (M, B, k)).
    X : torch.Tensor, shape (n, d)
        Standardised inputs of all rows, float32.
    Y : torch.Tensor, shape (n, k)
        Training targets of all rows, float32.
    train, val : numpy.ndarray of int
        Row indices for training and for early stopping.
    config : TrainConfig
    generator : torch.Generator
        Source of the shuffles.
    progress : callable or None
        ``progress(epoch, max_epochs, metrics)`` after each epoch (from
        :func:`~nnsurrogate.core.progress.epoch_bar`).
    loss : callable
        Per-member loss, see :func:`~nnsurrogate.core.training.train_ensemble`.

    Returns
    -------
    TrainResult
    """
    has_val = len(val) > 0
    return train_ensemble(net, X[train], Y[train], X[val] if has_val else None, Y[val] if has_val else None,
                          config, generator, progress, loss)


def seeded_clone(template, default_cls, seed):
    """An unfitted copy of *template* (or ``default_cls()``), given *seed* when its own ``random_state`` is None."""
    from sklearn.base import clone

    est = clone(template) if template is not None else default_cls()
    if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
        est.set_params(random_state=seed)
    return est


def fit_with_checkpoint(model, X, y, checkpoint: str | None, **fit_params):
    """``model.fit(X, y, checkpoint=checkpoint, **fit_params)``, without the checkpoint for a model that takes none."""
    try:
        return model.fit(X, y, checkpoint=checkpoint, **fit_params)
    except TypeError as exc:
        if "checkpoint" not in str(exc):
            raise
        return model.fit(X, y, **fit_params)


@torch.no_grad()
def ensemble_embedding(net: EnsembleMLP, Xs: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Last-hidden-layer activations of every member side by side, shape (n, M · hidden[-1]).

    Parameters
    ----------
    net : EnsembleMLP
    Xs : numpy.ndarray, shape (n, d)
        Standardised inputs.
    """
    X = torch.as_tensor(Xs, dtype=torch.float32)
    blocks = []
    for start in range(0, X.shape[0], chunk):
        h = net.hidden(X[start : start + chunk])  # (M, b, h)
        blocks.append(h.permute(1, 0, 2).reshape(h.shape[1], -1).double().numpy())
    return np.concatenate(blocks) if blocks else np.zeros((0, 0))


def delegated_domain(member: str) -> property:
    """A ``domain_`` property that reads and sets the applicability domain of the member named *member*."""

    def get(self):
        return getattr(self, member).domain_

    def put(self, value):
        getattr(self, member).domain_ = value

    return property(get, put, doc=f"The applicability domain of ``{member}``.")


# ------------------------------------------------------------ persistence
def net_tensors(net: EnsembleMLP) -> dict[str, np.ndarray]:
    """Weights of ``net`` as named arrays, each key prefixed with ``net.``."""
    return {f"net.{k}": v.numpy() for k, v in net.state_dict().items()}


def header_params(est) -> dict:
    """``get_params()`` of the estimator made JSON-ready: ``hidden`` as a list of int, a non-int
    ``random_state`` as None."""
    params = est.get_params()
    params["hidden"] = [int(h) for h in est.hidden]
    params["random_state"] = est.random_state if isinstance(est.random_state, int) else None
    return params


def domain_header(domain: DomainCheck) -> dict:
    """The applicability domain as a JSON-ready dict (``low``, ``high``, ``spread_limit``)."""
    return {"low": list(domain.low), "high": list(domain.high), "spread_limit": domain.spread_limit}


@contextmanager
def model_file_errors() -> Iterator[None]:
    """Turn the errors of reading a malformed state into :class:`ModelFileError` (first line of the message)."""
    try:
        yield
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"model file is inconsistent: {str(exc).splitlines()[0]}") from None


def estimator_from_header(cls, header: dict):
    """Unfitted estimator of class ``cls`` with the saved ``params`` (``hidden`` as tuple, ``verbose=0``)."""
    return cls(**{**header["params"], "hidden": tuple(header["params"]["hidden"]), "verbose": 0})


def saved_standardizer(tensors: dict[str, np.ndarray], name: str) -> Standardizer:
    """Scaler stored as ``<name>_mean`` and ``<name>_scale`` arrays, in float64."""
    return Standardizer(tensors[f"{name}_mean"].astype(np.float64), tensors[f"{name}_scale"].astype(np.float64))


def saved_domain(dom: dict) -> DomainCheck:
    """Inverse of :func:`domain_header`."""
    return DomainCheck(tuple(dom["low"]), tuple(dom["high"]), float(dom["spread_limit"]))


def saved_ensemble(est, tensors: dict[str, np.ndarray], n_out: int) -> EnsembleMLP:
    """Ensemble with the estimator's architecture holding the ``net.*`` weights (strict load).

    Parameters
    ----------
    est : SurrogateRegressor or SurrogateClassifier
        Restored estimator (``n_features_in_`` set).
    tensors : dict of str to numpy.ndarray
        Saved arrays; those named ``net.*`` are the weights.
    n_out : int
        Output width.
    """
    net = EnsembleMLP(int(est.ensemble), est.n_features_in_, n_out, est.hidden, est.activation, float(est.dropout))
    load_weights(net, tensors, "", prefix="net.")
    return net
