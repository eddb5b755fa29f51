"""Spectra → properties (a tabular input kind): 1D signals (XRD, XAS, Raman) on a common grid, augmented, into a 1D-CNN ensemble.

- :mod:`~nnsurrogate.tabular.spectra.preprocess`: peak lists rendered, measured profiles resampled onto one grid, normalised;
- :mod:`~nnsurrogate.tabular.spectra.augment`: the perturbations a spectroscopist expects (peak shift, broadening, noise);
- :mod:`~nnsurrogate.tabular.spectra.workflow`: long tables of spectra (id, x, intensity) → trained model → predictions;
- :class:`~nnsurrogate.tabular.spectra.regressor.SpectrumRegressor`: the deep-ensemble CNN with calibrated σ.
"""

from nnsurrogate.tabular.spectra.preprocess import SpectrumGrid
from nnsurrogate.tabular.spectra.regressor import SpectrumRegressor

__all__ = ["SpectrumGrid", "SpectrumRegressor"]
