"""A trained table model: the estimator plus the columns it reads and writes, saved as one folder.

Inputs are numeric columns and, optionally, one column of chemical formulas that a
:class:`~nnsurrogate.tabular.composition.CompositionFeaturizer` turns into features (placed before
the numeric inputs). The estimator is any saveable estimator of :mod:`nnsurrogate.tabular.registry`
(a :class:`SurrogateRegressor`, a :class:`SurrogateClassifier`, a hurdle model or a blend); its kind is
recorded in ``model.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnsurrogate.core.conformal import SIGMA_LEVELS, check_level, gaussian_interval
from nnsurrogate.core.errors import ModelFileError, UserInputError
from nnsurrogate.core.modelio import HEADER_FILE, load_model, save_model
from nnsurrogate.core.tables import numeric_matrix
from nnsurrogate.core.uncertainty import DomainCheck
from nnsurrogate.core.units import unit_from_name
from nnsurrogate.tabular.composition import CompositionFeaturizer
from nnsurrogate.tabular.conformal import ConformalRegressor
from nnsurrogate.tabular.registry import kind_class, kind_of

KIND = "tabular.SurrogateRegressor"
_WIDE = 1e300  # an open bound that JSON can store (it has no infinity)


@dataclass
class TableModel:
    """A fitted estimator with the table columns it reads and writes.

    Attributes
    ----------
    estimator : a saveable estimator (see :mod:`nnsurrogate.tabular.registry`)
    inputs : list of str
        Numeric input column names, in the order the estimator expects (after any formula features).
    target : str
    units : dict of str to str or None
        Unit of each numeric input and of the target, read from the column names.
    formula_column : str or None
        Column of chemical formulas, featurized by *featurizer*.
    featurizer : CompositionFeaturizer or None
    """

    estimator: Any
    inputs: list[str]
    target: str
    units: dict[str, str | None] = field(default_factory=dict)
    formula_column: str | None = None
    featurizer: CompositionFeaturizer | None = None
    low_fidelity: dict[str, float] | None = None

    @classmethod
    def create(cls, estimator, inputs: list[str], target: str, formula_column: str | None = None,
               featurizer: CompositionFeaturizer | None = None,
               low_fidelity: dict[str, float] | None = None) -> "TableModel":
        units = {name: unit_from_name(name) for name in [*inputs, target]}
        return cls(estimator, list(inputs), target, units, formula_column, featurizer, low_fidelity)

    @property
    def regressor(self):
        """The estimator (name kept from the regression-only versions)."""
        return self.estimator

    @property
    def task(self) -> str:
        return "classify" if hasattr(self.estimator, "classes_") else "regress"

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``weights.safetensors`` and ``model.json`` into *directory* (atomically)."""
        tensors, header = self.estimator.to_state()
        header["inputs"] = [{"name": n, "unit": self.units.get(n)} for n in self.inputs]
        header["target"] = {"name": self.target, "unit": self.units.get(self.target)}
        if self.formula_column:
            params = self.featurizer.get_params()
            header["formula"] = {"column": self.formula_column,
                                 "featurizer": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
                                 "seen_elements": list(self.featurizer.seen_elements_)}
        if self.low_fidelity is not None:
            header["low_fidelity"] = {"keys": list(self.low_fidelity), "values": list(self.low_fidelity.values())}
        save_model(directory, kind_of(self.estimator), tensors, header)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "TableModel":
        """Read a folder written by :meth:`save`; foreign or tampered files raise ``ModelFileError``."""
        kind = _peek_kind(Path(directory))
        tensors, header = load_model(directory, kind)
        try:
            inputs = [str(item["name"]) for item in header["inputs"]]
            target = str(header["target"]["name"])
            units = {str(item["name"]): item.get("unit") for item in header["inputs"]}
            units[target] = header["target"].get("unit")
            formula = header.get("formula")
            column = str(formula["column"]) if formula else None
            featurizer = _featurizer(formula["featurizer"], formula["seen_elements"]) if formula else None
            low = header.get("low_fidelity")
            low_fidelity = dict(zip([str(k) for k in low["keys"]], [float(v) for v in low["values"]],
                                    strict=True)) if low is not None else None
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"model.json lacks inputs, target or featurizer: {exc}", str(directory)) from None
        try:
            estimator = kind_class(kind).from_state(tensors, header)
        except ModelFileError as exc:
            raise ModelFileError(exc.what, exc.where or str(directory)) from None
        n_formula = len(featurizer.get_feature_names_out()) if featurizer else 0
        if n_formula + len(inputs) + (low_fidelity is not None) != estimator.n_features_in_:
            raise ModelFileError("model.json lists a different number of inputs than the weights", str(directory))
        return cls(estimator, inputs, target, units, column, featurizer, low_fidelity)

    def required_columns(self) -> list[str]:
        return ([self.formula_column] if self.formula_column else []) + list(self.inputs)

    def input_matrix(self, frame: pd.DataFrame, where: str) -> np.ndarray:
        """The estimator's inputs from *frame*, shape (n_rows, n_features); a missing input is a user error."""
        return self._inputs_and_known(frame, where)[0]

    def base_inputs(self, frame: pd.DataFrame, where: str) -> np.ndarray:
        """Formula features and numeric inputs, without a low-fidelity column, shape (n, n_base)."""
        return self._inputs_and_known(frame, where, with_low=False)[0]

    def low_fidelity_column(self, frame: pd.DataFrame, where: str, numeric: np.ndarray) -> np.ndarray:
        """The computed low-fidelity value of every row's compound (and numeric inputs), NaN where none, (n,)."""
        from nnsurrogate.tabular.dataset import compound_groups, row_keys

        groups = compound_groups(frame[self.formula_column].to_numpy(dtype=object), where, self.formula_column)
        return np.array([self.low_fidelity.get(k, np.nan) for k in row_keys(groups, numeric)], dtype=np.float64)

    def _inputs_and_known(self, frame: pd.DataFrame, where: str, with_low: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (n, n_features) and, per row, whether all its elements were seen in training (n,).

        A multi-fidelity model's inputs end with the low-fidelity column (:meth:`low_fidelity_column`).
        """
        missing = [name for name in self.required_columns() if name not in frame.columns]
        if missing:
            raise UserInputError(f"missing input column '{missing[0]}' that the model was trained on "
                                 f"(inputs: {', '.join(self.required_columns())})", where)
        blocks, known = [], np.ones(len(frame), dtype=bool)
        if self.formula_column:
            F = self.featurizer.formula_fractions(frame[self.formula_column].to_numpy(dtype=object),
                                          f"{where}, column '{self.formula_column}'")
            blocks.append(self.featurizer.transform_fractions(F))
            known = self.featurizer.known_elements_only(F)
        numeric = numeric_matrix(frame, self.inputs, where) if self.inputs else np.zeros((len(frame), 0))
        if self.inputs:
            blocks.append(numeric)
        if with_low and self.low_fidelity is not None:
            blocks.append(self.low_fidelity_column(frame, where, numeric)[:, None])
        return (np.concatenate(blocks, axis=1) if blocks else np.zeros((len(frame), 0))), known

    def open_composition_box(self) -> None:
        """Exempt the composition features from the estimator's input-box check.

        Hundreds of composition statistics put almost any new compound outside the training range of
        one of them; for formula inputs the chemical domain is instead "every element was seen in
        training" (checked in :meth:`predict_frame`), while numeric inputs keep their box and the
        ensemble-spread ceiling stays.
        """
        if not self.formula_column:
            return
        n = len(self.featurizer.get_feature_names_out())
        for est in _stages(self.estimator):
            dom = est.domain_
            est.domain_ = DomainCheck((-_WIDE,) * n + tuple(dom.low[n:]), (_WIDE,) * n + tuple(dom.high[n:]),
                                      dom.spread_limit)

    @property
    def conformal(self) -> bool:
        """True when the estimator carries conformal scores (its intervals have their stated coverage)."""
        return isinstance(self.estimator, ConformalRegressor)

    def interval(self, pred, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Bounds (each (n,)) of the *level* prediction interval around *pred* (a regression ``Prediction``).

        Conformal for a :class:`ConformalRegressor`, otherwise Gaussian ŷ ± z·σ from the calibrated σ.
        """
        try:
            if self.conformal:
                return self.estimator.interval_from(pred, level)
            return gaussian_interval(pred.mean, pred.std, level)
        except ValueError as exc:
            raise UserInputError(str(exc), "level") from None

    def sigma_level_bounds(self, pred) -> np.ndarray:
        """Conformal bounds at the 1σ and 2σ levels (0.6827, 0.9545), shape (n, 4): low, high, low, high.

        NaN for a model without conformal scores, and at a level its calibration rows cannot support.
        """
        out = np.full((len(pred.mean), 4), np.nan)
        if self.conformal:
            for j, level in enumerate(SIGMA_LEVELS):
                if level <= self.estimator.conformal_.max_level():
                    out[:, 2 * j], out[:, 2 * j + 1] = self.interval(pred, level)
        return out

    def predict_frame(self, frame: pd.DataFrame, where: str, levels: tuple[float, ...] = ()) -> pd.DataFrame:
        """Every column of *frame* (IDs, labels, notes kept as they are) plus predictions and ``in_domain``.

        Regression adds ``<target>_pred`` and ``<target>_std`` and, for every level in *levels* (e.g. 0.9),
        ``<target>_low_90`` and ``<target>_high_90`` (see :meth:`interval`); classification adds ``p_<class>``
        for every class and ``<target>_pred`` (the most probable class).
        """
        X, known = self._inputs_and_known(frame, where)
        added: dict[str, np.ndarray] = {}
        if self.task == "classify":
            if levels:
                raise UserInputError("prediction intervals need a regression model; this one classifies", "level")
            proba, in_domain = self.estimator.predict_full(X)
            for j, label in enumerate(self.estimator.classes_):
                added[f"p_{label}"] = proba[:, j]
            added[f"{self.target}_pred"] = self.estimator.classes_[np.argmax(proba, axis=1)]
        else:
            pred = self.estimator.predict_full(X)
            added[f"{self.target}_pred"], added[f"{self.target}_std"] = pred.mean, pred.std
            for level in levels:
                low, high = self.interval(pred, level)
                added[f"{self.target}_low_{level_tag(level)}"] = low
                added[f"{self.target}_high_{level_tag(level)}"] = high
            in_domain = pred.in_domain
        added["in_domain"] = np.asarray(in_domain, dtype=bool) & known
        out = frame.drop(columns=[c for c in frame.columns if c in added])  # an earlier run's predictions
        return out.assign(**added)


def representation_network(estimator):
    """The network ensemble whose last hidden layer represents a row: inside a blend, hurdle or conformal model.

    A multi-fidelity model has none that reads the plain inputs (``None``).
    """
    from nnsurrogate.tabular.blend import BlendClassifier, BlendRegressor
    from nnsurrogate.tabular.fidelity import MultiFidelityRegressor
    from nnsurrogate.tabular.gap_model import TwoStageRegressor

    if isinstance(estimator, ConformalRegressor):
        return representation_network(estimator.estimator_)
    if isinstance(estimator, TwoStageRegressor):
        return representation_network(estimator.regressor_)
    if isinstance(estimator, (BlendRegressor, BlendClassifier)):
        return estimator.network_
    if isinstance(estimator, MultiFidelityRegressor):
        return None
    return estimator if hasattr(estimator, "embed") else None


def level_tag(level: float) -> str:
    """A level as a column suffix: 0.9 → ``90``, 0.6827 → ``68.27``."""
    return f"{100.0 * check_level(level):.4g}"


def _stages(estimator) -> list:
    """The estimators inside *estimator* that hold a ``domain_`` (both stages of a hurdle model)."""
    from nnsurrogate.tabular.fidelity import MultiFidelityRegressor
    from nnsurrogate.tabular.gap_model import TwoStageRegressor

    if isinstance(estimator, ConformalRegressor):
        return _stages(estimator.estimator_)
    if isinstance(estimator, MultiFidelityRegressor):
        return _stages(estimator.high_)
    stages = [estimator.classifier_, estimator.regressor_] if isinstance(estimator, TwoStageRegressor) else [estimator]
    return [est for est in stages if hasattr(est, "domain_")]


def _featurizer(params: dict, seen: list) -> CompositionFeaturizer:
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    featurizer = CompositionFeaturizer(**params).fit(["H"])
    unknown = set(seen) - set(featurizer.elements_)
    if unknown:
        raise ValueError(f"unknown element {sorted(unknown)[0]!r} in seen_elements")
    featurizer.seen_elements_ = [str(el) for el in seen]
    return featurizer


def _peek_kind(directory: Path) -> str:
    """The model kind in ``model.json``, checked against the known kinds (full checks follow in load_model)."""
    try:
        kind = json.loads((directory / HEADER_FILE).read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        return KIND  # load_model reports the missing or broken file precisely
    return kind if kind_class(kind) is not None else KIND
