"""An ASE calculator for molecules with PySCF: Kohn–Sham DFT (or Hartree–Fock) energy and analytic forces.

ASE ships no PySCF calculator, so this small one builds a PySCF molecule from the atoms, runs a
restricted (closed shell) or unrestricted (open shell) SCF and returns

- ``energy``: the SCF total energy, converted from Hartree to eV (``ase.units.Hartree``);
- ``forces``: −∂E/∂R from PySCF's analytic nuclear gradients, converted from Hartree/Bohr to eV/Å.

Reference: Q. Sun et al., "Recent developments in the PySCF program package", J. Chem. Phys. 153,
024109 (2020). Periodic cells are refused (PySCF's ``pbc`` module needs a different set-up); an SCF
that does not converge raises, so a labeling run retries and then reports the frame.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator, all_changes

from nnsurrogate.core.errors import UserInputError


def check_method(xc: str, basis: str) -> None:
    """Raise :class:`UserInputError` if PySCF knows no functional *xc* or no basis set *basis*."""
    from pyscf import gto
    from pyscf.dft import libxc

    if str(xc).upper() != "HF":
        try:
            libxc.parse_xc(xc)
        except Exception:  # noqa: BLE001 - PySCF raises KeyError or ValueError
            raise UserInputError(f"PySCF does not know the functional '{xc}'", "pyscf_xc") from None
    for element in ("H", "C", "Si"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if gto.basis.load(basis, element):
                    return
        except Exception:  # noqa: BLE001 - BasisNotFoundError, KeyError, …
            continue
    raise UserInputError(f"PySCF does not know the basis set '{basis}'", "pyscf_basis")


class SCFNotConvergedError(RuntimeError):
    """PySCF's self-consistent field iterations did not converge."""


class PySCFCalculator(Calculator):
    """Energy and forces of a molecule from PySCF.

    Parameters
    ----------
    xc : str
        Exchange–correlation functional in PySCF's (libxc) notation, e.g. ``"PBE"``, ``"B3LYP"``;
        ``"HF"`` runs Hartree–Fock.
    basis : str
        Gaussian basis set name, e.g. ``"def2-svp"``, ``"sto-3g"``.
    charge : int
        Total charge of the molecule (e).
    spin : int or None
        Number of unpaired electrons, 2S; ``None`` takes 0 for an even electron count and 1 for an
        odd one. Non-zero selects unrestricted SCF.
    max_cycle : int
        Maximum SCF iterations.
    conv_tol : float
        SCF energy convergence threshold (Hartree).
    grid_level : int
        PySCF's DFT integration grid level (0–9).
    """

    implemented_properties = ["energy", "free_energy", "forces"]
    default_parameters: dict[str, Any] = {"xc": "PBE", "basis": "def2-svp", "charge": 0, "spin": None,
                                          "max_cycle": 100, "conv_tol": 1e-9, "grid_level": 3}

    def calculate(self, atoms: Atoms | None = None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        if any(self.atoms.pbc):
            raise UserInputError("the PySCF labeler handles molecules only; this frame is periodic "
                                 "(use xtb or chgnet for crystals)", "calculator")
        scf = self._scf()
        energy_ha = scf.kernel()
        if not scf.converged:
            raise SCFNotConvergedError(f"PySCF SCF did not converge in {self.parameters['max_cycle']} cycles")
        gradient = np.asarray(scf.nuc_grad_method().kernel())
        energy = float(energy_ha) * units.Hartree
        self.results = {"energy": energy, "free_energy": energy,
                        "forces": -gradient * units.Hartree / units.Bohr}

    def _scf(self):
        """Build the PySCF mean-field object (RKS/UKS, or RHF/UHF when ``xc`` is ``"HF"``)."""
        from pyscf import dft, gto, scf

        p = self.parameters
        spin = p["spin"]
        if spin is None:
            spin = (int(self.atoms.numbers.sum()) - int(p["charge"])) % 2
        mol = gto.M(atom=[(s, tuple(r)) for s, r in zip(self.atoms.get_chemical_symbols(), self.atoms.positions)],
                    basis=p["basis"], charge=p["charge"], spin=spin, unit="Angstrom", verbose=0)
        open_shell = spin != 0
        if str(p["xc"]).upper() == "HF":
            mf = scf.UHF(mol) if open_shell else scf.RHF(mol)
        else:
            mf = dft.UKS(mol) if open_shell else dft.RKS(mol)
            mf.xc = p["xc"]
            mf.grids.level = p["grid_level"]
        mf.max_cycle = p["max_cycle"]
        mf.conv_tol = p["conv_tol"]
        return mf
