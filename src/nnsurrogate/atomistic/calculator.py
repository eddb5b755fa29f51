"""ASE calculator for one or several potential models of this package (or a GPUMD ``nep.txt``).

``load_calculator(path)`` returns an :class:`ase.calculators.calculator.Calculator` usable by every
ASE tool (MD, relaxations, phonons). Results follow ASE and :mod:`~nnsurrogate.atomistic.keys`:
``energy`` (eV), ``energies`` (per atom, eV), ``forces`` (eV/Å), ``stress`` (Voigt xx yy zz yz xz
xy, eV/Å³, σ = −W/V; periodic cells only). With N > 1 models (a committee, see
:mod:`~nnsurrogate.atomistic.committee`) these are the members' means and the results add
``energy_std`` (eV), ``forces_std`` (n_atoms,) eV/Å and ``member_energies`` (N,) eV. A tensorial
NEP (``nep4_dipole``, ``nep*_polarizability``) gives only ``dipole`` (3,) or ``polarizability``
(3, 3), in its training data's units; a charge-aware NEP (qNEP) adds ``charges`` (n_atoms,) e. A
calculation reruns only when ASE reports ``system_changes``.

With ``threads`` > 1 and a structure of at least :data:`MIN_ATOMS_PER_THREAD` atoms per thread, the
atoms are split into that many contiguous blocks of centre atoms, each evaluated on its own Python
thread with one PyTorch thread (:func:`~nnsurrogate.atomistic.neighbors.centre_block`: a block is a
small structure of its centres and the ghost atoms they see); site energies, forces and virials add
up to those of one evaluation (to round-off). PyTorch's own intra-op threads scale poorly on the
small per-atom operations of these models. A calculator that evaluates in blocks limits NumPy's
BLAS to one thread for the rest of the process (:func:`~nnsurrogate.core.threads.single_blas_thread`):
the spinning threads of even one small BLAS call per MD step (ASE's kinetic energy) would otherwise
take the cores from the blocks.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic._model_common import type_indices
from nnsurrogate.atomistic.models import load_potential, resolve_device, resolve_dtype
from nnsurrogate.atomistic.neighbors import atoms_pairs, centre_block
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.threads import single_blas_thread, torch_threads

#: Results of every calculator; a committee (N > 1) adds :data:`COMMITTEE_PROPERTIES`.
PROPERTIES = (keys.ENERGY, keys.ENERGIES, keys.FREE_ENERGY, keys.FORCES, keys.STRESS)
COMMITTEE_PROPERTIES = (keys.ENERGY_STD, keys.FORCES_STD)


def committee_statistics(energies: np.ndarray, forces: np.ndarray) -> dict[str, np.ndarray | float]:
    """Mean and spread of the members' predictions (see :mod:`~nnsurrogate.atomistic.committee`).

    Parameters
    ----------
    energies : numpy.ndarray, shape (N,), eV
    forces : numpy.ndarray, shape (N, n_atoms, 3), eV/Å

    Returns
    -------
    dict with ``energy`` (eV), ``energy_std`` (eV), ``forces`` (n_atoms, 3) eV/Å and
    ``forces_std`` (n_atoms,) eV/Å.
    """
    energies = np.asarray(energies, dtype=np.float64)
    forces = np.asarray(forces, dtype=np.float64)
    if energies.ndim != 1 or forces.ndim != 3 or forces.shape[0] != energies.shape[0] or forces.shape[2] != 3:
        raise ValueError(f"expected energies (N,) and forces (N, n_atoms, 3), got {energies.shape} and {forces.shape}")
    mean_f = forces.mean(0)
    return {keys.ENERGY: float(energies.mean()), keys.ENERGY_STD: float(energies.std()),
            keys.FORCES: mean_f, keys.FORCES_STD: np.sqrt(((forces - mean_f) ** 2).mean(axis=(0, 2)))}


#: Fewest atoms per thread for which splitting a structure into blocks pays (see the module docstring).
MIN_ATOMS_PER_THREAD = 1000
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(workers: int) -> ThreadPoolExecutor:
    """One shared thread pool per size (a calculator may be copied; a pool may not)."""
    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="nnsurrogate-block")
    return _POOLS[workers]


def feature_key(model) -> str:
    """Models with equal keys featurize a structure identically (same kind and architecture)."""
    spec = getattr(model, "spec", None)
    return repr((model.kind, spec.to_json() if spec is not None else id(model)))


def _shortest_pair(batch: dict) -> float:
    """The smallest pair distance among the filled radial slots of a collated one-frame batch, Å."""
    j, r_vec = batch[keys.R_J], batch[keys.R_VEC]
    filled = (j >= 0) & (j < batch[keys.TYPES].shape[0])
    if not bool(filled.any()):
        return float("inf")
    return float(torch.linalg.vector_norm(r_vec[filled], dim=-1).min())


def _joined(parts: list[tuple[torch.Tensor, int, dict]], n_atoms: int, periodic: bool) -> dict:
    """One member's outputs from its blocks [(structure index of each local atom, centres, outputs)]:
    the centres' site energies in order, forces scattered back, virials summed."""
    first = parts[0][2][keys.FORCES]
    forces = torch.zeros(n_atoms, 3, dtype=first.dtype, device=first.device)
    for index, _, out in parts:
        forces.index_add_(0, index, out[keys.FORCES])
    joined = {keys.ENERGIES: torch.cat([out[keys.ENERGIES][:size] for _, size, out in parts]), keys.FORCES: forces}
    if periodic:
        joined[keys.VIRIAL] = sum(out[keys.VIRIAL] for _, _, out in parts)
    return joined


class PotentialCalculator(Calculator):
    """One potential model, or N of them as a committee, as an ASE calculator.

    Parameters
    ----------
    models : torch.nn.Module or sequence of them
        A potential model (see :mod:`~nnsurrogate.atomistic.models`) or N ≥ 1 models with the same
        species in the same order (members of different kinds may differ: a structure must then be made
        of elements every member knows); members of one architecture share one featurization.
    device : str
        ``"cpu"`` or ``"cuda"``.
    dtype : str
        ``"float64"`` (default) or ``"float32"``.
    threads : int, optional
        Threads of a calculation (default: leave PyTorch's setting alone): parallel centre blocks for
        a large enough structure (module docstring), else PyTorch intra-op threads.

    Notes
    -----
    Results (module docstring): with one model its prediction; with N > 1 the mean over the members
    of ``energy``/``free_energy``, ``energies``, ``forces`` and ``stress``, plus ``energy_std``,
    ``forces_std`` and ``member_energies`` (:func:`committee_statistics`).
    """

    implemented_properties = list(PROPERTIES)

    def __init__(self, models, device: str = "cpu", dtype: str = "float64", threads: int | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        models = [models] if isinstance(models, torch.nn.Module) else list(models)
        if len(models) < 1:
            raise UserInputError("a committee needs at least one model", "committee")
        species = tuple(models[0].species)
        if any(tuple(m.species) != species for m in models) and len({m.kind for m in models}) == 1:
            raise UserInputError("committee members must have the same species in the same order", "committee")
        self.device, self.dtype = resolve_device(device), resolve_dtype(dtype)
        self.models = [m.to(device=self.device, dtype=self.dtype).eval() for m in models]
        self.threads = threads
        self.species = species
        #: :class:`~nnsurrogate.atomistic.calibration.ForceCalibration` of a committee's spread, or ``None``
        self.calibration = None
        self._slimmed: dict[frozenset, list] = {}
        self._references = [dict(zip(m.species, m.reference_energies)) for m in self.models]
        self.tensor_kind = _tensor_kind(self.models)
        self.charged = any(m.charge_mode for m in self.models)
        if self.tensor_kind:
            self.implemented_properties = [self.tensor_kind]
        elif len(self.models) > 1:
            self.implemented_properties = [*PROPERTIES, *COMMITTEE_PROPERTIES]
        elif self.charged:
            self.implemented_properties = [*PROPERTIES, keys.CHARGES]

    @property
    def model(self):
        """The model (the first member of a committee)."""
        return self.models[0]

    @property
    def shortest_training_distance(self) -> float | None:
        """Shortest interatomic distance (Å) any member trained on; ``None`` if a member does not know it."""
        values = [getattr(m, "shortest_training_distance", None) for m in self.models]
        return None if any(v is None for v in values) else float(min(values))

    def parallel_blocks(self, atoms) -> int:
        """How many centre blocks a calculation on *atoms* evaluates in parallel (1: one plain evaluation)."""
        workers = int(self.threads or 1)
        if workers < 2 or len(atoms) < workers * MIN_ATOMS_PER_THREAD or self.tensor_kind or self.charged:
            return 1
        same = all(tuple(m.species) == self.species for m in self.models)
        return workers if same and all(hasattr(m, "pair_features") for m in self.models) else 1

    def _features(self, model, make, cache: dict) -> dict:
        """The collated features of *model*, shared by members of one architecture."""
        key = feature_key(model)
        if key not in cache:
            cache[key] = {k: v.to(self.device) for k, v in model.collate(make(model)).items()}
        return cache[key]

    def _block_outputs(self, atoms, periodic: bool, blocks: int, models: list, species: tuple) -> list[dict]:
        """Each member's energies, forces and virial from *blocks* centre blocks on parallel threads."""
        n = len(atoms)
        types = type_indices(species, atoms, "structure")
        pairs = atoms_pairs(atoms, max(m.cutoff for m in models), "structure", threads=blocks)
        bounds = np.linspace(0, n, blocks + 1).round().astype(int)
        single_blas_thread()

        def evaluate(k: int):
            block, index = centre_block(pairs, bounds[k], bounds[k + 1], n)
            cache: dict[str, dict] = {}
            outs = [model(self._features(model, lambda m: [m.pair_features(types[index], block, self.dtype)], cache),
                          forces=True, virial=periodic) for model in models]
            return torch.as_tensor(index, device=self.device), bounds[k + 1] - bounds[k], outs

        with torch_threads(1 if torch.get_num_threads() != 1 else None):  # each block on one PyTorch thread
            parts = list(_pool(blocks).map(evaluate, range(blocks)))
        self.results[keys.SHORTEST_PAIR] = float(pairs.distances.min()) if len(pairs.distances) else float("inf")
        return [_joined([(index, size, outs[m]) for index, size, outs in parts], n, periodic)
                for m in range(len(models))]

    def _members_for(self, atoms) -> tuple[list, tuple[str, ...]]:
        """The members that evaluate *atoms*, and their species. A NEP made of more elements than the
        structure has is evaluated slimmed to those (exact: a descriptor sums only over the elements
        present; the type-blocked tensors shrink with them, e.g. 16-element UNEP-v1 on pure Mo)."""
        present = set(atoms.get_chemical_symbols())
        if (self.charged or len(present) >= len(self.species) or not present <= set(self.species)
                or not all(hasattr(m, "slimmed") and tuple(m.species) == self.species for m in self.models)):
            return self.models, self.species
        key = frozenset(present)
        if key not in self._slimmed:
            keep = [s for s in self.species if s in present]
            self._slimmed[key] = [m.slimmed(keep).to(device=self.device, dtype=self.dtype).eval() for m in self.models]
        return self._slimmed[key], tuple(self._slimmed[key][0].species)

    def _member_outputs(self, atoms, periodic: bool, blocks: int) -> list[dict]:
        models, species = self._members_for(atoms)
        if blocks > 1:
            return self._block_outputs(atoms, periodic, blocks, models, species)
        cache: dict[str, dict] = {}
        outputs = []
        for model in models:
            outputs.append(model(self._features(model, lambda m: m.featurize([atoms], self.dtype), cache),
                                 forces=True, virial=periodic))
        first = models[0]  # a graph model measures its own edges; the others have padded slots
        batch = next(iter(cache.values()))
        self.results[keys.SHORTEST_PAIR] = (first.shortest_pair(batch) if hasattr(first, "shortest_pair")
                                            else _shortest_pair(batch))
        return outputs

    def calculate(self, atoms=None, properties=(keys.ENERGY,), system_changes=all_changes) -> None:
        """Energies, forces, stress (and the committee's spread); also ``shortest_pair``, the smallest
        interatomic distance within the cutoff (Å, ``inf`` if none), which the MD guard reads."""
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        if self.tensor_kind:
            with torch_threads(int(self.threads) if self.threads else None):
                batch = self.model.collate(self.model.featurize([atoms], self.dtype))
                self.results[self.tensor_kind] = self.model.tensor(batch)[0].detach().double().cpu().numpy()
            return
        periodic = bool(atoms.pbc.all())
        blocks = self.parallel_blocks(atoms)
        # resizing the pool costs: only when needed, and never for block evaluation (its own threads)
        switch = bool(self.threads) and int(self.threads) != torch.get_num_threads() and blocks == 1
        with torch_threads(int(self.threads) if switch else None):
            outs = self._member_outputs(atoms, periodic, blocks)
        symbols = atoms.get_chemical_symbols()
        energies = [o[keys.ENERGIES].detach().double().cpu().numpy() + np.array([ref[s] for s in symbols])
                    for o, ref in zip(outs, self._references)]
        forces = [o[keys.FORCES].detach().double().cpu().numpy() for o in outs]
        virials = [o[keys.VIRIAL][0].detach().double().cpu().numpy() for o in outs] if periodic else None
        if len(outs) == 1:
            self._single_results(energies[0], forces[0], virials[0] if periodic else None)
            if keys.CHARGES in outs[0]:
                self.results[keys.CHARGES] = outs[0][keys.CHARGES].detach().double().cpu().numpy()
        else:
            self._committee_results(np.stack(energies), np.stack(forces),
                                    np.mean(virials, axis=0) if periodic else None)

    def _single_results(self, energies: np.ndarray, forces: np.ndarray, virial: np.ndarray | None) -> None:
        self.results[keys.ENERGIES] = energies
        self.results[keys.ENERGY] = self.results[keys.FREE_ENERGY] = float(energies.sum())
        self.results[keys.FORCES] = forces
        self._stress(virial)

    def _committee_results(self, energies: np.ndarray, forces: np.ndarray, virial: np.ndarray | None) -> None:
        """*energies* (N, n_atoms) eV, *forces* (N, n_atoms, 3) eV/Å, mean *virial* (3, 3) eV or ``None``."""
        stats = committee_statistics(energies.sum(1), forces)
        if self.calibration is not None:  # forces_std in eV/Å of predicted error; the raw spread kept beside
            stats[keys.FORCES_STD_RAW] = stats[keys.FORCES_STD]
            stats[keys.FORCES_STD] = self.calibration.apply(stats[keys.FORCES_STD_RAW])
        self.results.update(stats)
        self.results[keys.FREE_ENERGY] = stats[keys.ENERGY]
        self.results[keys.ENERGIES] = energies.mean(0)
        self.results[keys.MEMBER_ENERGIES] = energies.sum(1)
        self._stress(virial)

    def _stress(self, virial: np.ndarray | None) -> None:
        if virial is not None:
            self.results[keys.STRESS] = full_3x3_to_voigt_6_stress(-virial / self.atoms.get_volume())


def _tensor_kind(models) -> str | None:
    """``"dipole"`` or ``"polarizability"`` for one tensorial NEP; ``None`` for potentials."""
    kinds = {m.model_type for m in models}
    if kinds == {"potential"}:
        return None
    if len(models) > 1:
        raise UserInputError("a committee is made of potentials, not of dipole or polarizability models", "committee")
    return kinds.pop()


def load_calculator(model_dir_or_nep_txt: str | os.PathLike, device: str = "cpu", dtype: str = "float64",
                    threads: int | None = None) -> PotentialCalculator:
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
        Threads per calculation (see :class:`PotentialCalculator`).
    """
    from nnsurrogate.atomistic.committee import is_committee, load_committee_calculator

    if is_committee(model_dir_or_nep_txt):
        return load_committee_calculator(model_dir_or_nep_txt, device=device, dtype=dtype, threads=threads)
    model = load_potential(model_dir_or_nep_txt, dtype=dtype, device=device, tensorial=True)
    return PotentialCalculator(model, device=device, dtype=dtype, threads=threads)

