"""Model folders of trained PINNs (safetensors + ``model.json``; loading never unpickles code).

A PINN's problem holds Python functions (residual, constraint), which a file cannot carry; the
header therefore stores the *parameters* the problem is rebuilt from (for the heat rod: α, L,
t_end, temperatures and the PINN variant), and the weights go to safetensors.
"""

from __future__ import annotations

import os

import torch

from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.core.modelio import load_model, load_weights, save_model
from nnsurrogate.pde.pinn import PINNResult


def save_pinn(directory: str | os.PathLike, result: PINNResult, kind: str, header: dict) -> None:
    """Write the trained network (and unknowns) of *result* with a JSON *header* describing its problem."""
    tensors = {k: v.detach().to(torch.float64).cpu() for k, v in result.model.state_dict().items()}
    dtype = str(next(result.model.network.parameters()).dtype).replace("torch.", "")
    save_model(directory, kind, tensors, {**header, "dtype": dtype})


def load_heat1d(directory: str | os.PathLike) -> PINNResult:
    """Rebuild the heat-rod PINN saved by ``nnsurrogate pde heat1d`` (``DIR/model``).

    Returns
    -------
    PINNResult
        With ``predict({"x": …, "t": …})`` giving T; no training history.
    """
    from nnsurrogate.pde.heat import HeatRod, heat_problem
    from nnsurrogate.pde.pinn import PINNSolver

    tensors, header = load_model(directory, "pde.heat1d")
    try:
        rod = HeatRod(**header["rod"])
        opts = header["pinn"]
        problem = heat_problem(rod, opts["corner"], opts["hard"], opts["scaled"])
        solver = PINNSolver(hidden=tuple(opts["hidden"]), scale_inputs=opts["scaled"], dtype=header["dtype"])
        model = solver.build(problem)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"model header or weights do not describe a heat-rod PINN ({exc})",
                             str(directory)) from None
    load_weights(model, tensors, str(directory))
    return PINNResult(model)
