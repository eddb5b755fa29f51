"""``nnsurrogate potential active-learn`` (grow a training set where a committee of potentials is unsure),
``nnsurrogate potential committee`` (train a committee, whose spread is the uncertainty),
``nnsurrogate potential join`` (a committee of trained models, kinds mixed) and
``nnsurrogate potential calibrate`` (make the committee's spread a predicted error in eV/Å)."""

from __future__ import annotations

from pathlib import Path

import typer

from nnsurrogate.cli import options
from nnsurrogate.cli.common import console, parse_float_list
from nnsurrogate.cli.potential_options import LOSS, MODEL, model_hyper
from nnsurrogate.cli.settings_file import configurable
from nnsurrogate.core.engine.progress import progress_bar
from nnsurrogate.core.errors import UserInputError


def register(app: typer.Typer) -> None:
    """Add ``active-learn`` and ``committee`` to the ``potential`` group."""
    app.command("active-learn")(active_learn)
    app.command("committee")(committee)
    app.command("join")(join)
    app.command("calibrate")(calibrate)


def _round_text(metrics) -> str:
    """The text after the active-learning bar: the stage that starts and the labels so far."""
    labels = f"{metrics['n_labels']} labels" if "n_labels" in metrics else ""
    force = metrics.get("force_mae_meV_A")
    error = f", test F MAE {force:.3g} meV/Å" if force is not None else ""
    return f"{labels}{error}: {metrics.get('stage', '')}"


@configurable("potential active-learn")
@LOSS.attach
@MODEL.attach
def active_learn(
    initial: Path = typer.Option(..., "--initial", help="Labelled starting frames (extended XYZ); MD starts from them."),
    out: Path = typer.Option(..., "--out", help="Output folder: state.json, data.xyz, iter_NNN/, committee/, metrics.json, plots/."),
    calculator: str = typer.Option("emt", "--calculator", help="Reference: emt, lj, xtb, pyscf or chgnet."),
    model: str = typer.Option("nep", "--model", help="Committee members: nep, bp or mace."),
    members: int = options.members(4, "Models in the committee."),
    temperatures: str = typer.Option("300,600,900", "--temperatures", help="MD temperatures, K (one run each per round)."),
    iterations: int = typer.Option(10, "--iterations", help="Labeling rounds at most."),
    per_iteration: int = typer.Option(20, "--per-iteration", help="Frames labelled per round at most."),
    strategy: str = typer.Option("uncertainty", "--strategy", help="uncertainty, diverse (uncertain and spread out "
                                 "in structure space), or random (the control)."),
    threshold: float = typer.Option(0.05, "--threshold", help="Largest per-atom force std counted as certain, eV/Å "
                                    "(the calibrated σ with --calibration-frames)."),
    calibration_frames: int = typer.Option(0, "--calibration-frames", help="Random MD frames labelled per round to "
                                           "calibrate the spread into a predicted error (0: raw spread)."),
    calibration_history: int = typer.Option(1, "--calibration-history", help="Fit the calibration on the fresh "
                                            "frames of this many recent rounds."),
    stop_on_rule: bool = typer.Option(True, "--stop-on-rule/--run-to-budget", help="Stop when the calibrated spread "
                                      "of a round's MD stays under the threshold, or only record it and label to the budget."),
    continue_md: bool = typer.Option(False, "--continue-md", help="Each round's MD goes on from where the last round's ended."),
    min_distance: float = typer.Option(None, "--min-distance", help="Exploration MD stops where two atoms come "
                                       "closer, Å (default 0.75 × the shortest distance in the labelled frames; 0: off)."),
    max_label_force: float = typer.Option(10.0, "--max-label-force", help="Labelled frames with a larger reference "
                                          "force on an atom, eV/Å, are not learnt from (they still count as labels)."),
    max_uncertainty: float = typer.Option(None, "--max-uncertainty",
                                          help="Upper end of the trust window, eV/Å (frames above it come last)."),
    test: Path = typer.Option(None, "--test", help="Fixed labelled test set scored every round."),
    pool: Path = typer.Option(None, "--pool", help="Select from these configurations (extended XYZ, e.g. a "
                              "trajectory) instead of exploring with MD."),
    md_steps: int = typer.Option(500, "--md-steps", help="MD steps per temperature and round."),
    sample_every: int = typer.Option(10, "--sample-every", help="Candidate snapshot every N steps."),
    min_separation: int = typer.Option(50, "--min-separation", help="Steps between two picks from one MD run."),
    timestep: float = typer.Option(None, "--timestep", help="MD time step, fs (default 1, or 0.5 with hydrogen)."),
    bootstrap: bool = typer.Option(False, "--bootstrap", help="Train each member on a bootstrap resample."),
    warm_start: bool = typer.Option(True, "--warm-start/--no-warm-start", help="Continue last round's models."),
    epochs: int = typer.Option(100, "--epochs", help="Training epochs per member (fresh start)."),
    time_limit: float = options.time_limit("Wall-clock limit of each round's committee training, s, featurizing "
                                           "the frames included: each member still to train gets an equal part of "
                                           "the time left when it starts (default: none, the epochs decide)."),
    warm_epochs: int = typer.Option(None, "--warm-epochs", help="Epochs of a warm-started member (default --epochs)."),
    train_steps: int = typer.Option(None, "--train-steps", help="Budget in Adam steps instead of epochs (fresh members)."),
    warm_steps: int = typer.Option(None, "--warm-steps", help="Budget in Adam steps of a warm-started member."),
    warm_lr: float = typer.Option(None, "--warm-lr", help="Adam learning rate of a warm-started member (default --lr)."),
    batch_size: int = options.batch_size(8, "Frames per mini-batch."),
    lr: float = options.lr(4e-3, "Adam learning rate."),
    pyscf_xc: str = typer.Option("PBE", "--pyscf-xc", help="PySCF functional."),
    pyscf_basis: str = typer.Option("def2-svp", "--pyscf-basis", help="PySCF basis set."),
    scheduler: str = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler for labeling."),
    workers: int = typer.Option(1, "--workers", help="Labeling threads of the local Dask cluster."),
    seed: int = options.seed("Seed for weights, MD and random selection."),
    resume: bool = options.resume(),
    quiet: bool = options.quiet(),
    hyper_options: dict | None = None,
    loss_options: dict | None = None,
) -> None:
    """Active learning: train a committee, run MD with it, label the most uncertain frames, repeat."""
    from nnsurrogate.atomistic.active_learning import ALConfig, config_cutoff, run_active_learning
    from nnsurrogate.atomistic.data import read_frames
    from nnsurrogate.atomistic.training import PotentialTrainConfig
    from nnsurrogate.core.training import torch_threads
    from nnsurrogate.recipes.committee import score_active_learning

    settings = {"pyscf_xc": pyscf_xc, "pyscf_basis": pyscf_basis} if calculator == "pyscf" else {}
    config = ALConfig(calculator=calculator, labeler_settings=settings, model=model,
                      hyper=model_hyper(model, hyper_options), committee=members,
                      bootstrap=bootstrap, temperatures=parse_float_list(temperatures, "--temperatures"),
                      iterations=iterations, per_iteration=per_iteration, strategy=strategy, threshold=threshold,
                      calibration_frames=calibration_frames, calibration_history=calibration_history,
                      stop_on_rule=stop_on_rule, continue_md=continue_md, min_distance=min_distance,
                      max_label_force=max_label_force,
                      max_uncertainty=max_uncertainty,
                      md_steps=md_steps, sample_every=sample_every, min_separation=min_separation, timestep=timestep,
                      warm_start=warm_start, warm_epochs=warm_epochs, train_steps=train_steps, warm_steps=warm_steps,
                      warm_learning_rate=warm_lr, seed=seed, workers=workers, scheduler=scheduler)
    config.validate()
    train_config = PotentialTrainConfig(epochs=epochs, time_limit=time_limit, batch_size=batch_size, learning_rate=lr,
                                        seed=seed, **loss_options)
    rc = config_cutoff(config)
    frames = read_frames(initial, cutoff=rc)
    test_frames = read_frames(test, cutoff=rc, species=sorted({s for a in frames for s in a.get_chemical_symbols()})) \
        if test is not None else None
    pool_frames = _pool(pool, frames, rc) if pool is not None else None
    with torch_threads(1), progress_bar("active learning", not quiet, _round_text) as progress:
        summary = run_active_learning(frames, config, train_config, out, test_frames, resume=resume,
                                      progress=progress, pool=pool_frames)
        summary = score_active_learning(out, summary, test_frames)
    _report(summary)
    console.print(f"state.json, data.xyz, committee/, metrics.json and plots/ written to {out}/")


def _pool(path: Path, initial, cutoff: float) -> list:
    """The pool's configurations (labels not needed), checked like training frames."""
    from nnsurrogate.atomistic.sampling import read_structures

    species = {s for a in initial for s in a.get_chemical_symbols()}
    frames = read_structures(path)
    for k, atoms in enumerate(frames):
        unknown = sorted(set(atoms.get_chemical_symbols()) - species)
        if unknown:
            raise UserInputError(f"frame {k} has {' '.join(unknown)}, absent from the initial frames", str(path))
    return frames


def _report(summary: dict) -> None:
    from rich.table import Table

    table = Table(title=f"active learning ({summary['strategy']}): {summary['status']} after "
                        f"{summary['n_rounds']} labeling rounds, {summary['n_labels']} labelled frames", header_style="bold")
    for col in ("round", "labels", "test E MAE (meV/atom)", "test F MAE (meV/Å)", "max σ_F in MD (eV/Å)"):
        table.add_column(col, justify="right")
    for row in summary["learning_curve"]:
        def fmt(key, spec=".3g"):
            value = row.get(key)
            return "—" if value is None else format(value, spec)
        table.add_row(str(row["iteration"]), str(row["n_labels"]), fmt("energy_mae_meV_atom"),
                      fmt("force_mae_meV_A"), fmt("max_force_std_eV_A"))
    console.print(table)
    if summary.get("stop_reason"):
        console.print(summary["stop_reason"])
    if summary.get("rule_fired_at") is not None and summary["status"] != "converged":
        console.print(f"the stopping rule fired at {summary['rule_fired_at']} labels (recorded; --run-to-budget went on)")


@configurable("potential committee")
@LOSS.attach
@MODEL.attach
def committee(
    data: Path = typer.Argument(..., help="Training frames: extended XYZ with energy and forces."),
    out: Path = typer.Option(..., "--out", help="Output folder: committee/, metrics.json, plots/."),
    members: int = options.members(4, "Models in the committee."),
    model: str = typer.Option("nep", "--model", help="nep, bp or mace."),
    bootstrap: bool = typer.Option(False, "--bootstrap", help="Train each member on a bootstrap resample."),
    test: Path = typer.Option(None, "--test", help="Labelled frames to score the mean and the σ calibration on."),
    epochs: int = typer.Option(100, "--epochs", help="Training epochs per member."),
    time_limit: float = options.time_limit("Wall-clock limit of the run, s, reading the frames included: each "
                                           "member still to train gets an equal part of the time left when it "
                                           "starts (default: none, the epochs decide)."),
    batch_size: int = options.batch_size(8, "Frames per mini-batch."),
    lr: float = options.lr(4e-3, "Adam learning rate."),
    seed: int = options.seed("Member k uses seed + k."),
    quiet: bool = options.quiet(),
    hyper_options: dict | None = None,
    loss_options: dict | None = None,
) -> None:
    """Train a committee of potentials (different seeds or bootstrap resamples); its spread is the uncertainty."""
    from nnsurrogate.atomistic.training import PotentialTrainConfig
    from nnsurrogate.recipes.committee import committee_run

    config = PotentialTrainConfig(epochs=epochs, time_limit=time_limit, batch_size=batch_size, learning_rate=lr,
                                  seed=seed, **loss_options)
    with progress_bar("training members", not quiet) as progress:
        report = committee_run(data, out, model, model_hyper(model, hyper_options), members, config, test,
                               bootstrap, progress)
    for name in ("train", "test"):
        if name in report:
            r = report[name]
            console.print(f"{name}: energy MAE {r['energy_mae_meV_atom']:.3g} meV/atom, force MAE "
                          f"{r['force_mae_meV_A']:.3g} meV/Å, mean σ_F {r['mean_force_std_meV_A']:.3g} meV/Å, "
                          f"RMS error / RMS σ {r['calibration_rms_error_over_rms_std']:.2f}")
    runs = zip(report["epochs_run"], report["stopped_by"])
    console.print("members: " + ", ".join(f"{e} epochs ({s})" for e, s in runs))
    console.print(f"committee/, metrics.json and plots/ written to {out}/ "
                  f"(use {out}/committee with potential md/audit)")


def join(
    models: list[str] = typer.Argument(..., help="Two or more trained models (run folders, model folders, "
                                       "nep.txt), of any kinds: NEP, BP, MACE, fine-tuned SevenNet."),
    out: Path = typer.Option(..., "--out", help="Output folder: committee/, metrics.json."),
    test: Path = typer.Option(None, "--test", help="Labelled frames to score the mean and the σ calibration on."),
) -> None:
    """Join trained models into one committee (kinds may be mixed); its spread feeds the MD guard and active learning."""
    from nnsurrogate.recipes.committee import join_run

    report = join_run(models, out, test)
    if "test" in report:
        r = report["test"]
        console.print(f"test: energy MAE {r['energy_mae_meV_atom']:.3g} meV/atom, force MAE {r['force_mae_meV_A']:.3g} "
                      f"meV/Å, mean σ_F {r['mean_force_std_meV_A']:.3g} meV/Å, RMS error / RMS σ "
                      f"{r['calibration_rms_error_over_rms_std']:.2f}")
    console.print(f"committee/ and metrics.json written to {out}/ ({', '.join(report['kinds'])})")


def calibrate(
    committee: Path = typer.Argument(..., help="Committee folder (potential committee/join/active-learn output)."),
    data: Path = typer.Argument(..., help="Labelled frames the committee did not train on (extended XYZ)."),
    test: Path = typer.Option(None, "--test", help="Labelled frames to measure the calibrated coverage on."),
    power: bool = typer.Option(True, "--power/--scale-only", help="Fit σ_cal = a·σ^b (default) or a·σ."),
) -> None:
    """Calibrate a committee's force spread on held-out frames, so forces_std is a predicted error in eV/Å."""
    from nnsurrogate.recipes.committee import calibrate_run

    report = calibrate_run(committee, data, power, test)
    c = report["calibration"]
    console.print(f"σ_cal = {c['scale']:.3g} · σ^{c['exponent']:.2f} (eV/Å), fitted on {c['n_components']} force "
                  f"components: {c['coverage_1']:.0%} within 1σ, {c['coverage_2']:.0%} within 2σ (normal: 68%, 95%)")
    if "test" in report:
        t = report["test"]
        console.print(f"test ({t['n_frames']} frames): {t['coverage_1sigma']:.0%} within 1σ, "
                      f"{t['coverage_2sigma']:.0%} within 2σ")
    console.print(f"calibration stored in {report['committee']}/committee.json; calibration.json and calibration.png "
                  "beside it")
