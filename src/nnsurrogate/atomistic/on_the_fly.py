"""MD that labels on the fly: a committee runs the dynamics and, when its force spread leaves the
trusted range, the reference calculator labels that configuration, the committee is retrained on
it (warm start) and the run goes on — the loop of FLARE (Vandermause et al., npj Comput. Mater. 6,
20 (2020)) and of on-the-fly committee NNPs (Schran et al., J. Chem. Phys. 153, 104105 (2020)),
with any trainable kind of committee member (NEP, BP, MACE, fine-tuned SevenNet / CHGNet).

One run is a sequence of *segments*: :func:`~nnsurrogate.atomistic.md.run_md` with the spread guard
at ``threshold`` (eV/Å; a calibrated committee compares its calibrated σ). A segment that ends on the
spread guard has its flagged configuration labelled and added to the training frames; the members
are trained ``retrain_steps`` optimizer steps more; the next segment continues from the last trusted
frame with its velocities. With ``recalibrate`` (a calibrated committee) every labelled frame is also
scored first, by the committee that flagged it, and the scale a of σ_cal = a σ^b is refitted on all
the frames labelled so far (b kept): a committee trained on other conditions is usually over-confident
where it is sent, and each new label says by how much (a prequential calibration; the flagged frames
are chosen by σ, which leaves the error's distribution at a given σ unbiased). Any other stop (force,
energy, distance, temperature guards) ends the run, and so does reaching ``max_labels`` (the run then stops as ``--uncertainty-stop`` would).

The output folder holds ``trajectory.xyz``, ``thermo.csv``, ``uncertainty.csv`` (the largest
per-atom spread at every step), ``labelled.xyz`` (the new reference frames), ``data.xyz`` (all
training frames), ``committee/`` (the current committee), ``state.json`` and ``state.xyz`` (where the
run stands after the last finished segment: an interrupted run resumes from there), ``md.json`` and
``plots/`` (``thermo.png``, ``uncertainty.png``).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from ase import Atoms

from nnsurrogate.atomistic.md import MDOptions, MDResult, THERMO_COLUMNS, run_md
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import atomic_path, write_json

STATE_FILE = "state.json"


@dataclass(frozen=True)
class OnTheFlyConfig:
    """Settings of the labelling loop (units: eV/Å).

    Attributes
    ----------
    calculator : str
        Reference labeler (``emt``, ``lj``, ``xtb``, ``pyscf``, ``chgnet``, ``sevennet-0``).
    threshold : float
        Largest per-atom force spread trusted, eV/Å (calibrated σ for a calibrated committee).
    max_labels : int
        Reference calculations at most; past them the run stops at the next uncertain step.
    retrain_steps : int
        Optimizer steps of each member after a new label (warm start).
    learning_rate : float
        Adam step of the retraining (smaller than a fresh training's: fine-tuning).
    batch_size : int
    labeler_settings : dict
        Extra :class:`~nnsurrogate.atomistic.labelers.LabelerSpec` settings.
    recalibrate : bool
        Refit the calibration's scale on the labelled frames as they come (module docstring).
    """

    calculator: str
    threshold: float
    max_labels: int = 50
    retrain_steps: int = 200
    learning_rate: float = 1e-3
    batch_size: int = 4
    labeler_settings: dict | None = None
    recalibrate: bool = False

    def validate(self) -> None:
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise UserInputError(f"the uncertainty threshold must be a positive number of eV/Å, got {self.threshold}",
                                 "--uncertainty-stop")
        for name in ("max_labels", "retrain_steps", "batch_size"):
            if getattr(self, name) < 1:
                raise UserInputError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}",
                                     f"--{name.replace('_', '-')}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise UserInputError(f"the retraining learning rate must be positive, got {self.learning_rate}",
                                 "--retrain-lr")


class _Run:
    """The folder of an on-the-fly run: its state, training frames and committee."""

    def __init__(self, out: Path, settings: dict, resume: bool) -> None:
        self.out, self.path = out, out / STATE_FILE
        if self.path.is_file():
            if not resume:
                raise UserInputError("the folder holds an on-the-fly run; add --resume to continue it, or choose "
                                     "another output folder", str(out))
            try:
                self.state = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise UserInputError(f"unreadable {STATE_FILE}; delete the folder to start over", str(out)) from None
            if self.state.get("settings") != json.loads(json.dumps(settings)):
                raise UserInputError("the run in this folder used other settings; resume with the same ones or "
                                     "choose another output folder", str(self.path))
        else:
            out.mkdir(parents=True, exist_ok=True)
            for stale in ("trajectory.xyz", "thermo.csv", "labelled.xyz", "final.xyz", "last_good.xyz"):
                (out / stale).unlink(missing_ok=True)
            self.state = {"format": 1, "settings": settings, "steps_done": 0, "segments": [], "labels": [],
                          "status": "running"}

    @property
    def fresh(self) -> bool:
        return not self.state["segments"]

    def save(self) -> None:
        write_json(self.path, self.state)


def run_on_the_fly(atoms: Atoms, members: list, train_frames: list[Atoms], options: MDOptions,
                   config: OnTheFlyConfig, out: str | Path, resume: bool = False, calibration=None,
                   progress: Progress | None = None) -> dict:
    """Run MD with the committee *members*, labelling and retraining where it is unsure (module docstring).

    Parameters
    ----------
    atoms : ase.Atoms
        Start structure (a fresh run; a resumed one continues from ``state.xyz``).
    members : list of potential models
        The committee (≥ 2 trainable models); retrained in place.
    train_frames : list of ase.Atoms
        The labelled frames the committee was trained on; new labels are added to them.
    options : MDOptions
        The dynamics; ``max_force_std`` is replaced by ``config.threshold``.
    config : OnTheFlyConfig
    out : path
        Output folder (module docstring).
    resume : bool
        Continue the run in *out*.
    calibration : ForceCalibration, optional
        Calibration of the spread, kept through the retraining.
    progress : callable, optional
        The progress protocol ``progress(steps_done, steps, metrics)`` after each segment;
        *metrics*: ``n_labels`` and ``max_force_std_eV_A`` (largest spread of the segment).

    Returns
    -------
    dict
        What ``md.json`` holds: steps, labels, why the run ended (``stopped``, ``None`` when finished).
    """
    from ase.io import read

    from nnsurrogate.atomistic.committee import CommitteeCalculator, load_committee, save_committee
    from nnsurrogate.atomistic.data import read_frames
    from nnsurrogate.atomistic.labelers import labeler

    config.validate()
    options.validate(atoms)
    if len(members) < 2:
        raise UserInputError("on-the-fly labelling needs a committee (its spread is the uncertainty)", "MODEL")
    if config.recalibrate and calibration is None:
        raise UserInputError("--recalibrate refits a calibration: calibrate the committee first "
                             "(potential calibrate)", "--recalibrate")
    spec = labeler(config.calculator, **(config.labeler_settings or {}))
    spec.check_structure(atoms, "start structure")
    out = Path(out)
    settings = {"on_the_fly": asdict(config), "md": dict(options.__dict__)}
    run = _Run(out, settings, resume)
    if run.fresh:
        data, current = list(train_frames), atoms.copy()
        _write_frames(out / "data.xyz", data)
    else:
        members = load_committee(out / "committee")
        data = read_frames(out / "data.xyz", species=list(members[0].species), cutoff=max(m.cutoff for m in members))
        current = read(out / "state.xyz")
        if config.recalibrate:  # the refitted calibration the run stood at
            from nnsurrogate.atomistic.committee import committee_calibration

            calibration = committee_calibration(out / "committee") or calibration
    reference = spec()
    options = replace(options, max_force_std=config.threshold, traj_every=0, keep_every=options.traj_every,
                      log_every=options.log_every)
    started = time.perf_counter()
    while run.state["steps_done"] < options.steps and run.state["status"] == "running":
        calculator = CommitteeCalculator(members)
        calculator.calibration = calibration
        k = len(run.state["segments"])
        segment = replace(options, steps=options.steps - run.state["steps_done"], first_step=run.state["steps_done"],
                          keep_velocities=not run.fresh or current.has("momenta") and options.keep_velocities,
                          seed=None if options.seed is None else options.seed + 7919 * k)
        result = run_md(current, calculator, segment)
        offset = run.state["steps_done"]
        _append(out, result, offset, segment)
        run.state["steps_done"] = offset + result.steps_done
        record = {"segment": k, "from_step": offset, "steps": result.steps_done, "stopped": result.stopped,
                  "max_force_std_eV_A": float(result.uncertainty[:, 1].max()) if len(result.uncertainty) else None}
        current = result.last_good
        if result.stop_kind == "spread" and len(run.state["labels"]) < config.max_labels:
            step, sigma = int(result.uncertainty[-1, 0]), float(result.uncertainty[-1, 1])
            labelled = _label(result.flagged, reference, step)
            if config.recalibrate:
                calibration = _recalibrate(out, calculator, labelled, calibration)
            data.append(labelled)
            members = _retrain(members, data, config, len(run.state["labels"]))
            run.state["labels"].append({"step": step, "max_force_std_eV_A": sigma,
                                        **({"calibration_scale": calibration.scale} if config.recalibrate else {})})
            _append_frames(out / "labelled.xyz", [labelled])
            _write_frames(out / "data.xyz", data)
        elif result.stopped and result.stop_kind != "interrupted":  # Ctrl-C: saved below, resumable
            run.state["status"] = "stopped"
            run.state["stopped"] = result.stopped if result.stop_kind != "spread" else (
                f"{result.stopped}; the label budget ({config.max_labels}) is spent")
            run.state["stop_kind"] = result.stop_kind
        run.state["segments"].append(record)
        save_committee(members, out / "committee", {"n_train": len(data), "on_the_fly_labels": len(run.state["labels"])})
        if calibration is not None:
            from nnsurrogate.atomistic.committee import set_calibration

            set_calibration(out / "committee", calibration)
        _write_frames(out / "state.xyz", [current])
        run.save()
        if progress is not None:
            progress(run.state["steps_done"], options.steps, {"n_labels": len(run.state["labels"]),
                                                               "max_force_std_eV_A": record["max_force_std_eV_A"]})
        if result.stop_kind == "interrupted":
            raise KeyboardInterrupt  # the state is saved: --resume continues from the last trusted frame
    if run.state["status"] == "running" and run.state["steps_done"] >= options.steps:
        run.state["status"] = "finished"
    run.state["wall_s"] = run.state.get("wall_s", 0.0) + time.perf_counter() - started
    run.save()
    return _finish(out, run.state, current, options)


def _label(flagged: Atoms, reference, step: int) -> Atoms:
    from nnsurrogate.atomistic import keys
    from nnsurrogate.atomistic.labelers import LabelingError, label_atoms

    try:
        frame = label_atoms(flagged, reference)
    except LabelingError as exc:
        raise UserInputError(f"the reference calculation of the uncertain frame at step {step} failed: {exc}",
                             "--label-on-the-fly") from exc
    except Exception as exc:  # noqa: BLE001 - the reference code's own failure, named
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserInputError(f"the reference calculator failed on the uncertain frame at step {step}: {text}",
                             "--label-on-the-fly") from exc
    frame.info[keys.CONFIG_TYPE] = "on_the_fly"
    frame.info["otf_step"] = int(step)
    return frame


def _recalibrate(out: Path, calculator, labelled: Atoms, calibration):
    """Add *labelled*'s (error, raw σ) under the committee that flagged it to ``calibration_errors.npz``
    and refit the scale of *calibration* on all of them (its exponent kept)."""
    from nnsurrogate.atomistic.calibration import fit_calibration, raw_errors

    errors, sigma = raw_errors(calculator, [labelled])
    path = out / "calibration_errors.npz"
    if path.is_file():
        with np.load(path) as saved:
            errors, sigma = np.concatenate([saved["errors"], errors]), np.concatenate([saved["sigma"], sigma])
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, errors=errors, sigma=sigma)
    return fit_calibration(errors, sigma, exponent=calibration.exponent)


def _retrain(members: list, data: list[Atoms], config: OnTheFlyConfig, k: int) -> list:
    """Warm-start every member on *data* for ``config.retrain_steps`` optimizer steps."""
    from nnsurrogate.atomistic.committee import train_committee
    from nnsurrogate.atomistic.training import PotentialTrainConfig

    epochs = max(1, math.ceil(config.retrain_steps / math.ceil(len(data) / config.batch_size)))
    train = PotentialTrainConfig(epochs=epochs, batch_size=min(config.batch_size, len(data)),
                                 learning_rate=config.learning_rate, seed=1000 + 17 * k)
    trained, _ = train_committee(data, _no_fresh_members, len(members), train, start=members)
    return trained


def _no_fresh_members(seed: int):  # every member is warm-started
    raise AssertionError("on-the-fly retraining continues the existing members")


def _append(out: Path, result: MDResult, offset: int, options: MDOptions) -> None:
    """Add a segment's thermo rows, kept frames and per-step spread to the run's files: one time line,
    the segment's first state (the previous one's last) and its rejected last step left out."""
    from ase.io import write

    from nnsurrogate.atomistic.md import UNCERTAINTY_COLUMNS, _csv_number

    last = offset + result.steps_done
    keep = (lambda step: offset < step <= last) if offset else (lambda step: step <= last)
    thermo = out / "thermo.csv"
    new = not thermo.is_file()
    with open(thermo, "a", encoding="utf-8") as handle:
        if new:
            handle.write(",".join(THERMO_COLUMNS) + "\n")
        for row in result.thermo:
            if keep(row[0]):
                handle.write(",".join(_csv_number(v) for v in row) + "\n")
    path = out / "uncertainty.csv"
    new = not path.is_file()
    with open(path, "a", encoding="utf-8") as handle:
        if new:
            handle.write(",".join(UNCERTAINTY_COLUMNS) + "\n")
        for step, sigma, atom in result.uncertainty:
            if keep(step):
                handle.write(f"{int(step)},{_csv_number(step * options.timestep)},{sigma:.6g},{int(atom)}\n")
    every = options.keep_every or 1
    first = -(-offset // every) * every  # the kept frames sit at the multiples of keep_every from here on
    frames = [f for i, f in enumerate(result.frames) if keep(first + i * every)]
    if frames:
        with open(out / "trajectory.xyz", "a", encoding="utf-8") as handle:
            write(handle, frames, format="extxyz")


def _append_frames(path: Path, frames: list[Atoms]) -> None:
    from ase.io import write

    with open(path, "a", encoding="utf-8") as handle:
        write(handle, frames, format="extxyz")


def _write_frames(path: Path, frames: list[Atoms]) -> None:
    from ase.io import write

    with atomic_path(path) as tmp:
        write(tmp, frames, format="extxyz")


def _finish(out: Path, state: dict, current: Atoms, options: MDOptions) -> dict:
    """``final.xyz`` or ``last_good.xyz``, ``md.json`` and the plots."""
    from nnsurrogate.atomistic.md import plot_thermo, plot_uncertainty

    name = "final.xyz" if state["status"] == "finished" else "last_good.xyz"
    _write_frames(out / name, [current])
    summary = {"status": state["status"], "steps_requested": options.steps, "steps_done": state["steps_done"],
               "n_labels": len(state["labels"]), "labelled_steps": [r["step"] for r in state["labels"]],
               "stopped": state.get("stopped"), "stop_kind": state.get("stop_kind"),
               "threshold_eV_A": state["settings"]["on_the_fly"]["threshold"], "n_segments": len(state["segments"]),
               "wall_s": state.get("wall_s"), "n_atoms": len(current)}
    thermo = np.genfromtxt(out / "thermo.csv", delimiter=",", skip_header=1, ndmin=2)
    if thermo.size and len(thermo) > 1:
        plot_thermo(out / "plots" / "thermo.png", thermo)
        summary["mean_temperature_K"] = float(thermo[:, 5].mean())
    spread = np.genfromtxt(out / "uncertainty.csv", delimiter=",", skip_header=1, ndmin=2)
    if spread.size and len(spread) > 1:
        plot_uncertainty(out / "plots" / "uncertainty.png", spread[:, [0, 2, 3]], options.timestep,
                         summary["threshold_eV_A"], summary["labelled_steps"])
        summary["max_force_std_eV_A"] = float(spread[:, 2].max())
    write_json(out / "md.json", summary)
    return summary
