"""Molecular dynamics through ASE's integrators, with a watchdog that stops a run that blows up.

Any ASE calculator drives the dynamics (a trained potential, EMT, xTB, …). Ensembles:

- ``nve``: velocity Verlet (Swope et al., J. Chem. Phys. 76, 637 (1982)).
- ``nvt``: Langevin (ASE's ``Langevin``, friction γ) or the Bussi stochastic velocity rescaling
  thermostat (Bussi, Donadio & Parrinello, J. Chem. Phys. 126, 014101 (2007); ``Bussi``, time τ_T).
- ``npt``: the Martyna–Tobias–Klein barostat with Nosé–Hoover chains (J. Chem. Phys. 101, 4177 (1994);
  ASE's ``IsotropicMTKNPT`` for isotropic cell fluctuations, ``MTKNPT`` for a fully flexible cell).

After every step the watchdog looks at the forces and the energy. The run stops, keeping the last
good frame, when any atom's force exceeds ``max_force`` (eV/Å), when the energy or forces are not
finite, when the total energy per atom drifts from its start by more than ``max_energy_change``
(eV/atom), when the calculator raises, or on Ctrl-C.

The thermo log holds per logged step: time (fs), E_pot, E_kin, E_tot (eV), T (K) and P (GPa, from
the virial and the ideal-gas term, P = −tr(σ)/3; empty for non-periodic systems or calculators
without stress).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import ase
import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator
from ase.calculators.singlepoint import SinglePointCalculator

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.neighbors import shortest_distance
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import UserInputError

ENSEMBLES = ("nve", "nvt", "npt")
THERMOSTATS = ("langevin", "bussi")
BAROSTATS = ("isotropic", "full")
THERMO_COLUMNS = ("step", "time_fs", "epot_eV", "ekin_eV", "etot_eV", "temperature_K", "pressure_GPa")


@dataclass(frozen=True)
class MDOptions:
    """Settings of one MD run (units: K, fs, GPa, eV/Å, eV/atom).

    ``friction`` is the Langevin friction in 1/fs; ``taut`` and ``taup`` are the thermostat and
    barostat time constants in fs. ``log_every`` / ``traj_every`` / ``keep_every`` set how often a
    thermo row, a trajectory frame and an in-memory snapshot are taken (0: never). ``first_step``
    numbers the start (a run continued in segments keeps one time line and one output grid).

    The guards stop the run, keeping the last good frame, when any force exceeds ``max_force``
    (eV/Å), the total energy per atom moves by more than ``max_energy_change`` (eV/atom), two atoms
    come closer than ``min_distance`` (Å; 0: off; ``potential md`` sets it to
    :data:`MIN_DISTANCE_FACTOR` × the shortest distance in the model's training frames), the
    temperature exceeds ``max_temperature`` (K; ``None``: :func:`runaway_temperature` of the target)
    or, with a committee, the largest per-atom force spread exceeds ``max_force_std`` (eV/Å; ``None``:
    off).
    """

    ensemble: str = "nve"
    temperature: float = 300.0
    timestep: float = 1.0
    steps: int = 1000
    thermostat: str = "langevin"
    friction: float = 0.01
    taut: float = 100.0
    pressure: float = 0.0
    taup: float = 1000.0
    barostat: str = "isotropic"
    max_force: float = 10.0
    max_energy_change: float = 1.0
    min_distance: float = 0.0
    max_temperature: float | None = None
    max_force_std: float | None = None
    log_every: int = 10
    traj_every: int = 10
    keep_every: int = 0
    keep_velocities: bool = False
    seed: int | None = 0
    first_step: int = 0

    def validate(self, atoms: Atoms) -> None:
        """Raise :class:`UserInputError` (naming the setting) for settings that cannot run on *atoms*."""
        # "ensemble" alone would read as the committee size in the command line's vocabulary
        _choice(self.ensemble, ENSEMBLES, "ensemble", "MD ensemble")
        _choice(self.thermostat, THERMOSTATS, "thermostat")
        _choice(self.barostat, BAROSTATS, "barostat")
        for name in ("timestep", "max_force", "max_energy_change", "friction", "taut", "taup"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise UserInputError(f"{name} must be a positive number, got {value}", name)
        for name in ("max_temperature", "max_force_std"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise UserInputError(f"{name} must be a positive number, got {value}", name)
        if not (math.isfinite(self.min_distance) and self.min_distance >= 0):
            raise UserInputError(f"min_distance must be ≥ 0 Å, got {self.min_distance}", "min_distance")
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise UserInputError(f"temperature must be ≥ 0 K, got {self.temperature}", "temperature")
        if self.ensemble == "nvt" and self.thermostat == "bussi" and self.temperature <= 0:
            raise UserInputError("the Bussi thermostat needs a temperature above 0 K", "temperature")
        if self.steps < 0 or self.first_step < 0:
            raise UserInputError(f"steps must be ≥ 0, got {min(self.steps, self.first_step)}", "steps")
        for name in ("log_every", "traj_every", "keep_every"):
            if getattr(self, name) < 0:
                raise UserInputError(f"output intervals must be ≥ 0, got {name} = {getattr(self, name)}", name)
        if self.ensemble == "npt" and not all(atoms.pbc):
            raise UserInputError("NPT needs a cell periodic in all three directions", "MD ensemble npt")
        if len(atoms) == 0:
            raise UserInputError("the structure has no atoms", "start structure")


@dataclass
class MDResult:
    """Outcome of :func:`run_md`.

    ``thermo`` has one row per logged step with the columns of :data:`THERMO_COLUMNS`;
    ``frames`` holds the kept snapshots (with energy and forces); ``stopped`` is the reason the
    watchdog ended the run early, or ``None``, and ``stop_kind`` which guard it was (``force``,
    ``energy``, ``distance``, ``temperature``, ``spread``, ``calculator``, ``interrupted``);
    ``last_good`` is the last frame that passed and ``flagged`` the configuration that failed (no
    labels; for on-the-fly labelling). With a committee, ``uncertainty`` has one row per step:
    step, largest per-atom force spread (eV/Å) and the atom it sits on.
    """

    steps_done: int
    n_atoms: int
    wall_s: float
    max_force: float
    stopped: str | None
    last_good: Atoms
    thermo: np.ndarray
    frames: list[Atoms] = field(default_factory=list)
    stop_kind: str | None = None
    flagged: Atoms | None = None
    uncertainty: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))

    @property
    def atom_steps_per_s(self) -> float:
        """Atoms × steps per wall-clock second (the MD speed measure of GPUMD and LAMMPS)."""
        return self.n_atoms * self.steps_done / self.wall_s if self.wall_s > 0 else float("nan")


def run_md(atoms: Atoms, calculator: Calculator, options: MDOptions, trajectory: str | Path | None = None,
           thermo_path: str | Path | None = None, progress: Progress | None = None) -> MDResult:
    """Run MD on a copy of *atoms* with *calculator*.

    Parameters
    ----------
    atoms : ase.Atoms
        Start structure, positions in Å. Not modified.
    calculator : ase.calculators.calculator.Calculator
        Gives energy (eV) and forces (eV/Å); stress (eV/Å³) for NPT and for the pressure column.
    options : MDOptions
    trajectory, thermo_path : path, optional
        Extended-XYZ trajectory and CSV thermo log, appended as the run goes.
    progress : callable, optional
        The progress protocol ``progress(step, steps, metrics)``, called every ``max(1, steps // 200)``
        steps and at the last one; *metrics*: ``time_fs``, ``epot_eV`` (eV), ``temperature_K`` (K).

    Returns
    -------
    MDResult
    """
    options.validate(atoms)
    system = atoms.copy()
    system.calc = calculator
    first_evaluation(system, "start structure")
    rng = np.random.default_rng(options.seed)
    _initial_velocities(system, options, rng)
    dyn = make_integrator(system, options, rng)
    watch = _Watchdog(system, options)
    every = max(1, options.steps // 200)
    with _Outputs(trajectory, thermo_path) as out:
        start = time.perf_counter()
        for _ in _guarded(dyn, options.steps, watch):
            step = dyn.nsteps + options.first_step
            if watch.check(step) is not None:
                break
            out.record(watch, step, options, dyn.dt / units.fs)
            if progress is not None and (dyn.nsteps % every == 0 or dyn.nsteps == options.steps):
                progress(dyn.nsteps, options.steps, _step_metrics(watch, step, dyn.dt / units.fs))
        wall = time.perf_counter() - start
    return MDResult(steps_done=watch.good_step - options.first_step, n_atoms=len(system), wall_s=wall, max_force=watch.max_force,
                    stopped=watch.reason, last_good=watch.last_good, thermo=np.array(out.rows).reshape(-1, 7),
                    frames=out.kept, stop_kind=watch.kind, flagged=watch.flagged,
                    uncertainty=np.array(watch.spread).reshape(-1, 3))


def make_integrator(atoms: Atoms, options: MDOptions, rng: np.random.Generator):
    """The ASE dynamics object for ``options.ensemble`` (time step and constants converted to ASE units)."""
    import ase.md

    dt = options.timestep * units.fs
    if options.ensemble == "nve":
        return ase.md.VelocityVerlet(atoms, timestep=dt)
    if options.ensemble == "nvt" and options.thermostat == "langevin":
        return ase.md.Langevin(atoms, timestep=dt, temperature_K=options.temperature,
                               friction=options.friction / units.fs, fixcm=False, rng=rng)
    name = {"nvt": "Bussi", "isotropic": "IsotropicMTKNPT", "full": "MTKNPT"}[
        "nvt" if options.ensemble == "nvt" else options.barostat]
    if not hasattr(ase.md, name):
        raise UserInputError(f"ASE {ase.__version__} has no {name} integrator; upgrade ASE (pip install -U ase)",
                             f"MD ensemble {options.ensemble}")
    if options.ensemble == "nvt":
        return ase.md.Bussi(atoms, timestep=dt, temperature_K=options.temperature, taut=options.taut * units.fs,
                            rng=rng)
    npt = getattr(ase.md, name)
    return npt(atoms, timestep=dt, temperature_K=options.temperature, pressure_au=options.pressure * units.GPa,
               tdamp=options.taut * units.fs, pdamp=options.taup * units.fs)


def first_evaluation(atoms: Atoms, where: str) -> None:
    """Evaluate energy and forces once; a calculator that cannot handle *atoms* is a :class:`UserInputError`."""
    try:
        atoms.get_forces()
        atoms.get_potential_energy()
    except (KeyboardInterrupt, UserInputError):
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. EMT has no parameters for an element
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserInputError(f"the calculator cannot evaluate this structure: {text}", where) from exc


def thermo_row(atoms: Atoms, step: int, time_fs: float) -> list[float]:
    """``[step, time_fs, E_pot, E_kin, E_tot, T, P]`` for *atoms* with its calculator attached (eV, K, GPa)."""
    epot = float(atoms.get_potential_energy())
    ekin = float(atoms.get_kinetic_energy())
    return [step, time_fs, epot, ekin, epot + ekin, float(atoms.get_temperature()), _pressure_gpa(atoms)]


def _pressure_gpa(atoms: Atoms) -> float:
    calc = atoms.calc
    if not all(atoms.pbc) or calc is None or keys.STRESS not in getattr(calc, "implemented_properties", ()):
        return float("nan")
    stress = atoms.get_stress(include_ideal_gas=True)
    return float(-stress[:3].mean() / units.GPa)


def _initial_velocities(atoms: Atoms, options: MDOptions, rng: np.random.Generator) -> None:
    """Maxwell–Boltzmann velocities at the target temperature, no centre-of-mass drift (nor rotation for molecules)."""
    from ase.md.velocitydistribution import Stationary, ZeroRotation

    if options.keep_velocities and atoms.has("momenta"):
        return
    atoms.set_momenta(np.zeros((len(atoms), 3)))
    if options.temperature <= 0 or len(atoms) < 2:
        return
    try:
        from ase.md import thermalize_momenta  # ASE ≥ 3.29
    except ImportError:
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

        MaxwellBoltzmannDistribution(atoms, temperature_K=options.temperature, rng=rng, force_temp=True)
    else:
        thermalize_momenta(atoms, options.temperature, exact_temperature=True, rng=rng)
    Stationary(atoms)
    if not any(atoms.pbc):
        ZeroRotation(atoms)


#: ``potential md`` stops when two atoms come closer than this times the shortest training distance.
MIN_DISTANCE_FACTOR = 0.75


def runaway_temperature(target: float) -> float:
    """The default ``max_temperature`` (K): max(5 T, T + 2000 K) for a target (or initial) temperature T.

    Far above the fluctuations of an equilibrated run (for 4 atoms, 12 degrees of freedom, the
    kinetic temperature exceeds 5 T with a probability of 2e-8 per step), far below what a blown-up
    model reaches.
    """
    return max(5.0 * target, target + 2000.0)


def _choice(value: str, allowed: tuple[str, ...], setting: str, where: str | None = None) -> None:
    if value not in allowed:
        raise UserInputError(f"{setting} must be one of {', '.join(allowed)}, got '{value}'", where or setting)


def _step_metrics(watch: "_Watchdog", step: int, dt_fs: float) -> dict[str, float]:
    """Time (fs), potential energy (eV) and temperature (K) of the state the watchdog just passed."""
    return {"time_fs": step * dt_fs, "epot_eV": watch.epot, "temperature_K": float(watch.atoms.get_temperature())}


def _guarded(dyn, steps: int, watch: "_Watchdog"):
    """Iterate ``dyn.irun(steps)``; a calculator exception or Ctrl-C becomes the watchdog's stop reason."""
    iterator = dyn.irun(steps)
    while True:
        try:
            next(iterator)
        except StopIteration:
            return
        except UserInputError:
            raise
        except KeyboardInterrupt:
            watch.fail(f"interrupted by the user at step {dyn.nsteps}", "interrupted")
            return
        except Exception as exc:  # noqa: BLE001 - any calculator failure ends the run cleanly
            watch.fail(f"the calculator failed at step {dyn.nsteps + 1}: {type(exc).__name__}: {exc}", "calculator")
            return
        yield


class _Watchdog:
    """Checks each step's forces and energy; remembers the last state that passed.

    It reads the results the integrator has just computed (one ``get_forces`` per step, no extra
    evaluation) and stores plain arrays; :attr:`last_good` rebuilds the frame when asked.
    """

    def __init__(self, atoms: Atoms, options: MDOptions) -> None:
        self.atoms = atoms
        self.options = options
        self.reason: str | None = None
        self.kind: str | None = None
        self.flagged: Atoms | None = None
        self.spread: list[tuple[int, float, int]] = []
        self.good_step = options.first_step
        self.max_force = 0.0
        self.epot = self.ekin = float("nan")
        self._template = atoms.copy()
        self._template.calc = None
        self._good: tuple | None = None
        self._etot0: float | None = None
        self.dof = 3 * len(atoms)
        self.max_temperature = (options.max_temperature if options.max_temperature is not None
                                else runaway_temperature(options.temperature))

    def check(self, step: int) -> str | None:
        """Return the stop reason for the current state, or ``None`` (and remember it as good)."""
        atoms = self.atoms
        forces = atoms.get_forces()
        results = atoms.calc.results
        epot = float(results[keys.ENERGY]) if keys.ENERGY in results else float(atoms.get_potential_energy())
        ekin = float(atoms.get_kinetic_energy())
        etot = (epot + ekin) / len(atoms)
        norms = np.linalg.norm(forces, axis=1)
        spread = results.get(keys.FORCES_STD)
        if spread is not None and len(spread):
            self.spread.append((step, float(np.max(spread)), int(np.argmax(spread))))
        if not (np.all(np.isfinite(norms)) and math.isfinite(etot)):
            return self.fail(f"non-finite energy or forces at step {step}", "force")
        worst = int(np.argmax(norms))
        self.max_force = max(self.max_force, float(norms[worst]))
        if norms[worst] > self.options.max_force:
            return self.fail(f"force of {norms[worst]:.3g} eV/Å on atom {worst} at step {step} exceeds "
                             f"{self.options.max_force:g} eV/Å", "force")
        self._etot0 = etot if self._etot0 is None else self._etot0
        if abs(etot - self._etot0) > self.options.max_energy_change:
            return self.fail(f"total energy moved by {etot - self._etot0:+.3g} eV/atom by step {step} "
                             f"(limit {self.options.max_energy_change:g} eV/atom)", "energy")
        reason = self._geometry_and_spread(step, ekin, results)
        if reason is not None:
            return self.fail(*reason)
        self.good_step, self.epot, self.ekin = step, epot, ekin
        labels = {keys.ENERGY: epot, keys.FORCES: np.array(forces)}
        if keys.STRESS in results:
            labels[keys.STRESS] = np.array(results[keys.STRESS])
        self._good = (atoms.positions.copy(), atoms.get_momenta(), atoms.cell[:].copy(), labels)
        return None

    def _geometry_and_spread(self, step: int, ekin: float, results: dict) -> tuple[str, str] | None:
        """The closest-pair, temperature and committee-spread guards (see :class:`MDOptions`): the
        reason and the guard's kind, or ``None``."""
        options, atoms = self.options, self.atoms
        if options.min_distance > 0 and results.get(keys.SHORTEST_PAIR, 0.0) < options.min_distance:
            # the calculator's own neighbour list says nothing is that close (a trained model
            # reports it); other calculators, and a real approach, are checked with vesin
            pair = shortest_distance(atoms, options.min_distance, "MD")
            if pair is not None:
                return (f"atoms {pair[1]} and {pair[2]} are {pair[0]:.2f} Å apart at step {step} "
                        f"(min_distance {options.min_distance:.2f} Å)", "distance")
        temperature = 2.0 * ekin / (self.dof * units.kB) if self.dof else 0.0
        if temperature > self.max_temperature:
            return (f"temperature {temperature:.0f} K at step {step} exceeds {self.max_temperature:.0f} K "
                    "(max_temperature)", "temperature")
        spread = results.get(keys.FORCES_STD)
        if options.max_force_std is not None and spread is not None and float(np.max(spread)) > options.max_force_std:
            worst = int(np.argmax(spread))
            return (f"committee force spread {float(spread[worst]):.3g} eV/Å on atom {worst} at step {step} exceeds "
                    f"{options.max_force_std:g} eV/Å (uncertainty stop)", "spread")
        return None

    def fail(self, reason: str, kind: str = "calculator") -> str:
        """Stop with *reason*; the configuration that failed is kept (without labels) as :attr:`flagged`."""
        self.reason, self.kind = reason, kind
        self.flagged = Atoms(numbers=self.atoms.numbers, positions=self.atoms.positions.copy(),
                             cell=self.atoms.cell[:].copy(), pbc=self.atoms.pbc.copy())
        return reason

    @property
    def last_good(self) -> Atoms:
        """The last state that passed, with momenta and a ``SinglePointCalculator`` of its results."""
        frame = self._template.copy()
        if self._good is not None:
            positions, momenta, cell, labels = self._good
            frame.set_cell(cell)
            frame.positions = positions
            frame.set_momenta(momenta)
            frame.calc = SinglePointCalculator(frame, **labels)
        return frame


class _Outputs:
    """Trajectory (extxyz), thermo CSV and in-memory snapshots, written as the run goes."""

    def __init__(self, trajectory: str | Path | None, thermo_path: str | Path | None) -> None:
        self.paths = (trajectory, thermo_path)
        self.rows: list[list[float]] = []
        self.kept: list[Atoms] = []
        self._traj = self._thermo = None

    def __enter__(self) -> "_Outputs":
        trajectory, thermo_path = self.paths
        if trajectory is not None:
            self._traj = open(trajectory, "w", encoding="utf-8")
        if thermo_path is not None:
            self._thermo = open(thermo_path, "w", encoding="utf-8")
            self._thermo.write(",".join(THERMO_COLUMNS) + "\n")
        return self

    def __exit__(self, *exc) -> None:
        for handle in (self._traj, self._thermo):
            if handle is not None:
                handle.close()

    def record(self, watch: _Watchdog, step: int, options: MDOptions, dt_fs: float) -> None:
        from ase.io import write

        atoms = watch.atoms
        if options.log_every and step % options.log_every == 0:
            row = [step, step * dt_fs, watch.epot, watch.ekin, watch.epot + watch.ekin,
                   float(atoms.get_temperature()), _pressure_gpa(atoms)]
            self.rows.append(row)
            if self._thermo is not None:
                self._thermo.write(",".join(_csv_number(v) for v in row) + "\n")
                self._thermo.flush()
        if self._traj is not None and options.traj_every and step % options.traj_every == 0:
            write(self._traj, watch.last_good, format="extxyz")
            self._traj.flush()
        if options.keep_every and step % options.keep_every == 0:
            self.kept.append(watch.last_good)


def _csv_number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return "nan" if not math.isfinite(value) else f"{value:.10g}"


def plot_thermo(path: str | Path, thermo: np.ndarray) -> None:
    """Save E_pot, E_tot, T and P against time (ps) as a PNG, atomically."""
    from nnsurrogate.core.plots import new_figure, save_figure

    t_ps = thermo[:, 1] / 1000.0
    fig, axes = new_figure(figsize=(6, 7), dpi=110, nrows=3, sharex=True)
    axes[0].plot(t_ps, thermo[:, 2], label="E_pot")
    axes[0].plot(t_ps, thermo[:, 4], label="E_tot")
    axes[0].set_ylabel("energy (eV)")
    axes[0].legend()
    axes[1].plot(t_ps, thermo[:, 5])
    axes[1].set_ylabel("T (K)")
    axes[2].plot(t_ps, thermo[:, 6])
    axes[2].set_ylabel("P (GPa)")
    axes[2].set_xlabel("time (ps)")
    fig.tight_layout()
    save_figure(fig, path)


UNCERTAINTY_COLUMNS = ("step", "time_fs", "max_force_std_eV_A", "atom")


def write_uncertainty(path: str | Path, uncertainty: np.ndarray, timestep_fs: float) -> None:
    """The per-step committee spread (:attr:`MDResult.uncertainty`) as CSV, atomically."""
    from nnsurrogate.core.files import atomic_path

    lines = [",".join(UNCERTAINTY_COLUMNS)]
    lines += [f"{int(s)},{_csv_number(s * timestep_fs)},{u:.6g},{int(a)}" for s, u, a in uncertainty]
    with atomic_path(path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n", encoding="utf-8")


def plot_uncertainty(path: str | Path, uncertainty: np.ndarray, timestep_fs: float,
                     threshold: float | None = None, labelled_steps: list[int] | None = None) -> None:
    """Largest per-atom force spread (meV/Å) along the run, with the threshold and the labelled steps."""
    from nnsurrogate.core.plots import new_figure, save_figure

    t_ps = uncertainty[:, 0] * timestep_fs / 1000.0
    fig, ax = new_figure(figsize=(6, 3.4), dpi=110)
    ax.plot(t_ps, 1000.0 * uncertainty[:, 1], lw=0.8, label="max σ_F")
    if threshold is not None:
        ax.axhline(1000.0 * threshold, color="k", ls="--", lw=1, label="threshold")
    for k, step in enumerate(labelled_steps or []):
        ax.axvline(step * timestep_fs / 1000.0, color="tab:red", lw=0.6, alpha=0.6,
                   label="labelled" if k == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("largest force spread (meV/Å)")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)
