"""Tables → properties: the ensemble regressor, its model files and built-in physics data."""

from nnsurrogate.tabular.regressor import SurrogateRegressor

__all__ = ["SurrogateRegressor"]
