"""Which estimator a table command fits: settings from the command line, and the shipped defaults.

Numeric tables get the :class:`SurrogateRegressor` defaults (5 × 64-64 tanh, MSE). Tables with a
formula column get the *composition defaults*, the configuration measured in
``benchmarks/matbench.py`` (see BENCHMARKS.md): a stacked blend (:mod:`nnsurrogate.tabular.blend`)
of the network ensemble with three tree ensembles on the same rows, whose weights are chosen on
set-aside training rows:

- histogram gradient-boosted trees on all features;
- extra trees on all features;
- extra trees on the element fractions (and any numeric inputs) only, which suits alloy families;

for regression the network fits the absolute error (whose minimiser, the conditional median, is
what the MAE rewards). A zero-inflated target (≥ :data:`ZERO_FRACTION` of the values exactly 0 and
none negative, as the band gaps of metals) is fitted by a :class:`TwoStageRegressor` whose
zero-or-not and positive stages are such blends. The network and its uncertainty are the same
:class:`SurrogateRegressor` / :class:`SurrogateClassifier` as for numeric tables; ``--hidden``,
``--activation``, ``--members`` and ``--epochs`` set them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnsurrogate.tabular.blend import BlendClassifier, BlendRegressor
from nnsurrogate.tabular.classifier import SurrogateClassifier
from nnsurrogate.tabular.composition import CompositionFeaturizer
from nnsurrogate.tabular.conformal import METHODS as CONFORMAL_METHODS
from nnsurrogate.tabular.conformal import ConformalRegressor
from nnsurrogate.tabular.gap_model import TwoStageRegressor
from nnsurrogate.tabular.regressor import SurrogateRegressor
from nnsurrogate.tabular.tree_models import BoostedClassifier, BoostedRegressor, ForestClassifier, ForestRegressor

#: A non-negative target with at least this fraction of exact zeros is fitted by a hurdle model.
ZERO_FRACTION = 0.2

#: Network settings for composition features (hundreds of correlated inputs, a few thousand rows).
COMPOSITION_NETWORK: dict = {}
#: Composition regressors fit the conditional median: Matbench and most users score the MAE.
COMPOSITION_REGRESSION = {**COMPOSITION_NETWORK, "loss": "l1"}


@dataclass(frozen=True)
class ModelOptions:
    """Estimator settings from the command line; ``None`` means the default for the kind of table."""

    hidden: tuple[int, ...] | None = None
    activation: str | None = None
    ensemble: int = 5
    epochs: int | None = None
    log_target: bool = False
    seed: int = 0
    verbose: int = 0
    conformal: str | None = None

    def validate(self) -> None:
        """Raise :class:`~nnsurrogate.core.errors.UserInputError` naming the first setting out of range."""
        from nnsurrogate.core.errors import UserInputError
        from nnsurrogate.core.nn import check_activation

        if int(self.ensemble) < 1:
            raise UserInputError(f"ensemble must be at least 1, got {self.ensemble}", "ensemble")
        if self.epochs is not None and int(self.epochs) < 1:
            raise UserInputError(f"epochs must be at least 1, got {self.epochs}", "epochs")
        if self.hidden is not None and (not self.hidden or min(self.hidden) < 1):
            raise UserInputError(f"hidden widths must be positive integers, got {self.hidden}", "hidden")
        if self.conformal is not None and self.conformal not in CONFORMAL_METHODS:
            raise UserInputError(f"unknown conformal method '{self.conformal}'; use {' or '.join(CONFORMAL_METHODS)}",
                                 "conformal")
        if self.activation is not None:
            try:
                check_activation(self.activation)
            except ValueError as exc:
                raise UserInputError(str(exc), "activation") from None


def _network_params(options: ModelOptions, n_rows: int, composition: bool, regression: bool) -> dict:
    base = dict(COMPOSITION_REGRESSION if regression else COMPOSITION_NETWORK) if composition else {}
    if options.hidden is not None:
        base["hidden"] = tuple(options.hidden)
    if options.activation is not None:
        base["activation"] = options.activation
    base.update(ensemble=int(options.ensemble), random_state=options.seed, verbose=options.verbose)
    if options.epochs is not None:
        base["max_epochs"] = int(options.epochs)
    if n_rows < 64:
        base["batch_size"] = max(8, n_rows // 4)
    return base


def is_zero_inflated(y: np.ndarray) -> bool:
    """True for a non-negative target with ≥ :data:`ZERO_FRACTION` exact zeros and ≥ 10 positive values."""
    y = np.asarray(y, dtype=np.float64)
    return bool(np.all(y >= 0) and np.mean(y == 0) >= ZERO_FRACTION and np.sum(y > 0) >= 10)


def make_estimator(options: ModelOptions, task: str, y: np.ndarray, composition: bool,
                   fraction_columns: tuple[int, ...] | None = None, hurdle: bool = True):
    """The unfitted estimator for a table.

    Parameters
    ----------
    options : ModelOptions
    task : {"regress", "classify"}
    y : numpy.ndarray, shape (n,)
        Training targets (decide the hurdle model and the batch size of tiny tables).
    composition : bool
        The table has a formula column.
    fraction_columns : tuple of int, optional
        Input columns of the element fractions and numeric inputs, for the fractions-only member.
    hurdle : bool, default=True
        Allow the hurdle model for a zero-inflated target (False for a target that is a correction).

    With ``options.conformal`` ("split" or "cv") the regressor is wrapped in a :class:`ConformalRegressor`.
    """
    if task == "classify" and options.conformal:
        from nnsurrogate.core.errors import UserInputError

        raise UserInputError("conformal intervals need a regression target; this one holds class labels", "conformal")
    estimator = _make_estimator(options, task, y, composition, fraction_columns, hurdle)
    if options.conformal:
        return ConformalRegressor(estimator, method=options.conformal, random_state=options.seed)
    return estimator


def _make_estimator(options: ModelOptions, task: str, y: np.ndarray, composition: bool, fraction_columns, hurdle):
    n = len(y)
    if task == "classify":
        network = SurrogateClassifier(**_network_params(options, n, composition, regression=False))
        return _blend_classifier(network, options.seed, fraction_columns) if composition else network
    params = _network_params(options, n, composition, regression=True)
    if not composition:
        return SurrogateRegressor(log_target=options.log_target, **params)
    params["log_inputs"] = None  # fractions and statistics: no log transform of inputs
    if hurdle and not options.log_target and is_zero_inflated(y):
        clf = SurrogateClassifier(**_network_params(options, n, composition, regression=False))
        reg = _blend_regressor(SurrogateRegressor(**params), False, options.seed, fraction_columns)
        return TwoStageRegressor(_blend_classifier(clf, options.seed, fraction_columns), reg, random_state=options.seed)
    network = SurrogateRegressor(log_target=options.log_target, **params)
    return _blend_regressor(network, options.log_target, options.seed, fraction_columns)


def _blend_regressor(network, log_target: bool, seed: int, fraction_columns) -> BlendRegressor:
    members = [BoostedRegressor(log_target=log_target, random_state=seed),
               ForestRegressor(log_target=log_target, random_state=seed)]
    if fraction_columns:
        members.append(ForestRegressor(max_features=0.5, columns=tuple(fraction_columns), log_target=log_target,
                                       random_state=seed))
    return BlendRegressor(network, members, random_state=seed)


def _blend_classifier(network, seed: int, fraction_columns) -> BlendClassifier:
    members = [BoostedClassifier(random_state=seed), ForestClassifier(random_state=seed)]
    if fraction_columns:
        members.append(ForestClassifier(max_features=0.5, columns=tuple(fraction_columns), random_state=seed))
    return BlendClassifier(network, members, random_state=seed)


def make_featurizer(composition: bool) -> CompositionFeaturizer | None:
    """The default :class:`CompositionFeaturizer` for a table with a formula column, else ``None``."""
    return CompositionFeaturizer() if composition else None
