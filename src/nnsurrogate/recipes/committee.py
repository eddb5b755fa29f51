"""A committee of potentials trained on one labelled set and scored on it (and on a test set).

:func:`committee_run` reads the frames, trains *n* members (different seeds, or bootstrap
resamples) through :func:`nnsurrogate.atomistic.committee.fit_committee`, and writes

- ``OUT/committee/``: the members, loadable by every command that takes a model
  (:func:`nnsurrogate.atomistic.calculator.load_calculator`);
- ``OUT/metrics.json``: ``model``, ``members``, ``bootstrap``, per member the epochs it ran
  (``epochs_run``) and what ended its training (``stopped_by``), and, for ``train`` (and ``test``), the
  errors of the committee mean (``energy_mae_meV_atom``, ``force_mae_meV_A``, …), the mean spread
  ``mean_force_std_meV_A`` and the calibration ``calibration_rms_error_over_rms_std`` (RMS error
  over RMS σ; 1 for a calibrated spread); the test set (or the training set without one) also gets
  the per-element and per-config_type errors, and ``OUT/plots/`` their plots (:func:`scored`).

A time limit (``config.time_limit``) counts from the moment the frames are read; each member still to
train gets an equal part of the time left when it starts.
"""

from __future__ import annotations

from pathlib import Path

from nnsurrogate.core.engine.budget import time_limit_scope
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import write_json

__all__ = ["calibrate_run", "committee_run", "join_run", "score_active_learning", "scored"]


def committee_run(data: Path, out: Path, model: str, hyper: dict, n_members: int, config, test: Path | None = None,
                  bootstrap: bool = False, progress: Progress | None = None) -> dict:
    """Train and score a committee; returns the contents of ``OUT/metrics.json``.

    Parameters
    ----------
    data, test : Path
        Labelled frames (extended XYZ) to train on, and optionally to test on.
    out : Path
        Output folder (``committee/``, ``metrics.json``).
    model : {"nep", "bp", "mace"}
    hyper : dict
        Model hyperparameters (see :class:`~nnsurrogate.atomistic.workflow.TrainInputs`).
    n_members : int
        Members, at least 2 (one model has no spread).
    config : PotentialTrainConfig
        Training settings of every member; member k uses seed ``config.seed + k``; its ``time_limit``
        bounds the whole run (the members share it).
    bootstrap : bool
        Train each member on a bootstrap resample of the frames.
    progress : callable, optional
        The progress protocol, once per trained member.
    """
    from nnsurrogate.atomistic.active_learning import test_errors
    from nnsurrogate.atomistic.committee import CommitteeCalculator, fit_committee, save_committee
    from nnsurrogate.atomistic.data import read_frames
    from nnsurrogate.atomistic.workflow import TrainInputs, model_cutoff, shortest_training_distance
    from nnsurrogate.core.threads import torch_threads

    if n_members < 2:
        raise UserInputError(f"a committee needs at least 2 members, got {n_members}", "n_members")
    cutoff = model_cutoff(TrainInputs(train=data, hyper=hyper, model=model))
    with time_limit_scope(config.time_limit):  # reading the frames counts against the limit
        frames = read_frames(data, cutoff=cutoff)
        species = sorted({s for a in frames for s in a.get_chemical_symbols()})
        test_frames = read_frames(test, cutoff=cutoff, species=species) if test is not None else None
        with torch_threads(1):
            models, results = fit_committee(frames, model, hyper, n_members, config, bootstrap=bootstrap,
                                            progress=progress)
    shortest = shortest_training_distance(frames)
    for member in models:
        member.shortest_training_distance = shortest
    save_committee(models, out / "committee", {"n_train": len(frames), "bootstrap": bootstrap})
    calc = CommitteeCalculator(models)
    report = {"model": model, "members": n_members, "bootstrap": bootstrap,
              "epochs_run": [r.epochs_run for r in results], "stopped_by": [r.stopped_by for r in results],
              "time_limit": config.time_limit}
    if test_frames:
        report.update(train=test_errors(calc, frames), test=scored(calc, test_frames, out / "plots", "test set"))
    else:
        report["train"] = scored(calc, frames, out / "plots", "training set")
    write_json(out / "metrics.json", report)
    return report


def scored(calculator, frames: list, plots: Path, title: str) -> dict:
    """The errors and σ calibration of a committee *calculator* on labelled *frames*
    (:func:`~nnsurrogate.atomistic.active_learning.test_errors`), with their breakdown per element and
    per config_type (:mod:`~nnsurrogate.atomistic.error_breakdown`), and the plots of them in *plots*:
    ``parity_energy.png``, ``parity_force.png``, ``force_error_by_element.png``,
    ``error_by_config_type.png`` and ``calibration.png`` (binned σ against the observed force error)."""
    from nnsurrogate.atomistic.active_learning import test_errors
    from nnsurrogate.atomistic.calibration import calibration_plot, component_errors
    from nnsurrogate.atomistic.error_breakdown import as_predictions, write_breakdown
    from nnsurrogate.atomistic.evaluation import parity_plots

    kept: dict = {}
    report = test_errors(calculator, frames, kept)
    pred = as_predictions(kept["predictions"], frames)
    parity_plots(plots, pred, frames, title=f"committee mean, {title}")
    report.update(write_breakdown(plots, pred, frames, title=f"committee mean, {title}"))
    if kept["predictions"].forces_std is not None:
        calibration_plot(plots / "calibration.png", *component_errors(kept["predictions"]))
    return report


def score_active_learning(out: Path, summary: dict, test_frames: list | None = None) -> dict:
    """Score the last committee of an active-learning run in *out* (``OUT/committee``) with :func:`scored`:
    on *test_frames*, or on every labelled frame (``OUT/data.xyz``, the training frames) without them.

    The result goes into *summary* (the run's ``metrics.json``, rewritten) under ``final_committee``,
    with ``frames`` naming the set; returns *summary*.
    """
    from nnsurrogate.atomistic.committee import load_committee_calculator
    from nnsurrogate.atomistic.data import read_frames

    calculator = load_committee_calculator(out / "committee")
    if test_frames:
        frames, name = list(test_frames), "test set"
    else:
        frames, name = read_frames(out / "data.xyz", species=list(calculator.species),
                                   cutoff=max(m.cutoff for m in calculator.models)), "labelled (training) frames"
    summary = {**summary, "final_committee": {"frames": name, **scored(calculator, frames, out / "plots", name)}}
    write_json(out / "metrics.json", summary)
    return summary


def join_run(models: list[str], out: Path, test: Path | None = None) -> dict:
    """A committee from trained models, of one kind or mixed (NEP + MACE, fine-tuned SevenNets …);
    returns the contents of ``OUT/metrics.json`` (``members``, ``kinds`` and, with *test*, the errors
    and σ calibration of the committee on it).

    The members are copied into ``OUT/committee/`` (:func:`~nnsurrogate.atomistic.committee.save_committee`).
    Members of different kinds featurize each structure their own way; their element sets may differ
    (every structure must be made of elements every member knows).
    """
    from nnsurrogate.atomistic.active_learning import test_errors
    from nnsurrogate.atomistic.committee import CommitteeCalculator, save_committee
    from nnsurrogate.atomistic.data import read_frames
    from nnsurrogate.atomistic.models import load_potential

    if len(models) < 2:
        raise UserInputError(f"a committee needs at least 2 members, got {len(models)}", "MODELS")
    members = [load_potential(m) for m in models]
    common = set(members[0].species).intersection(*[m.species for m in members[1:]])
    test_frames = read_frames(test, cutoff=max(m.cutoff for m in members), species=sorted(common)) if test else None
    save_committee(members, out / "committee", {"joined_from": [str(m) for m in models],
                                                "member_kinds": [m.kind for m in members]})
    report = {"members": len(members), "kinds": [m.kind for m in members], "from": [str(m) for m in models]}
    if test_frames:
        report["test"] = test_errors(CommitteeCalculator(members), test_frames)
    write_json(out / "metrics.json", report)
    return report


def calibrate_run(committee: Path, data: Path, power: bool = True, test: Path | None = None) -> dict:
    """Calibrate a committee's force spread on labelled frames it did not train on
    (:mod:`nnsurrogate.atomistic.calibration`) and store the calibration in its ``committee.json``.

    Writes ``calibration.json`` (the fit, its coverage on *data* and, with *test*, on *test*) and
    ``calibration.png`` (the reliability and coverage plots, on *test* if given, else on *data*) beside
    ``committee.json``; returns what ``calibration.json`` holds. From then on every command that loads
    the committee reports calibrated ``forces_std`` (eV/Å of predicted error) and the MD guards and
    active learning compare that with their thresholds.
    """
    from nnsurrogate.atomistic import audit_checks as C
    from nnsurrogate.atomistic.calibration import calibrate, calibration_plot, component_errors, coverage_report
    from nnsurrogate.atomistic.committee import load_committee_calculator, set_calibration
    from nnsurrogate.atomistic.data import read_frames

    calculator = load_committee_calculator(committee)
    cutoff = max(m.cutoff for m in calculator.models)
    frames = read_frames(data, cutoff=cutoff, species=list(calculator.species))
    calibration = calibrate(calculator, frames, power)
    calculator.calibration = calibration
    calculator.reset()
    report = {"calibration": calibration.to_json(), "fitted_on": str(data), "n_frames": len(frames)}
    shown = frames
    if test is not None:
        shown = read_frames(test, cutoff=cutoff, species=list(calculator.species))
        errors, sigma = component_errors(C.predict(calculator, shown))
        report["test"] = {"frames": str(test), "n_frames": len(shown), **coverage_report(errors, sigma)}
    else:
        errors, sigma = component_errors(C.predict(calculator, shown))
    folder = set_calibration(committee, calibration)
    report["committee"] = str(folder)
    calibration_plot(folder / "calibration.png", errors, sigma)
    write_json(folder / "calibration.json", report)
    return report
