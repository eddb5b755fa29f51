"""PDEs: analytic and finite-difference references, physics-informed networks, inverse problems.

Problems are objects (domain, residual, conditions), declared apart from the network and the
optimiser::

    from nnsurrogate.pde import (DirichletBC, InitialCondition, Interval, PINNSolver, Problem,
                                 TimeInterval)

    domain = Interval(0.0, 1.0) * TimeInterval(0.0, 1.0)
    problem = Problem(domain, lambda f: f.d("t") - 0.1 * f.d("x", "x"),
                      [DirichletBC(0.0, on="x_min"), DirichletBC(1.0, on="x_max"), InitialCondition(0.0)])
    result = PINNSolver(adam_iterations=2000, lbfgs_iterations=2000).solve(problem)
    T = result.predict({"x": x, "t": t})
"""

from nnsurrogate.pde.burgers import burgers_problem, burgers_reference
from nnsurrogate.pde.conditions import DirichletBC, InitialCondition, NeumannBC, PointData
from nnsurrogate.pde.domain import Box, Interval, Rectangle, TimeInterval
from nnsurrogate.pde.fd import crank_nicolson_heat, explicit_heat
from nnsurrogate.pde.field import Coords, Field
from nnsurrogate.pde.heat import HeatRod, heat_analytic, heat_problem
from nnsurrogate.pde.inverse import Measurements, estimate_alpha, read_measurements
from nnsurrogate.pde.pinn import AdaptiveWeights, PINNResult, PINNSolver, Resampling, SolverConfig
from nnsurrogate.pde.problem import HardConstraint, Problem, Unknown, UnknownField

__all__ = [
    "AdaptiveWeights", "Box", "Coords", "DirichletBC", "Field", "HardConstraint", "HeatRod", "InitialCondition",
    "Interval", "Measurements", "NeumannBC", "PINNResult", "PINNSolver", "PointData", "Problem", "Rectangle",
    "Resampling", "SolverConfig", "TimeInterval", "Unknown", "UnknownField", "burgers_problem", "burgers_reference",
    "crank_nicolson_heat", "estimate_alpha", "explicit_heat", "heat_analytic", "heat_problem", "read_measurements",
]
