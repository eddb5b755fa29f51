"""ASE calculator for any potential model of this package (or a GPUMD ``nep.txt``).

``load_calculator(path)`` returns an :class:`ase.calculators.calculator.Calculator` usable by every
ASE tool (MD, relaxations, phonons). Results follow ASE: ``energy`` (eV), ``energies`` (per atom,
eV), ``forces`` (eV/Å), ``stress`` (Voigt xx yy zz yz xz xy, eV/Å³, σ = −W/V; periodic cells only).
A calculation reruns only when ASE reports ``system_changes``.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from nnsurrogate.atomistic.models import load_potential, resolve_device, resolve_dtype


class PotentialCalculator(Calculator):
    """Wrap a potential model (see :mod:`~nnsurrogate.atomistic.models`) as an ASE calculator.

    Parameters
    ----------
    model : torch.nn.Module
        A potential model.
    device : str
        ``"cpu"`` or ``"cuda"``.
    dtype : str
        ``"float64"`` (default) or ``"float32"``.
    threads : int, optional
        PyTorch intra-op threads during a calculation (default: leave the setting alone).
    """

    implemented_properties = ["energy", "energies", "free_energy", "forces", "stress"]

    def __init__(self, model, device: str = "cpu", dtype: str = "float64", threads: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        self.model = model.to(device=self.device, dtype=self.dtype).eval()
        self.threads = threads
        self._reference = dict(zip(model.species, model.reference_energies))

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        periodic = bool(atoms.pbc.all())
        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(int(self.threads))
        try:
            features = self.model.featurize([atoms], self.dtype)
            batch = {k: v.to(self.device) for k, v in self.model.collate(features).items()}
            out = self.model(batch, forces=True, virial=periodic)
        finally:
            if self.threads:
                torch.set_num_threads(previous)
        reference = np.array([self._reference[s] for s in atoms.get_chemical_symbols()])
        energies = out["energies"].detach().double().cpu().numpy() + reference
        self.results["energies"] = energies
        self.results["energy"] = self.results["free_energy"] = float(energies.sum())
        self.results["forces"] = out["forces"].detach().double().cpu().numpy()
        if periodic:
            virial = out["virial"][0].detach().double().cpu().numpy()
            self.results["stress"] = full_3x3_to_voigt_6_stress(-virial / atoms.get_volume())


def load_calculator(model_dir_or_nep_txt: str | os.PathLike, device: str = "cpu", dtype: str = "float64",
                    threads: int | None = None) -> Calculator:
    """An ASE calculator for a saved model folder, a training run folder, a GPUMD ``nep.txt`` or a
    committee folder (a :class:`~nnsurrogate.atomistic.committee.CommitteeCalculator`, whose results
    add ``energy_std`` and ``forces_std``).

    Parameters
    ----------
    model_dir_or_nep_txt : path-like
    device : str
        ``"cpu"`` or ``"cuda"``.
    dtype : str
        ``"float64"`` (default) or ``"float32"``.
    threads : int, optional
        PyTorch threads used per calculation.
    """
    from nnsurrogate.atomistic.committee import is_committee, load_committee_calculator

    if is_committee(model_dir_or_nep_txt):
        return load_committee_calculator(model_dir_or_nep_txt, device=device, dtype=dtype, threads=threads)
    model = load_potential(model_dir_or_nep_txt, dtype=dtype, device=device)
    return PotentialCalculator(model, device=device, dtype=dtype, threads=threads)
