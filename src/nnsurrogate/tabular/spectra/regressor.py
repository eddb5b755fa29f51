"""`SpectrumRegressor`: a deep ensemble of 1D CNNs on spectra, with the tabular estimator's uncertainty.

The same machinery as :class:`~nnsurrogate.tabular.regressor.SurrogateRegressor` — standardised
target, members on their own shuffles early-stopped on a validation split, σ² = a·s² + b calibrated
on the validation rows, save/load — with a convolutional network instead of an MLP:

1. each spectrum (a row of X on a common grid, see :mod:`~nnsurrogate.tabular.spectra.preprocess`) is
   normalised (``normalize``) and scaled by one number (the training spectra's standard deviation),
   so that peak shapes are kept;
2. during training, :class:`~nnsurrogate.tabular.spectra.augment.SpectrumAugment` shifts, broadens and
   perturbs every spectrum afresh each epoch;
3. :class:`~nnsurrogate.tabular.spectra.network.EnsembleCNN` maps it to the target.

The applicability domain is the ensemble-spread ceiling (a box over hundreds of grid points would
flag nearly every new spectrum).
"""

from __future__ import annotations

import numpy as np
import torch

from nnsurrogate.core.modelio import load_weights
from nnsurrogate.core.scaling import Standardizer
from nnsurrogate.core.uncertainty import DomainCheck
from nnsurrogate.tabular.spectra.augment import SpectrumAugment
from nnsurrogate.tabular.spectra.network import EnsembleCNN
from nnsurrogate.tabular.spectra.preprocess import normalize as normalize_rows
from nnsurrogate.tabular.regressor import SurrogateRegressor

_WIDE = 1e300  # an open input box that JSON can store


class SpectrumRegressor(SurrogateRegressor):
    """Deep-ensemble 1D-CNN regressor on spectra X (n_samples, n_points) with calibrated σ.

    Parameters
    ----------
    channels : tuple of int, default=(16, 32, 64)
        Filters of the convolution blocks (each followed by max-pooling by 2).
    kernel : int, default=9
        Convolution width, grid points.
    shift, broaden, noise : float, default=3.0, 1.5, 0.02
        Augmentation: largest peak shift and extra Gaussian broadening σ (grid points), relative noise.
    normalize : {"max", "area", "none"}, default="max"
        Per-spectrum normalisation before the network.
    hidden : tuple of int, default=(64,)
        Head widths after global mean and max pooling.
    activation, ensemble, max_epochs, batch_size, learning_rate, weight_decay, validation_fraction, patience, log_target, log_inputs, dropout, mc_samples, bootstrap, loss, n_threads, random_state, verbose : as in SurrogateRegressor
        Those of :class:`SurrogateRegressor`, with other defaults here: ``activation`` ``"silu"``,
        ``max_epochs`` 300, ``batch_size`` 32, ``learning_rate`` 1e-3, ``patience`` 40.
    """

    def __init__(self, channels=(16, 32, 64), kernel=9, shift=3.0, broaden=1.5, noise=0.02, normalize="max",
                 hidden=(64,), activation="silu", ensemble=5, max_epochs=300, batch_size=32, learning_rate=1e-3,
                 weight_decay=0.0, validation_fraction=0.1, patience=40, log_target=False, log_inputs=None,
                 dropout=0.0, mc_samples=20, bootstrap=False, loss="mse", n_threads=1, random_state=None,
                 verbose=0):
        super().__init__(hidden=hidden, activation=activation, ensemble=ensemble, max_epochs=max_epochs,
                         batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay,
                         validation_fraction=validation_fraction, patience=patience, log_target=log_target,
                         log_inputs=log_inputs, dropout=dropout, mc_samples=mc_samples, bootstrap=bootstrap,
                         loss=loss, n_threads=n_threads, random_state=random_state, verbose=verbose)
        self.channels = channels
        self.kernel = kernel
        self.shift = shift
        self.broaden = broaden
        self.noise = noise
        self.normalize = normalize

    def _check_params(self, y: np.ndarray) -> None:
        super()._check_params(y)
        if not self.channels or min(int(c) for c in self.channels) < 1:
            raise ValueError(f"channels must be positive integers, got {self.channels}")
        if int(self.kernel) < 1 or int(self.kernel) % 2 == 0:
            raise ValueError(f"kernel must be a positive odd number, got {self.kernel}")
        if min(float(self.shift), float(self.broaden), float(self.noise)) < 0:
            raise ValueError("shift, broaden and noise must be ≥ 0")
        normalize_rows(np.zeros((1, 1)), self.normalize)  # names the bad normalisation

    def _log_mask(self, X: np.ndarray) -> np.ndarray:
        return np.zeros(X.shape[1], dtype=bool)

    def _features(self, X: np.ndarray) -> np.ndarray:
        return normalize_rows(X, self.normalize)

    def _input_scaler(self, F: np.ndarray) -> Standardizer:
        scale = float(F.std()) or 1.0
        return Standardizer(np.zeros(F.shape[1]), np.full(F.shape[1], scale))

    def _network_of(self, n_in: int, generator: torch.Generator | None = None) -> EnsembleCNN:
        return EnsembleCNN(int(self.ensemble), n_in, tuple(int(c) for c in self.channels), int(self.kernel),
                           tuple(int(h) for h in self.hidden), self.activation,
                           SpectrumAugment(float(self.shift), float(self.broaden), float(self.noise)), generator)

    def _new_network(self, n_in: int, generator: torch.Generator) -> EnsembleCNN:
        return self._network_of(n_in, generator)

    def _saved_network(self, tensors: dict[str, np.ndarray]) -> EnsembleCNN:
        net = self._network_of(int(self.n_features_in_))
        load_weights(net, tensors, "", prefix="net.")
        return net

    def _domain(self, X_train: np.ndarray, train_spread: np.ndarray) -> DomainCheck:
        limit = DomainCheck.fit(X_train[:, :1], train_spread).spread_limit
        d = X_train.shape[1]
        return DomainCheck((-_WIDE,) * d, (_WIDE,) * d, limit)

    def to_state(self):
        tensors, header = super().to_state()
        header["params"]["channels"] = [int(c) for c in self.channels]
        return tensors, header
