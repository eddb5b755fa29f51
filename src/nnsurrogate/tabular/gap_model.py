"""`TwoStageRegressor`: a hurdle model for targets with many exact zeros (band gaps of metals).

Half of the experimental band gaps in Matbench are exactly 0 eV (metals). One smooth regressor
spreads its error over the jump between 0 and the gaps of insulators; a hurdle model (Cragg,
Econometrica 39, 829 (1971)) splits the task:

1. a classifier gives π(x) = P(y = 0 | x) (:class:`SurrogateClassifier`, trained on all rows);
2. a regressor gives the conditional distribution of y given y > 0, with mean μ(x) and standard
   deviation σ(x) (:class:`SurrogateRegressor`, trained on the rows with y > 0 only).

The prediction is the median of the mixture π·δ(0) + (1 − π)·p(y | y > 0), the value that minimises
the expected absolute error: 0 where π ≥ ½, otherwise the (½ − π)/(1 − π) quantile of the
conditional distribution (taken as Gaussian, clipped at 0). The reported standard deviation is the
mixture's, √((1 − π)(σ² + μ²) − ((1 − π)μ)²).
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from nnsurrogate.core.engine.budget import overall_stop, time_share
from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.tabular.classifier import SurrogateClassifier
from nnsurrogate.tabular.regressor import Prediction, SurrogateRegressor


class TwoStageRegressor(RegressorMixin, BaseEstimator):
    """Zero-or-positive target: P(y = 0) × a regressor of the positive values.

    Parameters
    ----------
    classifier : SurrogateClassifier, BlendClassifier, BoostedClassifier or None
        Unfitted template for π(x); ``None`` uses ``SurrogateClassifier(random_state=random_state)``.
    regressor : SurrogateRegressor, BlendRegressor or None
        Unfitted template for y | y > 0 (must give a standard deviation); ``None`` uses
        ``SurrogateRegressor(random_state=random_state)``.
    random_state : int or None
        Seed given to templates that have no ``random_state`` of their own.

    Attributes
    ----------
    classifier_ : SurrogateClassifier
    regressor_ : SurrogateRegressor
    n_features_in_ : int
    n_epochs_ : int
        Epochs of the regressor.
    stopped_by_ : str or None
        What ended the training of the two stages (the one they share, else the one that cut more,
        see :func:`~nnsurrogate.core.engine.budget.overall_stop`).
    """

    def __init__(self, classifier=None, regressor=None, random_state=None):
        self.classifier = classifier
        self.regressor = regressor
        self.random_state = random_state

    def _template(self, given, default_cls):
        est = clone(given) if given is not None else default_cls()
        if est.get_params().get("random_state") is None:
            est.set_params(random_state=self.random_state)
        return est

    def fit(self, X, y, checkpoint=None):
        """Fit π(x) on all rows and the regressor on the rows with y > 0 (y must be ≥ 0).

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
        checkpoint : str or None
            Prefix for the two resumable training states (``.clf`` and ``.reg`` are appended).
        """
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=2, dtype=np.float64)
        if np.any(y < 0):
            raise ValueError("TwoStageRegressor needs a non-negative target")
        zero = y == 0
        if zero.sum() < 2 or (~zero).sum() < 2:
            raise ValueError("TwoStageRegressor needs at least 2 zero and 2 positive targets")
        self.classifier_ = self._template(self.classifier, SurrogateClassifier)
        with time_share(2):  # under a time limit the two stages share the time left
            self.classifier_.fit(X, zero.astype(np.int64), checkpoint=f"{checkpoint}.clf" if checkpoint else None)
        self.regressor_ = self._template(self.regressor, SurrogateRegressor)
        self.regressor_.fit(X[~zero], y[~zero], checkpoint=f"{checkpoint}.reg" if checkpoint else None)
        self.n_epochs_ = self.regressor_.n_epochs_
        self.stopped_by_ = overall_stop([getattr(self.classifier_, "stopped_by_", None),
                                         getattr(self.regressor_, "stopped_by_", None)])
        return self

    def predict_full(self, X) -> Prediction:
        """Mixture median, mixture standard deviation, regressor spread and in-domain flags."""
        check_is_fitted(self, "regressor_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if hasattr(self.classifier_, "predict_full"):  # a network classifier also flags its domain
            proba, clf_in = self.classifier_.predict_full(X)
        else:
            proba, clf_in = self.classifier_.predict_proba(X), np.ones(len(X), dtype=bool)
        pi = proba[:, list(self.classifier_.classes_).index(1)]
        pos = self.regressor_.predict_full(X)
        return Prediction(mixture_median(pi, pos.mean, pos.std), mixture_std(pi, pos.mean, pos.std), pos.spread,
                          clf_in & pos.in_domain)

    def predict(self, X, return_std=False):
        """Median of the predictive mixture (minimises the expected absolute error), optionally its std."""
        pred = self.predict_full(X)
        return (pred.mean, pred.std) if return_std else pred.mean

    def predict_zero_proba(self, X) -> np.ndarray:
        """π(x) = P(y = 0 | x), shape (n_samples,)."""
        check_is_fitted(self, "classifier_")
        proba = self.classifier_.predict_proba(X)
        return proba[:, list(self.classifier_.classes_).index(1)]

    def to_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Both stages' arrays (prefixed ``clf.`` and ``reg.``) and headers (with their kinds)."""
        from nnsurrogate.tabular.registry import member_state

        check_is_fitted(self, "regressor_")
        clf_t, clf_h = member_state(self.classifier_, "clf.")
        reg_t, reg_h = member_state(self.regressor_, "reg.")
        header = {"params": {"random_state": self.random_state if isinstance(self.random_state, int) else None},
                  "n_features_in": int(self.n_features_in_), "classifier": clf_h, "regressor": reg_h}
        return {**clf_t, **reg_t}, header

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], header: dict) -> "TwoStageRegressor":
        """Rebuild from :meth:`to_state` output; inconsistencies raise ``ModelFileError``."""
        from nnsurrogate.tabular.registry import member_from_state

        try:
            clf = member_from_state(tensors, {"kind": "tabular.SurrogateClassifier", **header["classifier"]}, "clf.")
            reg = member_from_state(tensors, {"kind": "tabular.SurrogateRegressor", **header["regressor"]}, "reg.")
            est = cls(clone(clf), clone(reg), header["params"].get("random_state"))
            est.n_features_in_ = int(header["n_features_in"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFileError(f"model file is inconsistent: {str(exc).splitlines()[0]}") from None
        if clf.n_features_in_ != est.n_features_in_ or reg.n_features_in_ != est.n_features_in_:
            raise ModelFileError("model file is inconsistent: the two stages read different inputs")
        est.classifier_, est.regressor_, est.n_epochs_ = clf, reg, reg.n_epochs_
        return est


def mixture_median(pi: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Median of π·δ(0) + (1 − π)·N(μ, σ²) restricted to y ≥ 0, shape of *pi*.

    0 where π ≥ ½; otherwise the q = (½ − π)/(1 − π) quantile μ + σ Φ⁻¹(q), clipped at 0.
    """
    pi, mu, sigma = (np.asarray(a, dtype=np.float64) for a in (pi, mu, sigma))
    q = np.clip((0.5 - pi) / np.maximum(1.0 - pi, 1e-12), 1e-6, 0.5)
    return np.where(pi >= 0.5, 0.0, np.maximum(mu + sigma * stats.norm.ppf(q), 0.0))


def mixture_std(pi: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Standard deviation of π·δ(0) + (1 − π)·N(μ, σ²): √((1 − π)(σ² + μ²) − ((1 − π)μ)²)."""
    pi, mu, sigma = (np.asarray(a, dtype=np.float64) for a in (pi, mu, sigma))
    w = 1.0 - pi
    return np.sqrt(np.maximum(w * (sigma**2 + mu**2) - (w * mu) ** 2, 0.0))
