"""Physical and numerical facts about the silicon thin-film conductivity model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.tabular.thin_film import (
    COLUMNS,
    GLASSBRENNER_SLACK_1964,
    fuchs_sondheimer_factor,
    kappa_bulk,
    kappa_film,
    sample_thin_film,
    ziman_specularity,
)

TEMPERATURES_K = (100.0, 300.0, 800.0)


@pytest.mark.parametrize("temperature", [t for t in GLASSBRENNER_SLACK_1964 if t >= 100.0])
def test_bulk_matches_glassbrenner_slack_within_20_percent(temperature):
    measured = GLASSBRENNER_SLACK_1964[temperature]
    assert kappa_bulk(temperature) == pytest.approx(measured, rel=0.20)


def test_bulk_room_temperature_units_are_w_per_m_k():
    assert 140.0 < float(kappa_bulk(300.0)) < 170.0


def test_bulk_broadcasts_and_keeps_shape():
    temperatures = np.array([[100.0, 200.0, 300.0], [400.0, 500.0, 1000.0]])
    kappa = kappa_bulk(temperatures)
    assert kappa.shape == (2, 3)
    assert kappa[0, 2] == pytest.approx(float(kappa_bulk(300.0)), rel=1e-12)
    assert np.all(np.diff(kappa.ravel()) < 0)  # κ falls with T above the peak


def test_sample_boundary_only_lowers_bulk_slightly():
    temperatures = np.array([100.0, 300.0, 1000.0])
    ratio = kappa_bulk(temperatures) / kappa_bulk(temperatures, sample_length_m=None)
    assert np.all(ratio < 1.0)
    assert np.all(ratio > 0.95)


@pytest.mark.parametrize("temperature", TEMPERATURES_K)
def test_thick_film_tends_to_intrinsic_bulk(temperature):
    intrinsic = kappa_bulk(temperature, sample_length_m=None)
    thick = kappa_film(1.0e9, [0.5, 2.0], temperature)  # d = 1 m
    np.testing.assert_allclose(thick, intrinsic, rtol=0.01)
    # and the 7.16 mm-sample bulk value is within 4 % at 100 K, 1 % from 300 K up
    tolerance = 0.04 if temperature < 300.0 else 0.01
    np.testing.assert_allclose(thick, kappa_bulk(temperature), rtol=tolerance)


@pytest.mark.parametrize("temperature", TEMPERATURES_K)
def test_smooth_film_is_fully_specular_and_equals_intrinsic_bulk(temperature):
    intrinsic = kappa_bulk(temperature, sample_length_m=None)
    smooth = kappa_film([10.0, 100.0, 1.0e4], 0.0, temperature)
    np.testing.assert_allclose(smooth, intrinsic, rtol=1e-12)
    nearly_smooth = kappa_film(10.0, 1e-4, temperature)
    assert nearly_smooth == pytest.approx(intrinsic, rel=0.01)


def test_kappa_decreases_with_roughness_on_a_grid():
    thickness = np.geomspace(10.0, 1.0e4, 7)[:, None, None]
    roughness = np.linspace(0.0, 2.0, 9)[None, :, None]
    temperature = np.array(TEMPERATURES_K)[None, None, :]
    kappa = kappa_film(thickness, roughness, temperature)
    assert kappa.shape == (7, 9, 3)
    assert np.all(np.diff(kappa, axis=1) < 0)


def test_kappa_increases_with_thickness_on_a_grid():
    thickness = np.geomspace(10.0, 1.0e4, 13)[:, None, None]
    roughness = np.array([0.05, 0.5, 2.0])[None, :, None]
    temperature = np.array(TEMPERATURES_K)[None, None, :]
    kappa = kappa_film(thickness, roughness, temperature)
    assert np.all(np.diff(kappa, axis=0) > 0)
    assert np.all(kappa < kappa_bulk(temperature, sample_length_m=None))


def test_kappa_positive_and_finite_in_the_sampling_box():
    corners = np.meshgrid([10.0, 1.0e4], [0.0, 2.0], [100.0, 800.0], indexing="ij")
    kappa = kappa_film(*corners)
    assert np.all(np.isfinite(kappa))
    assert np.all(kappa > 0)


def test_20nm_film_at_300K_is_strongly_suppressed():
    # Liu & Asheghi, Appl. Phys. Lett. 84, 3819 (2004), measured about 22 W/(m·K)
    # for 20-nm single-crystal Si layers at room temperature.
    kappa = float(kappa_film(20.0, 0.5, 300.0))
    assert 10.0 < kappa < 60.0
    assert kappa < 0.3 * float(kappa_bulk(300.0))


def test_fs_factor_limits():
    p = np.array([0.0, 0.3, 0.9])
    large_delta = 1.0 - 3.0 * (1.0 - p) / (8.0 * 1.0e3)  # S → 1 - 3(1-p)/(8δ)
    np.testing.assert_allclose(fuchs_sondheimer_factor(1.0e3, p), large_delta, rtol=1e-6)
    np.testing.assert_array_equal(fuchs_sondheimer_factor([1e-6, 1.0, 1e6], 1.0), 1.0)
    assert fuchs_sondheimer_factor(np.inf, 0.0) == 1.0


@pytest.mark.parametrize("delta", [1e-4, 1e-3])
def test_fs_factor_thin_film_asymptote(delta):
    # Sondheimer (1952): S ≈ (3δ/4)(ln(1/δ) + 0.4228) for δ ≪ 1, diffuse walls
    expected = 0.75 * delta * (np.log(1.0 / delta) + 0.4228)
    assert fuchs_sondheimer_factor(delta, 0.0) == pytest.approx(expected, rel=2e-3)


def test_fs_factor_monotone_in_delta_and_specularity():
    delta = np.geomspace(1e-6, 1e4, 200)[:, None]
    p = np.linspace(0.0, 0.95, 20)[None, :]
    s = fuchs_sondheimer_factor(delta, p)
    assert np.all((s > 0.0) & (s < 1.0))
    assert np.all(np.diff(s, axis=0) > 0)
    assert np.all(np.diff(s, axis=1) > 0)


def test_ziman_specularity_limits():
    assert ziman_specularity(1e-9, 0.0) == 1.0
    assert ziman_specularity(1e-9, 1e-9) < 1e-60
    assert ziman_specularity(1e-6, 1e-10) == pytest.approx(1.0, abs=2e-6)


def test_sampler_columns_ranges_and_distribution():
    table = sample_thin_film(400, seed=1)
    assert isinstance(table, pd.DataFrame)
    assert tuple(table.columns) == COLUMNS
    assert len(table) == 400
    assert table["thickness_nm"].between(10.0, 1.0e4).all()
    assert table["roughness_nm"].between(0.0, 2.0).all()
    assert table["temperature_K"].between(100.0, 800.0).all()
    assert np.isfinite(table["kappa_W_mK"]).all() and (table["kappa_W_mK"] > 0).all()
    assert np.median(np.log10(table["thickness_nm"])) == pytest.approx(2.5, abs=0.05)
    assert table["temperature_K"].median() == pytest.approx(450.0, abs=10.0)
    expected = kappa_film(table["thickness_nm"], table["roughness_nm"], table["temperature_K"])
    np.testing.assert_allclose(table["kappa_W_mK"], expected, rtol=1e-12)


def test_sampler_reproducible_with_seed():
    first = sample_thin_film(50, seed=7)
    pd.testing.assert_frame_equal(first, sample_thin_film(50, seed=7))
    assert not np.allclose(first["thickness_nm"], sample_thin_film(50, seed=8)["thickness_nm"])


def test_sampler_custom_ranges():
    table = sample_thin_film(
        64, seed=0, thickness_range_nm=(50.0, 60.0), roughness_range_nm=(0.0, 0.0),
        temperature_range_K=(300.0, 300.0),
    )
    assert table["thickness_nm"].between(50.0, 60.0).all()
    np.testing.assert_array_equal(table["roughness_nm"], 0.0)
    intrinsic = kappa_bulk(300.0, sample_length_m=None)
    np.testing.assert_allclose(table["kappa_W_mK"], intrinsic, rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n=0),
        dict(n=-3),
        dict(n=2.5),
        dict(n=True),
        dict(n=5, thickness_range_nm=(100.0, 10.0)),
        dict(n=5, thickness_range_nm=(0.0, 10.0)),
        dict(n=5, thickness_range_nm=(-1.0, 10.0)),
        dict(n=5, roughness_range_nm=(2.0, 1.0)),
        dict(n=5, roughness_range_nm=(-0.1, 1.0)),
        dict(n=5, temperature_range_K=(800.0, 100.0)),
        dict(n=5, temperature_range_K=(0.0, 100.0)),
        dict(n=5, temperature_range_K=(100.0, np.nan)),
        dict(n=5, temperature_range_K=(100.0,)),
    ],
)
def test_sampler_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        sample_thin_film(**kwargs)


@pytest.mark.parametrize(
    "args",
    [
        (0.0, 1.0, 300.0),
        (-5.0, 1.0, 300.0),
        (10.0, -0.1, 300.0),
        (10.0, 1.0, 0.0),
        (10.0, np.nan, 300.0),
    ],
)
def test_kappa_film_rejects_unphysical_inputs(args):
    with pytest.raises(ValueError):
        kappa_film(*args)


def test_kappa_bulk_rejects_unphysical_inputs():
    with pytest.raises(ValueError):
        kappa_bulk([300.0, -1.0])
    with pytest.raises(ValueError):
        kappa_bulk(300.0, sample_length_m=0.0)
