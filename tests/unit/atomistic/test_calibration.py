"""Calibration of the committee spread: the maximum-likelihood fit recovers a known error model, the
coverage it reports is the fraction inside kσ, a calibrated committee reports σ_cal, and a
committee folder keeps its calibration."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.bp import build_bp_model
from nnsurrogate.atomistic.calibration import (GAUSSIAN_COVERAGE, ForceCalibration, calibrate, coverage,
                                               fit_calibration)
from nnsurrogate.atomistic.committee import (CommitteeCalculator, committee_calibration, load_committee_calculator,
                                             save_committee, set_calibration)
from nnsurrogate.core.errors import UserInputError



def _synthetic(scale: float, exponent: float, n: int = 40_000, seed: int = 0):
    """Raw σ log-uniform over two decades; errors normal with std scale·σ^exponent."""
    rng = np.random.default_rng(seed)
    sigma = np.exp(rng.uniform(np.log(0.005), np.log(0.5), n))
    return rng.normal(0.0, scale * sigma**exponent), sigma


def test_fit_recovers_a_scale_factor_and_gaussian_coverage():
    errors, sigma = _synthetic(3.0, 1.0)
    fit = fit_calibration(errors, sigma)
    assert fit.scale == pytest.approx(3.0, rel=0.05) and fit.exponent == pytest.approx(1.0, abs=0.03)
    assert fit.n_components == errors.size
    assert fit.coverage_1 == pytest.approx(GAUSSIAN_COVERAGE[1], abs=0.01)
    assert fit.coverage_2 == pytest.approx(GAUSSIAN_COVERAGE[2], abs=0.01)
    scale_only = fit_calibration(errors, sigma, power=False)
    assert scale_only.exponent == 1.0
    assert scale_only.scale == pytest.approx(math.sqrt(np.mean(errors**2 / sigma**2)), rel=1e-12)


def test_fit_recovers_a_power_law_that_a_scale_factor_misses():
    errors, sigma = _synthetic(0.2, 0.5, seed=1)
    fit = fit_calibration(errors, sigma)
    assert fit.exponent == pytest.approx(0.5, abs=0.03)
    assert fit.apply(np.array([0.04]))[0] == pytest.approx(0.2 * 0.04**0.5, rel=0.05)
    assert fit.coverage_1 == pytest.approx(GAUSSIAN_COVERAGE[1], abs=0.01)
    # per decade of σ the power law covers 68 %; a single factor under-covers the small σ (whose errors
    # are relatively larger) and over-covers the large
    small = sigma < 0.05
    for part in (small, ~small):
        assert coverage(errors[part], fit.apply(sigma[part]), 1) == pytest.approx(GAUSSIAN_COVERAGE[1], abs=0.02)
    plain = fit_calibration(errors, sigma, power=False)
    assert coverage(errors[small], plain.apply(sigma[small]), 1) < 0.62
    assert coverage(errors[~small], plain.apply(sigma[~small]), 1) > 0.9


def test_coverage_counts_components_inside_k_sigma():
    errors = np.array([0.05, -0.15, 0.25, -0.5])
    sigma = np.full(4, 0.1)
    assert coverage(errors, sigma, 1) == 0.25 and coverage(errors, sigma, 2) == 0.5
    assert coverage(errors, sigma, 3) == 0.75


def test_no_spread_is_an_error_and_the_json_round_trips():
    with pytest.raises(UserInputError, match="disagree"):
        fit_calibration(np.ones(6), np.zeros(6))
    fit = ForceCalibration(2.5, 0.8, 30)  # coverage NaN: written as null, read back as NaN
    again = ForceCalibration.from_json(json.loads(json.dumps({k: None if isinstance(v, float) and math.isnan(v)
                                                              else v for k, v in fit.to_json().items()})), "x")
    assert again.scale == 2.5 and again.exponent == 0.8 and math.isnan(again.coverage_1)
    for bad in ({"scale": -1, "exponent": 1}, {"scale": "a", "exponent": 1}, {"exponent": 1}):
        with pytest.raises(UserInputError):
            ForceCalibration.from_json(bad, "committee.json")


def _members(emt_copper):
    frames = emt_copper(2, 0.1, 0)
    members = [build_bp_model(frames, ("Cu",), {"cutoff": (4.5, 3.5), "n_radial": 4, "hidden": (6,)}, (-0.5,),
                              seed=s) for s in (0, 1, 2)]
    for k, model in enumerate(members):
        with torch.no_grad():
            model.w1.normal_(0.0, 0.5, generator=torch.Generator().manual_seed(k))
    return members


def test_calibrated_committee_reports_calibrated_sigma_and_keeps_it_in_its_folder(tmp_path, emt_copper):
    members = _members(emt_copper)
    calc = CommitteeCalculator(members)
    frames = emt_copper(4, 0.15, 10)
    fit = calibrate(calc, frames)
    assert fit.scale > 0 and fit.n_components == 4 * 4 * 3
    atoms = frames[0].copy()
    atoms.calc = calc
    atoms.get_forces()
    raw = calc.results[keys.FORCES_STD].copy()
    assert keys.FORCES_STD_RAW not in calc.results
    calc.calibration = fit
    calc.reset()
    atoms.get_forces()
    np.testing.assert_allclose(calc.results[keys.FORCES_STD_RAW], raw, rtol=1e-12)
    np.testing.assert_allclose(calc.results[keys.FORCES_STD], fit.scale * raw**fit.exponent, rtol=1e-12)
    # calibrating a calibrated calculator fits the raw spread again, and leaves its calibration alone
    assert calibrate(calc, frames) == fit and calc.calibration is fit
    folder = save_committee(members, tmp_path / "committee")
    assert committee_calibration(folder) is None and load_committee_calculator(folder).calibration is None
    set_calibration(folder, fit)
    loaded = load_committee_calculator(folder)
    assert loaded.calibration.scale == pytest.approx(fit.scale) and loaded.calibration.exponent == fit.exponent
    set_calibration(folder, None)
    assert committee_calibration(folder) is None


def test_cli_calibrate_writes_the_fit_and_the_plot(tmp_path, emt_copper):
    from ase.io import write

    from nnsurrogate.cli.main import run

    folder = save_committee(_members(emt_copper), tmp_path / "committee")
    write(tmp_path / "valid.xyz", emt_copper(3, 0.15, 20), format="extxyz")
    write(tmp_path / "test.xyz", emt_copper(2, 0.15, 30), format="extxyz")
    assert run(["potential", "calibrate", str(folder), str(tmp_path / "valid.xyz"), "--test",
                str(tmp_path / "test.xyz")]) == 0
    report = json.loads((folder / "calibration.json").read_text())
    assert report["n_frames"] == 3 and report["test"]["n_components"] == 2 * 4 * 3
    assert 0 <= report["test"]["coverage_1sigma"] <= report["test"]["coverage_2sigma"] <= 1
    assert (folder / "calibration.png").stat().st_size > 0
    assert committee_calibration(folder).scale == pytest.approx(report["calibration"]["scale"])
