"""The quality checklist every interatomic potential must pass before use.

:func:`run_audit` takes any ASE calculator and labelled test frames and returns an :class:`AuditReport`
of pass/fail :class:`~nnsurrogate.atomistic.audit_checks.Check` rows:

=======================  ===========================================================  =================
check                    what is measured                                             default limit
=======================  ===========================================================  =================
test energy / force MAE  MAE of E/N and of force components on the test frames        5 meV/atom, 100 meV/Å
test / train MAE         test MAE ÷ training MAE (from the model's ``metrics.json``)   ≤ 2 (n/a without it)
NVE drift                slope of E_tot/N in a velocity-Verlet run                    1 meV/atom/ps
invariance               |ΔE|/N and |ΔF| under translation, rotation, permutation     0.01 meV/atom, 0.1 meV/Å
Σ F = 0                  largest |Σ_i F_i| of a test frame                             1 meV/Å
F = −∂E/∂r, σ = ∂E/∂ε/V  finite-difference forces and stress                           1 meV/Å, 0.01 GPa
heated MD                largest force in a Langevin run at 1000 K                    10 eV/Å
uncertainty calibration  RMS(force error) / RMS(``forces_std``), committees only       0.5 – 2 (n/a otherwise)
=======================  ===========================================================  =================

The MD checks start from the largest test frame; the time step is halved (0.5 fs) when the frame
contains hydrogen. Physics behind each check: :mod:`nnsurrogate.atomistic.audit_checks`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

from nnsurrogate.atomistic import audit_checks as C
from nnsurrogate.atomistic import keys
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import write_json

Check = C.Check
Progress = Callable[[str], None]
TRAIN_KEYS = ("energy_mae_meV_atom", "force_mae_meV_A")


@dataclass(frozen=True)
class AuditOptions:
    """Limits and run lengths of the audit (units in the field names' comments)."""

    max_energy_mae: float = 5.0          # meV/atom
    max_force_mae: float = 100.0         # meV/Å
    max_train_ratio: float = 2.0         # test MAE / train MAE
    max_drift: float = 1.0               # meV/atom/ps
    temperature: float = 300.0           # K, NVE start
    timestep: float | None = None        # fs; None → 1 fs, or 0.5 fs with hydrogen
    nve_steps: int = 400
    heated_temperature: float = 1000.0   # K
    heated_steps: int = 400
    max_force: float = 10.0              # eV/Å
    invariance_energy_tol: float = 0.01  # meV/atom
    invariance_force_tol: float = 0.1    # meV/Å
    force_sum_tol: float = 1.0           # meV/Å
    gradient_force_tol: float = 1.0      # meV/Å
    gradient_stress_tol: float = 0.01    # GPa
    calibration_range: tuple[float, float] = (0.5, 2.0)
    symmetry_frames: int = 3
    seed: int | None = 0

    def validate(self) -> None:
        """Raise :class:`UserInputError` for non-positive limits or run lengths."""
        for name in ("max_energy_mae", "max_force_mae", "max_train_ratio", "max_drift", "max_force",
                     "heated_temperature", "invariance_energy_tol", "invariance_force_tol", "force_sum_tol",
                     "gradient_force_tol", "gradient_stress_tol"):
            if not getattr(self, name) > 0:
                raise UserInputError(f"{name} must be positive", name)
        if self.nve_steps < 10 or self.heated_steps < 1:
            raise UserInputError("the NVE run needs at least 10 steps and the heated run at least 1",
                                 "nve_steps" if self.nve_steps < 10 else "heated_steps")


@dataclass
class AuditReport:
    """The audit's checks and the test-set error metrics; ``passed`` is true when no check failed."""

    checks: list[Check]
    metrics: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed is not False for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.passed is False]

    def check(self, key: str) -> Check:
        """The check named *key* (``KeyError`` if absent)."""
        for c in self.checks:
            if c.key == key:
                return c
        raise KeyError(key)

    def to_dict(self) -> dict:
        return {"passed": self.passed, "n_checks": len(self.checks), "n_failed": len(self.failed),
                "n_not_applicable": sum(c.passed is None for c in self.checks),
                "checks": [c.to_dict() for c in self.checks], "test_metrics": self.metrics}


def run_audit(calculator: Calculator, frames: Sequence[Atoms], options: AuditOptions | None = None,
              train_metrics: dict | None = None, progress: Progress | None = None) -> AuditReport:
    """Audit *calculator* on labelled *frames*.

    Parameters
    ----------
    calculator : Calculator
        The potential (any ASE calculator; a committee adds ``forces_std`` to its results).
    frames : sequence of ase.Atoms
        Test frames whose calculator results hold reference ``energy`` (eV) and ``forces`` (eV/Å),
        as :func:`nnsurrogate.atomistic.data.read_frames` returns them.
    options : AuditOptions, optional
    train_metrics : dict, optional
        Training-set ``energy_mae_meV_atom`` and ``force_mae_meV_A`` (see :func:`read_train_metrics`).
    progress : callable, optional
        ``progress(stage)`` with a short description before each stage.

    Returns
    -------
    AuditReport
    """
    options = options or AuditOptions()
    options.validate()
    frames = _labelled(frames)
    say = progress or (lambda stage: None)
    rng = np.random.default_rng(options.seed)
    say("test-set errors")
    pred = C.predict(calculator, frames)
    metrics = C.error_metrics(pred)
    checks = C.accuracy_checks(metrics, train_metrics, options.max_energy_mae, options.max_force_mae,
                               options.max_train_ratio)
    md_frame = max(frames, key=len)
    timestep = options.timestep or (0.5 if 1 in md_frame.numbers else 1.0)
    say(f"NVE run ({options.nve_steps} steps)")
    checks.append(C.nve_drift_check(calculator, md_frame, options.temperature, timestep, options.nve_steps,
                                    options.max_drift, options.seed))
    say("symmetry")
    checks += C.symmetry_checks(calculator, list(frames[:options.symmetry_frames]), options.invariance_energy_tol,
                                options.invariance_force_tol, rng)
    checks.append(C.force_sum_check(pred, options.force_sum_tol))
    say("finite differences")
    periodic = [f for f in frames if f.pbc.all()]
    checks += C.gradient_checks(calculator, periodic[0] if periodic else frames[0], options.gradient_force_tol,
                                options.gradient_stress_tol, rng)
    say(f"heated MD ({options.heated_steps} steps at {options.heated_temperature:g} K)")
    checks.append(C.heated_md_check(calculator, md_frame, options.heated_temperature, timestep,
                                    options.heated_steps, options.max_force, options.seed))
    checks.append(C.calibration_check(pred, *options.calibration_range))
    return AuditReport(checks, metrics)


def read_train_metrics(model: str | Path) -> dict | None:
    """Training-set MAEs from the ``metrics.json`` beside a model, or ``None`` when there is none.

    *model* is a run folder, its ``model/`` sub-folder or a ``nep.txt``; the file is looked for in the
    folder itself and its parent. Accepted layouts: ``{"train": {KEY: …}}`` or ``{"train_KEY": …}``
    for ``KEY`` in :data:`TRAIN_KEYS`.
    """
    path = Path(model)
    folder = path if path.is_dir() else path.parent
    for candidate in (folder / "metrics.json", folder.parent / "metrics.json"):
        if candidate.is_file():
            found = train_metrics_from(candidate)
            if found:
                return found
    return None


_OLD_KEYS = {"energy_mae_meV_atom": "energy_mae_mev_per_atom", "force_mae_meV_A": "force_mae_mev_per_a"}


def train_metrics_from(path: str | Path) -> dict | None:
    """Training MAEs from one metrics file (see :func:`read_train_metrics`); ``None`` if it holds none."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserInputError(f"cannot read training metrics: {exc}", str(path)) from None
    if not isinstance(data, dict):
        return None
    nested = data.get("train") if isinstance(data.get("train"), dict) else {}
    out = {}
    for key in TRAIN_KEYS:
        old = _OLD_KEYS.get(key, key)  # metrics written before the keys took their unit suffixes
        value = nested.get(key, data.get(f"train_{key}", nested.get(old, data.get(f"train_{old}"))))
        if isinstance(value, (int, float)) and value > 0:
            out[key] = float(value)
    return out or None


def write_audit(path: str | Path, report: AuditReport, extra: dict | None = None) -> None:
    """Write the report (plus *extra* provenance) as JSON, atomically."""
    write_json(path, {**(extra or {}), **report.to_dict()})


def _labelled(frames: Sequence[Atoms]) -> list[Atoms]:
    if not frames:
        raise UserInputError("no test frames", "TEST")
    for k, frame in enumerate(frames):
        results = frame.calc.results if frame.calc is not None else {}
        if keys.ENERGY not in results or keys.FORCES not in results:
            raise UserInputError("frame has no reference energy and forces", f"test frame {k}")
    return list(frames)
