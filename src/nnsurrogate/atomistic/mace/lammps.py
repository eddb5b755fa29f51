"""A MACE potential for LAMMPS: ``pair_style mace`` of LAMMPS's ML-MACE package.

The export is ``mace-torch``'s own :class:`mace.calculators.LAMMPS_MACE` wrapper around a float64 copy
of the network, compiled to TorchScript with e3nn's ``jit.compile`` (what ``mace_create_lammps_model``
writes), so LAMMPS built with ML-MACE loads it as it loads a model trained by ``mace_run_train``::

    pair_style mace no_domain_decomposition
    pair_coeff * * model-lammps.pt Si O        # LAMMPS types in order → elements

The package keeps the per-element reference energies outside the network; the export folds them into
the network's E0s (``atomic_energies``), so the file's site energies are the model's whole energy.
TorchScript is not a pickle: ``torch.jit.load`` reads it without running Python code.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import torch

from nnsurrogate.atomistic.mace.model import INSTALL_HINT, MACEModel
from nnsurrogate.core.errors import UserInputError


def lammps_module(model: MACEModel) -> torch.nn.Module:
    """``mace-torch``'s LAMMPS_MACE around a float64 CPU copy of *model*'s network, reference energies folded
    into its E0s (the model itself is not changed)."""
    from nnsurrogate.atomistic._e3nn import quiet_import

    lammps_mace = quiet_import("mace.calculators.lammps_mace", INSTALL_HINT, "LAMMPS export").LAMMPS_MACE
    net = copy.deepcopy(model.net).to(dtype=torch.float64, device="cpu")
    e0 = net.atomic_energies_fn.atomic_energies
    e0.copy_(torch.as_tensor(model.reference_energies, dtype=e0.dtype).reshape(e0.shape))
    return lammps_mace(net)


def export_lammps(model, path: str | os.PathLike) -> Path:
    """Write *model* (a :class:`MACEModel`) as a TorchScript file for LAMMPS's ``pair_style mace``.

    Parameters
    ----------
    model : MACEModel
    path : path-like
        Output file (conventionally ``…-lammps.pt``); written whole or not at all.

    Returns
    -------
    Path
        *path*.
    """
    from e3nn.util import jit

    from nnsurrogate.core.files import atomic_path

    if not isinstance(model, MACEModel):
        raise UserInputError(f"a LAMMPS pair_style mace file is written for MACE models only, not "
                             f"'{getattr(model, 'kind', type(model).__name__)}' (a NEP's LAMMPS/GPUMD file is its "
                             "nep.txt)", "--format lammps-mace")
    compiled = jit.compile(lammps_module(model))
    with atomic_path(path) as tmp:
        compiled.save(str(tmp))
    return Path(path)


def lammps_data(model: MACEModel, atoms) -> dict[str, torch.Tensor]:
    """The input dictionary LAMMPS's ML-MACE hands the exported module for *atoms* (all atoms local):
    the same graph the package's own evaluation builds, in float64."""
    features = model.featurize([atoms], dtype=torch.float64)
    data = model.graph(model.collate(features))
    data["positions"].requires_grad_(True)
    return data
