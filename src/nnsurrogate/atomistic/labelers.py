"""Reference calculators ("labelers") that compute the energies, forces and stresses a potential learns from.

Each is an ASE calculator from the code that defines it; this module only picks and configures one:

============  ==========================================================================  =====================
name          method                                                                      systems
============  ==========================================================================  =====================
``emt``       effective-medium theory (Jacobsen, Stoltze & Nørskov 1996), ASE's ``EMT``   Al Cu Ag Au Ni Pd Pt
                                                                                          (H C N O)
``lj``        Lennard-Jones 12-6 pair potential, ASE's ``LennardJones`` (default: argon   any
              σ = 3.405 Å, ε = 0.0104 eV, Rahman 1964; cut-off 3σ)
``xtb``       GFN2-xTB tight binding (Bannwarth, Ehlert & Grimme 2019), tblite's ``TBLite``  molecules and cells
``pyscf``     Kohn–Sham DFT with analytic gradients, :class:`PySCFCalculator`               molecules
``chgnet``    CHGNet universal potential (Deng et al. 2023; weights ship with the package)  cells and molecules
``sevennet-0``  SevenNet-0, a NequIP-class equivariant universal potential (Park et al.       cells and molecules
              2024; the 11 Jul 2024 checkpoint ships with ``sevenn``)
============  ==========================================================================  =====================

:class:`LabelerSpec` is a small picklable recipe (name + settings) that builds the calculator where it
runs, so Dask workers each make their own. :func:`label_atoms` computes and attaches the labels
(``energy``, ``forces`` and, for cells periodic in all directions, ``stress``; names from
:mod:`nnsurrogate.atomistic.keys`).
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.calculators.singlepoint import SinglePointCalculator

from nnsurrogate.atomistic import keys
from nnsurrogate.core.errors import UserInputError

LABELERS = ("emt", "lj", "xtb", "pyscf", "chgnet", "sevennet-0")
#: Universal pretrained potentials, usable by name wherever a model is (zero-shot; their packages ship the weights).
PRETRAINED = ("sevennet-0", "chgnet")
XTB_METHODS = ("GFN2-xTB", "GFN1-xTB", "IPEA1-xTB")
# Labels of an earlier calculation that a new one replaces (info keys and per-atom arrays).
_STALE_INFO = (keys.ENERGY, "free_energy", keys.STRESS, keys.VIRIAL, keys.ENERGY_STD, "dipole")
_STALE_ARRAYS = (keys.FORCES, keys.ENERGIES, keys.FORCES_STD, "charges", "magmoms")


class LabelingError(RuntimeError):
    """A reference calculation returned something unusable (NaN energy or forces)."""


@dataclass(frozen=True)
class LabelerSpec:
    """Recipe for a reference calculator: call it to build one.

    Parameters
    ----------
    name : str
        One of :data:`LABELERS`.
    pyscf_xc, pyscf_basis : str
        Functional and basis set for ``pyscf``.
    xtb_method : str
        Hamiltonian for ``xtb`` (:data:`XTB_METHODS`).
    charge : int
        Total charge (e) for ``xtb`` and ``pyscf``.
    spin : int or None
        Unpaired electrons 2S for ``xtb`` and ``pyscf``; ``None`` lets the code choose.
    lj_sigma, lj_epsilon, lj_cutoff : float
        Lennard-Jones σ (Å), ε (eV) and cut-off (Å; ``None`` → 3σ).
    device : str
        Torch device for ``chgnet`` and ``sevennet-0``.
    """

    name: str
    pyscf_xc: str = "PBE"
    pyscf_basis: str = "def2-svp"
    xtb_method: str = "GFN2-xTB"
    charge: int = 0
    spin: int | None = None
    lj_sigma: float = 3.405
    lj_epsilon: float = 0.0104
    lj_cutoff: float | None = None
    device: str = "cpu"

    def __call__(self) -> Calculator:
        return make_calculator(self)

    def describe(self) -> str:
        """Short text naming the method, e.g. ``"pyscf PBE/def2-svp"``."""
        extra = {"pyscf": f" {self.pyscf_xc}/{self.pyscf_basis}", "xtb": f" {self.xtb_method}",
                 "lj": f" σ={self.lj_sigma} Å ε={self.lj_epsilon} eV"}.get(self.name, "")
        return self.name + extra

    def check_structure(self, atoms: Atoms, where: str) -> None:
        """Raise :class:`UserInputError` when this labeler cannot treat *atoms* at all (before any work)."""
        if self.name == "emt":
            from ase.calculators.emt import parameters

            missing = sorted(set(atoms.get_chemical_symbols()) - set(parameters))
            if missing:
                raise UserInputError(f"EMT has no parameters for {', '.join(missing)} (it knows "
                                     f"{' '.join(sorted(parameters))})", where)
        if self.name == "pyscf" and any(atoms.pbc):
            raise UserInputError("the PySCF labeler handles molecules only; this frame is periodic "
                                 "(use xtb or chgnet for crystals)", where)


def labeler(name: str, **settings) -> LabelerSpec:
    """Validated :class:`LabelerSpec` for *name* (``emt``, ``lj``, ``xtb``, ``pyscf``, ``chgnet``).

    Unknown names, functionals, basis sets, xTB methods or a missing optional package are
    :class:`UserInputError` naming the option.
    """
    key = name.strip().lower()
    if key not in LABELERS:
        close = difflib.get_close_matches(key, LABELERS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UserInputError(f"unknown calculator '{name}' (choose {', '.join(LABELERS)}){hint}", "calculator")
    spec = LabelerSpec(name=key, **settings)
    if key == "lj" and not (spec.lj_sigma > 0 and spec.lj_epsilon > 0):
        raise UserInputError("Lennard-Jones σ and ε must be positive", "lj_sigma, lj_epsilon")
    if key == "xtb" and spec.xtb_method not in XTB_METHODS:
        raise UserInputError(f"unknown xTB method '{spec.xtb_method}' (choose {', '.join(XTB_METHODS)})",
                             "xtb_method")
    if key in ("xtb", "pyscf", "chgnet", "sevennet-0"):
        _require(key)
    if key == "pyscf":
        from nnsurrogate.atomistic.pyscf_calculator import check_method

        check_method(spec.pyscf_xc, spec.pyscf_basis)
    return spec


def make_calculator(spec: LabelerSpec) -> Calculator:
    """Build the ASE calculator described by *spec* (no network access; CHGNet loads its packaged weights)."""
    if spec.name == "emt":
        from ase.calculators.emt import EMT

        return EMT()
    if spec.name == "lj":
        from ase.calculators.lj import LennardJones

        cutoff = spec.lj_cutoff if spec.lj_cutoff is not None else 3.0 * spec.lj_sigma
        return LennardJones(sigma=spec.lj_sigma, epsilon=spec.lj_epsilon, rc=cutoff)
    if spec.name == "xtb":
        from tblite.ase import TBLite

        multiplicity = None if spec.spin is None else spec.spin + 1
        return TBLite(method=spec.xtb_method, charge=spec.charge, multiplicity=multiplicity, verbosity=0)
    if spec.name == "pyscf":
        from nnsurrogate.atomistic.pyscf_calculator import PySCFCalculator

        return PySCFCalculator(xc=spec.pyscf_xc, basis=spec.pyscf_basis, charge=spec.charge, spin=spec.spin)
    if spec.name == "chgnet":
        return _chgnet(spec.device)
    if spec.name == "sevennet-0":
        return _sevennet(spec.device)
    raise UserInputError(f"unknown calculator '{spec.name}'", "calculator")


def label_atoms(atoms: Atoms, calculator: Calculator) -> Atoms:
    """Compute reference labels for one frame and return a labelled copy.

    Parameters
    ----------
    atoms : ase.Atoms
        The configuration; earlier labels on it (energy, forces, stress, virial, …) are dropped,
        other ``info`` entries such as ``config_type`` are kept.
    calculator : Calculator
        The reference calculator.

    Returns
    -------
    ase.Atoms
        A copy carrying a ``SinglePointCalculator`` with ``energy`` (eV), ``forces`` (n_atoms, 3)
        eV/Å and, for cells periodic in all three directions when the calculator provides it,
        ``stress`` (6,) eV/Å³ in Voigt order — what ASE's extended-XYZ writer stores.

    Raises
    ------
    LabelingError
        If the energy, forces or stress are not finite.
    """
    frame = atoms.copy()
    frame.calc = None
    for key in _STALE_INFO:
        frame.info.pop(key, None)
    for key in _STALE_ARRAYS:
        if key in frame.arrays:
            del frame.arrays[key]
    work = frame.copy()
    work.calc = calculator
    results = {keys.ENERGY: float(work.get_potential_energy()),
               keys.FORCES: np.array(work.get_forces(), dtype=float)}
    if all(frame.pbc) and keys.STRESS in getattr(calculator, "implemented_properties", ()):
        results[keys.STRESS] = np.array(work.get_stress(voigt=True), dtype=float)
    for key, value in results.items():
        if not np.all(np.isfinite(value)):
            raise LabelingError(f"the reference calculation gave a non-finite {key}")
    frame.calc = SinglePointCalculator(frame, **results)
    return frame


def _require(name: str):
    """The package module the *name* labeler runs on, or a one-line error saying what to install."""
    from nnsurrogate.atomistic._e3nn import quiet_import

    module = {"xtb": "tblite.ase", "pyscf": "pyscf", "chgnet": "chgnet", "sevennet-0": "sevenn.calculator"}[name]
    hint = (f"the '{name}' labeler needs the package {module.split('.')[0]}; install it with "
            f"pip install 'nnsurrogate[{'pretrained' if name == 'sevennet-0' else 'labelers'}]'")
    return quiet_import(module, hint, "calculator")


def _sevennet(device: str) -> Calculator:
    """SevenNet-0 (the checkpoint of 11 July 2024 that ships inside ``sevenn``), on *device*."""
    calculator = _require("sevennet-0")
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calculator.SevenNetCalculator("7net-0", device=device)


def _chgnet(device: str) -> Calculator:
    """CHGNet with its packaged weights; its start-up chatter is silenced."""
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CHGNet.load(use_device=device, verbose=False)
        return CHGNetCalculator(model=model, use_device=device, on_isolated_atoms="ignore")


def pretrained_name(model: str | os.PathLike) -> str | None:
    """The :data:`PRETRAINED` name *model* stands for (``"SevenNet-0"`` → ``"sevennet-0"``), or ``None``
    when it is not one or a file or folder of that name exists (a path wins)."""
    text = str(model).strip().lower()
    return text if text in PRETRAINED and not Path(model).exists() else None
