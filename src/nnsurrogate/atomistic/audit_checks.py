"""The individual checks of the potential audit (see :mod:`nnsurrogate.atomistic.audit`).

Each function takes an ASE calculator and frames and returns :class:`Check` rows. The physics each
check rests on:

- accuracy: mean absolute errors of E/N (meV/atom) and of force components (meV/Å) on labelled frames;
- symmetry: E is invariant and F covariant under a rigid translation r → r + t, a rotation
  r → R r (cell rotated with the atoms) and a relabelling of identical-species atoms;
  Σ_i F_i = 0 follows from translation invariance (Newton's third law);
- conservative forces: F = −∂E/∂r and σ = (1/V) ∂E/∂ε, checked by central finite differences
  (ASE's ``calculate_numerical_forces`` / ``calculate_numerical_stress``);
- dynamics: with conservative forces velocity-Verlet NVE conserves E_tot up to a bounded O(Δt²)
  oscillation, so a secular drift (slope of E_tot/N against time, meV/atom/ps) betrays a broken
  potential; a short Langevin run at a high temperature must keep every force below a bound;
- uncertainty (when the calculator reports ``forces_std``): the predicted per-atom σ should match the
  actual per-atom force error, RMS(error)/RMS(σ) ≈ 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.md import first_evaluation
from nnsurrogate.core.engine.progress import Progress


@dataclass
class Check:
    """One row of the audit: a measured ``value`` against a ``limit``.

    ``comparison`` is ``"<="`` (value at most ``limit``) or ``"within"`` (``limit`` = [low, high]);
    ``passed`` is ``None`` when the check does not apply (the reason is in ``detail``).
    """

    key: str
    title: str
    value: float | None
    limit: Any
    unit: str
    comparison: str = "<="
    passed: bool | None = field(default=None)
    detail: str = ""

    def __post_init__(self) -> None:
        if self.passed is None and self.value is not None and not self.detail.startswith("not applicable"):
            self.passed = _compare(self.value, self.limit, self.comparison)

    def to_dict(self) -> dict:
        return asdict(self)


def not_applicable(key: str, title: str, unit: str, reason: str, limit: Any = None, comparison: str = "<=") -> Check:
    """A check that does not apply, with the reason."""
    return Check(key, title, None, limit, unit, comparison, None, f"not applicable: {reason}")


@dataclass
class Predictions:
    """Model and reference values on labelled frames (eV, eV/Å; per-frame lists)."""

    n_atoms: np.ndarray
    energy_ref: np.ndarray
    energy_pred: np.ndarray
    forces_ref: list[np.ndarray]
    forces_pred: list[np.ndarray]
    forces_std: list[np.ndarray] | None
    stress_ref: list[np.ndarray] = field(default_factory=list)
    stress_pred: list[np.ndarray] = field(default_factory=list)


def predict(calculator: Calculator, frames: list[Atoms], progress: Progress | None = None) -> Predictions:
    """Evaluate *calculator* on every labelled frame (labels read from the frame's calculator results).

    *progress*, the progress protocol, is called as ``progress(k, n_frames, {})`` after frame k (from 1).
    """
    n, e_ref, e_pred, f_ref, f_pred, f_std, s_ref, s_pred = [], [], [], [], [], [], [], []
    for k, frame in enumerate(frames):
        labels = frame.calc.results
        atoms = frame.copy()
        atoms.calc = calculator
        first_evaluation(atoms, f"test frame {k}")
        n.append(len(atoms))
        e_ref.append(float(labels[keys.ENERGY]))
        e_pred.append(float(atoms.get_potential_energy()))
        f_ref.append(np.asarray(labels[keys.FORCES], dtype=float))
        f_pred.append(np.array(atoms.get_forces(), dtype=float))
        std = calculator.results.get(keys.FORCES_STD)
        f_std.append(None if std is None else np.asarray(std, dtype=float).reshape(len(atoms)))
        if keys.STRESS in labels and keys.STRESS in getattr(calculator, "implemented_properties", ()):
            s_ref.append(np.asarray(labels[keys.STRESS], dtype=float).reshape(6))
            s_pred.append(np.array(atoms.get_stress(voigt=True), dtype=float))
        if progress is not None:
            progress(k + 1, len(frames), {})
    has_std = all(s is not None for s in f_std)
    return Predictions(np.array(n), np.array(e_ref), np.array(e_pred), f_ref, f_pred,
                       f_std if has_std else None, s_ref, s_pred)


def error_metrics(pred: Predictions) -> dict[str, float]:
    """MAE/RMSE of E/N (meV/atom), of force components (meV/Å) and of stress components (GPa)."""
    de = (pred.energy_pred - pred.energy_ref) / pred.n_atoms * 1000.0
    df = np.concatenate([(p - r).ravel() for p, r in zip(pred.forces_pred, pred.forces_ref)]) * 1000.0
    out = {"n_frames": int(len(pred.n_atoms)), "n_atoms": int(pred.n_atoms.sum()),
           "energy_mae_meV_atom": float(np.mean(np.abs(de))), "energy_rmse_meV_atom": float(np.sqrt(np.mean(de**2))),
           "force_mae_meV_A": float(np.mean(np.abs(df))), "force_rmse_meV_A": float(np.sqrt(np.mean(df**2)))}
    if pred.stress_pred:
        ds = (np.array(pred.stress_pred) - np.array(pred.stress_ref)) / units.GPa
        out["stress_mae_gpa"] = float(np.mean(np.abs(ds)))
    return out


def accuracy_checks(metrics: dict, train: dict | None, max_energy_mae: float, max_force_mae: float,
                    max_ratio: float) -> list[Check]:
    """Test MAE below the limits, and test MAE within ``max_ratio`` × the training MAE."""
    checks = [Check("energy_mae", "test energy MAE", metrics["energy_mae_meV_atom"], max_energy_mae, "meV/atom"),
              Check("force_mae", "test force MAE", metrics["force_mae_meV_A"], max_force_mae, "meV/Å")]
    for key, name, metric in (("energy_vs_train", "energy", "energy_mae_meV_atom"),
                              ("force_vs_train", "force", "force_mae_meV_A")):
        title = f"test/train {name} MAE"
        if not train or not train.get(metric):
            checks.append(not_applicable(key, title, "×", "no training metrics found", max_ratio))
            continue
        ratio = metrics[metric] / float(train[metric])
        checks.append(Check(key, title, ratio, max_ratio, "×",
                            detail=f"train {float(train[metric]):.4g}, test {metrics[metric]:.4g}"))
    return checks


def force_sum_check(pred: Predictions, limit: float) -> Check:
    """Largest |Σ_i F_i| over the frames (meV/Å)."""
    worst = max(float(np.linalg.norm(f.sum(axis=0))) for f in pred.forces_pred) * 1000.0
    return Check("force_sum", "Σ F = 0 (largest |Σ F|)", worst, limit, "meV/Å")


def symmetry_checks(calculator: Calculator, frames: list[Atoms], energy_tol: float, force_tol: float,
                    rng: np.random.Generator) -> list[Check]:
    """Translation, rotation and permutation: max |ΔE|/N (meV/atom) and max |ΔF| (meV/Å) over *frames*."""
    worst = {name: [0.0, 0.0] for name in ("translation", "rotation", "permutation")}
    for frame in frames:
        base_e, base_f = _evaluate(calculator, frame)
        for name, (moved, expected) in _transformed(frame, base_f, rng).items():
            e, f = _evaluate(calculator, moved)
            worst[name][0] = max(worst[name][0], abs(e - base_e) / len(frame) * 1000.0)
            worst[name][1] = max(worst[name][1], float(np.abs(f - expected).max()) * 1000.0)
    checks = []
    for name, (de, df) in worst.items():
        suffix = " (covariance)" if name == "rotation" else ""
        checks.append(Check(f"{name}_energy", f"{name}: ΔE", de, energy_tol, "meV/atom"))
        checks.append(Check(f"{name}_forces", f"{name}: ΔF{suffix}", df, force_tol, "meV/Å"))
    return checks


def _transformed(frame: Atoms, forces: np.ndarray, rng: np.random.Generator) -> dict[str, tuple[Atoms, np.ndarray]]:
    """The frame shifted, rotated and permuted, with the forces each should have."""
    from scipy.spatial.transform import Rotation

    shifted = frame.copy()
    shifted.positions += rng.uniform(-2.0, 2.0, 3)
    if shifted.pbc.all():
        shifted.wrap()
    rot = Rotation.random(random_state=rng).as_matrix()
    rotated = frame.copy()
    rotated.set_cell(frame.cell[:] @ rot.T, scale_atoms=False)
    rotated.positions = frame.positions @ rot.T
    order = rng.permutation(len(frame))
    permuted = frame[order]
    return {"translation": (shifted, forces), "rotation": (rotated, forces @ rot.T),
            "permutation": (permuted, forces[order])}


def gradient_checks(calculator: Calculator, frame: Atoms, force_tol: float, stress_tol: float,
                    rng: np.random.Generator, n_atoms: int = 3) -> list[Check]:
    """F against −∂E/∂r (central differences, 10⁻³ Å, a few atoms) and σ against (1/V)∂E/∂ε (strain 10⁻⁴)."""
    from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress

    atoms = frame.copy()
    atoms.calc = calculator
    picked = sorted(rng.choice(len(atoms), size=min(n_atoms, len(atoms)), replace=False).tolist())
    analytic = np.array(atoms.get_forces())[picked]
    numeric = calculate_numerical_forces(atoms, eps=1e-3, iatoms=picked)
    dev = float(np.abs(analytic - numeric).max()) * 1000.0
    checks = [Check("forces_gradient", "F = −∂E/∂r (finite diff.)", dev, force_tol, "meV/Å",
                    detail=f"atoms {picked}")]
    title = "σ = ∂E/∂ε / V (finite diff.)"
    if not atoms.pbc.all():
        checks.append(not_applicable("stress_gradient", title, "GPa", "the frame is not periodic", stress_tol))
    elif keys.STRESS not in getattr(calculator, "implemented_properties", ()):
        checks.append(not_applicable("stress_gradient", title, "GPa", "the calculator gives no stress", stress_tol))
    else:
        stress = np.array(atoms.get_stress(voigt=True))
        numeric_s = calculate_numerical_stress(atoms, eps=1e-4, force_consistent=False)
        checks.append(Check("stress_gradient", title, float(np.abs(stress - numeric_s).max()) / units.GPa,
                            stress_tol, "GPa"))
    return checks


def nve_drift_check(calculator: Calculator, frame: Atoms, temperature: float, timestep: float, steps: int,
                    limit: float, seed: int | None) -> Check:
    """|d(E_tot/N)/dt| of a velocity-Verlet run (least-squares slope, meV/atom/ps)."""
    from nnsurrogate.atomistic.md import MDOptions, run_md

    options = MDOptions(ensemble="nve", temperature=temperature, timestep=timestep, steps=steps,
                        log_every=1, traj_every=0, seed=seed)
    result = run_md(frame, calculator, options)
    title = "NVE energy drift"
    detail = f"{len(frame)} atoms, {steps} steps of {timestep:g} fs from {temperature:g} K"
    if result.stopped is not None or len(result.thermo) < 3:
        return Check("nve_drift", title, None, limit, "meV/atom/ps", passed=False,
                     detail=f"{detail}; stopped: {result.stopped}")
    t_ps = result.thermo[:, 1] / 1000.0
    slope = np.polyfit(t_ps, result.thermo[:, 4] / len(frame), 1)[0] * 1000.0
    return Check("nve_drift", title, abs(float(slope)), limit, "meV/atom/ps", detail=detail)


def heated_md_check(calculator: Calculator, frame: Atoms, temperature: float, timestep: float, steps: int,
                    max_force: float, seed: int | None) -> Check:
    """Largest force (eV/Å) met during a Langevin run at *temperature*; fails if the run blows up."""
    from nnsurrogate.atomistic.md import MDOptions, run_md

    options = MDOptions(ensemble="nvt", temperature=temperature, timestep=timestep, steps=steps, friction=0.02,
                        log_every=0, traj_every=0, max_force=max_force, seed=seed)
    result = run_md(frame, calculator, options)
    detail = f"{len(frame)} atoms, {steps} steps of {timestep:g} fs at {temperature:g} K"
    if result.stopped is not None:
        return Check("heated_md_max_force", "heated MD: largest |F|", result.max_force, max_force, "eV/Å",
                     passed=False, detail=f"{detail}; stopped: {result.stopped}")
    return Check("heated_md_max_force", "heated MD: largest |F|", result.max_force, max_force, "eV/Å",
                 detail=detail)


def calibration_check(pred: Predictions, low: float, high: float) -> Check:
    """RMS(per-atom force error) / RMS(predicted ``forces_std``) on the test frames; ideal 1."""
    title = "uncertainty: RMS error / RMS σ"
    if pred.forces_std is None:
        return not_applicable("uncertainty_calibration", title, "×", "the calculator reports no forces_std",
                              [low, high], "within")
    from scipy.stats import spearmanr

    err = np.concatenate([np.sqrt(np.mean((p - r) ** 2, axis=1)) for p, r in zip(pred.forces_pred, pred.forces_ref)])
    std = np.concatenate(pred.forces_std)
    ratio = float(np.sqrt(np.mean(err**2)) / max(float(np.sqrt(np.mean(std**2))), 1e-300))
    rho = spearmanr(std, err).statistic if len(err) > 2 and np.ptp(std) > 0 else float("nan")
    within = float(np.mean(err <= std))
    return Check("uncertainty_calibration", title, ratio, [low, high], "×", "within",
                 detail=f"Spearman ρ(σ, error) = {rho:.2f}; {within:.0%} of atoms have error ≤ σ")


def _evaluate(calculator: Calculator, frame: Atoms) -> tuple[float, np.ndarray]:
    atoms = frame.copy()
    atoms.calc = calculator
    return float(atoms.get_potential_energy()), np.array(atoms.get_forces(), dtype=float)


def _compare(value: float, limit: Any, comparison: str) -> bool:
    if value is None or not math.isfinite(value):
        return False
    if comparison == "within":
        return float(limit[0]) <= value <= float(limit[1])
    return value <= float(limit)
