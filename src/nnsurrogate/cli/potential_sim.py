"""Verbs of ``nnsurrogate potential`` (see :mod:`nnsurrogate.cli.potential`): md, audit, label, sample.

MODEL arguments name a trained potential (a run folder, its ``model/`` folder or a ``nep.txt``) or a
reference calculator ``ase:NAME`` with NAME one of emt, lj, xtb, pyscf, chgnet.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import typer

from nnsurrogate.cli import options
from nnsurrogate.cli.common import console, parse_float_list, parse_int_list
from nnsurrogate.core.engine.progress import progress_bar
from nnsurrogate.core.errors import UserInputError

_QUIET = typer.Option(False, "--quiet", help="No progress bar.")
_SEED = typer.Option(0, "--seed", help="Random seed (velocities, thermostat noise, displacements).")
_XC = typer.Option("PBE", "--pyscf-xc", help="PySCF exchange–correlation functional (HF for Hartree–Fock).")
_BASIS = typer.Option("def2-svp", "--pyscf-basis", help="PySCF basis set.")
_XTB = typer.Option("GFN2-xTB", "--xtb-method", help="tblite method: GFN2-xTB, GFN1-xTB or IPEA1-xTB.")
_CHARGE = typer.Option(0, "--charge", help="Total charge for xtb and pyscf (e).")
_SPIN = typer.Option(None, "--spin", help="Unpaired electrons 2S for xtb and pyscf (default: lowest).")
_SIGMA = typer.Option(3.405, "--lj-sigma", help="Lennard-Jones σ (Å); default argon.")
_EPSILON = typer.Option(0.0104, "--lj-epsilon", help="Lennard-Jones ε (eV); default argon.")
_DEVICE = typer.Option("cpu", "--device", help="Torch device for chgnet.")
_SCHEDULER = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler (default: local cluster).")
_WORKERS = typer.Option(1, "--workers", help="Threads of the local Dask cluster.")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``potential`` group."""
    app.command("md")(md)
    app.command("audit")(audit)
    app.command("label")(label)
    app.command("sample")(sample)


def md(
    model: str = typer.Argument(..., help="Trained model (folder or nep.txt) or ase:emt, ase:lj, ase:xtb, …"),
    start: Path = typer.Argument(..., help="Start structure (extended XYZ or any format ASE reads)."),
    out: Path = typer.Option(..., "--out", help="Output folder: trajectory.xyz, thermo.csv, md.json, plots/."),
    ensemble: str = typer.Option("nve", "--ensemble", help="nve, nvt or npt."),
    temperature: float = typer.Option(300.0, "--temperature", help="Target (and initial) temperature, K."),
    timestep: float = typer.Option(1.0, "--timestep", help="Time step, fs."),
    steps: int = typer.Option(1000, "--steps", help="Number of MD steps."),
    supercell: str = typer.Option("1,1,1", "--supercell", help="Repeat the start cell, e.g. 4,4,4."),
    thermostat: str = typer.Option("langevin", "--thermostat", help="NVT thermostat: langevin or bussi."),
    friction: float = typer.Option(0.01, "--friction", help="Langevin friction, 1/fs."),
    taut: float = typer.Option(100.0, "--taut", help="Bussi / NPT thermostat time constant, fs."),
    pressure: float = typer.Option(0.0, "--pressure", help="NPT pressure, GPa."),
    taup: float = typer.Option(1000.0, "--taup", help="NPT barostat time constant, fs."),
    barostat: str = typer.Option("isotropic", "--barostat", help="NPT cell fluctuations: isotropic or full."),
    max_force: float = typer.Option(10.0, "--max-force", help="Stop when any force exceeds this, eV/Å."),
    max_energy_change: float = typer.Option(1.0, "--max-energy-change", help="Stop when E_tot/N moves this far, eV/atom."),
    min_distance: float = typer.Option(None, "--min-distance", help="Stop when two atoms come closer, Å (default: "
                                       "0.75 × the shortest distance in the model's training frames; 0: off)."),
    max_temperature: float = typer.Option(None, "--max-temperature", help="Stop above this temperature, K "
                                          "(default: max(5 T, T + 2000 K))."),
    max_force_std: float = typer.Option(None, "--uncertainty-stop", "--max-force-std", help="Committee: stop when "
                                        "an atom's force spread (calibrated σ if calibrated) exceeds this, eV/Å; with "
                                        "--label-on-the-fly, label there instead."),
    label_on_the_fly: str = typer.Option(None, "--label-on-the-fly", help="Committee: label uncertain frames with "
                                         "this reference (emt, lj, xtb, pyscf, chgnet), retrain, go on."),
    train_data: Path = typer.Option(None, "--train-data", help="On the fly: the committee's training frames "
                                    "(default: data.xyz beside it)."),
    max_labels: int = typer.Option(50, "--max-labels", help="On the fly: reference calculations at most."),
    retrain_steps: int = typer.Option(200, "--retrain-steps", help="On the fly: Adam steps per member per label."),
    retrain_lr: float = typer.Option(1e-3, "--retrain-lr", help="On the fly: Adam learning rate of the retraining."),
    recalibrate: bool = typer.Option(False, "--recalibrate", help="On the fly: refit the calibration's scale on "
                                     "each labelled frame (scored before retraining)."),
    resume: bool = typer.Option(False, "--resume", help="On the fly: continue the run in --out."),
    log_every: int = typer.Option(10, "--log-every", help="Thermo row every N steps."),
    traj_every: int = typer.Option(10, "--traj-every", help="Trajectory frame every N steps."),
    frame: int = typer.Option(0, "--frame", help="Which frame of START to use."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda (trained models and chgnet)."),
    dtype: str = typer.Option("float64", "--dtype", help="Evaluation precision of a trained model: float64 or float32."),
    threads: int = options.threads(1, "CPU threads of a trained model's evaluation."),
    seed: int = _SEED,
    quiet: bool = _QUIET,
) -> None:
    """Run MD with ASE's integrators: NVE (velocity Verlet), NVT (Langevin, Bussi), NPT (MTK)."""
    from nnsurrogate.atomistic.md import MDOptions, first_evaluation, plot_thermo, run_md
    from nnsurrogate.atomistic.sampling import read_structures, supercell as repeat
    from nnsurrogate.core.files import write_json

    frames = read_structures(start)
    if not -len(frames) <= frame < len(frames):
        raise UserInputError(f"--frame {frame} is out of range ({len(frames)} frames)", str(start))
    atoms = repeat(frames[frame], parse_int_list(supercell, "--supercell"))
    options = MDOptions(ensemble=ensemble, temperature=temperature, timestep=timestep, steps=steps,
                        thermostat=thermostat, friction=friction, taut=taut, pressure=pressure, taup=taup,
                        barostat=barostat, max_force=max_force, max_energy_change=max_energy_change,
                        min_distance=min_distance or 0.0, max_temperature=max_temperature,
                        max_force_std=max_force_std, log_every=log_every, traj_every=traj_every, seed=seed)
    options.validate(atoms)
    if threads < 1:
        raise UserInputError(f"--threads must be ≥ 1, got {threads}", "--threads")
    calculator = resolve_calculator(model, device, dtype, threads)
    _set_torch_threads(calculator, atoms, threads)
    options = _with_distance_guard(options, calculator, min_distance)
    probe = atoms.copy()
    probe.calc = calculator
    first_evaluation(probe, str(start))
    if label_on_the_fly is not None:
        return _on_the_fly(model, atoms, train_data, options, label_on_the_fly, max_labels, retrain_steps, retrain_lr,
                           out, resume, quiet, recalibrate)
    if recalibrate:
        raise UserInputError("--recalibrate refits the calibration of an on-the-fly run; add --label-on-the-fly",
                             "--recalibrate")
    if resume:
        raise UserInputError("--resume continues an on-the-fly run; add --label-on-the-fly", "--resume")
    _fresh_md_folder(out)
    with progress_bar(f"MD {ensemble.upper()} {len(atoms)} atoms", not quiet) as bar:
        result = run_md(atoms, calculator, options, out / "trajectory.xyz", out / "thermo.csv", bar)
    _write_md_outputs(out, result, options, model, str(start), plot_thermo, write_json)
    console.print(f"{result.steps_done} steps of {len(atoms)} atoms, {result.atom_steps_per_s:,.0f} atom-steps/s; "
                  f"written to {out}/")
    if result.stopped:
        print(f"error: MD stopped: {result.stopped}; the last good frame (step {result.steps_done}) is "
              f"{out / 'last_good.xyz'} (try a smaller --timestep, check the model, or loosen that guard)",
              file=sys.stderr)
        raise typer.Exit(1)


def _on_the_fly(model, atoms, train_data, options, calculator_name, max_labels, retrain_steps, retrain_lr, out,
                resume, quiet, recalibrate=False) -> None:
    """``--label-on-the-fly``: MD that labels, retrains and goes on (see :mod:`nnsurrogate.atomistic.on_the_fly`)."""
    from nnsurrogate.atomistic.on_the_fly import OnTheFlyConfig
    from nnsurrogate.recipes.on_the_fly import on_the_fly_run

    if options.max_force_std is None:
        raise UserInputError("--label-on-the-fly needs --uncertainty-stop X: the spread (eV/Å) above which a frame "
                             "is labelled", "--uncertainty-stop")
    config = OnTheFlyConfig(calculator=calculator_name, threshold=options.max_force_std, max_labels=max_labels,
                            retrain_steps=retrain_steps, learning_rate=retrain_lr, recalibrate=recalibrate)
    with progress_bar(f"on-the-fly MD {len(atoms)} atoms", not quiet) as bar:
        summary = on_the_fly_run(model, atoms, train_data, options, config, out, resume, bar)
    console.print(f"{summary['steps_done']} steps of {summary['n_atoms']} atoms, {summary['n_labels']} frames labelled "
                  f"with {calculator_name}; written to {out}/")
    if summary["status"] != "finished":
        print(f"error: MD stopped: {summary['stopped']}; the last good frame is {out / 'last_good.xyz'}",
              file=sys.stderr)
        raise typer.Exit(1)


def _set_torch_threads(calculator, atoms, threads: int) -> None:
    """PyTorch's threads for the whole run (resizing its pool around every step would cost): one when a
    trained model splits the cell into parallel blocks itself, else *threads*."""
    import torch

    blocks = getattr(calculator, "parallel_blocks", None)
    torch.set_num_threads(1 if blocks is not None and blocks(atoms) > 1 else threads)


def _fresh_md_folder(out: Path) -> None:
    """Create *out*, removing the end frame of an earlier run (a new run writes its own)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("final.xyz", "last_good.xyz", "uncertainty.csv", "uncertain.xyz"):
        (out / stale).unlink(missing_ok=True)


def _with_distance_guard(options, calculator, given: float | None):
    """*options* with ``min_distance`` from the model's training frames unless the user gave one."""
    from dataclasses import replace

    from nnsurrogate.atomistic.md import MIN_DISTANCE_FACTOR

    shortest = getattr(calculator, "shortest_training_distance", None)
    if given is not None or not shortest:
        return options
    return replace(options, min_distance=MIN_DISTANCE_FACTOR * shortest)


def _write_md_outputs(out: Path, result, options, model: str, start: str, plot_thermo, write_json) -> None:
    from ase.io import write

    from nnsurrogate.core.files import atomic_path

    name = "last_good.xyz" if result.stopped else "final.xyz"
    with atomic_path(out / name) as tmp:
        write(tmp, result.last_good, format="extxyz")
    if result.stop_kind == "spread" and result.flagged is not None:  # the configuration to label next
        with atomic_path(out / "uncertain.xyz") as tmp:
            write(tmp, result.flagged, format="extxyz")
    thermo = result.thermo
    summary = {"model": model, "start": start, "n_atoms": result.n_atoms, "steps_requested": options.steps,
               "steps_done": result.steps_done, "stopped": result.stopped, "stop_kind": result.stop_kind,
               "wall_s": result.wall_s,
               "atom_steps_per_s": result.atom_steps_per_s, "max_force_eV_A": result.max_force,
               "options": dict(options.__dict__)}
    if len(result.uncertainty):
        from nnsurrogate.atomistic.md import plot_uncertainty, write_uncertainty

        write_uncertainty(out / "uncertainty.csv", result.uncertainty, options.timestep)
        summary["max_force_std_eV_A"] = float(result.uncertainty[:, 1].max())
        if len(result.uncertainty) > 1:
            plot_uncertainty(out / "plots" / "uncertainty.png", result.uncertainty, options.timestep,
                             options.max_force_std)
    if len(thermo):
        summary["mean_temperature_K"] = float(thermo[:, 5].mean())
        summary["final"] = dict(zip(("step", "time_fs", "epot_eV", "ekin_eV", "etot_eV", "temperature_K",
                                     "pressure_GPa"), map(float, thermo[-1])))
        if len(thermo) > 1:
            plot_thermo(out / "plots" / "thermo.png", thermo)
    write_json(out / "md.json", summary)


def audit(
    model: str = typer.Argument(..., help="Trained model (folder or nep.txt) or ase:NAME."),
    test: Path = typer.Argument(..., help="Labelled test frames (extended XYZ with energy and forces)."),
    out: Path = typer.Option(..., "--out", help="Output folder for audit.json."),
    train_metrics: Path = typer.Option(None, "--train-metrics", help="metrics.json with the training errors "
                                       "(default: the one beside MODEL)."),
    max_energy_mae: float = typer.Option(5.0, "--max-energy-mae", help="Limit on the test energy MAE, meV/atom."),
    max_force_mae: float = typer.Option(100.0, "--max-force-mae", help="Limit on the test force MAE, meV/Å."),
    max_drift: float = typer.Option(1.0, "--max-drift", help="Limit on the NVE drift, meV/atom/ps."),
    temperature: float = typer.Option(300.0, "--temperature", help="Start temperature of the NVE run, K."),
    heated_temperature: float = typer.Option(1000.0, "--heated-temperature", help="Temperature of the heated MD, K."),
    nve_steps: int = typer.Option(400, "--nve-steps", help="Steps of the NVE run."),
    heated_steps: int = typer.Option(400, "--heated-steps", help="Steps of the heated run."),
    timestep: float = typer.Option(None, "--timestep", help="MD time step, fs (default 1, or 0.5 with H)."),
    max_force: float = typer.Option(10.0, "--max-force", help="Largest force allowed in the heated MD, eV/Å."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda (trained models and chgnet)."),
    seed: int = _SEED,
    quiet: bool = _QUIET,
) -> None:
    """Check a potential: errors, NVE drift, invariances, Σ F = 0, −∂E/∂r, heated MD. Exit code 1 if any check fails."""
    from nnsurrogate.atomistic.audit import AuditOptions, read_train_metrics, run_audit, train_metrics_from, write_audit
    from nnsurrogate.atomistic.data import read_frames

    options = AuditOptions(max_energy_mae=max_energy_mae, max_force_mae=max_force_mae, max_drift=max_drift,
                           temperature=temperature, heated_temperature=heated_temperature, nve_steps=nve_steps,
                           heated_steps=heated_steps, timestep=timestep, max_force=max_force, seed=seed)
    options.validate()
    frames = read_frames(test)
    if train_metrics is not None:
        train = train_metrics_from(train_metrics)
    else:
        train = None if model.startswith("ase:") else read_train_metrics(model)
    calculator = resolve_calculator(model, device)
    with stage_status(not quiet) as say:
        report = run_audit(calculator, frames, options, train, say)
    write_audit(out / "audit.json", report, {"model": model, "test": str(test), "train_metrics": train})
    console.print(audit_table(report, f"audit of {model} on {len(frames)} test frames"))
    verdict = "[green]passed[/green]" if report.passed else f"[red]{len(report.failed)} check(s) FAILED[/red]"
    console.print(f"audit {verdict}; written to {out / 'audit.json'}")
    if not report.passed:
        raise typer.Exit(1)


def audit_table(report, title: str):
    """A rich table: check, value, limit, result."""
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for column, justify in (("check", "left"), ("value", "right"), ("limit", "right"), ("result", "left")):
        table.add_column(column, justify=justify)
    for c in report.checks:
        value = "—" if c.value is None else f"{c.value:.3g} {c.unit}"
        limit = (f"{c.limit[0]:g}–{c.limit[1]:g}" if c.comparison == "within" else f"≤ {c.limit:g}") \
            if c.limit is not None else ""
        result = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "[dim]n/a[/dim]"}[c.passed]
        detail = c.detail.removeprefix("not applicable: ")
        note = f" [dim]{detail}[/dim]" if detail and c.passed is not True else ""
        table.add_row(c.title, value, limit, result + note)
    return table


def label(
    data: Path = typer.Argument(..., help="Frames to label (extended XYZ or any format ASE reads)."),
    calculator: str = typer.Option(..., "--calculator", help="emt, lj, xtb, pyscf or chgnet."),
    out: Path = typer.Option(..., "--out", help="Labelled extended XYZ (energy, forces, stress)."),
    pyscf_xc: str = _XC, pyscf_basis: str = _BASIS, xtb_method: str = _XTB, charge: int = _CHARGE,
    spin: int = _SPIN, lj_sigma: float = _SIGMA, lj_epsilon: float = _EPSILON, device: str = _DEVICE,
    scheduler: str = _SCHEDULER, workers: int = _WORKERS,
    retries: int = typer.Option(1, "--retries", help="Resubmissions of a failed frame before it is reported."),
    quiet: bool = _QUIET,
) -> None:
    """Compute reference energies, forces and stresses through Dask; resumable; failures retried, then reported."""
    from nnsurrogate.atomistic.labelers import labeler
    from nnsurrogate.atomistic.sampling import read_structures

    from nnsurrogate.core.files import refuse_overwriting

    refuse_overwriting(out, data)
    frames = read_structures(data)
    spec = labeler(calculator, pyscf_xc=pyscf_xc, pyscf_basis=pyscf_basis, xtb_method=xtb_method, charge=charge,
                   spin=spin, lj_sigma=lj_sigma, lj_epsilon=lj_epsilon, device=device)
    _label_and_report(frames, spec, out, scheduler, workers, retries, quiet)


def _label_and_report(frames, spec, out: Path, scheduler, workers: int, retries: int, quiet: bool) -> None:
    from nnsurrogate.atomistic.labeling import label_frames

    try:
        with progress_bar(f"labeling with {spec.describe()}", not quiet) as bar:
            report = label_frames(frames, spec, out, scheduler=scheduler, workers=workers, retries=retries,
                                  progress=bar)
    except KeyboardInterrupt:
        print(f"error: interrupted; finished frames are kept in {out}.parts/ and the same command continues "
              "from there", file=sys.stderr)
        raise typer.Exit(1) from None
    resumed = f" ({report.n_resumed} from an earlier run)" if report.n_resumed else ""
    retried = f"; {len(report.retried)} succeeded on retry" if report.retried else ""
    where = f"written to {out}" if report.n_written else "nothing written"
    console.print(f"labelled {report.n_written} of {report.n_frames} frames{resumed}{retried} in "
                  f"{report.wall_s:.1f} s; {where}")
    if report.failed:
        for item in report.failed[:10]:
            print(f"  frame {item['index']}: {item['error']}", file=sys.stderr)
        print(f"error: {len(report.failed)} frame(s) failed after {retries + 1} attempt(s); listed in "
              f"{report.failed_path} (rerun the same command to retry only those)", file=sys.stderr)
        raise typer.Exit(1)


def sample(
    structure: str = typer.Argument(..., help="A structure file, an ASE bulk crystal (Cu, Si:diamond:5.43) or "
                                    "molecule:NAME."),
    out: Path = typer.Option(..., "--out", help="Output extended XYZ."),
    supercell: str = typer.Option("1,1,1", "--supercell", help="Repeat the cell, e.g. 2,2,2."),
    cubic: bool = typer.Option(False, "--cubic", help="Conventional cubic cell for ASE bulk crystals."),
    n_rattle: int = typer.Option(10, "--n-rattle", help="Rattled and strained copies per structure."),
    rattle: float = typer.Option(0.05, "--rattle", help="Standard deviation of the displacements, Å."),
    strain: float = typer.Option(0.03, "--strain", help="Largest strain component."),
    calculator: str = typer.Option(None, "--calculator", help="Reference calculator for the MD snapshots "
                                   "(emt, lj, xtb, pyscf, chgnet); without it, no MD."),
    temperatures: str = typer.Option("300", "--temperatures", help="MD temperatures, K, e.g. 300,600,900."),
    md_steps: int = typer.Option(200, "--md-steps", help="MD steps per temperature."),
    md_every: int = typer.Option(20, "--md-every", help="Keep a snapshot every N steps."),
    timestep: float = typer.Option(None, "--timestep", help="MD time step, fs (default 1, or 0.5 with H)."),
    do_label: bool = typer.Option(False, "--label", help="Also label every frame with --calculator."),
    pyscf_xc: str = _XC, pyscf_basis: str = _BASIS, xtb_method: str = _XTB, charge: int = _CHARGE,
    spin: int = _SPIN, lj_sigma: float = _SIGMA, lj_epsilon: float = _EPSILON, device: str = _DEVICE,
    scheduler: str = _SCHEDULER, workers: int = _WORKERS,
    seed: int = _SEED,
    quiet: bool = _QUIET,
) -> None:
    """Make starting configurations: rattled and strained supercells, short MD with a reference calculator."""
    from nnsurrogate.atomistic.labelers import labeler
    from nnsurrogate.atomistic.sampling import SampleOptions, build_structure, sample as make_samples, supercell as rep

    repeat = parse_int_list(supercell, "--supercell")
    structures = [rep(atoms, repeat) for atoms in build_structure(structure, cubic=cubic)]
    options = SampleOptions(n_rattle=n_rattle, rattle=rattle, max_strain=strain,
                            temperatures=parse_float_list(temperatures, "--temperatures"), md_steps=md_steps,
                            md_every=md_every, timestep=timestep, seed=seed)
    options.validate()
    if do_label and calculator is None:
        raise UserInputError("--label needs --calculator", "--label")
    spec = None
    if calculator is not None:
        spec = labeler(calculator, pyscf_xc=pyscf_xc, pyscf_basis=pyscf_basis, xtb_method=xtb_method,
                       charge=charge, spin=spin, lj_sigma=lj_sigma, lj_epsilon=lj_epsilon, device=device)
        for k, atoms in enumerate(structures):
            spec.check_structure(atoms, f"{structure}, structure {k}")
    with progress_bar("MD snapshots", not quiet and spec is not None and md_steps > 0) as bar:
        frames = make_samples(structures, options, spec() if spec is not None and md_steps > 0 else None, bar)
    if not frames:
        raise UserInputError("nothing to write: --n-rattle is 0 and no MD was run", "--n-rattle")
    if do_label:
        _label_and_report(frames, spec, out, scheduler, workers, 1, quiet)
        return
    _write_frames(out, frames)
    console.print(f"wrote {len(frames)} unlabelled frames to {out} (label them with 'nnsurrogate potential label')")


def _write_frames(out: Path, frames: list) -> None:
    from ase.io import write

    from nnsurrogate.core.files import atomic_path

    with atomic_path(out) as tmp:
        write(tmp, frames, format="extxyz")


def resolve_calculator(model: str, device: str = "cpu", dtype: str = "float64", threads: int | None = None):
    """An ASE calculator for MODEL: ``ase:NAME`` (a reference calculator), a universal pretrained model
    by name (``sevennet-0``, ``chgnet``: zero-shot, with the weights its package ships) or a trained
    model path (evaluated on *threads* PyTorch threads; default: leave the setting alone)."""
    from nnsurrogate.atomistic.labelers import labeler, pretrained_name

    if model.startswith("ase:") or pretrained_name(model):
        return labeler(model[4:] if model.startswith("ase:") else pretrained_name(model), device=device)()
    path = Path(model)
    if not path.exists():
        raise UserInputError("model not found (a run folder, model/ folder, nep.txt, sevennet-0, chgnet, or "
                             "ase:emt …)", model)
    from nnsurrogate.atomistic.calculator import load_calculator

    calc = load_calculator(path, device=device, dtype=dtype, threads=threads)
    if getattr(calc, "tensor_kind", None):  # the simulation commands need energies and forces
        raise UserInputError(f"this is a tensorial NEP: it predicts the {calc.tensor_kind}, not energies and forces",
                             model)
    return calc


@contextlib.contextmanager
def stage_status(enabled: bool = True) -> Iterator[Callable[[str], None] | None]:
    """A rich status line on stderr naming the current stage (``None`` when disabled)."""
    if not enabled:
        yield None
        return
    from rich.console import Console

    with Console(file=sys.stderr).status("auditing") as status:
        yield lambda stage: status.update(f"audit: {stage}")
