"""Model kinds: the name recorded in ``model.json`` for every estimator that can be saved, and back.

A composite estimator (a hurdle model, a blend) stores its members' states under their own kind, so
that any member can be any saveable estimator.
"""

from __future__ import annotations

import importlib

from nnsurrogate.core.errors import ModelFileError


#: Class name → module of ``nnsurrogate.tabular`` that defines it; the kind is ``"tabular.<class name>"``.
_KIND_MODULES = {"SurrogateRegressor": "regressor", "SurrogateClassifier": "classifier",
                 "TwoStageRegressor": "gap_model", "BlendRegressor": "blend", "BlendClassifier": "blend",
                 "BoostedRegressor": "tree_models", "BoostedClassifier": "tree_models",
                 "ForestRegressor": "tree_models", "ForestClassifier": "tree_models",
                 "ConformalRegressor": "conformal", "MultiFidelityRegressor": "fidelity"}


def kind_class(kind: str) -> type | None:
    """The estimator class of a kind name (only its own module is imported), or None for an unknown kind."""
    name = str(kind).removeprefix("tabular.")
    if not str(kind).startswith("tabular.") or name not in _KIND_MODULES:
        return None
    return getattr(importlib.import_module(f"nnsurrogate.tabular.{_KIND_MODULES[name]}"), name)


def kinds() -> dict[str, type]:
    """Every saveable estimator class by kind name (imports them all)."""
    return {f"tabular.{name}": kind_class(f"tabular.{name}") for name in _KIND_MODULES}


def kind_of(estimator) -> str:
    """The kind name of a saveable estimator; ``TypeError`` for anything else."""
    kind = f"tabular.{type(estimator).__name__}"
    if kind_class(kind) is type(estimator):
        return kind
    raise TypeError(f"{type(estimator).__name__} cannot be saved in an nnsurrogate model file")


def member_state(estimator, prefix: str) -> tuple[dict, dict]:
    """A member's arrays under *prefix* and its header with its kind."""
    tensors, header = estimator.to_state()
    return {prefix + k: v for k, v in tensors.items()}, {"kind": kind_of(estimator), **header}


def member_from_state(tensors: dict, header: dict, prefix: str):
    """Rebuild the member stored by :func:`member_state`; an unknown kind is a ``ModelFileError``."""
    cls = kind_class(header.get("kind"))
    if cls is None:
        raise ModelFileError(f"unknown model kind {header.get('kind')!r} inside the model file")
    return cls.from_state({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}, header)
