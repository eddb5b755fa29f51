"""Tree ensembles that save as arrays: the non-network members of the composition blends.

- :class:`BoostedRegressor`, :class:`BoostedClassifier`: histogram gradient boosting (Ke et al.,
  NeurIPS 2017, as implemented in scikit-learn): leaf-wise trees of at most 31 leaves with ≥ 10 rows
  each and L2-regularised leaf values, 800 rounds of step 0.04;
- :class:`ForestRegressor`, :class:`ForestClassifier`: extremely randomised trees (Geurts, Ernst &
  Wehenkel, Mach. Learn. 63, 3 (2006)), optionally on a subset of the input columns (e.g. only the
  element fractions, which suits alloy families where every row has the same few elements).

scikit-learn fits them; :class:`~nnsurrogate.tabular.trees.TreeArrays` keeps their splits, so a
model file holds arrays only. Every class follows the scikit-learn estimator contract.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, HistGradientBoostingClassifier,
                              HistGradientBoostingRegressor)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.tabular.trees import TreeArrays


def _json_params(est) -> dict:
    params = est.get_params()
    params["random_state"] = est.random_state if isinstance(est.random_state, int) else None
    if params.get("columns") is not None:
        params["columns"] = [int(c) for c in params["columns"]]
    return params


def _state(est, trees: list[TreeArrays]) -> tuple[dict, dict]:
    check_is_fitted(est, "trees_")
    tensors, scalars = {}, []
    for k, t in enumerate(trees):
        arrays, header = t.to_tensors(f"trees{k}.")
        tensors.update(arrays)
        scalars.append(header)
    header = {"params": _json_params(est), "trees": scalars, "n_features_in": int(est.n_features_in_)}
    if hasattr(est, "classes_"):
        header["classes"] = [c.item() if hasattr(c, "item") else c for c in est.classes_]
    return tensors, header


def _from_state(cls, tensors: dict, header: dict):
    try:
        params = dict(header["params"])
        if params.get("columns") is not None:
            params["columns"] = tuple(params["columns"])
        est = cls(**params)
        est.n_features_in_ = int(header["n_features_in"])
        trees = [TreeArrays.from_tensors(tensors, h, f"trees{k}.") for k, h in enumerate(header["trees"])]
        width = len(est.columns) if getattr(est, "columns", None) is not None else est.n_features_in_
        for t in trees:
            t.check_features(width)
        if "classes" in header:
            est.classes_ = np.asarray(header["classes"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model file is inconsistent: {str(exc).splitlines()[0]}") from None
    est.trees_ = trees if isinstance(est, ClassifierMixin) else trees[0]
    est.n_iter_ = est.n_epochs_ = int(trees[0].left.shape[0])
    return est


def _class_proba(raw: np.ndarray) -> np.ndarray:
    """(n, K) probabilities from one raw column (two classes: σ) or K columns (softmax)."""
    if raw.shape[1] == 1:
        p1 = 1.0 / (1.0 + np.exp(-raw[:, 0]))
        return np.column_stack([1.0 - p1, p1])
    raw = np.exp(raw - raw.max(axis=1, keepdims=True))
    return raw / raw.sum(axis=1, keepdims=True)


class _Boosted(BaseEstimator):
    def __init__(self, max_iter=800, learning_rate=0.04, max_leaf_nodes=31, min_samples_leaf=10,
                 l2_regularization=1.0, random_state=None):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def _sklearn_params(self) -> dict:
        return {"max_iter": int(self.max_iter), "learning_rate": float(self.learning_rate),
                "max_leaf_nodes": int(self.max_leaf_nodes), "min_samples_leaf": int(self.min_samples_leaf),
                "l2_regularization": float(self.l2_regularization), "early_stopping": False,
                "random_state": self.random_state}

    def to_state(self):
        return _state(self, self.trees_ if isinstance(self.trees_, list) else [self.trees_])

    @classmethod
    def from_state(cls, tensors, header):
        return _from_state(cls, tensors, header)


class BoostedRegressor(RegressorMixin, _Boosted):
    """Least-squares histogram gradient boosting stored as arrays.

    Parameters
    ----------
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization, random_state
        As in :class:`~sklearn.ensemble.HistGradientBoostingRegressor` (no early stopping).
    log_target : bool, default=False
        Fit ln y (y > 0) and return exp of the prediction.
    """

    def __init__(self, max_iter=800, learning_rate=0.04, max_leaf_nodes=31, min_samples_leaf=10,
                 l2_regularization=1.0, log_target=False, random_state=None):
        super().__init__(max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization, random_state)
        self.log_target = log_target

    def fit(self, X, y, checkpoint=None):
        """Fit on X (n, d), y (n,); *checkpoint* is accepted for a uniform interface and ignored."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        if self.log_target and np.any(y <= 0):
            raise ValueError("log_target=True needs a strictly positive target")
        model = HistGradientBoostingRegressor(**self._sklearn_params()).fit(X, np.log(y) if self.log_target else y)
        self.trees_ = TreeArrays.from_hist_gradient_boosting(model)
        self.n_iter_ = self.n_epochs_ = int(model.n_iter_)
        return self

    def predict(self, X):
        """Prediction for every row, shape (n,)."""
        check_is_fitted(self, "trees_")
        raw = self.trees_.raw(validate_data(self, X, reset=False, dtype=np.float64))
        return np.exp(raw) if self.log_target else raw


class BoostedClassifier(ClassifierMixin, _Boosted):
    """Histogram gradient-boosted classifier (log loss) stored as arrays: σ(F) for two classes, softmax for more."""

    def fit(self, X, y, checkpoint=None):
        """Fit on X (n, d) and class labels y (n,); *checkpoint* is ignored."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        model = HistGradientBoostingClassifier(**self._sklearn_params()).fit(X, y)
        self.classes_ = model.classes_
        columns = 1 if len(self.classes_) == 2 else len(self.classes_)
        self.trees_ = [TreeArrays.from_hist_gradient_boosting(model, column=k) for k in range(columns)]
        self.n_iter_ = self.n_epochs_ = int(model.n_iter_)
        return self

    def predict_proba(self, X):
        """Class probabilities (n, K)."""
        check_is_fitted(self, "trees_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return _class_proba(np.column_stack([t.raw(X) for t in self.trees_]))

    def predict(self, X):
        """Most probable class of each row, shape (n,)."""
        check_is_fitted(self, "trees_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class _Forest(BaseEstimator):
    def __init__(self, n_estimators=100, max_features=0.3, min_samples_leaf=1, columns=None, random_state=None):
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.columns = columns
        self.random_state = random_state

    def _select(self, X: np.ndarray) -> np.ndarray:
        if self.columns is None:
            return X
        cols = np.asarray(self.columns, dtype=np.int64)
        if cols.size == 0 or cols.min() < 0 or cols.max() >= X.shape[1]:
            raise ValueError(f"columns must be indices of the {X.shape[1]} inputs")
        return X[:, cols]

    def _sklearn_params(self) -> dict:
        return {"n_estimators": int(self.n_estimators), "max_features": self.max_features,
                "min_samples_leaf": int(self.min_samples_leaf), "n_jobs": 1, "random_state": self.random_state}

    def to_state(self):
        return _state(self, self.trees_ if isinstance(self.trees_, list) else [self.trees_])

    @classmethod
    def from_state(cls, tensors, header):
        return _from_state(cls, tensors, header)


class ForestRegressor(RegressorMixin, _Forest):
    """Extra-trees regression (the mean of randomised trees) stored as arrays.

    Parameters
    ----------
    n_estimators, max_features, min_samples_leaf, random_state
        As in :class:`~sklearn.ensemble.ExtraTreesRegressor`.
    columns : sequence of int or None
        Input columns the trees see (``None``: all).
    log_target : bool, default=False
        Fit ln y (y > 0) and return exp of the mean of the trees.
    """

    def __init__(self, n_estimators=100, max_features=0.3, min_samples_leaf=1, columns=None, log_target=False,
                 random_state=None):
        super().__init__(n_estimators, max_features, min_samples_leaf, columns, random_state)
        self.log_target = log_target

    def fit(self, X, y, checkpoint=None):
        """Fit on X (n, d), y (n,); *checkpoint* is ignored."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        if self.log_target and np.any(y <= 0):
            raise ValueError("log_target=True needs a strictly positive target")
        model = ExtraTreesRegressor(**self._sklearn_params()).fit(self._select(X), np.log(y) if self.log_target else y)
        self.trees_ = TreeArrays.from_forest(model)
        self.n_iter_ = self.n_epochs_ = int(self.n_estimators)
        return self

    def predict(self, X):
        """Mean of the trees for every row, shape (n,)."""
        check_is_fitted(self, "trees_")
        raw = self.trees_.raw(self._select(validate_data(self, X, reset=False, dtype=np.float64)))
        return np.exp(raw) if self.log_target else raw


class ForestClassifier(ClassifierMixin, _Forest):
    """Extra-trees classification (the mean of the trees' class fractions) stored as arrays."""

    def __init__(self, n_estimators=100, max_features="sqrt", min_samples_leaf=1, columns=None, random_state=None):
        super().__init__(n_estimators, max_features, min_samples_leaf, columns, random_state)

    def fit(self, X, y, checkpoint=None):
        """Fit on X (n, d) and class labels y (n,); *checkpoint* is ignored."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        model = ExtraTreesClassifier(**self._sklearn_params()).fit(self._select(X), y)
        self.classes_ = model.classes_
        self.trees_ = [TreeArrays.from_forest(model, column=k) for k in range(len(self.classes_))]
        self.n_iter_ = self.n_epochs_ = int(self.n_estimators)
        return self

    def predict_proba(self, X):
        """Class probabilities (n, K)."""
        check_is_fitted(self, "trees_")
        X = self._select(validate_data(self, X, reset=False, dtype=np.float64))
        proba = np.column_stack([t.raw(X) for t in self.trees_])
        return proba / np.maximum(proba.sum(axis=1, keepdims=True), 1e-300)

    def predict(self, X):
        """Most probable class of each row, shape (n,)."""
        check_is_fitted(self, "trees_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
