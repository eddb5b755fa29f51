"""Collocation points in the unit cube: scrambled Sobol, Latin hypercube or uniform random.

Low-discrepancy (Sobol) and stratified (Latin hypercube) points cover a domain more evenly than
uniform random points; scipy's :mod:`scipy.stats.qmc` provides both.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import qmc

from nnsurrogate.core.errors import UserInputError

SAMPLERS = ("sobol", "lhs", "uniform")


def sample_unit_cube(n: int, dim: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
    """*n* points in [0, 1]^dim.

    Parameters
    ----------
    n, dim : int
        Number of points and dimension.
    method : {"sobol", "lhs", "uniform"}
        Scrambled Sobol sequence (Owen scrambling), Latin hypercube, or i.i.d. uniform.
    seed : int
        Same seed, same points.

    Returns
    -------
    numpy.ndarray, shape (n, dim)
    """
    n, dim = int(n), int(dim)
    if n < 1:
        raise UserInputError(f"number of points must be positive, got {n}", "sampling")
    if method not in SAMPLERS:
        raise UserInputError(f"unknown sampler '{method}'; choose one of {', '.join(SAMPLERS)}", "sampling")
    if method == "sobol":
        with warnings.catch_warnings():  # balance is best at powers of 2; any n is still low-discrepancy
            warnings.simplefilter("ignore", UserWarning)
            return qmc.Sobol(dim, scramble=True, seed=seed).random(n)
    if method == "lhs":
        return qmc.LatinHypercube(dim, seed=seed).random(n)
    return np.random.default_rng(seed).random((n, dim))
