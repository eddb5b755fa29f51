"""Active learning of an interatomic potential with a committee (query by committee).

Each iteration k (Smith et al., J. Chem. Phys. 148, 241733 (2018); Zhang et al., Phys. Rev.
Mater. 3, 023804 (2019)):

1. train a committee of N models on the labelled frames so far (warm start from iteration k−1);
2. score it on a fixed test set (mean prediction; calibration of σ against the actual error);
3. explore: Langevin MD with the committee at each temperature; every ``sample_every`` steps a
   snapshot and its uncertainty u = max_i σ_{F,i} (:mod:`~nnsurrogate.atomistic._al_explore`);
4. with ``calibration_frames`` = m > 0: label m snapshots drawn at random (the same way for every
   strategy), which the committee has not seen, and fit the calibration σ_cal = a σ^b of its spread
   on them (:mod:`~nnsurrogate.atomistic.calibration`; with ``calibration_history`` = H > 1 on the
   fresh frames of the last H rounds, each scored by the committee of its round before it trained on
   them); from then on u is the calibrated spread, a predicted force error in eV/Å, and so is the
   threshold;
5. stop when every MD run finished and no snapshot has u above the threshold (converged: the
   calibrated uncertainty over this round's fresh exploration stayed below it), or when the
   iteration budget is spent. With ``stop_on_rule=False`` the rule is only recorded (the round's
   ``rule_fired``) and the loop goes on to the budget, selecting the frames of largest u: the way to
   measure a learning curve at a fixed labelling budget and where the rule would have stopped it;
6. select up to ``per_iteration`` frames (``uncertainty``: largest u above the threshold, spread in
   time, preferring those below ``max_uncertainty``; ``diverse``: the same, spread out in a structural
   fingerprint space; ``random``: the control), label them with the reference calculator
   (:func:`~nnsurrogate.atomistic.labeling.label_frames`, through Dask, failures retried once then
   reported), add them (and the calibration frames) and go on.

With ``continue_md`` the MD of round k goes on from where the same run of round k−1 ended (when that
run finished its steps; else from its start frame again), so the exploration reaches further from
the starting frames round by round, as one long trajectory does, instead of repeating the first
``md_steps`` after each start.

Everything lives in the output folder: ``state.json`` (settings and one record per finished
iteration: data size, labels, test errors, MD statistics, the selected frames), ``data.xyz`` (all
labelled frames), ``iter_NNN/`` (``committee/``, ``selected.xyz``, ``exploration.json``,
``labelled.xyz``, ``last.xyz``: where each MD run ended), ``committee/`` (the last committee), ``metrics.json`` and
``plots/learning_curve.png``. A run that is interrupted resumes (``resume=True``) from the last
finished step: a trained committee, a finished exploration and labelled frames are reused.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from ase import Atoms

from nnsurrogate.atomistic import _al_explore as X
from nnsurrogate.atomistic.committee import CommitteeCalculator, load_committee, save_committee, train_committee
from nnsurrogate.atomistic.models import TRAINABLE
from nnsurrogate.core.engine.budget import time_limit_scope
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import atomic_path, write_json

STATE_FILE = "state.json"
Say = Callable[[str], None]


@dataclass(frozen=True)
class ALConfig:
    """Settings of an active-learning run (units: K, fs, eV/Å).

    Attributes
    ----------
    calculator : str
        Reference labeler (``emt``, ``lj``, ``xtb``, ``pyscf``, ``chgnet``).
    labeler_settings : dict
        Extra :class:`~nnsurrogate.atomistic.labelers.LabelerSpec` settings (e.g. ``pyscf_xc``).
    model : {"nep", "bp", "mace"}
    hyper : dict
        Model hyperparameters (see :class:`~nnsurrogate.atomistic.workflow.TrainInputs`).
    reference : str
        Per-element reference energies: ``mean`` or ``fit``.
    committee : int
        Members N.
    bootstrap : bool
        Train each member on a bootstrap resample (else all frames, different seeds).
    temperatures : tuple of float
        One MD run per temperature and iteration, K.
    iterations : int
        Labeling rounds at most (the budget: ``iterations × per_iteration`` labels).
    per_iteration : int
        Frames labelled per round at most.
    strategy : {"uncertainty", "diverse", "random"}
    threshold : float
        u above which a snapshot is uncertain, eV/Å (the calibrated σ with ``calibration_frames``).
    calibration_frames : int
        Random snapshots labelled per round to calibrate that round's committee (0: the raw spread).
        They count as labels and join the training frames afterwards.
    max_uncertainty : float or None
        Upper end of the trust window, eV/Å: snapshots above it are labelled only when too few lie
        between the threshold and it (see :func:`~nnsurrogate.atomistic._al_explore.select`).
    md_steps, sample_every, min_separation : int
        MD steps per run; snapshot interval; smallest step distance between two picks of one run.
    timestep : float or None
        fs; ``None``: 1 fs, or 0.5 fs when a structure contains hydrogen.
    warm_start : bool
        Continue the members of the previous iteration instead of starting afresh.
    warm_epochs : int or None
        Epochs of a warm-started training (default: the training configuration's).
    train_steps, warm_steps : int or None
        Training budget in optimizer steps instead of epochs (fresh / warm-started members): the
        epochs are ⌈steps / batches per epoch⌉, so the small data sets of the first rounds are not
        under-trained. ``None`` uses the epochs.
    warm_learning_rate : float or None
        Adam step of a warm-started training (default: the training configuration's), smaller to
        fine-tune rather than shake the previous members.
    stop_on_rule : bool
        Stop when the rule of step 5 fires (else record it and go on to the budget).
    continue_md : bool
        Round k's MD runs continue round k−1's (module docstring).
    calibration_history : int
        Rounds whose fresh calibration frames the calibration is fitted on (1: this round's alone).
    min_distance : float or None
        Å: the exploration MD stops where two atoms come closer (the distance guard of
        ``potential md``); ``None``: 0.75 × the shortest distance in the labelled frames so far; 0: off.
        Without it a run can fuse atoms where the committee is wrong and, with ``continue_md``, go on
        from there round after round.
    max_label_force : float or None
        eV/Å: a labelled frame where the reference force on an atom exceeds this is not learnt
        from (nor calibrated on): MD with an imperfect model can bring atoms so close that the
        reference gives hundreds of eV/Å, and one such frame spoils every member's fit. It still
        counts as a label spent (``n_rejected``). Default: the exploration MD's own force guard.
        ``None``: keep every frame.
    seed : int
    workers : int
        Labeling threads of the local Dask cluster; ``scheduler``: address of an existing one.
    """

    calculator: str = "emt"
    labeler_settings: dict = field(default_factory=dict)
    model: str = "nep"
    hyper: dict = field(default_factory=dict)
    reference: str = "fit"
    committee: int = 4
    bootstrap: bool = False
    temperatures: tuple[float, ...] = (300.0, 600.0, 900.0)
    iterations: int = 10
    per_iteration: int = 20
    strategy: str = "uncertainty"
    threshold: float = 0.05
    calibration_frames: int = 0
    max_uncertainty: float | None = None
    md_steps: int = 500
    sample_every: int = 10
    min_separation: int = 50
    timestep: float | None = None
    warm_start: bool = True
    warm_epochs: int | None = None
    train_steps: int | None = None
    warm_steps: int | None = None
    warm_learning_rate: float | None = None
    stop_on_rule: bool = True
    continue_md: bool = False
    calibration_history: int = 1
    min_distance: float | None = None
    max_label_force: float | None = X.MAX_FORCE
    seed: int = 0
    workers: int = 1
    scheduler: str | None = None

    def validate(self) -> None:
        """Raise :class:`UserInputError` naming the setting that cannot run."""
        if self.strategy not in X.STRATEGIES:
            raise UserInputError(f"unknown strategy '{self.strategy}' (choose {', '.join(X.STRATEGIES)})", "strategy")
        if self.model not in TRAINABLE:
            raise UserInputError(f"unknown model '{self.model}' (choose {', '.join(TRAINABLE)})", "model")
        if self.committee < 2:
            raise UserInputError(f"a committee needs at least 2 members to have a spread, got {self.committee}",
                                 "committee")
        for name, least in (("iterations", 0), ("per_iteration", 1), ("md_steps", 1), ("sample_every", 1),
                            ("min_separation", 0), ("calibration_frames", 0),
                            ("calibration_history", 1)):
            if getattr(self, name) < least:
                raise UserInputError(f"{name} must be at least {least}, got {getattr(self, name)}", name)
        if self.sample_every > self.md_steps:
            raise UserInputError(f"sample_every ({self.sample_every}) must not exceed md_steps ({self.md_steps})",
                                 "sample_every")
        if not self.temperatures or any(not (math.isfinite(t) and t > 0) for t in self.temperatures):
            raise UserInputError("temperatures must be positive numbers of kelvin", "temperatures")
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise UserInputError(f"the threshold must be a positive number of eV/Å, got {self.threshold}", "threshold")
        if self.max_uncertainty is not None and not self.max_uncertainty > self.threshold:
            raise UserInputError(f"max_uncertainty must exceed the threshold ({self.threshold} eV/Å)",
                                 "max_uncertainty")
        for name in ("warm_epochs", "train_steps", "warm_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserInputError(f"{name} must be at least 1, got {value}", name)
        if self.min_distance is not None and not (math.isfinite(self.min_distance) and self.min_distance >= 0):
            raise UserInputError(f"min_distance must be ≥ 0 Å, got {self.min_distance}", "min_distance")
        for name in ("timestep", "warm_learning_rate", "max_label_force"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise UserInputError(f"{name} must be positive, got {value}", name)

    def to_json(self) -> dict:
        data = asdict(self)
        data["temperatures"] = list(self.temperatures)
        return data


def _labeler(config: ALConfig):
    from nnsurrogate.atomistic.labelers import labeler

    return labeler(config.calculator, **dict(config.labeler_settings))


def _builder(config: ALConfig, frames: Sequence[Atoms]):
    """``build(seed) -> model`` for fresh committee members (NEP or BP, hyperparameters from *config*)."""
    from nnsurrogate.atomistic.workflow import TrainInputs, build_model

    inputs = TrainInputs(train=Path("-"), hyper=dict(config.hyper), reference=config.reference, model=config.model)
    return lambda seed: build_model(inputs, list(frames), seed)[0]


def config_cutoff(config: ALConfig) -> float:
    from nnsurrogate.atomistic.workflow import TrainInputs, model_cutoff

    return model_cutoff(TrainInputs(train=Path("-"), hyper=dict(config.hyper), model=config.model))


# --------------------------------------------------------------------------------------------- state
class _State:
    """``state.json`` of a run: the settings and the finished iterations."""

    def __init__(self, out: Path, config: ALConfig, train_config, n_initial: int, resume: bool) -> None:
        self.path = out / STATE_FILE
        settings = {"active_learning": config.to_json(), "training": _train_json(train_config)}
        if self.path.is_file():
            if not resume:
                raise UserInputError("the folder holds an active-learning run; set resume to continue it, "
                                     "or choose another output folder", str(out))
            try:
                self.data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise UserInputError(f"unreadable {STATE_FILE}; delete the folder to start over", str(out)) from None
            if self.data.get("settings") != json.loads(json.dumps(settings)):
                raise UserInputError("the run in this folder used other settings; resume with the same settings "
                                     "or choose another output folder", str(self.path))
        else:
            self.data = {"format": 1, "settings": settings, "n_initial": n_initial, "status": "running",
                         "iterations": []}
            self.save()

    @property
    def iterations(self) -> list[dict]:
        return self.data["iterations"]

    def save(self) -> None:
        write_json(self.path, self.data)


def _train_json(train_config) -> dict:
    data = asdict(train_config)
    data.pop("checkpoint", None)
    data.pop("resume", None)
    data.pop("time_limit", None)  # a run may resume under another limit
    return data


# ---------------------------------------------------------------------------------------- one step
def _committee(it_dir: Path, data: list[Atoms], config: ALConfig, train_config, previous, say: Say):
    """Train (or, after an interruption, reload) this iteration's committee; also the wall time, s, and
    per member the epochs run and what ended the training (kept in ``committee.json``).

    ``train_config.time_limit`` bounds the round's training, featurization included: each member still
    to train gets an equal part of the time left when it starts."""
    folder = it_dir / "committee"
    if (folder / "committee.json").is_file():
        meta = json.loads((folder / "committee.json").read_text(encoding="utf-8"))
        return load_committee(folder), 0.0, meta.get("training")
    say(f"training {config.committee} {config.model.upper()} models on {len(data)} frames")
    warm = config.warm_start and previous is not None
    cfg = round_config(train_config, config, len(data), warm)
    start = time.perf_counter()
    with time_limit_scope(cfg.time_limit):
        members, results = train_committee(data, _builder(config, data), config.committee, cfg,
                                           bootstrap=config.bootstrap, start=[m for m in previous] if warm else None)
    training = {"epochs_run": [r.epochs_run for r in results], "stopped_by": [r.stopped_by for r in results]}
    save_committee(members, folder, {"n_train": len(data), "training": training})
    return members, time.perf_counter() - start, training


def round_config(train_config, config: ALConfig, n_frames: int, warm: bool):
    """The training settings of one round: epochs from the step budget (if any), warm-start overrides."""
    steps = config.warm_steps if warm and config.warm_steps else config.train_steps
    epochs = config.warm_epochs if warm and config.warm_epochs else train_config.epochs
    if steps:
        epochs = max(1, math.ceil(steps / math.ceil(n_frames / train_config.batch_size)))
    lr = config.warm_learning_rate if warm and config.warm_learning_rate else train_config.learning_rate
    return replace(train_config, epochs=epochs, learning_rate=lr)


def test_errors(calculator, frames: Sequence[Atoms] | None, keep: dict | None = None) -> dict | None:
    """Energy and force errors of the committee mean on *frames*, and the σ calibration (RMS error / RMS σ;
    with a calibrated calculator also the 1σ / 2σ coverage). *keep*, a dict, receives the predictions."""
    if not frames:
        return None
    from nnsurrogate.atomistic import audit_checks as C

    pred = C.predict(calculator, list(frames))
    if keep is not None:
        keep["predictions"] = pred
    out = C.error_metrics(pred)
    if pred.forces_std is not None:
        err = np.concatenate([np.sqrt(np.mean((p - r) ** 2, axis=1)) for p, r in zip(pred.forces_pred, pred.forces_ref)])
        std = np.concatenate(pred.forces_std)
        out["mean_force_std_meV_A"] = 1000.0 * float(std.mean())
        out["calibration_rms_error_over_rms_std"] = float(np.sqrt(np.mean(err**2)) / max(np.sqrt(np.mean(std**2)), 1e-300))
        if getattr(calculator, "calibration", None) is not None:
            from nnsurrogate.atomistic.calibration import component_errors, coverage_report

            report = coverage_report(*component_errors(pred))
            out.update({k: report[k] for k in ("coverage_1sigma", "coverage_2sigma", "rms_z")})
    return out


def _min_distance(config: ALConfig, data: list[Atoms]) -> float:
    """The exploration MD's distance guard, Å (see :attr:`ALConfig.min_distance`)."""
    from nnsurrogate.atomistic.md import MIN_DISTANCE_FACTOR
    from nnsurrogate.atomistic.workflow import shortest_training_distance

    if config.min_distance is not None:
        return float(config.min_distance)
    shortest = shortest_training_distance(data)
    return MIN_DISTANCE_FACTOR * shortest if shortest else 0.0


def _explore(it_dir: Path, calculator, starts: list[Atoms], config: ALConfig, k: int, labels: tuple, say: Say,
             pool: tuple | None = None, data: list[Atoms] | None = None):
    """Run (or reload) this iteration's exploration, calibration and selection; returns the summary, the
    frames to label and the labelled calibration frames. *labels*: (species, cutoff) of the frames;
    *pool*: (frames, indices already taken) to select from instead of exploring with MD."""
    from ase.io import read, write

    summary_path, selected_path = it_dir / "exploration.json", it_dir / "selected.xyz"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        selected = read(selected_path, ":") if summary["selected"] else []
        return summary, selected, _calibration_frames(it_dir, labels, config) if config.calibration_frames else []
    seed = config.seed * 100_003 + k
    if pool is not None:
        say(f"committee spread on {len(pool[0]) - len(pool[1])} pool frames")
        exploration = X.pool_candidates(calculator, pool[0], pool[1])
    else:
        say(f"MD with the committee at {', '.join(f'{t:g}' for t in config.temperatures)} K")
        timestep = config.timestep or (0.5 if any(1 in a.numbers for a in starts) else 1.0)
        if config.continue_md:
            starts = _continued_starts(_round_dir(it_dir, k - 1), starts, len(config.temperatures))
        exploration = X.explore(calculator, starts, config.temperatures, config.md_steps, config.sample_every,
                                timestep, seed, min_distance=_min_distance(config, data if data is not None else starts))
        _write_frames(it_dir / "last.xyz", [e if e is not None else starts[k % len(starts)]
                                            for k, e in enumerate(exploration.ends)])
    candidates, calibrated, calibration, n_labelled = exploration.candidates, [], None, 0
    if config.calibration_frames:
        candidates, calibrated, calibration, n_labelled = _calibrate(it_dir, k, calculator, candidates, config, seed,
                                                                     labels, say)
    drawn = sorted({c.step for c in exploration.candidates} - {c.step for c in candidates})
    exploration.candidates = candidates
    picks = X.select(candidates, config.strategy, config.per_iteration, config.threshold, config.min_separation,
                     np.random.default_rng(seed + 1), config.max_uncertainty, config_cutoff(config),
                     fill=not config.stop_on_rule)
    summary = {**exploration.summary(config.threshold), "selected": [c.describe() for c in picks]}
    if calibration is not None:
        summary["calibration"] = calibration.to_json()
    if config.calibration_frames:
        summary["n_calibration_rejected"] = n_labelled - len(calibrated)
    if pool is not None:
        summary["pool_taken"] = sorted(drawn + [c.step for c in picks])
    if picks:
        with atomic_path(selected_path) as tmp:
            write(tmp, [c.atoms for c in picks], format="extxyz")
    write_json(summary_path, summary)
    return summary, [c.atoms for c in picks], calibrated


def _round_dir(it_dir: Path, k: int) -> Path:
    """The folder of round *k* beside round folder *it_dir*."""
    return it_dir.parent / f"iter_{k:03d}"


def _continued_starts(previous: Path, starts: list[Atoms], n_runs: int) -> list[Atoms]:
    """Per MD run, the frame where the run of the previous round (folder *previous*) ended
    (``last.xyz``; a run that stopped early has its start frame there), or its start frame in the first round."""
    from ase.io import read

    last = previous / "last.xyz"
    if not last.is_file():
        return [starts[k % len(starts)] for k in range(n_runs)]
    frames = read(last, ":")
    if len(frames) != n_runs:
        raise UserInputError(f"{last.name} holds {len(frames)} frames, not one per MD run ({n_runs})", str(last))
    return frames


def physical(frames: list[Atoms], max_force: float | None) -> list[Atoms]:
    """*frames* without those where the reference force on an atom, |F_i|, exceeds *max_force* (eV/Å)."""
    if max_force is None:
        return list(frames)
    return [f for f in frames if float(np.max(np.linalg.norm(f.get_forces(), axis=1), initial=0.0)) <= max_force]


def _calibration_frames(it_dir: Path, labels: tuple, config: ALConfig) -> list[Atoms]:
    from nnsurrogate.atomistic.data import read_frames

    path = it_dir / "calibration" / "labelled.xyz"
    frames = read_frames(path, species=labels[0], cutoff=labels[1]) if path.is_file() else []
    return physical(frames, config.max_label_force)


def _calibrate(it_dir: Path, k: int, calculator, candidates: list, config: ALConfig, seed: int, labels: tuple,
               say: Say):
    """Label ``calibration_frames`` random candidates, fit the calibration of *calculator*'s spread on
    them, and return the other candidates with calibrated u, the labelled frames kept (see
    :func:`physical`), the calibration and how many frames were labelled."""
    from nnsurrogate.atomistic.calibration import fit_calibration, raw_errors

    order = np.random.default_rng(seed + 2).permutation(len(candidates))
    drawn = set(order[: config.calibration_frames].tolist())
    chosen = [c.atoms for i, c in enumerate(candidates) if i in drawn]
    folder = it_dir / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    labelled, _ = _label(folder, chosen, config, labels[0], labels[1], say)
    n_labelled, labelled = len(labelled), physical(labelled, config.max_label_force)
    if not labelled:
        return candidates, [], None, n_labelled
    errors, sigma = raw_errors(calculator, labelled)
    np.savez(folder / "errors.npz", errors=errors, sigma=sigma)
    errors, sigma = _calibration_history(it_dir, k, config.calibration_history, errors, sigma)
    say(f"calibrating the spread on {errors.size // 3} fresh atoms")
    calibration = fit_calibration(errors, sigma)
    calculator.calibration = calibration
    calculator.reset()
    rest = [replace(c, uncertainty=float(calibration.apply(np.array(c.uncertainty)))) for i, c in enumerate(candidates)
            if i not in drawn]
    return rest, labelled, calibration, n_labelled


def _calibration_history(it_dir: Path, k: int, rounds: int, errors: np.ndarray, sigma: np.ndarray):
    """Round *k*'s (errors, raw σ) and those saved by the previous ``rounds − 1`` rounds, concatenated."""
    parts_e, parts_s = [errors], [sigma]
    for j in range(max(0, k - rounds + 1), k):
        path = _round_dir(it_dir, j) / "calibration" / "errors.npz"
        if path.is_file():
            with np.load(path) as saved:
                parts_e.append(saved["errors"])
                parts_s.append(saved["sigma"])
    return np.concatenate(parts_e), np.concatenate(parts_s)


def _label(it_dir: Path, frames: list[Atoms], config: ALConfig, species, cutoff: float, say: Say):
    """Label *frames* (resumable); returns the checked labelled frames and the failures."""
    from nnsurrogate.atomistic.data import read_frames
    from nnsurrogate.atomistic.labeling import label_frames

    say(f"labelling {len(frames)} frames with {config.calculator}")
    report = label_frames(frames, _labeler(config), it_dir / "labelled.xyz", scheduler=config.scheduler,
                          workers=config.workers)
    labelled = read_frames(it_dir / "labelled.xyz", species=species, cutoff=cutoff) if report.n_written else []
    return labelled, report.failed


def _taken(iterations: list[dict]) -> set[int]:
    """Pool indices labelled in earlier rounds (selected or drawn for calibration)."""
    taken: set[int] = set()
    for record in iterations:
        exploration = record.get("exploration") or {}
        taken.update(int(i) for i in exploration.get("pool_taken", []))
    return taken


def _converged(summary: dict) -> bool:
    """Every MD run finished and no snapshot was above the threshold."""
    return bool(summary["md_stable"]) and summary["n_above_threshold"] == 0


def _converged_text(summary: dict, config: ALConfig) -> str:
    kind = "calibrated force spread (predicted error)" if "calibration" in summary else "committee force spread"
    return (f"converged: the largest {kind} over {summary['n_candidates']} fresh MD snapshots, "
            f"{summary['max_force_std_eV_A']:.3g} eV/Å, stayed below the threshold {config.threshold:g} eV/Å")


# ---------------------------------------------------------------------------------------------- loop
class _Stages:
    """Stage names as calls of the progress protocol: ``progress(round, iterations, metrics)``.

    *metrics* holds ``stage`` (what starts now, text), ``n_labels`` (labelled frames so far) and,
    once a round is scored, its test ``energy_mae_meV_atom`` and ``force_mae_meV_A``.
    """

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total = progress, total
        self.round, self.metrics = 0, {}

    def __call__(self, stage: str) -> None:
        if self.progress is not None:
            self.progress(self.round, self.total, {"stage": stage, **self.metrics})

    def begin(self, k: int, n_labels: int, test: dict | None = None) -> None:
        """Round *k* starts with *n_labels* frames (*test*: the errors of the last committee)."""
        self.round = k
        self.metrics = {"n_labels": n_labels}
        for key in ("energy_mae_meV_atom", "force_mae_meV_A"):
            if test and key in test:
                self.metrics[key] = test[key]


def run_active_learning(initial: Sequence[Atoms], config: ALConfig, train_config, out: str | Path,
                        test_frames: Sequence[Atoms] | None = None, resume: bool = False,
                        progress: Progress | None = None, pool: Sequence[Atoms] | None = None) -> dict:
    """Run the loop described in the module docstring; returns the summary written to ``metrics.json``.

    Parameters
    ----------
    initial : sequence of ase.Atoms
        Labelled starting frames (checked, e.g. by :func:`~nnsurrogate.atomistic.data.read_frames`);
        MD starts from them in turn.
    config : ALConfig
    train_config : PotentialTrainConfig
        Training settings of every member (epochs, batch, learning rate, loss weights, seed).
    out : path
        Output folder (see the module docstring).
    test_frames : sequence of ase.Atoms, optional
        Fixed labelled test set; without it no test errors are recorded.
    resume : bool
        Continue the run in *out*.
    progress : callable, optional
        The progress protocol ``progress(round, iterations, metrics)`` before each stage, *metrics*
        as described by :class:`_Stages` (``stage``, ``n_labels``, the last test errors).
    pool : sequence of ase.Atoms, optional
        Unlabelled configurations to select from instead of exploring with MD (pool-based active
        learning; with ``strategy="random"`` the passive baseline). Their labels, if any, are ignored:
        the reference calculator labels what is selected.
    """
    from nnsurrogate.atomistic.data import read_frames, species_of

    config.validate()
    if not initial:
        raise UserInputError("no initial frames", "initial")
    _labeler(config)  # unknown calculator or missing package: fail before any training
    out = Path(out)
    state = _State(out, config, train_config, len(initial), resume)
    if state.data["status"] != "running":  # a finished run: nothing more to do
        return _summary(state, out)
    species, cutoff = species_of(initial), config_cutoff(config)
    data_path = out / "data.xyz"
    data = read_frames(data_path, species=species, cutoff=cutoff) if state.iterations else list(initial)
    if not state.iterations:
        _write_frames(data_path, data)
    previous = load_committee(out / f"iter_{len(state.iterations) - 1:03d}" / "committee") if state.iterations else None
    stages = _Stages(progress, config.iterations)
    k = len(state.iterations)
    while True:
        stages.begin(k, len(data), state.iterations[-1]["test"] if state.iterations else None)
        it_dir = out / f"iter_{k:03d}"
        members, train_s, training = _committee(it_dir, data, config, train_config, previous, stages)
        calculator = CommitteeCalculator(members)
        stages("test errors")
        kept: dict = {}
        rejected = sum(r.get("n_rejected", 0) for r in state.iterations)  # labels spent but not learnt
        record = {"iteration": k, "n_train": len(data), "n_labels": len(data) + rejected, "train_wall_s": train_s,
                  "training": training, "test": test_errors(calculator, test_frames, kept)}
        if k >= config.iterations:
            state.data["stop_reason"] = (f"budget spent: {config.iterations} labelling rounds without the "
                                         "uncertainty falling below the threshold")
            _finish(state, record, "budget spent", members, out)
            break
        taken = _taken(state.iterations) if pool is not None else set()
        summary, picked, calibration_frames = _explore(it_dir, calculator, list(initial), config, k,
                                                       (species, cutoff), stages,
                                                       (list(pool), taken) if pool is not None else None, data)
        record["exploration"] = summary
        n_calibration = len(calibration_frames) + summary.get("n_calibration_rejected", 0)
        if n_calibration:
            record["n_calibration"] = n_calibration
            record["n_labels"] += n_calibration  # reference calculations spent, used or not
        if "calibration" in summary and record["test"]:
            record["test"].update(_test_coverage(kept["predictions"], summary["calibration"]))
        if _converged(summary):
            if config.stop_on_rule:
                state.data["stop_reason"] = _converged_text(summary, config)
                _finish(state, record, "converged", members, out, summary.get("calibration"))
                break
            record["rule_fired"] = True  # recorded; the loop goes on to its budget
            state.data.setdefault("rule_fired_at", record["n_labels"])
        labelled, failed = _label(it_dir, picked, config, species, cutoff, stages) if picked else ([], [])
        learnt = physical(labelled, config.max_label_force)
        record.update({"n_selected": len(picked), "n_added": len(learnt), "failed": failed,
                       "n_rejected": len(labelled) - len(learnt) + summary.get("n_calibration_rejected", 0)})
        labelled = learnt
        data = data + calibration_frames + labelled
        _write_frames(data_path, data)
        state.iterations.append(record)
        state.save()
        previous, k = members, k + 1
    return _summary(state, out)


def _write_frames(path: Path, frames: list[Atoms]) -> None:
    from ase.io import write

    with atomic_path(path) as tmp:
        write(tmp, frames, format="extxyz")


def _test_coverage(pred, calibration: dict) -> dict:
    """The test set's 1σ / 2σ coverage of this round's calibrated spread."""
    from nnsurrogate.atomistic.calibration import ForceCalibration, component_errors, coverage_report

    errors, sigma = component_errors(pred)
    report = coverage_report(errors, ForceCalibration.from_json(calibration, "exploration.json").apply(sigma))
    return {k: report[k] for k in ("coverage_1sigma", "coverage_2sigma", "rms_z")}


def _finish(state: _State, record: dict, status: str, members, out: Path, calibration: dict | None = None) -> None:
    """Record the last round and save its committee (calibrated when that round calibrated it)."""
    from nnsurrogate.atomistic.calibration import ForceCalibration
    from nnsurrogate.atomistic.committee import set_calibration

    state.iterations.append(record)
    state.data["status"] = status
    save_committee(members, out / "committee", {"n_train": record["n_train"], "iteration": record["iteration"]})
    if calibration is not None:
        set_calibration(out / "committee", ForceCalibration.from_json(calibration, "exploration.json"))
    state.save()


def _summary(state: _State, out: Path) -> dict:
    """metrics.json: the learning curve (labels → test errors) and the final state."""
    rows = state.iterations
    curve = [{"iteration": r["iteration"], "n_labels": r["n_labels"],
              **({k: r["test"][k] for k in ("energy_mae_meV_atom", "force_mae_meV_A",
                                            "force_rmse_meV_A", "calibration_rms_error_over_rms_std",
                                            "coverage_1sigma", "coverage_2sigma")
                  if k in r["test"]} if r.get("test") else {}),
              "max_force_std_eV_A": (r.get("exploration") or {}).get("max_force_std_eV_A"),
              "md_stable": (r.get("exploration") or {}).get("md_stable"), "rule_fired": bool(r.get("rule_fired")),
              **{key: (r.get("training") or {}).get(key) for key in ("epochs_run", "stopped_by")}}
             for r in rows]
    summary = {"status": state.data["status"], "stop_reason": state.data.get("stop_reason"),
               "strategy": state.data["settings"]["active_learning"]["strategy"],
               "n_rounds": max(len(rows) - 1, 0), "n_trainings": len(rows),
               "n_labels": rows[-1]["n_labels"] if rows else 0,
               "n_initial": state.data["n_initial"], "rule_fired_at": state.data.get("rule_fired_at"),
               "learning_curve": curve}
    write_json(out / "metrics.json", summary)
    if any("force_mae_meV_A" in c for c in curve):
        learning_curve_plot(out / "plots" / "learning_curve.png", curve)
    return summary


def labels_to_reach(curve: Sequence[dict], force_mae_meV_A: float) -> int | None:
    """Labels at the first point of *curve* whose test force MAE is at most the target (``None``: never)."""
    for row in curve:
        value = row.get("force_mae_meV_A")
        if value is not None and value <= force_mae_meV_A:
            return int(row["n_labels"])
    return None


def learning_curve_plot(path: Path, curve: Sequence[dict]) -> None:
    """Test force MAE (meV/Å) against the number of labelled frames, saved atomically as a PNG."""
    from nnsurrogate.core.plots import new_figure, save_figure

    rows = [c for c in curve if "force_mae_meV_A" in c]
    fig, ax = new_figure(figsize=(5, 3.6), dpi=120)
    ax.plot([c["n_labels"] for c in rows], [c["force_mae_meV_A"] for c in rows], "o-")
    ax.set_xlabel("labelled frames")
    ax.set_ylabel("test force MAE (meV/Å)")
    ax.set_yscale("log")
    fig.tight_layout()
    save_figure(fig, path)
