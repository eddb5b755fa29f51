"""MACE, the equivariant message-passing potential (Batatia et al., NeurIPS 35 (2022), arXiv:2206.07697),
built from ``mace-torch``'s own model modules and trained by this package's engine.

    E = Σ_i [E_ref(t_i) + s · ε_i + μ],    ε_i = Σ_layers readout(h_i^(layer))

The network is ``mace-torch``'s :class:`mace.modules.ScaleShiftMACE` (radial Bessel basis with a
polynomial cutoff, spherical harmonics up to ``max_ell``, ``num_interactions`` interaction blocks
whose product basis couples ``correlation`` messages — body order ``correlation + 1`` per layer —,
a linear readout after every layer but the last, a gated MLP readout after it). The irreps algebra,
the symmetric contractions and their Clebsch–Gordan tables are the library's; this module only turns
this package's frames and batches into its graph (edges from the vesin neighbour list: sender i,
receiver j, vector r_j − r_i + S·cell) and reads its outputs. Energies are site sums; forces
(−∂E/∂r) and the virial (−∂E/∂ε, eV, by a symmetric strain of positions and cell) come from
``mace-torch`` by autograd, so a force or virial loss stays differentiable (``create_graph``).

The per-element reference energies E_ref stay outside the network (as for NEP and BP); the shift μ
is moved in closed form by the trainer (:meth:`MACEModel.shift_energy`), the scale s is set once
from the data. Weights are saved with the architecture in ``model.json`` (no pickles): loading
rebuilds the modules from the spec and fills in the tensors.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic._e3nn import quiet_import
from nnsurrogate.atomistic._model_common import (SpecModelFile, collate_graphs, frame_types_and_pairs, graph_features,
                                                 reference_energy_tuple, shortest_edge)
from nnsurrogate.atomistic.models import PotentialModel
from nnsurrogate.core.errors import UserInputError

#: What ``pip`` needs for this model.
INSTALL_HINT = "the MACE model needs mace-torch: pip install 'nnsurrogate[equivariant]'"


def _mace():
    """The ``mace.modules`` package, or a one-line :class:`UserInputError` saying what to install."""
    return quiet_import("mace.modules", INSTALL_HINT, "--model mace")


def check_irreps(text: str, where: str) -> None:
    """A one-line :class:`UserInputError` unless *text* is an e3nn irreps string such as ``"32x0e + 32x1o"``."""
    _mace()
    from e3nn import o3

    try:
        o3.Irreps(text)
    except (ValueError, AssertionError):
        raise UserInputError(f"not an irreps string such as '32x0e + 32x1o': '{text}'", where) from None


@dataclass(frozen=True)
class MACESpec:
    """Architecture of a MACE potential (names as in ``mace-torch``).

    Attributes
    ----------
    species : tuple of str
        Element symbols in the model's type order.
    cutoff : float
        r_max, Å.
    num_bessel : int
        Radial Bessel functions.
    num_polynomial_cutoff : int
        Degree p of the polynomial envelope.
    max_ell : int
        Highest degree of the edge spherical harmonics.
    num_interactions : int
        Message-passing layers (receptive field ``num_interactions · cutoff``).
    hidden_irreps : str
        Node features, e.g. ``"32x0e + 32x1o"`` (channels × irreps).
    correlation : int
        Messages coupled in one product basis (body order correlation + 1).
    mlp_irreps : str
        Hidden irreps of the last (non-linear) readout.
    radial_mlp : tuple of int
        Widths of the radial network.
    avg_num_neighbors : float
        Normalisation of the message sum (the training data's mean neighbour count).
    """

    species: tuple[str, ...]
    cutoff: float = 5.0
    num_bessel: int = 8
    num_polynomial_cutoff: int = 5
    max_ell: int = 3
    num_interactions: int = 2
    hidden_irreps: str = "32x0e + 32x1o"
    correlation: int = 3
    mlp_irreps: str = "16x0e"
    radial_mlp: tuple[int, ...] = (64, 64, 64)
    avg_num_neighbors: float = 1.0

    def __post_init__(self) -> None:
        where = "MACE hyperparameters"
        if not self.species or len(set(self.species)) != len(self.species):
            raise UserInputError(f"species must be distinct symbols, got {self.species}", where)
        checks = {"cutoff": self.cutoff > 0, "num_bessel": self.num_bessel >= 1, "max_ell": self.max_ell >= 0,
                  "num_interactions": self.num_interactions >= 1, "correlation": self.correlation >= 1,
                  "num_polynomial_cutoff": self.num_polynomial_cutoff >= 1,
                  "radial_mlp": bool(self.radial_mlp) and min(self.radial_mlp) >= 1,
                  "avg_num_neighbors": self.avg_num_neighbors > 0}
        for name, ok in checks.items():
            if not ok:
                raise UserInputError(f"{name} out of range: {getattr(self, name)}", where)

    @property
    def n_types(self) -> int:
        return len(self.species)

    def to_json(self) -> dict:
        return {"species": list(self.species), "cutoff": self.cutoff, "num_bessel": self.num_bessel,
                "num_polynomial_cutoff": self.num_polynomial_cutoff, "max_ell": self.max_ell,
                "num_interactions": self.num_interactions, "hidden_irreps": self.hidden_irreps,
                "correlation": self.correlation, "mlp_irreps": self.mlp_irreps, "radial_mlp": list(self.radial_mlp),
                "avg_num_neighbors": self.avg_num_neighbors}

    @classmethod
    def from_json(cls, data: dict) -> "MACESpec":
        return cls(species=tuple(data["species"]), cutoff=float(data["cutoff"]), num_bessel=int(data["num_bessel"]),
                   num_polynomial_cutoff=int(data["num_polynomial_cutoff"]), max_ell=int(data["max_ell"]),
                   num_interactions=int(data["num_interactions"]), hidden_irreps=str(data["hidden_irreps"]),
                   correlation=int(data["correlation"]), mlp_irreps=str(data["mlp_irreps"]),
                   radial_mlp=tuple(int(w) for w in data["radial_mlp"]),
                   avg_num_neighbors=float(data["avg_num_neighbors"]))


def build_network(spec: MACESpec, seed: int = 0) -> torch.nn.Module:
    """``mace-torch``'s ScaleShiftMACE for *spec* (float64, weights drawn from *seed*; scale 1, shift 0)."""
    from ase.data import atomic_numbers

    modules = _mace()
    from e3nn import o3

    with _default_dtype(torch.float64), torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # TorchScript notes on e3nn's generated modules
        warnings.simplefilter("ignore", DeprecationWarning)  # e3nn scripts them with torch.jit
        torch.manual_seed(int(seed))
        return modules.ScaleShiftMACE(
            r_max=float(spec.cutoff), num_bessel=spec.num_bessel, num_polynomial_cutoff=spec.num_polynomial_cutoff,
            max_ell=spec.max_ell, interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
            interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
            num_interactions=spec.num_interactions, num_elements=spec.n_types,
            hidden_irreps=o3.Irreps(spec.hidden_irreps), MLP_irreps=o3.Irreps(spec.mlp_irreps),
            atomic_energies=np.zeros(spec.n_types), avg_num_neighbors=float(spec.avg_num_neighbors),
            atomic_numbers=[atomic_numbers[s] for s in spec.species], correlation=spec.correlation,
            gate=torch.nn.functional.silu, radial_MLP=list(spec.radial_mlp), atomic_inter_scale=1.0,
            atomic_inter_shift=0.0)


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


class MACEModel(SpecModelFile, PotentialModel):
    """A MACE potential (kind ``"atomistic.mace"``): ``mace-torch``'s ScaleShiftMACE behind the
    package's :class:`~nnsurrogate.atomistic.models.PotentialModel` interface.

    Parameters
    ----------
    spec : MACESpec
    reference_energies : sequence of float, optional
        Per-element energies (eV) added outside the network (default 0).
    seed : int
        Initial weights.
    """

    kind = "atomistic.mace"
    spec_class = MACESpec
    bias_by_shift = True

    def __init__(self, spec: MACESpec, reference_energies=None, seed: int = 0) -> None:
        super().__init__()
        self.spec = spec
        self.reference_energies = reference_energy_tuple(reference_energies, spec.n_types)
        self.net = build_network(spec, seed)

    # ----------------------------------------------------------------------------- interface
    @property
    def species(self) -> tuple[str, ...]:
        return self.spec.species

    @property
    def cutoff(self) -> float:
        """Neighbour-list cutoff (one layer's), Å."""
        return float(self.spec.cutoff)

    def featurize(self, frames, dtype: torch.dtype = torch.float32, widths=None, where: str = "") -> list[dict]:
        """Each frame's graph within the cutoff (:func:`~nnsurrogate.atomistic._model_common.graph_features`).
        *widths* is ignored (no slots)."""
        return graph_features(frames, *frame_types_and_pairs(self.species, frames, self.cutoff, where), dtype)

    def neighbor_widths(self, frames) -> tuple[int, ...]:
        """A graph has no neighbour slots to fit: ``()``."""
        return ()

    collate = staticmethod(collate_graphs)
    shortest_pair = staticmethod(shortest_edge)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Fresh weights (``mace-torch``'s initialisation) from *generator*'s seed; scale and shift kept."""
        seed = int(generator.initial_seed()) if generator is not None else 0
        fresh = build_network(self.spec, seed).to(dtype=next(self.net.parameters()).dtype)
        kept = {name: getattr(self.net.scale_shift, name).clone() for name in ("scale", "shift")}
        self.net.load_state_dict(fresh.state_dict())
        for name, value in kept.items():
            getattr(self.net.scale_shift, name).copy_(value)

    @torch.no_grad()
    def initialize(self, batch: dict[str, torch.Tensor], target_energy_per_atom: float) -> None:
        """Shift μ = the mean energy per atom left after the reference energies (scale stays 1 eV)."""
        self.net.scale_shift.shift.fill_(float(target_energy_per_atom))

    @torch.no_grad()
    def shift_energy(self, delta: float) -> None:
        """Add *delta* (eV) to every site energy (the shift μ)."""
        self.net.scale_shift.shift.add_(float(delta))

    # ----------------------------------------------------------------------------- evaluation
    def graph(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """*batch* as ``mace-torch``'s data dictionary (one-hot elements, ``edge_index`` = [i, j], …)."""
        sizes = batch[keys.N_ATOMS]
        positions = batch[keys.ATOM_POSITIONS]
        ptr = torch.zeros(sizes.numel() + 1, dtype=torch.long, device=positions.device)
        ptr[1:] = torch.cumsum(sizes.to(positions.device), 0)
        return {"positions": positions.detach().clone(), "cell": batch[keys.FRAME_CELL].reshape(-1, 3),
                "node_attrs": torch.nn.functional.one_hot(batch[keys.TYPES], self.spec.n_types).to(positions.dtype),
                "edge_index": torch.stack([batch[keys.EDGE_I], batch[keys.EDGE_J]]),
                "shifts": batch[keys.EDGE_SHIFT], "unit_shifts": batch[keys.EDGE_UNIT_SHIFT],
                "batch": batch[keys.FRAME], "ptr": ptr}

    def forward(self, batch: dict[str, torch.Tensor], forces: bool = True, virial: bool = False,
                create_graph: bool = False) -> dict[str, torch.Tensor]:
        """Energies (without the reference energies), forces and virials of a collated batch.

        Returns
        -------
        dict with ``energies`` (A,) eV, ``energy`` (F,) eV and, if asked, ``forces`` (A, 3) eV/Å and
        ``virial`` (F, 3, 3) eV (W = −∂E/∂ε; ASE stress σ = −W/V).
        """
        with torch.enable_grad():
            out = self.net(self.graph(batch), training=create_graph, compute_force=forces or virial,
                           compute_virials=virial)
        result = {keys.ENERGIES: out["node_energy"], keys.ENERGY: out["energy"]}
        if forces:
            result[keys.FORCES] = out["forces"]
        if virial:
            result[keys.VIRIAL] = out["virials"]
        return result
