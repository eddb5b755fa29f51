"""Tables → properties: ensemble regressors and classifiers, composition features, model files, physics data.

The public classes load on first use, so that reading one kind of model (a numeric-table regressor,
say) does not import the tree ensembles, the classifier or the multi-fidelity machinery.
"""

import importlib

#: Public name → module of ``nnsurrogate.tabular`` that defines it.
_EXPORTS = {"CompositionFeaturizer": "composition", "ConformalRegressor": "conformal",
            "MultiFidelityRegressor": "fidelity", "SurrogateClassifier": "classifier", "SurrogateRegressor": "regressor"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
