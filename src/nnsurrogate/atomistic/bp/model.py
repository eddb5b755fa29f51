"""The Behler–Parrinello neural-network potential (Behler & Parrinello, Phys. Rev. Lett. 98, 146401 (2007)).

    E = Σ_i E_{t_i}(x_i),    x_i = (G_i − μ_{t_i}) ⊙ s_{t_i}

with G_i the symmetry functions of atom i (:mod:`~nnsurrogate.atomistic.bp.descriptors`), μ and s
the per-element mean and inverse spread of each descriptor in the training data, and E_t one
multilayer perceptron per element (default two hidden layers of 20, tanh). Forces and the virial
follow from the chain rule at the pair level: autograd gives ∂E/∂G_i per atom, contracted with the
stored ∂G_i/∂r_ij into G_p = ∂E/∂r_p (:mod:`nnsurrogate.atomistic.forces`). The graph stays
differentiable, so force and virial errors can be trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic._model_common import (SpecModelFile, featurize_in_groups, frame_types_and_pairs,
                                                 per_type, reference_energy_tuple)
from nnsurrogate.atomistic.bp.descriptors import symmetry_functions
from nnsurrogate.atomistic.bp.params import SymmetryFunctions
from nnsurrogate.atomistic.forces import forces_from_pairs, frame_sum, virial_from_pairs
from nnsurrogate.atomistic.models import PotentialModel
from nnsurrogate.atomistic.neighbors import Pairs, atoms_pairs, max_neighbors
from nnsurrogate.core.errors import UserInputError

ACTIVATIONS = ("tanh", "silu")


@dataclass(frozen=True)
class BPSpec:
    """Architecture of a Behler–Parrinello potential.

    Attributes
    ----------
    species : tuple of str
        Element symbols in the model's type order.
    symmetry_functions : SymmetryFunctions
    hidden : tuple of int
        Hidden-layer widths of every element's network.
    activation : {"tanh", "silu"}
    """

    species: tuple[str, ...]
    symmetry_functions: SymmetryFunctions
    hidden: tuple[int, ...] = (20, 20)
    activation: str = "tanh"

    def __post_init__(self) -> None:
        where = "Behler–Parrinello hyperparameters"
        if not self.species or len(set(self.species)) != len(self.species):
            raise UserInputError(f"species must be distinct symbols, got {self.species}", where)
        if not self.hidden or min(self.hidden) < 1:
            raise UserInputError(f"hidden layers must have at least one neuron each, got {self.hidden}", where)
        if self.activation not in ACTIVATIONS:
            raise UserInputError(f"activation must be one of {', '.join(ACTIVATIONS)}, got '{self.activation}'",
                                 "activation")

    @property
    def n_types(self) -> int:
        return len(self.species)

    @property
    def n_descriptors(self) -> int:
        return self.symmetry_functions.n_descriptors(self.n_types)

    def to_json(self) -> dict:
        return {"species": list(self.species), "symmetry_functions": self.symmetry_functions.to_json(),
                "hidden": list(self.hidden), "activation": self.activation}

    @classmethod
    def from_json(cls, data: dict) -> "BPSpec":
        return cls(species=tuple(data["species"]),
                   symmetry_functions=SymmetryFunctions.from_json(data["symmetry_functions"]),
                   hidden=tuple(int(h) for h in data["hidden"]), activation=str(data["activation"]))


class BPModel(SpecModelFile, PotentialModel):
    """Behler–Parrinello potential with one MLP per element (kind ``"atomistic.bp"``).

    Parameters
    ----------
    spec : BPSpec
    reference_energies : sequence of float, optional
        Per-element energies (eV) added outside the network (default 0).

    Parameters (torch): ``w{k}`` (T, n_in, n_out) and ``b{k}`` (T, n_out) for each layer k; buffers
    ``g_shift`` and ``g_scale`` (T, D), the per-element descriptor standardisation.
    """

    kind = "atomistic.bp"
    spec_class = BPSpec

    def __init__(self, spec: BPSpec, reference_energies=None) -> None:
        super().__init__()
        self.spec = spec
        t, d = spec.n_types, spec.n_descriptors
        self.reference_energies = reference_energy_tuple(reference_energies, t)
        widths = (d, *spec.hidden, 1)
        self.n_layers = len(widths) - 1
        for k in range(self.n_layers):
            self.register_parameter(f"w{k}", nn.Parameter(torch.zeros(t, widths[k], widths[k + 1], dtype=torch.float64)))
            self.register_parameter(f"b{k}", nn.Parameter(torch.zeros(t, widths[k + 1], dtype=torch.float64)))
        self.register_buffer("g_shift", torch.zeros(t, d, dtype=torch.float64))
        self.register_buffer("g_scale", torch.ones(t, d, dtype=torch.float64))
        self._act = torch.tanh if spec.activation == "tanh" else nn.functional.silu

    # ----------------------------------------------------------------------------- interface
    @property
    def species(self) -> tuple[str, ...]:
        return self.spec.species

    @property
    def cutoff(self) -> float:
        """Neighbour-list cutoff, Å."""
        return self.spec.symmetry_functions.cutoff

    def featurize(self, frames, dtype: torch.dtype = torch.float32, widths=None, where: str = "") -> list[dict]:
        """Symmetry functions and their derivatives of each frame (see :func:`featurize`)."""
        return featurize(self.spec, frames, dtype, widths, where)

    def neighbor_widths(self, frames) -> tuple[int]:
        """Neighbour slots that fit every atom of *frames*."""
        return (max(max_neighbors(atoms_pairs(a, self.cutoff), len(a)) for a in frames),)

    @staticmethod
    def collate(frames: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Concatenate featurized frames (same slot width) into a batch; see :func:`collate`."""
        return collate(frames)

    def initialize(self, batch: dict[str, torch.Tensor], target_energy_per_atom: float) -> None:
        """Per-element descriptor mean and spread from *batch*; output bias = mean target energy per atom."""
        initialize_from_data(self, batch, target_energy_per_atom)

    @torch.no_grad()
    def shift_energy(self, delta: float) -> None:
        """Add *delta* (eV) to every site energy (the output biases)."""
        getattr(self, f"b{self.n_layers - 1}").add_(delta)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Random start: w ~ N(0, 1/n_in) (last layer ×0.1), biases 0."""
        with torch.no_grad():
            for k in range(self.n_layers):
                w = getattr(self, f"w{k}")
                scale = (0.1 if k == self.n_layers - 1 else 1.0) / math.sqrt(w.shape[1])
                w.copy_(torch.randn(w.shape, generator=generator, dtype=torch.float64) * scale)
                getattr(self, f"b{k}").zero_()

    # ----------------------------------------------------------------------------- evaluation
    def _network(self, x: torch.Tensor, t: int) -> torch.Tensor:
        for k in range(self.n_layers):
            x = x @ getattr(self, f"w{k}")[t] + getattr(self, f"b{k}")[t]
            if k < self.n_layers - 1:
                x = self._act(x)
        return x.squeeze(-1)

    def site_energies(self, G: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        """E_i (A,) from descriptors G (A, D): each atom through its element's network."""
        x = (G - self.g_shift[types]) * self.g_scale[types]
        return per_type(x, types, self.spec.n_types, self._network)

    def forward(self, batch: dict[str, torch.Tensor], forces: bool = True, virial: bool = False,
                create_graph: bool = False) -> dict[str, torch.Tensor]:
        """Energies (without the reference energies), forces and virials of a collated batch.

        Returns
        -------
        dict with ``energies`` (A,) eV, ``energy`` (F,) eV and, if asked, ``forces`` (A, 3) eV/Å and
        ``virial`` (F, 3, 3) eV.
        """
        n_frames = int(batch[keys.N_ATOMS].shape[0])
        G = batch[keys.G]
        with torch.enable_grad():
            if forces or virial:
                G = G.detach().requires_grad_()
            energies = self.site_energies(G, batch[keys.TYPES])
            out = {keys.ENERGIES: energies, keys.ENERGY: frame_sum(energies, batch[keys.FRAME], n_frames)}
            if not (forces or virial):
                return out
            (dE,) = torch.autograd.grad(energies.sum(), G, create_graph=create_graph)
        Gp = torch.einsum("ad,amdx->amx", dE, batch[keys.DG])
        if forces:
            out[keys.FORCES] = forces_from_pairs([(Gp, batch[keys.R_J])], energies.shape[0])
        if virial:
            out[keys.VIRIAL] = virial_from_pairs([(Gp, batch[keys.R_VEC])], batch[keys.FRAME], n_frames)
        return out


# --------------------------------------------------------------------------------- data plumbing
def featurize(spec: BPSpec, frames, dtype: torch.dtype = torch.float32, widths=None, where: str = "",
              chunk_atoms: int = 4000) -> list[dict[str, torch.Tensor]]:
    """Descriptors G (A, D), derivatives dG (A, M, D, 3), neighbour indices and vectors of each frame.

    Frames are joined into groups of about *chunk_atoms* atoms (one vectorised evaluation per group)
    and padded to a common slot width M (*widths* ``(M,)``, or the largest neighbour count).
    """
    types, pairs = frame_types_and_pairs(spec.species, frames, spec.symmetry_functions.cutoff, where)
    width = widths[0] if widths is not None else max(max_neighbors(p, len(a)) for p, a in zip(pairs, frames))

    def features(joined_types: np.ndarray, joined_pairs: Pairs) -> dict[str, torch.Tensor]:
        return symmetry_functions(spec.symmetry_functions, joined_types, spec.n_types, joined_pairs, width, dtype)

    return featurize_in_groups(types, pairs, features, (keys.R_J,), chunk_atoms)


def collate(frames: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Concatenate frames into one batch; neighbour indices become global, empty slots point at ``n_atoms``.

    Adds ``frame`` (A,) and ``n_atoms`` (F,).
    """
    sizes = torch.tensor([f[keys.TYPES].shape[0] for f in frames])
    total = int(sizes.sum())
    offsets = (torch.cumsum(sizes, 0) - sizes).tolist()
    batch = {}
    for key in frames[0]:
        parts = [f[key] for f in frames]
        if key == keys.R_J:
            parts = [torch.where(p >= 0, p + o, total) for p, o in zip(parts, offsets)]
        batch[key] = torch.cat(parts, 0) if len(parts) > 1 else parts[0]
    batch[keys.FRAME] = torch.repeat_interleave(torch.arange(len(frames)), sizes)
    batch[keys.N_ATOMS] = sizes
    return batch


@torch.no_grad()
def initialize_from_data(model: BPModel, batch: dict[str, torch.Tensor], target_energy_per_atom: float) -> None:
    """g_shift = per-element mean of each descriptor, g_scale = 1 / its standard deviation (1 where it
    does not vary), output bias = *target_energy_per_atom*."""
    G = batch[keys.G].double()
    for t in range(model.spec.n_types):
        rows = G[batch[keys.TYPES] == t]
        if rows.shape[0] == 0:
            continue
        std = rows.std(0, unbiased=False) if rows.shape[0] > 1 else torch.zeros_like(rows[0])
        model.g_shift[t] = rows.mean(0)
        model.g_scale[t] = torch.where(std > 1e-8, 1.0 / std.clamp_min(1e-8), torch.ones_like(std))
    getattr(model, f"b{model.n_layers - 1}").fill_(float(target_energy_per_atom))
