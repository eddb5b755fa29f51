"""MD through ASE integrators: conservation laws, thermostat and barostat targets, the blow-up watchdog.

Most runs use an Einstein crystal (every atom on a harmonic spring to its site, E = ½k Σ|r − r₀|²),
whose statistical mechanics is exact and which costs microseconds per step; NPT uses EMT copper.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms, units
from ase.build import bulk, molecule
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones
from ase.io import read

from nnsurrogate.atomistic.md import MDOptions, run_md, thermo_row
from nnsurrogate.core.errors import UserInputError


class Einstein(Calculator):
    """E = ½ k Σ|r − r₀|² (k in eV/Å²); ``k < 0`` makes it unstable; extra hooks for broken variants."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, sites: np.ndarray, k: float = 2.0) -> None:
        super().__init__()
        self.sites, self.k, self.calls = sites.copy(), k, 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.calls += 1
        d = self.atoms.positions - self.sites
        self.results = {"energy": 0.5 * self.k * float((d**2).sum()), "forces": -self.k * d}


class MorseBonds(Calculator):
    """Morse bonds D(1 − e^{−a(r − r₀)})² between the nearest neighbours of the start structure: an
    anharmonic, coupled, translation-invariant solid that thermalises, at numpy speed."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, atoms: Atoms, depth: float = 0.3, alpha: float = 1.4) -> None:
        from ase.neighborlist import neighbor_list

        super().__init__()
        i, j, shift, dist = neighbor_list("ijSd", atoms, 2.8)
        keep = i < j
        self.i, self.j, self.shift, self.r0 = i[keep], j[keep], shift[keep], dist[keep]
        self.depth, self.alpha = depth, alpha

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        pos = self.atoms.positions
        vec = pos[self.j] + self.shift @ self.atoms.cell[:] - pos[self.i]
        r = np.linalg.norm(vec, axis=1)
        x = np.exp(-self.alpha * (r - self.r0))
        dE_dr = 2 * self.depth * self.alpha * x * (1 - x)
        pair = (dE_dr / r)[:, None] * vec
        forces = np.zeros_like(pos)
        np.add.at(forces, self.i, pair)
        np.add.at(forces, self.j, -pair)
        self.results = {"energy": float((self.depth * (1 - x) ** 2).sum()), "forces": forces}


class JumpingEnergy(Einstein):
    """Energy jumps by 5 eV/atom after 15 evaluations (forces unchanged)."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if self.calls > 15:
            self.results["energy"] += 5.0 * len(self.atoms)


class Interrupted(Einstein):
    """Behaves as if the user pressed Ctrl-C during the 8th evaluation."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        if self.calls >= 7:
            raise KeyboardInterrupt
        super().calculate(atoms, properties, system_changes)


class FailsLater(Einstein):
    """Raises on its 10th evaluation."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        if self.calls >= 9:
            raise RuntimeError("neighbour list overflow")
        super().calculate(atoms, properties, system_changes)


@pytest.fixture
def crystal():
    """32 copper atoms on fcc sites."""
    return bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 2))


def _etot_spread(atoms, timestep):
    options = MDOptions(ensemble="nve", temperature=300, timestep=timestep, steps=int(round(200 / timestep)),
                        log_every=1, traj_every=0, seed=3)
    thermo = run_md(atoms, MorseBonds(atoms), options).thermo
    return np.ptp(thermo[:, 4]) / len(atoms), np.ptp(thermo[:, 3]) / len(atoms)


def test_nve_conserves_energy_with_second_order_error(crystal):
    """Velocity Verlet: E_tot is conserved up to an O(Δt²) oscillation (halving Δt cuts it 4×)."""
    (coarse, kinetic), (fine, _) = _etot_spread(crystal, 2.0), _etot_spread(crystal, 1.0)
    assert coarse < 0.01 * kinetic
    assert coarse / fine == pytest.approx(4.0, rel=0.2)


def test_initial_velocities_have_the_target_temperature_and_no_drift(crystal):
    result = run_md(crystal, Einstein(crystal.positions), MDOptions(temperature=450, steps=0, log_every=1))
    assert result.thermo[0, 5] == pytest.approx(450, rel=1e-9)
    np.testing.assert_allclose(result.last_good.get_momenta().sum(axis=0), 0, atol=1e-10)


@pytest.mark.parametrize("thermostat", ["langevin", "bussi"])
def test_nvt_samples_the_target_temperature(crystal, thermostat):
    """A Morse solid (started at 600 K, so half of that after equipartition) is held at 600 K."""
    options = MDOptions(ensemble="nvt", temperature=600, steps=1500, thermostat=thermostat, friction=0.05,
                        taut=20.0, log_every=1, traj_every=0, seed=5)
    thermo = run_md(crystal, MorseBonds(crystal), options).thermo[500:]
    assert thermo[:, 5].mean() == pytest.approx(600, rel=0.06)


def test_langevin_gives_equipartition_of_the_potential_energy(crystal):
    """Einstein crystal (harmonic) at 600 K: ⟨E_pot⟩ = 3/2 N k_B T."""
    options = MDOptions(ensemble="nvt", temperature=600, steps=1200, friction=0.05, log_every=1, traj_every=0,
                        seed=7)
    thermo = run_md(crystal, Einstein(crystal.positions, k=20.0), options).thermo[200:]
    assert thermo[:, 2].mean() == pytest.approx(1.5 * len(crystal) * units.kB * 600, rel=0.1)


def test_npt_compresses_under_pressure():
    """EMT copper at 10 GPa: Murnaghan V/V₀ = (1 + B′P/B)^(−1/B′) ≈ 0.94 (B ≈ 134 GPa, B′ ≈ 5)."""
    cell = bulk("Cu", "fcc", a=3.59, cubic=True)
    options = MDOptions(ensemble="npt", temperature=20, steps=150, pressure=10.0, taut=50.0, taup=100.0,
                        log_every=10, traj_every=0, keep_every=1, seed=2)
    result = run_md(cell, EMT(), options)
    assert result.stopped is None
    late = np.mean([frame.get_volume() for frame in result.frames[100:]]) / cell.get_volume()
    assert 0.92 < late < 0.955


def test_pressure_column_is_the_ideal_gas_law_without_interactions():
    """Atoms farther apart than the cut-off: P = N k_B T / V exactly (the virial term vanishes)."""
    sites = np.array([[i, j, k] for i in (5, 35) for j in (5, 35) for k in (5, 35)], dtype=float)
    atoms = Atoms("Ar8", positions=sites, cell=[60, 60, 60], pbc=True)
    atoms.calc = LennardJones(sigma=3.4, epsilon=0.0104, rc=10.0)
    rng = np.random.default_rng(1)
    atoms.set_momenta(rng.normal(0, 1, (8, 3)) * np.sqrt(atoms.get_masses()[:, None] * units.kB * 500))
    row = thermo_row(atoms, 0, 0.0)
    expected = len(atoms) * units.kB * atoms.get_temperature() / atoms.get_volume() / units.GPa
    assert row[6] == pytest.approx(expected, rel=1e-9)
    assert row[4] == pytest.approx(row[2] + row[3])


def test_blow_up_stops_with_the_last_good_frame(crystal, tmp_path):
    """An inverted spring (k < 0) pushes atoms off exponentially; the run must stop before |F| > 10 eV/Å."""
    options = MDOptions(ensemble="nvt", temperature=1000, steps=5000, log_every=1, traj_every=1,
                        max_energy_change=1e6, max_temperature=1e9, seed=0)
    result = run_md(crystal, Einstein(crystal.positions, k=-3.0), options, tmp_path / "traj.xyz",
                    tmp_path / "thermo.csv")
    assert result.stopped is not None and "exceeds 10 eV/Å" in result.stopped
    assert 0 < result.steps_done < 5000
    assert np.linalg.norm(result.last_good.get_forces(), axis=1).max() <= 10.0
    frames = read(tmp_path / "traj.xyz", ":")
    assert len(frames) == result.steps_done + 1  # steps 0 … last good; the bad one is left out
    assert max(np.linalg.norm(f.get_forces(), axis=1).max() for f in frames) <= 10.0
    np.testing.assert_allclose(frames[-1].positions, result.last_good.positions, atol=1e-6)
    rows = np.loadtxt(tmp_path / "thermo.csv", delimiter=",", skiprows=1)
    assert rows[-1, 0] == result.steps_done


def test_energy_jump_calculator_failure_and_ctrl_c_stop_the_run(crystal):
    options = MDOptions(ensemble="nve", temperature=300, steps=50, log_every=1, traj_every=0)
    jumped = run_md(crystal, JumpingEnergy(crystal.positions), options)
    assert "total energy moved by +5" in jumped.stopped and jumped.steps_done < 50
    failed = run_md(crystal, FailsLater(crystal.positions), options)
    assert "calculator failed" in failed.stopped and "neighbour list overflow" in failed.stopped
    assert failed.steps_done < 10
    interrupted = run_md(crystal, Interrupted(crystal.positions), options)
    assert interrupted.stopped.startswith("interrupted by the user") and interrupted.steps_done == 6


def test_molecule_has_no_pressure_and_cannot_run_npt():
    water = molecule("H2O")
    water.calc = EMT()
    assert np.isnan(thermo_row(water, 0, 0.0)[6])
    with pytest.raises(UserInputError, match="NPT needs a cell"):
        run_md(water, EMT(), MDOptions(ensemble="npt", steps=1))


@pytest.mark.parametrize(("options", "message"), [
    (MDOptions(ensemble="nvx"), "ensemble must be one of"),
    (MDOptions(timestep=0.0), "timestep must be a positive"),
    (MDOptions(temperature=-5.0), "temperature must be"),
    (MDOptions(ensemble="nvt", thermostat="berendsen"), "thermostat must be one of"),
    (MDOptions(ensemble="nvt", thermostat="bussi", temperature=0.0), "Bussi thermostat needs"),
    (MDOptions(min_distance=-1.0), "min_distance must be"),
    (MDOptions(max_temperature=0.0), "max_temperature must be a positive"),
    (MDOptions(max_force_std=float("nan")), "max_force_std must be a positive"),
])
def test_bad_settings_are_user_errors(crystal, options, message):
    with pytest.raises(UserInputError, match=message):
        run_md(crystal, Einstein(crystal.positions), options)


def test_unsupported_element_is_a_user_error():
    with pytest.raises(UserInputError, match="cannot evaluate"):
        run_md(bulk("Si"), EMT(), MDOptions(steps=1))


class SpreadingCommittee(Einstein):
    """An Einstein solid that reports a committee force spread growing by 0.01 eV/Å per evaluation."""

    implemented_properties = ["energy", "forces", "forces_std"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results["forces_std"] = np.full(len(self.atoms), 0.01 * self.calls)
        self.results["forces_std"][3] += 0.001


def test_atoms_closer_than_min_distance_stop_the_run(crystal):
    sites = crystal.positions.copy()
    sites[1] = sites[0] + [0.3, 0.0, 0.0]  # atom 1 is pulled onto atom 0
    result = run_md(crystal, Einstein(sites, k=2.0), MDOptions(temperature=10.0, steps=400, min_distance=1.5))
    assert result.stopped.startswith("atoms 0 and 1 are") and "(min_distance 1.50 Å)" in result.stopped
    assert 0 < result.steps_done < 400
    good = result.last_good
    assert good.get_distance(0, 1, mic=True) >= 1.5
    free = run_md(crystal, Einstein(sites, k=2.0), MDOptions(temperature=10.0, steps=400))
    assert free.stopped is None  # the guard is off by default in the library


def test_runaway_temperature_and_committee_spread_stop_the_run(crystal):
    from nnsurrogate.atomistic.md import runaway_temperature

    assert runaway_temperature(300.0) == 2300.0 and runaway_temperature(1000.0) == 5000.0
    hot = run_md(crystal, Einstein(crystal.positions, k=-3.0),
                 MDOptions(ensemble="nve", temperature=300.0, steps=5000, max_force=1e6, max_energy_change=1e6))
    assert "exceeds 2300 K (max_temperature)" in hot.stopped and hot.last_good.get_temperature() <= 2300.0
    spread = run_md(crystal, SpreadingCommittee(crystal.positions), MDOptions(steps=50, max_force_std=0.1))
    assert spread.stopped.startswith("committee force spread") and "on atom 3" in spread.stopped
    assert spread.steps_done == 8  # evaluation k reports 0.01 k (+0.001 on atom 3); step s is evaluation s + 2
    # the per-step record: steps 0 … 9, the largest spread on atom 3, the last row above the limit
    assert spread.stop_kind == "spread" and hot.stop_kind == "temperature"
    np.testing.assert_array_equal(spread.uncertainty[:, 0], np.arange(10))
    np.testing.assert_allclose(spread.uncertainty[:, 1], 0.01 * (np.arange(10) + 1) + 0.001)  # the spread at step s
    assert set(spread.uncertainty[:, 2]) == {3} and spread.uncertainty[-2, 1] <= 0.1 < spread.uncertainty[-1, 1]
    # the flagged configuration is the one a step after the last trusted frame, without labels
    assert spread.flagged.calc is None and not np.allclose(spread.flagged.positions, spread.last_good.positions)
    assert len(hot.uncertainty) == 0  # no committee, no spread record
