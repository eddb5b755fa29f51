"""Model kinds: the name recorded in ``model.json`` for every estimator that can be saved, and back.

A composite estimator (a hurdle model, a blend) stores its members' states under their own kind, so
that any member can be any saveable estimator.
"""

from __future__ import annotations

from nnsurrogate.core.errors import ModelFileError


def kinds() -> dict[str, type]:
    """Every saveable estimator class by kind name (imported on first use)."""
    from nnsurrogate.tabular.blend import BlendClassifier, BlendRegressor
    from nnsurrogate.tabular.classifier import SurrogateClassifier
    from nnsurrogate.tabular.conformal import ConformalRegressor
    from nnsurrogate.tabular.fidelity import MultiFidelityRegressor
    from nnsurrogate.tabular.gap_model import TwoStageRegressor
    from nnsurrogate.tabular.regressor import SurrogateRegressor
    from nnsurrogate.tabular.tree_models import BoostedClassifier, BoostedRegressor, ForestClassifier, ForestRegressor

    classes = (SurrogateRegressor, SurrogateClassifier, TwoStageRegressor, BlendRegressor, BlendClassifier,
               BoostedRegressor, BoostedClassifier, ForestRegressor, ForestClassifier, ConformalRegressor,
               MultiFidelityRegressor)
    return {f"tabular.{cls.__name__}": cls for cls in classes}


def kind_of(estimator) -> str:
    """The kind name of a saveable estimator; ``TypeError`` for anything else."""
    for kind, cls in kinds().items():
        if type(estimator) is cls:
            return kind
    raise TypeError(f"{type(estimator).__name__} cannot be saved in an nnsurrogate model file")


def member_state(estimator, prefix: str) -> tuple[dict, dict]:
    """A member's arrays under *prefix* and its header with its kind."""
    tensors, header = estimator.to_state()
    return {prefix + k: v for k, v in tensors.items()}, {"kind": kind_of(estimator), **header}


def member_from_state(tensors: dict, header: dict, prefix: str):
    """Rebuild the member stored by :func:`member_state`; an unknown kind is a ``ModelFileError``."""
    cls = kinds().get(header.get("kind"))
    if cls is None:
        raise ModelFileError(f"unknown model kind {header.get('kind')!r} inside the model file")
    return cls.from_state({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}, header)
