"""`SurrogateRegressor`: a deep ensemble of MLPs with calibrated uncertainty, as a scikit-learn estimator.

Pipeline inside ``fit`` (all fitted on training rows only):

1. optional log₁₀ of inputs that are positive and span more than two decades (``log_inputs="auto"``),
   optional natural log of the target (``log_target=True``);
2. standardisation of inputs and target;
3. a deep ensemble (Lakshminarayanan et al., NeurIPS 2017) of ``ensemble`` MLPs trained with MSE and
   Adam on their own shuffles, each early-stopped on a shared validation split;
4. calibration of the predictive variance σ² = a·s² + b on the validation rows
   (:mod:`nnsurrogate.core.uncertainty`), where s² is the ensemble (and MC-dropout) variance;
5. an applicability domain: the training input box and a ceiling on the ensemble spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.core.nn import EnsembleMLP
from nnsurrogate.core.progress import epoch_bar
from nnsurrogate.core.scaling import Standardizer
from nnsurrogate.core.splits import given_split
from nnsurrogate.core.threads import torch_threads
from nnsurrogate.core.training import per_member_l1, per_member_mse
from nnsurrogate.core.uncertainty import DomainCheck, VarianceCalibration, fit_variance_calibration
from nnsurrogate.tabular._shared import (check_ensemble_params, domain_header, ensemble_config, ensemble_embedding,
                                         estimator_from_header, fit_ensemble, header_params, model_file_errors,
                                         net_tensors, new_ensemble,
                                         saved_domain, saved_ensemble, saved_standardizer)

_CHUNK = 8192  # rows per forward pass when predicting (cache-sized blocks are fastest on CPU)
_LOSSES = {"mse": per_member_mse, "l1": per_member_l1}


@dataclass(frozen=True)
class Prediction:
    """Predictions for n rows, in target units.

    Attributes
    ----------
    mean : numpy.ndarray, shape (n,)
    std : numpy.ndarray, shape (n,)
        Calibrated predictive standard deviation.
    spread : numpy.ndarray, shape (n,)
        Uncalibrated ensemble standard deviation in standardised (latent) units.
    in_domain : numpy.ndarray of bool, shape (n,)
        False where an input leaves the training range or the spread exceeds the training ceiling.
    """

    mean: np.ndarray
    std: np.ndarray
    spread: np.ndarray
    in_domain: np.ndarray


def prediction_of(model, X) -> Prediction:
    """Any fitted regressor's prediction as a :class:`Prediction`.

    ``predict_full`` when the model has it; else ``predict(X, return_std=True)`` (spread = σ); else
    ``predict(X)`` with σ and spread NaN. Without ``predict_full`` every row counts as in domain.
    """
    if hasattr(model, "predict_full"):
        return model.predict_full(X)
    try:
        mean, std = model.predict(X, return_std=True)
    except TypeError:
        mean = np.asarray(model.predict(X), dtype=np.float64)
        std = np.full(len(mean), np.nan)
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    return Prediction(mean, std, std, np.ones(len(mean), dtype=bool))


class SurrogateRegressor(RegressorMixin, BaseEstimator):
    """Deep-ensemble MLP regressor with calibrated uncertainty and an applicability domain.

    Parameters
    ----------
    hidden : tuple of int, default=(64, 64)
        Hidden-layer widths.
    activation : {"tanh", "relu", "gelu", "silu"}, default="tanh"
    ensemble : int, default=5
        Number of independently initialised and shuffled members.
    max_epochs : int, default=1500
    batch_size : int, default=64
    learning_rate : float, default=3e-3
        Initial Adam step; halves when the validation loss stalls.
    weight_decay : float, default=0.0
    validation_fraction : float, default=0.1
        Rows held out of training for early stopping and uncertainty calibration
        (none when fewer than 10 rows: then the calibration uses training residuals).
    patience : int, default=150
        Early-stopping patience in epochs.
    log_target : bool, default=False
        Fit ln(y) (y must be positive); predictions are returned in y units with the
        delta-method standard deviation y·σ_ln y.
    log_inputs : "auto", None or sequence of bool, default="auto"
        Which inputs enter as log₁₀; "auto" picks positive inputs with max/min > 100.
    dropout : float, default=0.0
        Dropout probability; > 0 adds MC-dropout variance at prediction time.
    mc_samples : int, default=20
        Stochastic passes per member when ``dropout > 0``.
    bootstrap : bool, default=False
        Train each member on a bootstrap resample of the training rows.
    loss : {"mse", "l1"}, default="mse"
        Training and early-stopping loss on the standardised target: squared error (conditional
        mean) or absolute error (conditional median, the minimiser of the MAE).
    n_threads : int or None, default=1
        PyTorch threads during ``fit`` and ``predict`` (restored afterwards). Small networks run
        fastest on one thread; ``None`` keeps PyTorch's own setting.
    random_state : int, RandomState or None
    verbose : int, default=0
        1 shows a progress bar with live losses on stderr.

    Attributes
    ----------
    model_ : EnsembleMLP
        The trained members (float32; moments are accumulated in float64).
    calibration_ : VarianceCalibration
    domain_ : DomainCheck
    n_epochs_ : int
        Epochs run before every member had stopped improving.
    stopped_by_ : str
        What ended the training: ``"early stopping"``, ``"epochs"`` or ``"time limit"`` (a limit set by
        :func:`~nnsurrogate.core.engine.budget.time_limit_scope` around ``fit``). Not saved with the model.
    n_features_in_ : int
    """

    def __init__(self, hidden=(64, 64), activation="tanh", ensemble=5, max_epochs=1500, batch_size=64,
                 learning_rate=3e-3, weight_decay=0.0, validation_fraction=0.1, patience=150,
                 log_target=False, log_inputs="auto", dropout=0.0, mc_samples=20, bootstrap=False,
                 loss="mse", n_threads=1, random_state=None, verbose=0):
        self.hidden = hidden
        self.activation = activation
        self.ensemble = ensemble
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.log_target = log_target
        self.log_inputs = log_inputs
        self.dropout = dropout
        self.mc_samples = mc_samples
        self.bootstrap = bootstrap
        self.loss = loss
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, checkpoint=None, validation=None):
        """Train the ensemble, calibrate its variance and record the domain.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
        checkpoint : str or None
            File for resumable training state (see :class:`~nnsurrogate.core.training.TrainConfig`).
        validation : array-like of int, optional
            Rows to hold out for early stopping and calibration instead of a random
            ``validation_fraction`` (e.g. so that other models can be scored on the same rows).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=2, dtype=np.float64)
        self._check_params(y)
        rng = check_random_state(self.random_state)
        generator = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))
        train, val = self._validation_split(len(y), rng) if validation is None else given_split(len(y), validation)
        self.log_inputs_ = self._log_mask(X[train])
        self.x_scaler_ = self._input_scaler(self._features(X[train]))
        z = self._latent_target(y)
        self.y_scaler_ = Standardizer.fit(z[train, None])
        # dropout masks come from torch's global generator: seed it from random_state, restore it afterwards
        with torch.random.fork_rng(devices=[]), torch_threads(self.n_threads):
            torch.manual_seed(int(rng.randint(2**31 - 1)))
            self.model_ = self._train(X, z, train, val, generator, checkpoint)
            self._calibrate(X, z, train, val)
        return self

    def _check_params(self, y: np.ndarray) -> None:
        check_ensemble_params(self)
        if self.log_target and np.any(y <= 0):
            raise ValueError("log_target=True needs a strictly positive target")
        if self.loss not in _LOSSES:
            raise ValueError(f"unknown loss '{self.loss}'; choose one of {', '.join(_LOSSES)}")

    def _validation_split(self, n: int, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        n_val = int(round(float(self.validation_fraction) * n)) if n >= 10 else 0
        order = rng.permutation(n)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _log_mask(self, X: np.ndarray) -> np.ndarray:
        if self.log_inputs is None:
            return np.zeros(X.shape[1], dtype=bool)
        if isinstance(self.log_inputs, str):
            if self.log_inputs != "auto":
                raise ValueError(f"log_inputs must be 'auto', None or a sequence of bool, got '{self.log_inputs}'")
            positive = np.all(X > 0, axis=0)
            span = np.where(positive, X.max(axis=0) / np.where(positive, X.min(axis=0), 1.0), 1.0)
            return positive & (span > 100.0)
        mask = np.asarray(self.log_inputs, dtype=bool)
        if mask.shape != (X.shape[1],):
            raise ValueError(f"log_inputs needs {X.shape[1]} flags, got {mask.size}")
        if np.any(X[:, mask] <= 0):
            raise ValueError("log_inputs selects an input with non-positive values")
        return mask

    def _features(self, X: np.ndarray) -> np.ndarray:
        """Inputs after the log transform, shape (n, d); non-positive values are clipped for log."""
        out = np.array(X, dtype=np.float64, copy=True)
        mask = self.log_inputs_
        out[:, mask] = np.log10(np.maximum(out[:, mask], 1e-300))
        return out

    # hooks that a regressor of other inputs (e.g. spectra) overrides
    def _input_scaler(self, F: np.ndarray) -> Standardizer:
        """Scaler of the (transformed) training inputs F (n, d): per column by default."""
        return Standardizer.fit(F)

    def _new_network(self, n_in: int, generator: torch.Generator):
        """Untrained ensemble for *n_in* inputs, output (M, B, 1)."""
        return new_ensemble(self, n_in, 1, generator)

    def _saved_network(self, tensors: dict[str, np.ndarray]):
        """The ensemble holding the saved ``net.*`` weights."""
        return saved_ensemble(self, tensors, 1)

    def _domain(self, X_train: np.ndarray, train_spread: np.ndarray) -> DomainCheck:
        """Applicability domain from the training inputs and their ensemble spread."""
        return DomainCheck.fit(X_train, train_spread)

    def _latent_target(self, y: np.ndarray) -> np.ndarray:
        return np.log(y) if self.log_target else np.asarray(y, dtype=np.float64)

    def _train(self, X, z, train, val, generator, checkpoint) -> EnsembleMLP:
        net = self._new_network(X.shape[1], generator)
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
        Xs = as_t(self.x_scaler_.transform(self._features(X)))
        zs = as_t(self.y_scaler_.transform(z[:, None]))
        config = ensemble_config(self, checkpoint, bootstrap=bool(self.bootstrap))
        with epoch_bar("training ensemble", enabled=bool(self.verbose)) as progress:
            result = fit_ensemble(net, Xs, zs, train, val, config, generator, progress, _LOSSES[self.loss])
        self.n_epochs_ = int(result.epochs_run)
        self.best_epoch_ = result.best_epoch
        self.stopped_by_ = result.stopped_by
        return net.eval()

    def _calibrate(self, X, z, train, val) -> None:
        rows = val if len(val) > 0 else train
        mu, var = self._latent_moments(X[rows])
        resid = self.y_scaler_.transform(z[rows, None])[:, 0] - mu
        self.calibration_ = fit_variance_calibration(resid, var)
        _, var_train = self._latent_moments(X[train])
        self.domain_ = self._domain(X[train], np.sqrt(var_train))

    # --------------------------------------------------------------- prediction
    def predict(self, X, return_std=False):
        """Ensemble-mean prediction, optionally with the calibrated standard deviation.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        return_std : bool

        Returns
        -------
        y : numpy.ndarray, shape (n_samples,)
        std : numpy.ndarray, shape (n_samples,), only with ``return_std=True``
        """
        pred = self.predict_full(X)
        return (pred.mean, pred.std) if return_std else pred.mean

    def predict_full(self, X) -> Prediction:
        """Mean, calibrated std, raw spread and in-domain flags in one pass (see :class:`Prediction`)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        mu, var = self._latent_moments(X)
        total_var = self.calibration_.variance(var)
        z = self.y_scaler_.inverse_transform(mu[:, None])[:, 0]
        z_std = np.sqrt(total_var) * self.y_scaler_.scale[0]
        if self.log_target:
            mean = np.exp(z)
            std = mean * z_std
        else:
            mean, std = z, z_std
        spread = np.sqrt(var)
        return Prediction(mean, std, spread, self.domain_.in_domain(X, spread))

    def embed(self, X) -> np.ndarray:
        """Learned representation of each row, shape (n, ensemble · hidden[-1]): every member's last hidden layer."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with torch_threads(self.n_threads):
            return ensemble_embedding(self.model_, self.x_scaler_.transform(self._features(X)))

    @torch.no_grad()
    def _latent_moments(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance over members (and dropout passes) in standardised units, each (n,)."""
        Xs = torch.as_tensor(self.x_scaler_.transform(self._features(X)), dtype=torch.float32)
        passes = int(self.mc_samples) if float(self.dropout) > 0 else 1
        self.model_.train(passes > 1)
        means, variances = [], []
        with torch.random.fork_rng(devices=[]), torch_threads(self.n_threads):
            torch.manual_seed(0)  # fixed MC-dropout masks: the same X always gives the same prediction
            for start in range(0, Xs.shape[0], _CHUNK):
                chunk = Xs[start : start + _CHUNK]
                out = torch.cat([self.model_(chunk)[..., 0] for _ in range(passes)], dim=0).double()  # (passes·M, n)
                means.append(out.mean(dim=0))
                variances.append(out.var(dim=0, unbiased=False))
        self.model_.eval()
        return torch.cat(means).numpy(), torch.cat(variances).numpy()

    # ------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Weights as named arrays and everything else as JSON-ready metadata."""
        check_is_fitted(self, "model_")
        tensors = net_tensors(self.model_)
        tensors.update(x_mean=self.x_scaler_.mean, x_scale=self.x_scaler_.scale, y_mean=self.y_scaler_.mean,
                       y_scale=self.y_scaler_.scale, log_inputs=self.log_inputs_.astype(np.uint8))
        params = header_params(self)
        if not isinstance(self.log_inputs, (str, type(None))):
            params["log_inputs"] = [bool(v) for v in self.log_inputs]
        header = {
            "params": params,
            "n_features_in": int(self.n_features_in_),
            "n_epochs": self.n_epochs_,
            "calibration": {"scale": self.calibration_.scale, "noise": self.calibration_.noise},
            "domain": domain_header(self.domain_),
        }
        return tensors, header

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], header: dict) -> "SurrogateRegressor":
        """Rebuild a fitted regressor from :meth:`to_state` output; inconsistencies raise ``ModelFileError``."""
        with model_file_errors():
            est = estimator_from_header(cls, header)
            est.n_features_in_ = int(header["n_features_in"])
            est.n_epochs_ = int(header["n_epochs"])
            est.log_inputs_ = tensors["log_inputs"].astype(bool)
            est.x_scaler_ = saved_standardizer(tensors, "x")
            est.y_scaler_ = saved_standardizer(tensors, "y")
            est.calibration_ = VarianceCalibration(float(header["calibration"]["scale"]), float(header["calibration"]["noise"]))
            est.domain_ = saved_domain(header["domain"])
            net = est._saved_network(tensors)
        if est.log_inputs_.shape != (est.n_features_in_,) or len(est.domain_.low) != est.n_features_in_:
            raise ModelFileError("model file is inconsistent: input count does not match the scalers")
        est.model_ = net.float().eval()
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
