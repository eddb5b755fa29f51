"""`ConformalRegressor`: intervals with their stated coverage around any regressor.

Wraps a regressor (by default :class:`SurrogateRegressor`) and calibrates conformal scores
(:mod:`nnsurrogate.core.conformal`) on rows the fitted model did not train on:

- ``method="split"``: a random ``calibration_fraction`` of the rows is held out; the model trains on
  the rest and the held-out rows give the scores (one fit; exact finite-sample coverage ≥ level);
- ``method="cv"``: K-fold cross-conformal — every row is scored by the fold model that did not see
  it, and the model kept for prediction is refitted on all rows (K + 1 fits; all rows give scores
  and the kept model sees all the data; coverage holds approximately, as for CV+ by Barber et al.,
  Ann. Statist. 2021).

Scores are normalised by the wrapped model's σ when it gives one (``predict_full`` or
``predict(X, return_std=True)``), so the intervals widen where the model is unsure; the Gaussian σ
itself is passed through unchanged.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import GroupKFold
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from nnsurrogate.core.conformal import ConformalScores
from nnsurrogate.core.engine.budget import overall_stop, time_share
from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.tabular._shared import delegated_domain, fit_with_checkpoint, seeded_clone
from nnsurrogate.tabular.regressor import Prediction, SurrogateRegressor, prediction_of

METHODS = ("split", "cv")


class ConformalRegressor(RegressorMixin, BaseEstimator):
    """Any regressor with conformal prediction intervals at any requested level.

    Parameters
    ----------
    estimator : regressor or None
        Unfitted template; ``None`` uses ``SurrogateRegressor(random_state=random_state)``.
    method : {"split", "cv"}, default="split"
    calibration_fraction : float, default=0.2
        Rows held out for the scores with ``method="split"``.
    cv : int, default=5
        Folds with ``method="cv"``.
    normalize : bool, default=True
        Divide the residuals by the model's σ (when it gives one) so that intervals follow it.
    random_state : int or None
        Seed of the calibration split (and of a template without its own seed).

    Attributes
    ----------
    estimator_ : the fitted regressor that predicts
    conformal_ : ConformalScores
    n_features_in_ : int
    n_epochs_ : int or None
        Epochs of the kept model, when it reports them.
    stopped_by_ : str or None
        What ended the training of the fits (the one they share, else the one that cut more, see
        :func:`~nnsurrogate.core.engine.budget.overall_stop`), when they report it. Under a time limit
        the cross-conformal fits share the time left equally.
    """

    def __init__(self, estimator=None, method="split", calibration_fraction=0.2, cv=5, normalize=True,
                 random_state=None):
        self.estimator = estimator
        self.method = method
        self.calibration_fraction = calibration_fraction
        self.cv = cv
        self.normalize = normalize
        self.random_state = random_state

    def _template(self):
        return seeded_clone(self.estimator, SurrogateRegressor, self.random_state)

    def _check_params(self, n: int) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown conformal method '{self.method}'; choose one of {', '.join(METHODS)}")
        if self.method == "split" and not 0.0 < float(self.calibration_fraction) < 1.0:
            raise ValueError(f"calibration_fraction must be in (0, 1), got {self.calibration_fraction}")
        if self.method == "cv" and not 2 <= int(self.cv) <= n:
            raise ValueError(f"cv must be between 2 and the number of rows ({n}), got {self.cv}")

    def fit(self, X, y, checkpoint=None, groups=None, **fit_params):
        """Fit the model and calibrate the conformal scores on rows it did not train on.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
        checkpoint : str or None
            Prefix for resumable training states (``.cal`` / ``.foldK`` appended to the calibration fits).
        groups : array-like, shape (n_samples,), optional
            Group labels (e.g. the compound of each row): calibration rows then come in whole groups,
            so that the scores measure errors on new groups, as a grouped test split does.
        **fit_params
            Passed to every fit of the wrapped model (e.g. the low-fidelity rows of a
            :class:`~nnsurrogate.tabular.fidelity.MultiFidelityRegressor`). X may hold NaN where the
            wrapped model accepts it.
        """
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=4, dtype=np.float64,
                             ensure_all_finite="allow-nan")
        self._check_params(len(y))
        rng = check_random_state(self.random_state)
        suffix = (lambda s: f"{checkpoint}.{s}") if checkpoint else (lambda s: None)  # noqa: E731
        groups = np.arange(len(y)) if groups is None else _group_codes(groups, len(y))
        stops: list[str | None] = []
        if self.method == "split":
            cal, train = _calibration_rows(groups, float(self.calibration_fraction), rng)
            self.estimator_ = fit_with_checkpoint(self._template(), X[train], y[train], suffix("cal"), **fit_params)
            residuals, sigma = _scores(self.estimator_, X[cal], y[cal])
        else:
            residuals, sigma = np.empty(len(y)), np.empty(len(y))
            if int(self.cv) > len(np.unique(groups)):
                raise ValueError(f"cv={self.cv} folds need at least as many groups, got {len(np.unique(groups))}")
            folds = GroupKFold(int(self.cv), shuffle=True, random_state=rng.randint(2**31 - 1))
            for k, (train, test) in enumerate(folds.split(X, y, groups)):
                with time_share(int(self.cv) + 1 - k):
                    fold = fit_with_checkpoint(self._template(), X[train], y[train], suffix(f"fold{k}"), **fit_params)
                residuals[test], sigma[test] = _scores(fold, X[test], y[test])
                stops.append(getattr(fold, "stopped_by_", None))
            self.estimator_ = fit_with_checkpoint(self._template(), X, y, checkpoint, **fit_params)
        normalized = bool(self.normalize) and bool(np.all(np.isfinite(sigma)))  # σ from every model that scored
        self.conformal_ = ConformalScores.fit(residuals, sigma if normalized else None)
        self.n_epochs_ = getattr(self.estimator_, "n_epochs_", None)
        self.stopped_by_ = overall_stop([*stops, getattr(self.estimator_, "stopped_by_", None)])
        return self

    # --------------------------------------------------------------- prediction
    def predict_full(self, X) -> Prediction:
        """The wrapped model's prediction (mean, Gaussian σ, spread, in-domain flags)."""
        check_is_fitted(self, "conformal_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        return prediction_of(self.estimator_, X)

    def predict(self, X, return_std=False):
        """Point prediction of the wrapped model, optionally with its σ."""
        pred = self.predict_full(X)
        return (pred.mean, pred.std) if return_std else pred.mean

    def predict_interval(self, X, level=0.9) -> np.ndarray:
        """Conformal interval at *level* (covers a new y with probability ≥ level), shape (n_samples, 2).

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        level : float
            Coverage in (0, 1); at most n_cal/(n_cal + 1) for n_cal calibration rows.
        """
        pred = self.predict_full(X)
        return np.column_stack(self.interval_from(pred, level))

    def interval_from(self, pred: Prediction, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds (each (n,)) at *level* around an already computed prediction."""
        check_is_fitted(self, "conformal_")
        return self.conformal_.interval(pred.mean, level, pred.std if self.conformal_.normalized else None)

    # ------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """The wrapped model's arrays (prefixed ``base.``), the scores, and a header."""
        from nnsurrogate.tabular.registry import member_state

        check_is_fitted(self, "conformal_")
        tensors, base = member_state(self.estimator_, "base.")
        tensors["conformal_scores"] = self.conformal_.scores
        params = {"method": self.method, "calibration_fraction": float(self.calibration_fraction), "cv": int(self.cv),
                  "normalize": bool(self.normalize),
                  "random_state": self.random_state if isinstance(self.random_state, int) else None}
        header = {"params": params, "normalized": self.conformal_.normalized, "n_features_in": int(self.n_features_in_),
                  "n_epochs": self.n_epochs_, "estimator": base}
        return tensors, header

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], header: dict) -> "ConformalRegressor":
        """Rebuild from :meth:`to_state` output; inconsistencies raise ``ModelFileError``."""
        from nnsurrogate.tabular.registry import member_from_state

        try:
            base = member_from_state(tensors, header["estimator"], "base.")
            est = cls(clone(base), **header["params"])
            scores = np.asarray(tensors["conformal_scores"], dtype=np.float64)
            est.conformal_ = ConformalScores(np.sort(scores), bool(header["normalized"]))
            est.n_features_in_ = int(header["n_features_in"])
            est.n_epochs_ = header.get("n_epochs")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFileError(f"model file is inconsistent: {str(exc).splitlines()[0]}") from None
        if scores.ndim != 1 or scores.size == 0 or not np.all(np.isfinite(scores)) or np.any(scores < 0):
            raise ModelFileError("model file is inconsistent: the conformal scores are not finite and ≥ 0")
        if base.n_features_in_ != est.n_features_in_:
            raise ModelFileError("model file is inconsistent: the wrapped model reads a different number of inputs")
        est.estimator_ = base
        return est

    domain_ = delegated_domain("estimator_")


def _group_codes(groups, n: int) -> np.ndarray:
    codes = np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
    if codes.size != n:
        raise ValueError(f"groups has {codes.size} labels for {n} rows")
    return codes


def _calibration_rows(groups: np.ndarray, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Whole groups, in random order, until about *fraction* of the rows are set aside; (cal, train) sorted."""
    labels, counts = np.unique(groups, return_counts=True)
    order = rng.permutation(len(labels))
    taken = np.cumsum(counts[order])
    n_groups = int(np.searchsorted(taken, fraction * len(groups))) + 1
    n_groups = min(max(n_groups, 1), len(labels) - 1)
    chosen = np.isin(groups, labels[order[:n_groups]])
    if chosen.sum() < 1 or (~chosen).sum() < 2:
        raise ValueError("too few rows (or groups) to set calibration rows aside")
    return np.flatnonzero(chosen), np.flatnonzero(~chosen)


def _scores(model, X, y) -> tuple[np.ndarray, np.ndarray]:
    """Residuals y − ŷ (n,) of *model* on rows it did not train on, and its σ there (NaN without σ)."""
    pred = prediction_of(model, X)
    return y - pred.mean, pred.std
