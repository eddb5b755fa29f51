"""`SurrogateClassifier`: a deep ensemble of MLPs with calibrated class probabilities.

Pipeline inside ``fit`` (all fitted on training rows only):

1. standardisation of the inputs;
2. a deep ensemble (Lakshminarayanan et al., NeurIPS 2017) of ``ensemble`` MLPs with K outputs,
   trained with softmax cross-entropy −ln p_y and early-stopped on a stratified validation split;
3. the ensemble probability p̄ = (1/M) Σ_m softmax(z_m), then temperature scaling
   p ∝ p̄^(1/T) with T fitted by minimising the validation log loss (Guo et al., ICML 2017),
   which corrects over- or under-confidence without changing the ranking of the rows;
4. an applicability domain: the training input box and a ceiling on the members' disagreement.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import optimize
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.core.nn import EnsembleMLP
from nnsurrogate.core.progress import epoch_bar
from nnsurrogate.core.scaling import Standardizer
from nnsurrogate.core.splits import given_split
from nnsurrogate.core.threads import torch_threads
from nnsurrogate.core.training import per_member_cross_entropy
from nnsurrogate.core.uncertainty import DomainCheck
from nnsurrogate.tabular._shared import (check_ensemble_params, domain_header, ensemble_config, ensemble_embedding,
                                         estimator_from_header,
                                         fit_ensemble, header_params, model_file_errors, net_tensors, new_ensemble,
                                         saved_domain, saved_ensemble, saved_standardizer)

_CHUNK = 8192


def fit_temperature(log_p: np.ndarray, y: np.ndarray) -> float:
    """Temperature T > 0 minimising the log loss of softmax(log_p / T) on labelled rows.

    Parameters
    ----------
    log_p : numpy.ndarray, shape (n, K)
        Log of uncalibrated class probabilities.
    y : numpy.ndarray of int, shape (n,)
        True class indices.
    """
    if len(y) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        z = log_p / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))

    res = optimize.minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(res.x))


def _tempered(log_p: np.ndarray, temperature: float) -> np.ndarray:
    z = log_p / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


class SurrogateClassifier(ClassifierMixin, BaseEstimator):
    """Deep-ensemble MLP classifier with temperature-calibrated probabilities.

    Parameters
    ----------
    hidden : tuple of int, default=(64, 64)
    activation : {"tanh", "relu", "gelu", "silu"}, default="tanh"
    ensemble : int, default=5
    max_epochs : int, default=1500
    batch_size : int, default=64
    learning_rate : float, default=3e-3
    weight_decay : float, default=0.0
    validation_fraction : float, default=0.1
        Stratified rows held out for early stopping and the temperature (none below 10 rows or when
        a class has fewer than 2 rows: then the temperature is 1).
    patience : int, default=150
    dropout : float, default=0.0
    calibrate : bool, default=True
        Fit the temperature on the validation rows; ``False`` keeps T = 1.
    n_threads : int or None, default=1
    random_state : int, RandomState or None
    verbose : int, default=0

    Attributes
    ----------
    classes_ : numpy.ndarray, shape (K,)
    model_ : EnsembleMLP
    temperature_ : float
    domain_ : DomainCheck
    n_epochs_ : int
    stopped_by_ : str
        What ended the training: ``"early stopping"``, ``"epochs"`` or ``"time limit"`` (not saved).
    n_features_in_ : int
    """

    def __init__(self, hidden=(64, 64), activation="tanh", ensemble=5, max_epochs=1500, batch_size=64,
                 learning_rate=3e-3, weight_decay=0.0, validation_fraction=0.1, patience=150, dropout=0.0,
                 calibrate=True, n_threads=1, random_state=None, verbose=0):
        self.hidden = hidden
        self.activation = activation
        self.ensemble = ensemble
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.dropout = dropout
        self.calibrate = calibrate
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y, checkpoint=None, validation=None):
        """Train the ensemble, fit the temperature and record the domain.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
            Class labels (any hashable values; at least two classes).
        checkpoint : str or None
            File for resumable training state.
        validation : array-like of int, optional
            Rows to hold out for early stopping and calibration instead of a random
            ``validation_fraction`` (e.g. so that other models can be scored on the same rows).
        """
        X, y = validate_data(self, X, y, ensure_min_samples=2, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"a classifier needs at least 2 classes, the target has one class ({self.classes_[0]!r})")
        check_ensemble_params(self)
        rng = check_random_state(self.random_state)
        generator = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))
        train, val = self._validation_split(y_idx, rng) if validation is None else given_split(len(y_idx), validation)
        self.x_scaler_ = Standardizer.fit(X[train])
        with torch.random.fork_rng(devices=[]), torch_threads(self.n_threads):
            torch.manual_seed(int(rng.randint(2**31 - 1)))
            self.model_ = self._train(X, y_idx, train, val, generator, checkpoint)
        self.temperature_ = 1.0
        member_p = self._member_proba(X)
        if self.calibrate and len(val):
            self.temperature_ = fit_temperature(np.log(np.clip(member_p[:, val].mean(axis=0), 1e-300, None)), y_idx[val])
        self.domain_ = DomainCheck.fit(X[train], member_p[:, train].std(axis=0).max(axis=1))
        return self

    def _validation_split(self, y_idx: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(len(y_idx))
        n_val = int(round(float(self.validation_fraction) * len(rows)))
        counts = np.bincount(y_idx)
        if len(rows) < 10 or n_val < len(counts) or counts.min() < 2:
            return rows, rows[:0]
        train, val = train_test_split(rows, test_size=n_val, stratify=y_idx, random_state=rng.randint(2**31 - 1))
        return np.sort(train), np.sort(val)

    def _train(self, X, y_idx, train, val, generator, checkpoint) -> EnsembleMLP:
        net = new_ensemble(self, X.shape[1], len(self.classes_), generator)
        Xs = torch.as_tensor(self.x_scaler_.transform(X), dtype=torch.float32)
        Y = torch.as_tensor(y_idx[:, None], dtype=torch.float32)
        config = ensemble_config(self, checkpoint)
        with epoch_bar("training classifier ensemble", enabled=bool(self.verbose)) as progress:
            result = fit_ensemble(net, Xs, Y, train, val, config, generator, progress, per_member_cross_entropy)
        self.n_epochs_ = int(result.epochs_run)
        self.stopped_by_ = result.stopped_by
        return net.eval()

    def embed(self, X) -> np.ndarray:
        """Learned representation of each row, shape (n, ensemble · hidden[-1]): every member's last hidden layer."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with torch_threads(self.n_threads):
            return ensemble_embedding(self.model_, self.x_scaler_.transform(X))

    @torch.no_grad()
    def _member_proba(self, X: np.ndarray) -> np.ndarray:
        """Softmax probabilities of every member, shape (M, n, K)."""
        Xs = torch.as_tensor(self.x_scaler_.transform(X), dtype=torch.float32)
        self.model_.eval()
        with torch_threads(self.n_threads):
            chunks = [torch.softmax(self.model_(Xs[s : s + _CHUNK]).double(), dim=-1) for s in range(0, len(Xs), _CHUNK)]
        return torch.cat(chunks, dim=1).numpy() if chunks else np.zeros((int(self.ensemble), 0, len(self.classes_)))

    def predict_proba(self, X):
        """Calibrated class probabilities, shape (n_samples, K), columns in the order of ``classes_``."""
        return self.predict_full(X)[0]

    def predict_full(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities (n, K) and in-domain flags (n,) in one pass."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        member_p = self._member_proba(X)
        mean = member_p.mean(axis=0)
        proba = _tempered(np.log(np.clip(mean, 1e-300, None)), self.temperature_)
        return proba, self.domain_.in_domain(X, member_p.std(axis=0).max(axis=1))

    def predict(self, X):
        """Most probable class of each row, shape (n_samples,)."""
        check_is_fitted(self, "model_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # ------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Weights as named arrays and everything else (classes, temperature, domain) as JSON-ready metadata."""
        check_is_fitted(self, "model_")
        tensors = net_tensors(self.model_)
        tensors.update(x_mean=self.x_scaler_.mean, x_scale=self.x_scaler_.scale)
        header = {
            "params": header_params(self),
            "classes": [c.item() if hasattr(c, "item") else c for c in self.classes_],
            "n_features_in": int(self.n_features_in_),
            "n_epochs": self.n_epochs_,
            "temperature": self.temperature_,
            "domain": domain_header(self.domain_),
        }
        return tensors, header

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], header: dict) -> "SurrogateClassifier":
        """Rebuild a fitted classifier from :meth:`to_state` output; inconsistencies raise ``ModelFileError``."""
        with model_file_errors():
            est = estimator_from_header(cls, header)
            est.classes_ = np.asarray(header["classes"])
            est.n_features_in_ = int(header["n_features_in"])
            est.n_epochs_ = int(header["n_epochs"])
            est.temperature_ = float(header["temperature"])
            est.x_scaler_ = saved_standardizer(tensors, "x")
            est.domain_ = saved_domain(header["domain"])
            net = saved_ensemble(est, tensors, len(est.classes_))
        if len(est.x_scaler_.mean) != est.n_features_in_ or len(est.domain_.low) != est.n_features_in_:
            raise ModelFileError("model file is inconsistent: input count does not match the scalers")
        est.model_ = net.float().eval()
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
