"""Tables → properties: ensemble regressors and classifiers, composition features, model files, physics data."""

from nnsurrogate.tabular.classifier import SurrogateClassifier
from nnsurrogate.tabular.composition import CompositionFeaturizer
from nnsurrogate.tabular.conformal import ConformalRegressor
from nnsurrogate.tabular.fidelity import MultiFidelityRegressor
from nnsurrogate.tabular.regressor import SurrogateRegressor

__all__ = ["CompositionFeaturizer", "ConformalRegressor", "MultiFidelityRegressor", "SurrogateClassifier",
           "SurrogateRegressor"]
