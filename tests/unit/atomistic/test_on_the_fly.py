"""MD that labels on the fly (tiny EMT copper): uncertain frames are labelled with the reference and
added to the training frames, the committee is retrained and the run completes; an interrupted run
resumes; the command line runs it and refuses what cannot run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.io import read, write

from nnsurrogate.atomistic import on_the_fly as otf
from nnsurrogate.atomistic.bp import build_bp_model
from nnsurrogate.atomistic.committee import load_committee, save_committee, train_committee
from nnsurrogate.atomistic.md import MDOptions
from nnsurrogate.atomistic.on_the_fly import OnTheFlyConfig, run_on_the_fly
from nnsurrogate.atomistic.training import PotentialTrainConfig
from nnsurrogate.core.errors import UserInputError

HYPER = {"cutoff": (4.5, 3.5), "n_radial": 4, "hidden": (8,)}



@pytest.fixture(scope="module")
def committee(emt_copper):
    """Two BP members trained on five gently rattled frames: sure near them, unsure when the MD is hot."""
    frames = emt_copper(5, 0.03, 0)
    config = PotentialTrainConfig(epochs=300, batch_size=5, dtype="float64", lambda_v=0.0, seed=1)
    members, _ = train_committee(frames, lambda seed: build_bp_model(frames, ("Cu",), HYPER, None, seed), 2, config)
    return members, frames


def _options(steps: int = 40) -> MDOptions:
    return MDOptions(ensemble="nvt", temperature=600.0, timestep=2.0, steps=steps, friction=0.05, log_every=5,
                     traj_every=5, seed=3)


def _config(**change) -> OnTheFlyConfig:
    return OnTheFlyConfig(**{"calculator": "emt", "threshold": 0.05, "max_labels": 12, "retrain_steps": 200,
                             "learning_rate": 4e-3, **change})


def _copy(members):
    import copy

    return [copy.deepcopy(m) for m in members]


def test_uncertain_frames_are_labelled_added_and_the_run_completes(committee, tmp_path):
    members, frames = committee
    out = tmp_path / "otf"
    summary = run_on_the_fly(frames[0], _copy(members), frames, _options(), _config(), out)
    assert summary["status"] == "finished" and summary["steps_done"] == 40
    assert 1 <= summary["n_labels"] <= 12
    labelled = read(out / "labelled.xyz", ":")
    assert len(labelled) == summary["n_labels"]
    for frame in labelled:  # real EMT labels of the uncertain configurations
        again = frame.copy()
        again.calc = EMT()
        np.testing.assert_allclose(frame.get_forces(), again.get_forces(), atol=1e-6)
        assert frame.info["config_type"] == "on_the_fly"
    assert len(read(out / "data.xyz", ":")) == len(frames) + summary["n_labels"]
    assert len(load_committee(out / "committee")) == 2
    thermo = np.genfromtxt(out / "thermo.csv", delimiter=",", names=True)
    assert thermo["step"][-1] == 40 and np.all(np.diff(thermo["step"]) > 0)  # one time line across segments
    assert len(read(out / "trajectory.xyz", ":")) == 40 // 5 + 1  # steps 0, 5, …, 40 across the segments
    spread = np.genfromtxt(out / "uncertainty.csv", delimiter=",", names=True)
    assert spread["step"][-1] == 40 and np.all(np.diff(spread["step"]) > 0)
    # every labelled step was above the threshold for the committee of that moment
    state = json.loads((out / "state.json").read_text())
    assert all(r["max_force_std_eV_A"] > 0.05 and 0 <= r["step"] <= 40 for r in state["labels"])
    assert (out / "plots" / "uncertainty.png").is_file() and (out / "final.xyz").is_file()
    assert json.loads((out / "md.json").read_text())["n_labels"] == summary["n_labels"]


def test_without_labels_left_the_run_stops_on_the_uncertainty(committee, tmp_path):
    members, frames = committee
    summary = run_on_the_fly(frames[0], _copy(members), frames, _options(), _config(max_labels=1), tmp_path / "o")
    assert summary["status"] == "stopped" and summary["stop_kind"] == "spread" and summary["n_labels"] == 1
    assert "label budget (1) is spent" in summary["stopped"] and summary["steps_done"] < 40
    assert (tmp_path / "o" / "last_good.xyz").is_file()


def test_an_interrupted_run_resumes_where_it_stood(committee, tmp_path, monkeypatch):
    members, frames = committee
    out = tmp_path / "otf"
    real, calls = otf._label, []

    def interrupted_on_the_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(otf, "_label", interrupted_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        run_on_the_fly(frames[0], _copy(members), frames, _options(), _config(), out)
    state = json.loads((out / "state.json").read_text())
    assert state["status"] == "running" and len(state["labels"]) == 1
    with pytest.raises(UserInputError, match="add --resume"):
        run_on_the_fly(frames[0], _copy(members), frames, _options(), _config(), out)
    with pytest.raises(UserInputError, match="other settings"):
        run_on_the_fly(frames[0], _copy(members), frames, _options(60), _config(), out, resume=True)
    monkeypatch.setattr(otf, "_label", real)
    summary = run_on_the_fly(frames[0], _copy(members), frames, _options(), _config(), out, resume=True)
    assert summary["status"] == "finished" and summary["steps_done"] == 40 and summary["n_labels"] >= 2
    assert summary["labelled_steps"][0] == state["labels"][0]["step"]
    assert len(read(out / "data.xyz", ":")) == len(frames) + summary["n_labels"]


def test_cli_on_the_fly_and_uncertainty_stop(committee, tmp_path, capsys):
    from nnsurrogate.cli.main import run

    members, frames = committee
    folder = save_committee(members, tmp_path / "run" / "committee")
    write(tmp_path / "run" / "data.xyz", frames, format="extxyz")
    write(tmp_path / "start.xyz", frames[0], format="extxyz")
    md = ["potential", "md", str(folder), str(tmp_path / "start.xyz"), "--ensemble", "nvt", "--temperature", "600",
          "--timestep", "2", "--steps", "40", "--friction", "0.05", "--quiet"]
    # guard only: the run stops with the last trusted frame and the configuration to label
    assert run([*md, "--out", str(tmp_path / "stop"), "--uncertainty-stop", "0.05"]) == 1
    assert "committee force spread" in capsys.readouterr().err
    stopped = json.loads((tmp_path / "stop" / "md.json").read_text())
    assert stopped["stop_kind"] == "spread" and stopped["max_force_std_eV_A"] > 0.05
    assert (tmp_path / "stop" / "uncertain.xyz").is_file() and (tmp_path / "stop" / "uncertainty.csv").is_file()
    # on the fly: labels, retrains, finishes (the training frames found beside the committee)
    out = tmp_path / "fly"
    assert run([*md, "--out", str(out), "--uncertainty-stop", "0.05", "--label-on-the-fly", "emt", "--max-labels",
                "40", "--retrain-steps", "200", "--retrain-lr", "4e-3"]) == 0
    summary = json.loads((out / "md.json").read_text())
    assert summary["status"] == "finished" and summary["n_labels"] >= 1
    capsys.readouterr()
    assert run([*md, "--out", str(tmp_path / "x"), "--label-on-the-fly", "emt"]) == 2
    assert "needs --uncertainty-stop" in capsys.readouterr().err
    assert run([*md, "--out", str(tmp_path / "x"), "--uncertainty-stop", "0.05", "--label-on-the-fly", "nwchem"]) == 2
    assert "unknown calculator 'nwchem'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # nothing written


def test_recalibration_refits_the_scale_on_each_label_scored_before_retraining(committee, tmp_path):
    """Starting from the raw spread (scale 1, exponent 0.8) each label refits the scale on the errors the
    flagging committee made there: a two-member committee's raw spread is over-confident, so the scale
    grows; the exponent stays, and the saved errors are those of the pre-retraining committee."""
    from nnsurrogate.atomistic.calibration import ForceCalibration, fit_calibration
    from nnsurrogate.atomistic.committee import CommitteeCalculator, committee_calibration

    members, frames = committee
    too_sure = ForceCalibration(scale=1.0, exponent=0.8)
    with pytest.raises(UserInputError, match="calibrate the committee first"):
        run_on_the_fly(frames[0], _copy(members), frames, _options(), _config(recalibrate=True), tmp_path / "no")
    assert not (tmp_path / "no").exists()
    out = tmp_path / "recal"
    start = _copy(members)
    summary = run_on_the_fly(frames[0], _copy(members), frames, _options(), _config(recalibrate=True, max_labels=3),
                             out, calibration=too_sure)
    state = json.loads((out / "state.json").read_text())
    assert summary["n_labels"] >= 1 and all("calibration_scale" in r for r in state["labels"])
    saved = np.load(out / "calibration_errors.npz")
    n = len(frames[0]) * 3
    assert saved["errors"].shape == saved["sigma"].shape == (n * summary["n_labels"],)
    final = committee_calibration(out / "committee")
    assert final.exponent == pytest.approx(0.8) and final.scale > too_sure.scale
    refit = fit_calibration(saved["errors"], saved["sigma"], exponent=0.8)
    assert final.scale == pytest.approx(refit.scale) == pytest.approx(state["labels"][-1]["calibration_scale"])
    first = read(out / "labelled.xyz", 0)  # the first label's errors are the untouched committee's
    raw = CommitteeCalculator(start)
    probe = first.copy()
    probe.calc = raw
    np.testing.assert_allclose(saved["errors"][:n], (probe.get_forces() - first.get_forces()).ravel(), atol=1e-6)
