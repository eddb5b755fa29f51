"""`MultiFidelityRegressor`: few expensive (high-fidelity) values helped by many cheap (low-fidelity) ones.

Materials data mix a few measured values (experiment) with many computed, biased ones (DFT). Three
ways to use both, all predicting at the high fidelity:

- ``method="stack"``: a low-fidelity model f_L is trained on the low-fidelity rows; the high-fidelity
  model sees the inputs plus two columns, the low-fidelity value v(x) and a flag *known* — v is the
  computed value where the compound has one, f_L(x) where it does not (Kennedy & O'Hagan's
  autoregressive scheme, learnt rather than linear; "LF as a feature" in Batra et al., ACS AMI 2020);
- ``method="delta"``: Δ-learning (Ramakrishnan et al., JCTC 2015) — the high-fidelity model fits the
  correction y − v(x) and the prediction is v(x) + δ(x);
- ``method="joint"``: one model on all rows with a fidelity input (0 low, 1 high), asked at 1
  (Meng & Karniadakis-style joint training with a fidelity indicator); it cannot use a known
  low-fidelity value of a new compound.

The inputs X hold, as their **last column**, the low-fidelity value of each row where one was computed
(NaN elsewhere); the low-fidelity training rows are given to :meth:`fit` without that column.
Uncertainty: stack and joint report the high-fidelity model's σ; delta reports the σ of δ (the
low-fidelity tree model has none, so where v is a model estimate the σ is a lower bound).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.tabular._shared import delegated_domain, fit_with_checkpoint, seeded_clone
from nnsurrogate.tabular.regressor import Prediction, SurrogateRegressor, prediction_of
from nnsurrogate.tabular.tree_models import BoostedRegressor

METHODS = ("stack", "delta", "joint")


class MultiFidelityRegressor(RegressorMixin, BaseEstimator):
    """High-fidelity regression with a low-fidelity data set (see the module docstring).

    Parameters
    ----------
    high : regressor or None
        Unfitted template of the high-fidelity model (for ``delta``, of the correction); ``None`` uses
        ``SurrogateRegressor()``. It receives d − 1 inputs plus 2 (stack), d − 1 (delta) or d (joint).
    low : regressor or None
        Unfitted template of the low-fidelity model f_L; ``None`` uses ``BoostedRegressor()``.
    method : {"stack", "delta", "joint"}, default="stack"
    random_state : int or None
        Seed given to templates without their own.

    Attributes
    ----------
    low_, high_ : the fitted models (``low_`` is None for ``joint``)
    n_features_in_ : int
        d: the inputs plus the trailing low-fidelity column.
    lower_bound_ : float or None
        0 when every training target is ≥ 0 (band gaps): corrections are clipped there.
    """

    def __init__(self, high=None, low=None, method="stack", random_state=None):
        self.high = high
        self.low = low
        self.method = method
        self.random_state = random_state

    def _template(self, given, default_cls):
        return seeded_clone(given, default_cls, self.random_state)

    def fit(self, X, y, X_low=None, y_low=None, checkpoint=None):
        """Fit the low-fidelity model on (X_low, y_low), then the high-fidelity model on (X, y).

        Parameters
        ----------
        X : array-like, shape (n, d)
            High-fidelity rows; column d − 1 is the computed low-fidelity value or NaN.
        y : array-like, shape (n,)
        X_low : array-like, shape (m, d − 1)
        y_low : array-like, shape (m,)
        checkpoint : str or None
            Prefix of the resumable training state of the high-fidelity model (``.high``).
        """
        if self.method not in METHODS:
            raise ValueError(f"unknown multi-fidelity method '{self.method}'; choose one of {', '.join(METHODS)}")
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=2, dtype=np.float64,
                             ensure_all_finite="allow-nan")
        if X.shape[1] < 2:
            raise ValueError("X needs the inputs plus a last column of low-fidelity values")
        _check_finite(X[:, :-1], "high-fidelity inputs")
        if X_low is None or y_low is None:
            raise ValueError("a multi-fidelity model needs low-fidelity rows (X_low, y_low)")
        X_low = check_array(X_low, dtype=np.float64)
        y_low = check_array(y_low, ensure_2d=False, dtype=np.float64)
        if X_low.shape[1] != X.shape[1] - 1 or len(y_low) != len(X_low):
            raise ValueError(f"low-fidelity rows need {X.shape[1] - 1} inputs and one target each, "
                             f"got {X_low.shape} and {y_low.shape}")
        self.lower_bound_ = 0.0 if np.all(y >= 0) else None
        high_ckpt = f"{checkpoint}.high" if checkpoint else None
        if self.method == "joint":
            self.low_ = None
            Xj = np.vstack([np.column_stack([X_low, np.zeros(len(X_low))]), np.column_stack([X[:, :-1], np.ones(len(X))])])
            self.high_ = fit_with_checkpoint(self._template(self.high, SurrogateRegressor), Xj, np.concatenate([y_low, y]), high_ckpt)
        else:
            self.low_ = self._template(self.low, BoostedRegressor).fit(X_low, y_low)
            value, known = self.low_fidelity_value(X)
            if self.method == "stack":
                self.high_ = fit_with_checkpoint(self._template(self.high, SurrogateRegressor), _stacked(X, value, known), y, high_ckpt)
            else:
                self.high_ = fit_with_checkpoint(self._template(self.high, SurrogateRegressor), X[:, :-1], y - value, high_ckpt)
        self.n_epochs_ = getattr(self.high_, "n_epochs_", None)
        self.stopped_by_ = getattr(self.high_, "stopped_by_", None)
        return self

    def low_fidelity_value(self, X) -> tuple[np.ndarray, np.ndarray]:
        """v(x) (n,): the computed value in the last column where present, else f_L(x); and the known flags (n,)."""
        check_is_fitted(self, "lower_bound_")
        X = np.asarray(X, dtype=np.float64)
        known = np.isfinite(X[:, -1])
        if self.low_ is None:
            return np.where(known, X[:, -1], np.nan), known
        value = X[:, -1].copy()
        if not known.all():
            value[~known] = self.low_.predict(X[~known, :-1])
        return value, known

    # --------------------------------------------------------------- prediction
    def predict_full(self, X) -> Prediction:
        """High-fidelity mean, σ, spread and in-domain flags (from the high-fidelity model)."""
        check_is_fitted(self, "high_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        _check_finite(X[:, :-1], "inputs")
        if self.method == "joint":
            return prediction_of(self.high_, np.column_stack([X[:, :-1], np.ones(len(X))]))
        value, known = self.low_fidelity_value(X)
        if self.method == "stack":
            return prediction_of(self.high_, _stacked(X, value, known))
        delta = prediction_of(self.high_, X[:, :-1])
        mean = value + delta.mean
        if self.lower_bound_ is not None:
            mean = np.maximum(mean, self.lower_bound_)
        return Prediction(mean, delta.std, delta.spread, delta.in_domain)

    def predict(self, X, return_std=False):
        """High-fidelity prediction (n,), optionally with its σ."""
        pred = self.predict_full(X)
        return (pred.mean, pred.std) if return_std else pred.mean

    domain_ = delegated_domain("high_")

    # ------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Both models' arrays (prefixed ``high.`` and ``low.``) and a header."""
        from nnsurrogate.tabular.registry import member_state

        check_is_fitted(self, "high_")
        tensors, high = member_state(self.high_, "high.")
        header = {"params": {"method": self.method,
                             "random_state": self.random_state if isinstance(self.random_state, int) else None},
                  "n_features_in": int(self.n_features_in_), "lower_bound": self.lower_bound_,
                  "n_epochs": self.n_epochs_, "high": high, "low": None}
        if self.low_ is not None:
            arrays, header["low"] = member_state(self.low_, "low.")
            tensors.update(arrays)
        return tensors, header

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], header: dict) -> "MultiFidelityRegressor":
        """Rebuild from :meth:`to_state` output; inconsistencies raise ``ModelFileError``."""
        from nnsurrogate.tabular.registry import member_from_state

        try:
            high = member_from_state(tensors, header["high"], "high.")
            low = member_from_state(tensors, header["low"], "low.") if header["low"] is not None else None
            est = cls(clone(high), clone(low) if low is not None else None, **header["params"])
            est.n_features_in_ = int(header["n_features_in"])
            bound = header["lower_bound"]
            est.lower_bound_ = None if bound is None else float(bound)
            est.n_epochs_ = header.get("n_epochs")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFileError(f"model file is inconsistent: {str(exc).splitlines()[0]}") from None
        widths = {"stack": est.n_features_in_ + 1, "delta": est.n_features_in_ - 1, "joint": est.n_features_in_}
        if est.method not in METHODS or high.n_features_in_ != widths[est.method] or (low is None) != (est.method == "joint"):
            raise ModelFileError("model file is inconsistent: the multi-fidelity models do not match its inputs")
        est.high_, est.low_ = high, low
        return est


def _stacked(X: np.ndarray, value: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Inputs of the stacked high-fidelity model: X without its last column, v, known (n, d + 1)."""
    return np.column_stack([X[:, :-1], value, known.astype(np.float64)])


def _check_finite(X: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(X)):
        raise ValueError(f"the {what} contain NaN or infinity (only the low-fidelity column may be NaN)")
