"""Neural ensemble + gradient-boosted trees, averaged: the default model for composition features.

On composition statistics, gradient-boosted trees and neural networks make different errors (the
trees split on single features, the networks interpolate smooth combinations), and the average of
the two is more accurate than either (the stacking argument of Wolpert, Neural Networks 5, 241
(1992), with fixed equal weights). The network member brings what the trees lack: a calibrated
standard deviation and the applicability domain, which the blend reports unchanged.

- :class:`BoostedRegressor`, :class:`BoostedClassifier`: scikit-learn histogram gradient boosting, kept as
  :class:`~nnsurrogate.tabular.trees.TreeArrays` so that model files hold arrays only;
- :class:`BlendRegressor`: w·μ_network + (1 − w)·μ_trees, σ and domain of the network;
- :class:`BlendClassifier`: w·p_network + (1 − w)·p_trees, domain of the network.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.tabular.classifier import SurrogateClassifier
from nnsurrogate.tabular.regressor import Prediction, SurrogateRegressor
from nnsurrogate.tabular.trees import TreeArrays

def _hgb_params(est) -> dict:
    return {"max_iter": int(est.max_iter), "learning_rate": float(est.learning_rate),
            "max_leaf_nodes": int(est.max_leaf_nodes), "min_samples_leaf": int(est.min_samples_leaf),
            "l2_regularization": float(est.l2_regularization), "early_stopping": False,
            "random_state": est.random_state}


def _tree_state(trees: list[TreeArrays], est) -> tuple[dict, dict]:
    tensors, scalars = {}, []
    for k, t in enumerate(trees):
        arrays, header = t.to_tensors(f"trees{k}.")
        tensors.update(arrays)
        scalars.append(header)
    params = est.get_params()
    params["random_state"] = est.random_state if isinstance(est.random_state, int) else None
    return tensors, {"params": params, "trees": scalars, "n_features_in": int(est.n_features_in_)}


def _trees_from_state(tensors: dict, header: dict) -> list[TreeArrays]:
    try:
        trees = [TreeArrays.from_tensors(tensors, h, f"trees{k}.") for k, h in enumerate(header["trees"])]
        for t in trees:
            t.check_features(int(header["n_features_in"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model file is inconsistent: {str(exc).splitlines()[0]}") from None
    return trees


class _BoostedBase(BaseEstimator):
    """Shared parameters of the histogram gradient-boosting members (Ke et al., NeurIPS 2017, as in
    scikit-learn): leaf-wise trees of at most 31 leaves with ≥ 10 rows each, L2-regularised leaf values."""

    def __init__(self, max_iter=800, learning_rate=0.04, max_leaf_nodes=31, min_samples_leaf=10,
                 l2_regularization=1.0, random_state=None):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state


class BoostedRegressor(RegressorMixin, _BoostedBase):
    """Least-squares histogram gradient boosting (scikit-learn), stored as arrays.

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
        model = HistGradientBoostingRegressor(**_hgb_params(self)).fit(X, np.log(y) if self.log_target else y)
        self.trees_ = TreeArrays.from_hist_gradient_boosting(model)
        self.n_iter_ = self.n_epochs_ = int(model.n_iter_)
        return self

    def predict(self, X):
        """Prediction for every row, shape (n,)."""
        check_is_fitted(self, "trees_")
        raw = self.trees_.raw(validate_data(self, X, reset=False, dtype=np.float64))
        return np.exp(raw) if self.log_target else raw

    def to_state(self):
        check_is_fitted(self, "trees_")
        return _tree_state([self.trees_], self)

    @classmethod
    def from_state(cls, tensors, header):
        est = cls(**header["params"])
        est.trees_ = _trees_from_state(tensors, header)[0]
        est.n_features_in_ = int(header["n_features_in"])
        est.n_iter_ = est.n_epochs_ = int(est.trees_.left.shape[0])
        return est


class BoostedClassifier(ClassifierMixin, _BoostedBase):
    """Histogram gradient-boosted classifier (log loss, scikit-learn) stored as arrays.

    Two classes use one tree per stage and P(class 1) = σ(F); K > 2 classes one per class and softmax.
    """

    def fit(self, X, y, checkpoint=None):
        """Fit on X (n, d) and class labels y (n,); *checkpoint* is ignored."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        model = HistGradientBoostingClassifier(**_hgb_params(self)).fit(X, y)
        self.classes_ = model.classes_
        columns = 1 if len(self.classes_) == 2 else len(self.classes_)
        self.trees_ = [TreeArrays.from_hist_gradient_boosting(model, column=k) for k in range(columns)]
        self.n_iter_ = self.n_epochs_ = int(model.n_iter_)
        return self

    def predict_proba(self, X):
        """Class probabilities (n, K)."""
        check_is_fitted(self, "trees_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        raw = np.column_stack([t.raw(X) for t in self.trees_])
        if raw.shape[1] == 1:
            p1 = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        raw = np.exp(raw - raw.max(axis=1, keepdims=True))
        return raw / raw.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class of each row, shape (n,)."""
        check_is_fitted(self, "trees_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def to_state(self):
        check_is_fitted(self, "trees_")
        tensors, header = _tree_state(self.trees_, self)
        header["classes"] = [c.item() if hasattr(c, "item") else c for c in self.classes_]
        return tensors, header

    @classmethod
    def from_state(cls, tensors, header):
        est = cls(**header["params"])
        est.trees_ = _trees_from_state(tensors, header)
        est.classes_ = np.asarray(header["classes"])
        est.n_features_in_ = int(header["n_features_in"])
        est.n_iter_ = est.n_epochs_ = int(est.trees_[0].left.shape[0])
        return est


class BlendRegressor(RegressorMixin, BaseEstimator):
    """w·(network mean) + (1 − w)·(boosted trees); σ, spread and domain come from the network.

    Parameters
    ----------
    network : SurrogateRegressor or None
        Unfitted template (``None``: defaults).
    trees : BoostedRegressor or None
    weight : float, default=0.5
        w, the network's share of the mean.
    random_state : int or None
        Given to members whose ``random_state`` is ``None``.
    """

    def __init__(self, network=None, trees=None, weight=0.5, random_state=None):
        self.network = network
        self.trees = trees
        self.weight = weight
        self.random_state = random_state

    def _members(self):
        return [_seeded(self.network, SurrogateRegressor, self.random_state),
                _seeded(self.trees, BoostedRegressor, self.random_state)]

    def fit(self, X, y, checkpoint=None):
        """Fit both members on the same rows."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        _check_weight(self.weight)
        self.network_, self.trees_ = self._members()
        self.network_.fit(X, y, checkpoint=checkpoint)
        self.trees_.fit(X, y)
        self.n_epochs_ = self.network_.n_epochs_
        return self

    def predict_full(self, X) -> Prediction:
        check_is_fitted(self, "trees_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        net = self.network_.predict_full(X)
        mean = self.weight * net.mean + (1.0 - self.weight) * self.trees_.predict(X)
        return Prediction(mean, net.std, net.spread, net.in_domain)

    def predict(self, X, return_std=False):
        pred = self.predict_full(X)
        return (pred.mean, pred.std) if return_std else pred.mean

    @property
    def domain_(self):
        return self.network_.domain_

    @domain_.setter
    def domain_(self, value):
        self.network_.domain_ = value

    def to_state(self):
        return _blend_state(self)

    @classmethod
    def from_state(cls, tensors, header):
        return _blend_from_state(cls, tensors, header, SurrogateRegressor, BoostedRegressor)


class BlendClassifier(ClassifierMixin, BaseEstimator):
    """w·(network probabilities) + (1 − w)·(boosted-tree probabilities); the domain comes from the network."""

    def __init__(self, network=None, trees=None, weight=0.5, random_state=None):
        self.network = network
        self.trees = trees
        self.weight = weight
        self.random_state = random_state

    def fit(self, X, y, checkpoint=None):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        _check_weight(self.weight)
        self.network_ = _seeded(self.network, SurrogateClassifier, self.random_state).fit(X, y, checkpoint=checkpoint)
        self.trees_ = _seeded(self.trees, BoostedClassifier, self.random_state).fit(X, y)
        self.classes_ = self.network_.classes_
        self.n_epochs_ = self.network_.n_epochs_
        return self

    def predict_full(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Blended probabilities (n, K) and the network's in-domain flags (n,)."""
        check_is_fitted(self, "trees_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        p_net, in_domain = self.network_.predict_full(X)
        return self.weight * p_net + (1.0 - self.weight) * self.trees_.predict_proba(X), in_domain

    def predict_proba(self, X):
        return self.predict_full(X)[0]

    def predict(self, X):
        """Most probable class of each row, shape (n,)."""
        check_is_fitted(self, "trees_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    @property
    def domain_(self):
        return self.network_.domain_

    @domain_.setter
    def domain_(self, value):
        self.network_.domain_ = value

    def to_state(self):
        tensors, header = _blend_state(self)
        header["classes"] = [c.item() if hasattr(c, "item") else c for c in self.classes_]
        return tensors, header

    @classmethod
    def from_state(cls, tensors, header):
        est = _blend_from_state(cls, tensors, header, SurrogateClassifier, BoostedClassifier)
        est.classes_ = est.network_.classes_
        return est


def _seeded(template, default_cls, seed):
    est = clone(template) if template is not None else default_cls()
    if est.get_params().get("random_state") is None:
        est.set_params(random_state=seed)
    return est


def _check_weight(weight) -> None:
    if not 0.0 <= float(weight) <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")


def _blend_state(est) -> tuple[dict, dict]:
    check_is_fitted(est, "trees_")
    net_t, net_h = est.network_.to_state()
    tree_t, tree_h = est.trees_.to_state()
    tensors = {**{f"net.{k}": v for k, v in net_t.items()}, **{f"gbm.{k}": v for k, v in tree_t.items()}}
    header = {"params": {"weight": float(est.weight),
                         "random_state": est.random_state if isinstance(est.random_state, int) else None},
              "n_features_in": int(est.n_features_in_), "network": net_h, "trees": tree_h}
    return tensors, header


def _blend_from_state(cls, tensors, header, net_cls, tree_cls):
    try:
        net = net_cls.from_state({k[4:]: v for k, v in tensors.items() if k.startswith("net.")}, header["network"])
        trees = tree_cls.from_state({k[4:]: v for k, v in tensors.items() if k.startswith("gbm.")}, header["trees"])
        est = cls(clone(net), clone(trees), **header["params"])
        est.n_features_in_ = int(header["n_features_in"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"model file is inconsistent: {str(exc).splitlines()[0]}") from None
    if net.n_features_in_ != est.n_features_in_ or trees.n_features_in_ != est.n_features_in_:
        raise ModelFileError("model file is inconsistent: the members read different inputs")
    est.network_, est.trees_, est.n_epochs_ = net, trees, net.n_epochs_
    return est
