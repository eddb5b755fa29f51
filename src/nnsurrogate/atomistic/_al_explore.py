"""Exploration and selection steps of active learning (see :mod:`nnsurrogate.atomistic.active_learning`).

Exploration runs Langevin MD with the committee at each temperature and keeps a snapshot every
``sample_every`` steps; each snapshot's uncertainty is the largest per-atom committee force spread,
u = max_i σ_{F,i} (eV/Å), the criterion of DP-GEN (Zhang et al., Comput. Phys. Commun. 253, 107206
(2020)) and of committee NNPs (Schran et al., J. Chem. Phys. 153, 104105 (2020)).

Selection then picks the frames to label:

- ``uncertainty``: frames with u above the threshold, largest first, at least ``min_separation``
  MD steps apart within one run (consecutive snapshots are nearly the same configuration). With an
  upper bound u_max (DP-GEN's trust window [σ_lo, σ_hi]) frames above it come last: a committee that
  disagrees by eV/Å has usually driven the MD somewhere unphysical, and such frames teach little
  about the configurations that matter while their huge forces dominate the loss;
- ``diverse``: uncertainty with a diversity-aware batch: among the most uncertain frames (up to 3n,
  trust window first) farthest-point sampling in a structural fingerprint space, starting from the
  most uncertain, so one round's n labels are not n copies of one excursion (batch active learning by
  diversity; Zaverkin et al., Digital Discovery 1, 605 (2022)). The fingerprint (:func:`fingerprint`)
  is each element pair's Gaussian-smeared pair-distance histogram per atom;
- ``random``: the control, frames drawn uniformly from the same snapshots, whatever their u.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

from nnsurrogate.atomistic import keys
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import UserInputError

STRATEGIES = ("uncertainty", "diverse", "random")
#: The exploration MD's force guard, eV/Å: a run stops when the committee predicts a larger force component.
MAX_FORCE = 10.0
#: Fingerprint: pair distances from FINGERPRINT_R0 to the cutoff in this many bins, smeared by FINGERPRINT_WIDTH Å.
FINGERPRINT_BINS, FINGERPRINT_R0, FINGERPRINT_WIDTH = 32, 0.5, 0.15


@dataclass
class Candidate:
    """One MD snapshot that could be labelled: its run, temperature (K), step, uncertainty u (eV/Å)."""

    run: int
    temperature: float
    step: int
    uncertainty: float
    atoms: Atoms

    def describe(self) -> dict:
        return {"run": self.run, "temperature_K": self.temperature, "step": self.step,
                "max_force_std_eV_A": self.uncertainty}


@dataclass
class Exploration:
    """Candidates of one iteration's MD plus, per run, the steps done and why it stopped (or ``None``)
    and, in ``ends``, its last frame when it finished its steps (``None``: it stopped early)."""

    candidates: list[Candidate]
    runs: list[dict]
    wall_s: float = 0.0
    ends: list = field(default_factory=list)

    @property
    def max_uncertainty(self) -> float:
        return max((c.uncertainty for c in self.candidates), default=float("nan"))

    @property
    def stable(self) -> bool:
        """True when every MD run finished its steps."""
        return all(r["stopped"] is None for r in self.runs)

    def summary(self, threshold: float) -> dict:
        u = np.array([c.uncertainty for c in self.candidates], dtype=float)
        return {"n_candidates": len(self.candidates), "n_above_threshold": int((u > threshold).sum()),
                "max_force_std_eV_A": float(u.max()) if u.size else None,
                "median_force_std_eV_A": float(np.median(u)) if u.size else None,
                "md_stable": self.stable, "md_runs": self.runs, "md_wall_s": self.wall_s}


def frame_uncertainty(calculator: Calculator, atoms: Atoms) -> float:
    """u = max_i σ_{F,i} (eV/Å) of *atoms* under a committee calculator."""
    work = atoms.copy()
    work.calc = calculator
    work.get_forces()
    std = calculator.results.get(keys.FORCES_STD)
    if std is None:
        raise UserInputError("the calculator reports no forces_std (active learning needs a committee)", "committee")
    return float(np.max(std))


def explore(calculator: Calculator, starts: Sequence[Atoms], temperatures: Sequence[float], steps: int,
            sample_every: int, timestep: float, seed: int, progress: Progress | None = None,
            max_force: float = MAX_FORCE, min_distance: float = 0.0) -> Exploration:
    """Langevin MD with *calculator* at each temperature (run k starts from ``starts[k % len(starts)]``).

    Snapshots every *sample_every* steps (not step 0, the start itself) become candidates; a run that
    the watchdog stops also contributes its last good frame, the configuration just before it failed.
    *max_force* (eV/Å) and *min_distance* (Å, 0: off) are the watchdog's force and distance guards.
    *progress* (the progress protocol) is called as ``progress(k, n_runs, metrics)`` after run k
    (counted from 1) with ``temperature_K``, ``steps_done`` and ``max_force_std_eV_A`` (so far).
    """
    import time

    from nnsurrogate.atomistic.md import MDOptions, run_md

    rng = np.random.default_rng(seed)
    candidates: list[Candidate] = []
    runs, ends = [], []
    started = time.perf_counter()
    for k, temperature in enumerate(temperatures):
        options = MDOptions(ensemble="nvt", temperature=float(temperature), timestep=timestep, steps=steps,
                            friction=0.02, log_every=0, traj_every=0, keep_every=sample_every, max_force=max_force,
                            min_distance=min_distance,
                            seed=int(rng.integers(2**31)))
        result = run_md(starts[k % len(starts)], calculator, options)
        snapshots = [(i * sample_every, f) for i, f in enumerate(result.frames) if i > 0]
        if result.stopped and result.steps_done > 0 and all(s != result.steps_done for s, _ in snapshots):
            snapshots.append((result.steps_done, result.last_good))
        for step, frame in snapshots:
            candidates.append(Candidate(k, float(temperature), int(step), frame_uncertainty(calculator, frame),
                                        _bare(frame, temperature, step)))
        runs.append({"temperature_K": float(temperature), "steps_done": result.steps_done, "stopped": result.stopped})
        ends.append(None if result.stopped else _bare(result.last_good, temperature, result.steps_done))
        if progress is not None:
            progress(k + 1, len(temperatures), {"temperature_K": float(temperature), "steps_done": result.steps_done,
                                                "max_force_std_eV_A": max((c.uncertainty for c in candidates),
                                                                              default=float("nan"))})
    return Exploration(candidates, runs, time.perf_counter() - started, ends)


def pool_candidates(calculator: Calculator, pool: Sequence[Atoms], taken: set[int],
                    progress: Progress | None = None) -> Exploration:
    """The frames of a fixed *pool* not yet *taken* (indices) as candidates, u from *calculator*.

    Pool-based selection (query by committee over a fixed set of unlabelled configurations, e.g. an
    existing trajectory) instead of exploring with MD; a candidate's ``run`` is -1 and its ``step``
    its index in the pool.
    """
    import time

    started = time.perf_counter()
    candidates = []
    for k, frame in enumerate(pool):
        if k in taken:
            continue
        atoms = _bare(frame, 0.0, k)
        atoms.info[keys.CONFIG_TYPE] = frame.info.get(keys.CONFIG_TYPE, "pool")
        atoms.info["al_pool_index"] = int(k)
        candidates.append(Candidate(-1, 0.0, k, frame_uncertainty(calculator, atoms), atoms))
        if progress is not None:
            progress(len(candidates), len(pool) - len(taken), {})
    return Exploration(candidates, [], time.perf_counter() - started)


def _bare(frame: Atoms, temperature: float, step: int) -> Atoms:
    """The configuration only (no labels, no momenta), tagged with where it came from."""
    atoms = Atoms(numbers=frame.numbers, positions=frame.positions, cell=frame.cell, pbc=frame.pbc)
    atoms.info[keys.CONFIG_TYPE] = f"al_md_{temperature:g}K"
    atoms.info["al_step"] = int(step)
    return atoms


def select(candidates: Sequence[Candidate], strategy: str, n: int, threshold: float, min_separation: int,
           rng: np.random.Generator, max_uncertainty: float | None = None, cutoff: float = 5.0,
           fill: bool = False) -> list[Candidate]:
    """Frames to label (see the module docstring); at most *n*.

    Parameters
    ----------
    candidates : sequence of Candidate
    strategy : {"uncertainty", "random"}
    n : int
        Labels per iteration.
    threshold : float
        u above which a frame counts as uncertain, eV/Å.
    min_separation : int
        Smallest step distance between two picks from the same run (uncertainty strategy).
    rng : numpy.random.Generator
        For the random strategy.
    max_uncertainty : float, optional
        Upper end of the trust window, eV/Å: frames above it are taken only when too few lie inside
        (the least uncertain of them first).
    cutoff : float
        Å, the fingerprint's range (``diverse``).
    fill : bool
        When fewer than *n* frames lie above the threshold, take the most uncertain of the others too
        (a loop that goes on past its stopping rule still spends its labels where u is largest).
    """
    if strategy not in STRATEGIES:
        raise UserInputError(f"unknown strategy '{strategy}' (choose {', '.join(STRATEGIES)})", "strategy")
    if strategy == "random":
        order = rng.permutation(len(candidates))[:n]
        return [candidates[i] for i in sorted(order.tolist())]
    above = list(candidates) if fill else [c for c in candidates if c.uncertainty > threshold]
    inside = sorted((c for c in above if max_uncertainty is None or c.uncertainty <= max_uncertainty),
                    key=lambda c: -c.uncertainty)
    beyond = sorted((c for c in above if max_uncertainty is not None and c.uncertainty > max_uncertainty),
                    key=lambda c: c.uncertainty)
    ranked = _separated(inside + beyond, min_separation)
    if strategy == "diverse":
        return farthest_points(ranked[: 3 * n], n, cutoff)
    return ranked[:n]


def _separated(ranked: Sequence[Candidate], min_separation: int) -> list[Candidate]:
    """*ranked* without frames closer than *min_separation* steps to a better-ranked one of their run."""
    kept: list[Candidate] = []
    for cand in ranked:
        if all(c.run != cand.run or abs(c.step - cand.step) >= min_separation for c in kept):
            kept.append(cand)
    return kept


def fingerprint(atoms: Atoms, species: Sequence[str], cutoff: float) -> np.ndarray:
    """Per element pair (a ≤ b), the pair distances r < *cutoff* as a Gaussian-smeared histogram per atom.

    Returns
    -------
    numpy.ndarray, shape (n_pairs × FINGERPRINT_BINS,)
        n_pairs = T (T + 1) / 2 for the T elements of *species*; units: pairs per atom per bin.
    """
    from nnsurrogate.atomistic.neighbors import atoms_pairs

    index = {s: k for k, s in enumerate(species)}
    t = len(species)
    pairs = atoms_pairs(atoms, cutoff, "fingerprint")
    types = np.array([index[s] for s in atoms.get_chemical_symbols()])
    a, b = np.minimum(types[pairs.i], types[pairs.j]), np.maximum(types[pairs.i], types[pairs.j])
    block = a * t - a * (a - 1) // 2 + (b - a)  # the (a, b) pair's row in the upper triangle
    centres = np.linspace(FINGERPRINT_R0, cutoff, FINGERPRINT_BINS)
    weights = np.exp(-0.5 * ((pairs.distances[:, None] - centres[None, :]) / FINGERPRINT_WIDTH) ** 2)
    out = np.zeros((t * (t + 1) // 2, FINGERPRINT_BINS))
    np.add.at(out, block, weights)
    return out.ravel() / max(len(atoms), 1)


def farthest_points(ranked: Sequence[Candidate], n: int, cutoff: float) -> list[Candidate]:
    """Greedy farthest-point choice of *n* of *ranked* in fingerprint space, from the first (the most
    uncertain); a tie goes to the better-ranked frame."""
    if len(ranked) <= n:
        return list(ranked)
    species = sorted({s for c in ranked for s in c.atoms.get_chemical_symbols()})
    prints = np.stack([fingerprint(c.atoms, species, cutoff) for c in ranked])
    chosen = [0]
    nearest = np.linalg.norm(prints - prints[0], axis=1)
    while len(chosen) < n:
        nearest[chosen] = -1.0
        pick = int(np.argmax(nearest))  # the first maximum: the better-ranked on a tie
        chosen.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(prints - prints[pick], axis=1))
    return [ranked[k] for k in sorted(chosen)]
