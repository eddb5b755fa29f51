"""Spectra: grid, rendering, augmentation, the CNN regressor and powder XRD against Bragg's law."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nnsurrogate.tabular.spectra.augment import SpectrumAugment, broaden_spectra, shift_spectra
from nnsurrogate.tabular.spectra.preprocess import SpectrumGrid, normalize, render_peaks, resample, spectra_on_grid
from nnsurrogate.tabular.spectra.regressor import SpectrumRegressor


def test_grid_parsing_and_refusals():
    grid = SpectrumGrid.parse("10:20:0.5")
    assert grid.n == 21 and grid.x[0] == 10.0 and grid.x[-1] == pytest.approx(20.0)
    for bad in ("10:20", "a:b:c", "20:10:1", "0:1:0"):
        with pytest.raises(ValueError):
            SpectrumGrid.parse(bad)


def test_rendered_peak_has_its_height_width_and_area():
    grid = SpectrumGrid(0.0, 20.0, 0.01)
    y = render_peaks([10.0], [2.0], grid, fwhm=0.5)
    assert y.max() == pytest.approx(2.0, rel=1e-3) and grid.x[np.argmax(y)] == pytest.approx(10.0)
    above = grid.x[y >= 1.0]
    assert above[-1] - above[0] == pytest.approx(0.5, abs=0.02)  # full width at half maximum
    sigma = 0.5 / (2 * math.sqrt(2 * math.log(2)))
    assert y.sum() * grid.step == pytest.approx(2.0 * sigma * math.sqrt(2 * math.pi), rel=1e-3)


def test_resample_normalize_and_auto_kind():
    grid = SpectrumGrid(0.0, 4.0, 1.0)
    np.testing.assert_allclose(resample([1.0, 3.0], [2.0, 4.0], grid), [0.0, 2.0, 3.0, 4.0, 0.0])
    np.testing.assert_allclose(normalize(np.array([[1.0, 3.0], [0.0, 0.0]]), "max"), [[1 / 3, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(normalize(np.array([[1.0, 3.0]]), "area"), [[0.25, 0.75]])
    fine = SpectrumGrid(0.0, 10.0, 0.01)
    out = spectra_on_grid({"a": (np.array([5.0]), np.array([1.0])), "b": (fine.x, np.sin(fine.x))}, fine, "auto", 0.2)
    assert out[0].max() == pytest.approx(1.0, rel=1e-3)  # one point: a peak, rendered
    np.testing.assert_allclose(out[1], np.sin(fine.x), atol=1e-12)  # a dense curve: resampled


def test_augmentation_shifts_and_broadens_but_not_in_evaluation_mode():
    s = torch.zeros(1, 50, dtype=torch.float64)
    s[0, 20] = 1.0
    np.testing.assert_allclose(shift_spectra(s, torch.tensor([3.0], dtype=torch.float64))[0, 23], 1.0)
    half = shift_spectra(s, torch.tensor([0.5], dtype=torch.float64))[0]
    assert half[20].item() == pytest.approx(0.5) and half[21].item() == pytest.approx(0.5)
    wide = broaden_spectra(s, torch.tensor([2.0], dtype=torch.float64))[0]
    assert wide.sum().item() == pytest.approx(1.0, abs=1e-9) and wide.max().item() < 0.25
    layer = SpectrumAugment(shift=3, broaden=2, noise=0.05)
    layer.eval()
    assert torch.equal(layer(s.float()), s.float())
    layer.train()
    assert not torch.equal(layer(s.float()), s.float())


def test_cnn_reads_peak_positions_and_saves():
    rng = np.random.default_rng(0)
    grid = SpectrumGrid(0.0, 50.0, 0.1)
    pos = rng.uniform(10.0, 40.0, 300)
    X = np.vstack([render_peaks([p, 0.5 * p + 5.0], [1.0, 0.3], grid, 0.5) for p in pos])
    model = SpectrumRegressor(ensemble=2, max_epochs=60, shift=0.0, random_state=0).fit(X[:240], pos[:240])
    pred, std = model.predict(X[240:], return_std=True)
    assert np.mean(np.abs(pred - pos[240:])) < 0.15 * np.std(pos)  # far better than guessing the mean
    assert np.all(std > 0)
    tensors, header = model.to_state()
    np.testing.assert_array_equal(SpectrumRegressor.from_state(tensors, header).predict(X[240:]), pred)
    assert model.embed(X[:4]).shape[0] == 4


def test_powder_pattern_of_rock_salt_follows_braggs_law():
    from nnsurrogate.crystal.structures import from_arrays
    from nnsurrogate.recipes.xrd import xrd_peaks

    a = 5.64
    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    nacl = from_arrays("nacl", [11] * 4 + [17] * 4, np.vstack([fcc, fcc + [0.5, 0, 0]]) % 1.0 * a, np.eye(3) * a)
    x, y = xrd_peaks(nacl, (20.0, 80.0))
    lam = 1.54184  # Cu Kα (weighted mean of Kα1 and Kα2), Å
    for hkl in ((1, 1, 1), (2, 0, 0), (2, 2, 0), (2, 2, 2)):
        d = a / math.sqrt(sum(h * h for h in hkl))
        assert np.min(np.abs(x - 2 * math.degrees(math.asin(lam / (2 * d))))) < 0.02, hkl
    assert x[np.argmax(y)] == pytest.approx(2 * math.degrees(math.asin(lam / a)), abs=0.02)  # (200) strongest
