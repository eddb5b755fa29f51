"""Neural ensemble + tree ensembles, stacked: the default model for composition features.

On composition statistics, tree ensembles and neural networks make different errors, and which
member is best depends on the data (boosted trees on chemically diverse band gaps, extra trees on
the element fractions of one alloy family, …). A blend predicts

    ŷ(x) = Σ_m w_m ŷ_m(x),   w_m ≥ 0,  Σ_m w_m = 1,                               (1)

over the network (m = 0) and the tree members (stacking: Wolpert, Neural Networks 5, 241 (1992);
Breiman, Mach. Learn. 24, 49 (1996)). With ``weights="auto"`` the weights are chosen inside
``fit`` from predictions for rows the members did not train on:

1. out-of-sample predictions of every member: 3-fold cross-validation inside the training rows
   when there are fewer than :data:`CV_BELOW` of them (stratified for classes), otherwise one
   random 20 % hold-out;
2. the weights minimise the mean absolute error (regression) or the log loss (classification) of
   Eq. (1) on those rows, over the simplex grid with step 1/8;
3. the network and the members with non-zero weight are refitted on all rows.

The network is always refitted, even with w₀ = 0: it supplies what the trees lack, the applicability
domain and the standard deviation. For a regression blend its calibrated σ(x) is rescaled to the
blend's errors, σ_blend = c·σ(x) with c² = mean((y − ŷ)²/σ²) over the out-of-sample rows (the
maximum-likelihood scale of Gaussian errors).
"""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from nnsurrogate.core.engine.budget import overall_stop, time_share
from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.tabular.classifier import SurrogateClassifier
from nnsurrogate.tabular._shared import delegated_domain, seeded_clone
from nnsurrogate.tabular.regressor import Prediction, SurrogateRegressor
from nnsurrogate.tabular.tree_models import BoostedClassifier, BoostedRegressor

GRID_STEPS = 8  # shares are multiples of 1/8
CV_BELOW = 500  # fewer training rows: 3-fold out-of-fold predictions; more: one 20 % hold-out
MIN_SELECTION_ROWS = 20  # fewer rows than this: equal shares instead of a choice


def simplex_weights(preds: list[np.ndarray], score, steps: int = GRID_STEPS) -> np.ndarray:
    """Weights on the simplex grid {k/steps} that minimise ``score(Σ_m w_m preds[m])``.

    Parameters
    ----------
    preds : list of numpy.ndarray
        One prediction array per member, all of the same shape.
    score : callable
        Loss of a combined prediction (smaller is better).

    Returns
    -------
    numpy.ndarray, shape (len(preds),)
        The first minimiser in lexicographic order of the grid (ties keep more weight on earlier members).
    """
    m = len(preds)
    best, best_w = np.inf, None
    for cut in itertools.combinations(range(steps + m - 1), m - 1):  # stars and bars
        bounds = (-1, *cut, steps + m - 1)
        w = np.array([bounds[i + 1] - bounds[i] - 1 for i in range(m)], dtype=np.float64) / steps
        loss = score(sum(wi * p for wi, p in zip(w, preds) if wi > 0))
        if loss < best - 1e-12:
            best, best_w = loss, w
    return best_w


def _given_weights(weights, n_members: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != (n_members,) or np.any(w < 0) or not np.isclose(w.sum(), 1.0):
        raise ValueError(f"weights must be 'auto' or {n_members} non-negative numbers summing to 1, got {weights!r}")
    return w


class _Blend(BaseEstimator):
    """Fitting logic shared by the regression and classification blends."""

    def __init__(self, network=None, members=None, weights="auto", random_state=None):
        self.network = network
        self.members = members
        self.weights = weights
        self.random_state = random_state

    def _templates(self):
        network = seeded_clone(self.network, self._network_cls, self.random_state)
        members = list(self.members) if self.members is not None else [self._default_member()]
        return network, [seeded_clone(m, type(m), self.random_state) for m in members]

    def _fit_blend(self, X, y, checkpoint, stratify):
        network, members = self._templates()
        n = len(members) + 1
        self.std_scale_ = 1.0
        stops: list[str | None] = []  # what ended each network fit
        if isinstance(self.weights, str):
            if self.weights != "auto":
                raise ValueError(f"weights must be 'auto' or a sequence of numbers, got {self.weights!r}")
            self.weights_ = self._choose_weights([network, *members], X, y, stratify, stops)
        else:
            self.weights_ = _given_weights(self.weights, n)
        self.network_ = network.fit(X, y, checkpoint=checkpoint)  # the time the selection fits left
        self.members_ = [clone(m).fit(X, y) if w > 0 else None for m, w in zip(members, self.weights_[1:])]
        self.n_epochs_ = self.network_.n_epochs_
        self.stopped_by_ = overall_stop([*stops, getattr(self.network_, "stopped_by_", None)])

    def _choose_weights(self, templates, X, y, stratify, stops: list) -> np.ndarray:
        """Weights of Eq. (1) from out-of-sample predictions (equal weights when too few rows).

        Under a time limit the network's fold fits and its final fit share the time left equally
        (:func:`~nnsurrogate.core.engine.budget.time_share`); what ended each fold fit is appended to *stops*.
        """
        folds = _selection_folds(len(y), stratify, check_random_state(self.random_state).randint(2**31 - 1))
        if folds is None:
            return np.full(len(templates), 1.0 / len(templates))
        rows = np.concatenate([test for _, test in folds])
        preds, net_std = [], []
        for j, template in enumerate(templates):
            parts = []
            for k, (train, test) in enumerate(folds):
                with time_share(len(folds) + 1 - k if j == 0 else 1):
                    fitted = clone(template).fit(X[train], y[train])
                if j == 0:
                    stops.append(getattr(fitted, "stopped_by_", None))
                parts.append(self._member_output(fitted, X[test]))
                if j == 0:
                    net_std.append(self._network_std(fitted, X[test]))
            preds.append(np.concatenate(parts, axis=0))
        weights = simplex_weights(preds, lambda p: self._selection_loss(y[rows], p))
        if net_std[0] is not None:
            blend = sum(w * p for w, p in zip(weights, preds))
            z2 = (y[rows] - blend) ** 2 / np.maximum(np.concatenate(net_std), 1e-300) ** 2
            self.std_scale_ = float(np.clip(np.sqrt(np.mean(z2)), 0.1, 10.0))
        return weights

    domain_ = delegated_domain("network_")

    def to_state(self):
        from nnsurrogate.tabular.registry import member_state

        check_is_fitted(self, "members_")
        tensors, net_h = member_state(self.network_, "net.")
        members = []
        for k, member in enumerate(self.members_):
            if member is None:
                members.append(None)
                continue
            arrays, header = member_state(member, f"m{k}.")
            tensors.update(arrays)
            members.append(header)
        header = {"params": {"weights": [float(w) for w in self.weights_],
                             "random_state": self.random_state if isinstance(self.random_state, int) else None},
                  "std_scale": float(self.std_scale_), "n_features_in": int(self.n_features_in_),
                  "network": net_h, "members": members}
        return tensors, header

    @classmethod
    def from_state(cls, tensors, header):
        from nnsurrogate.tabular.registry import member_from_state

        try:
            network = member_from_state(tensors, header["network"], "net.")
            members = [None if h is None else member_from_state(tensors, h, f"m{k}.") for k, h in enumerate(header["members"])]
            est = cls(clone(network), [clone(m) for m in members if m is not None], **header["params"])
            est.weights_ = _given_weights(header["params"]["weights"], len(members) + 1)
            est.std_scale_ = float(header["std_scale"])
            est.n_features_in_ = int(header["n_features_in"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFileError(f"model file is inconsistent: {str(exc).splitlines()[0]}") from None
        widths = {network.n_features_in_, est.n_features_in_} | {m.n_features_in_ for m in members if m is not None}
        if len(widths) != 1 or any((m is None) != (w == 0) for m, w in zip(members, est.weights_[1:])):
            raise ModelFileError("model file is inconsistent: the blend's members do not match its weights")
        est.network_, est.members_, est.n_epochs_ = network, members, network.n_epochs_
        return est


class BlendRegressor(RegressorMixin, _Blend):
    """Stacked network + tree regressors (Eq. 1); σ (rescaled), spread and domain come from the network.

    Parameters
    ----------
    network : SurrogateRegressor or None
        Unfitted template (``None``: defaults).
    members : list of regressors or None
        Unfitted tree members (:mod:`nnsurrogate.tabular.tree_models`; ``None``: one :class:`BoostedRegressor`).
    weights : "auto" or sequence of float
        w₀ … w_M of Eq. (1), network first; "auto" chooses them from out-of-sample predictions
        (see the module docstring).
    random_state : int or None
        Seeds the set-aside rows and members whose ``random_state`` is ``None``.

    Attributes
    ----------
    network_ : SurrogateRegressor
    members_ : list
        Fitted tree members (``None`` where the weight is 0).
    weights_ : numpy.ndarray, shape (1 + len(members),)
    std_scale_ : float
        c, the factor applied to the network's σ (1 with given weights).
    """

    _network_cls = SurrogateRegressor

    @staticmethod
    def _default_member():
        return BoostedRegressor()

    @staticmethod
    def _member_output(est, X):
        return est.predict(X)

    @staticmethod
    def _selection_loss(y, pred):
        return float(np.mean(np.abs(y - pred)))

    @staticmethod
    def _network_std(est, X):
        return est.predict_full(X).std

    def fit(self, X, y, checkpoint=None):
        """Fit the network and the members, choosing the weights of Eq. (1)."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        self._fit_blend(X, y, checkpoint, stratify=None)
        return self

    def predict_full(self, X) -> Prediction:
        """Blended mean, the network's σ times c, its spread and in-domain flags."""
        check_is_fitted(self, "members_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        net = self.network_.predict_full(X)
        mean = self.weights_[0] * net.mean
        for w, member in zip(self.weights_[1:], self.members_):
            if member is not None:
                mean = mean + w * member.predict(X)
        return Prediction(mean, self.std_scale_ * net.std, net.spread, net.in_domain)

    def predict(self, X, return_std=False):
        pred = self.predict_full(X)
        return (pred.mean, pred.std) if return_std else pred.mean


class BlendClassifier(ClassifierMixin, _Blend):
    """Stacked network + tree classifiers: Eq. (1) on class probabilities; the domain comes from the network.

    Parameters are those of :class:`BlendRegressor`, with classifiers (default member: one
    :class:`BoostedClassifier`) and the log loss as the selection criterion.
    """

    _network_cls = SurrogateClassifier

    @staticmethod
    def _default_member():
        return BoostedClassifier()

    @staticmethod
    def _member_output(est, X):
        return est.predict_proba(X)

    @staticmethod
    def _network_std(est, X):
        return None

    @staticmethod
    def _selection_loss(y_idx, proba):
        return float(-np.mean(np.log(np.clip(proba[np.arange(len(y_idx)), y_idx], 1e-15, 1.0))))

    def fit(self, X, y, checkpoint=None):
        """Fit the network and the members, choosing the weights of Eq. (1) by log loss."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"a classifier needs at least 2 classes, the target has one class ({self.classes_[0]!r})")
        self._fit_blend(X, y_idx, checkpoint, stratify=y_idx)
        return self

    def predict_full(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Blended probabilities (n, K) and the network's in-domain flags (n,)."""
        check_is_fitted(self, "members_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        p_net, in_domain = self.network_.predict_full(X)
        proba = self.weights_[0] * p_net
        for w, member in zip(self.weights_[1:], self.members_):
            if member is not None:
                proba = proba + w * member.predict_proba(X)
        return proba, in_domain

    def predict_proba(self, X):
        return self.predict_full(X)[0]

    def predict(self, X):
        """Most probable class of each row, shape (n,)."""
        check_is_fitted(self, "members_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def to_state(self):
        tensors, header = super().to_state()
        header["classes"] = [c.item() if hasattr(c, "item") else c for c in self.classes_]
        return tensors, header

    @classmethod
    def from_state(cls, tensors, header):
        est = super().from_state(tensors, header)
        est.classes_ = np.asarray(header["classes"])
        return est


def _selection_folds(n: int, labels, seed: int):
    """(train, test) pairs whose test rows are predicted out of sample, or ``None`` when too few rows."""
    from sklearn.model_selection import KFold, StratifiedKFold

    rows = np.arange(n)
    if n < MIN_SELECTION_ROWS:
        return None
    counts = np.bincount(labels) if labels is not None else None
    if n < CV_BELOW:
        if counts is not None:
            if counts.min() < 3:
                return None
            return list(StratifiedKFold(3, shuffle=True, random_state=seed).split(rows, labels))
        return list(KFold(3, shuffle=True, random_state=seed).split(rows))
    if counts is not None and counts.min() < 2:
        return None
    train, test = train_test_split(rows, test_size=0.2, random_state=seed, stratify=labels)
    return [(train, test)]
