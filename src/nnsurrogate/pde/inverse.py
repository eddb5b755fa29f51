"""Inverse heat problems: the diffusivity α (or α(x)) from sparse, noisy temperatures and the PDE.

A PINN with α as a trainable unknown fits the measurements and the heat equation at once
(Raissi et al. 2019, §4). The estimate's uncertainty comes from an ensemble of fits, each with its
own network initialisation, collocation points and a bootstrap resample of the measurements
(Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993): α̂ is the ensemble mean and its
standard deviation the spread.

The rod keeps the hard constraint with the erfc corner terms, which now depend on the unknown α
(at each point, for a field) and are re-evaluated at every step. A spatially varying α(x) is a
small network (:class:`~nnsurrogate.pde.problem.UnknownField`) in T_t = ∂ₓ(α Tₓ) = α Tₓₓ + αₓ Tₓ;
near a corner α(x) tends to its boundary value, so the erfc terms still carry the jump.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from nnsurrogate.core.engine.budget import time_share
from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde.conditions import PointData
from nnsurrogate.pde.domain import Interval, TimeInterval
from nnsurrogate.pde.heat import ErfcParticular, HeatRod, heat_analytic
from nnsurrogate.pde.pinn import PINNSolver, SolverConfig
from nnsurrogate.pde.problem import HardConstraint, Problem, Unknown, UnknownField

#: Solver settings of one inverse fit (a fit of 50 points needs fewer collocation points than a forward run).
INVERSE_CONFIG = SolverConfig(hidden=(20, 20, 20), n_domain=1000, n_initial=100, adam_iterations=1000,
                              lbfgs_iterations=1000)


@dataclass(frozen=True)
class Measurements:
    """Temperatures T (n,) measured at positions x (n,) and times t (n,)."""

    x: np.ndarray
    t: np.ndarray
    T: np.ndarray
    where: str = "measurements"

    def check(self, rod: HeatRod) -> None:
        """Refuse NaN and points outside [0, L] × [0, t_end], naming the row."""
        n = len(self.T)
        if n == 0 or len(self.x) != n or len(self.t) != n:
            raise UserInputError("measurements need x, t and T of equal, non-zero length", self.where)
        for name, col in (("x", self.x), ("t", self.t), ("T", self.T)):
            bad = np.flatnonzero(~np.isfinite(col))
            if bad.size:
                raise UserInputError(f"column '{name}' has a NaN or infinite value", f"{self.where}, row {bad[0] + 1}")
        tol_x, tol_t = 1e-9 * rod.length, 1e-9 * rod.t_end
        out = np.flatnonzero((self.x < -tol_x) | (self.x > rod.length + tol_x) | (self.t < -tol_t)
                             | (self.t > rod.t_end + tol_t))
        if out.size:
            i = out[0]
            raise UserInputError(f"measurement at x={self.x[i]:g}, t={self.t[i]:g} lies outside the domain "
                                 f"[0, {rod.length:g}] x [0, {rod.t_end:g}]", f"{self.where}, row {i + 1}")


def read_measurements(path: str) -> Measurements:
    """Read a CSV or Parquet table with columns ``x``, ``t``, ``T`` (one row per measurement)."""
    from nnsurrogate.core.tables import numeric_column, read_table, require_columns

    frame = read_table(path)
    require_columns(frame, ("x", "t", "T"), str(path))
    return Measurements(*(numeric_column(frame, c, str(path)) for c in ("x", "t", "T")), where=str(path))


def synthetic_measurements(rod: HeatRod, n: int = 50, noise: float = 0.01, seed: int = 0,
                           t_min_fraction: float = 0.05) -> Measurements:
    """*n* measurements of the analytic solution at random interior points with Gaussian noise.

    The noise standard deviation is ``noise`` × ΔT (ΔT: :attr:`HeatRod.temperature_scale`);
    times are drawn in [t_min_fraction·t_end, t_end].
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, rod.length, n)
    t = rng.uniform(t_min_fraction * rod.t_end, rod.t_end, n)
    T = heat_analytic(rod, x, t) + noise * rod.temperature_scale * rng.standard_normal(n)
    return Measurements(x, t, T, where="synthetic")


@dataclass
class InverseResult:
    """Estimated diffusivity.

    Attributes
    ----------
    alpha : float
        Ensemble mean of α̂ (for a field: its mean over the rod).
    alpha_std : float
        Ensemble standard deviation (ddof = 1; 0 for one member).
    members : list of float
        α̂ of each fit.
    data_rmse : float
        Root-mean-square misfit of the ensemble-mean field at the measurements.
    wall_s : float
    alpha_x : numpy.ndarray or None
        For a field: positions (m,), mean α(x) (m,) and std (m,) as rows of an array (3, m).
    fits : list of PINNResult
        The trained members.
    """

    alpha: float
    alpha_std: float
    members: list[float] = field(default_factory=list)
    data_rmse: float = float("nan")
    wall_s: float = 0.0
    alpha_x: np.ndarray | None = None
    fits: list = field(default_factory=list, repr=False)


def inverse_problem(rod: HeatRod, data: Measurements, alpha_guess: float, rows: np.ndarray | None = None,
                    alpha_field: bool = False) -> Problem:
    """The PINN problem of one fit: PDE with unknown α, hard boundary/initial values, data rows *rows*.

    ``rod.alpha`` is not used; boundary and initial temperatures and the geometry are.
    """
    rows = np.arange(len(data.T)) if rows is None else rows
    L, t_end, dT = rod.length, rod.t_end, rod.temperature_scale
    a, b, c = rod.t_left, rod.t_right, rod.t_initial
    domain = Interval(0.0, L) * TimeInterval(0.0, t_end)
    points = np.column_stack([data.x[rows], data.t[rows]])
    measured = PointData(points, data.T[rows], weight=1.0 / dT ** 2, where=data.where)
    constraint = HardConstraint(ErfcParticular(rod, unknown="alpha"),
                                lambda q: dT * (q["x"] / L) * (1.0 - q["x"] / L) * (q["t"] / t_end), uses_unknowns=True)
    if alpha_field:
        def residual_field(f):
            alpha, alpha_x = f.unknown("alpha"), f.unknown("alpha", "x")
            return (t_end / dT) * (f.d("t") - alpha * f.d("x", "x") - alpha_x * f.d("x"))

        return Problem(domain, residual_field, [measured], constraint,
                       {"alpha": UnknownField(("x",), (16,), alpha_guess, positive=True)})

    def residual(f):
        return (t_end / dT) * (f.d("t") - f.unknown("alpha") * f.d("x", "x"))

    return Problem(domain, residual, [measured], constraint, {"alpha": Unknown(alpha_guess, positive=True)})


def estimate_alpha(rod: HeatRod, data: Measurements, n_members: int = 5, alpha_guess: float | None = None,
                   config: SolverConfig | None = None, bootstrap: bool = True, alpha_field: bool = False,
                   seed: int = 0, progress: Progress | None = None) -> InverseResult:
    """Estimate α from measurements with an ensemble of PINN fits.

    Parameters
    ----------
    rod : HeatRod
        Geometry, end and initial temperatures (its ``alpha`` is ignored).
    data : Measurements
    n_members : int
        Fits in the ensemble (≥ 1).
    alpha_guess : float, optional
        Starting value; default 0.1 L²/t_end (a diffusion time of 10 t_end), jittered per member.
    config : SolverConfig, optional
        Settings of each fit (default :data:`INVERSE_CONFIG`); its seed is replaced per member.
    bootstrap : bool
        Resample the measurements with replacement for each member (besides the first).
    alpha_field : bool
        Estimate α(x) as a small network instead of a constant.
    progress : callable, optional
        ``progress(iteration, total, metrics)`` over all members: iterations of the members one after
        another, *metrics* those of :meth:`PINNSolver.solve` plus ``member`` (0-based).

    Inside a :func:`~nnsurrogate.core.engine.budget.time_limit_scope` each member still to fit gets an
    equal part of the time left when it starts.
    """
    if n_members < 1:
        raise UserInputError(f"need at least one ensemble member, got {n_members}", "n_members")
    data.check(rod)
    guess = alpha_guess if alpha_guess is not None else 0.1 * rod.length ** 2 / rod.t_end
    if not (math.isfinite(guess) and guess > 0):
        raise UserInputError(f"alpha_guess must be positive, got {guess}", "alpha_guess")
    cfg = config or INVERSE_CONFIG
    rng = np.random.default_rng(seed)
    started, fits = time.perf_counter(), []
    per_member = cfg.adam_iterations + cfg.lbfgs_iterations
    for m in range(n_members):
        rows = rng.integers(0, len(data.T), len(data.T)) if (bootstrap and m > 0) else np.arange(len(data.T))
        start = guess * float(np.exp(rng.uniform(-0.5, 0.5))) if m > 0 else guess
        problem = inverse_problem(rod, data, start, rows, alpha_field)
        member_progress = None if progress is None else (
            lambda i, n, metrics, m=m: progress(m * per_member + i, n_members * per_member, {**metrics, "member": m}))
        with time_share(n_members - m):  # under a time limit: an equal part of the time left
            fits.append(PINNSolver(cfg, seed=seed + 1000 * m).solve(problem, member_progress))
    return _summarise(fits, data, rod, alpha_field, time.perf_counter() - started)


def _summarise(fits, data: Measurements, rod: HeatRod, alpha_field: bool, wall_s: float) -> InverseResult:
    pts = np.column_stack([data.x, data.t])
    mean_field = np.mean([f.predict(pts) for f in fits], axis=0)
    rmse = float(np.sqrt(np.mean((mean_field - data.T) ** 2)))
    if alpha_field:
        xs = np.linspace(0.0, rod.length, 51)
        grid = np.column_stack([xs, np.zeros_like(xs)])
        values = np.array([f.unknown("alpha", grid) for f in fits])
        members = [float(v.mean()) for v in values]
        std = values.std(axis=0, ddof=1) if len(fits) > 1 else np.zeros_like(xs)
        alpha_x = np.vstack([xs, values.mean(axis=0), std])
    else:
        members, alpha_x = [float(f.unknown("alpha")) for f in fits], None
    spread = float(np.std(members, ddof=1)) if len(members) > 1 else 0.0
    return InverseResult(float(np.mean(members)), spread, members, rmse, wall_s, alpha_x, list(fits))
