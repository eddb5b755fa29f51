"""SevenNet, a NequIP-class equivariant universal potential (Park et al., J. Chem. Theory Comput. 20,
4857 (2024)), fine-tuned by this package's trainer.

``SevenNetModel.pretrained()`` is SevenNet-0 (the checkpoint of 11 July 2024 that ships inside the
``sevenn`` package: 5 interaction layers, 89 elements, cutoff 5 Å, trained on MPtrj, PBE(+U)). The
network is ``sevenn``'s own :class:`~sevenn.nn.sequential.AtomGraphSequential`; this module turns
the package's frames into its batched graph (edges from the vesin neighbour list: source i,
destination j, r_ij = r_j − r_i + S·cell) and reads its outputs: the total and atomic energies,
forces from the edge-vector gradients, and the stress, whose virial W = V · (σ_xx, σ_yy, σ_zz,
σ_xy, σ_yz, σ_zx of ``sevenn``'s sign) is returned in eV. Its per-element energy shifts are its own
(the reference energies here are zero: the pretrained ones are kept), and the trainer's closed-form
energy shift moves them all together.

The model folder stores ``sevenn``'s model configuration in ``model.json`` (JSON, numbers only) and
the weights in safetensors; loading rebuilds the network with ``sevenn``'s builder and fills in the
tensors, so a fine-tuned model never unpickles (the shipped checkpoint is read once, by ``sevenn``,
with ``torch.load``).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic._e3nn import quiet_import
from nnsurrogate.atomistic._model_common import (Float32Network, collate_graphs, edge_vectors, frame_types_and_pairs,
                                                 graph_features, saved_tensors, shortest_edge)
from nnsurrogate.atomistic.models import PotentialModel
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.modelio import load_weights

INSTALL_HINT = "SevenNet needs the sevenn package: pip install 'nnsurrogate[pretrained]'"
#: The output head: what ``--freeze interactions`` leaves trainable (fine-tuning the heads only).
HEAD = ("reduce_input_to_hidden", "reduce_hidden_to_energy", "rescale_atomic_energy")
_VOIGT = ((0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (2, 0))  # sevenn's stress order


def _sevenn(module: str = "sevenn.util"):
    return quiet_import(module, INSTALL_HINT, "sevennet-0")


def _json_config(config: dict) -> dict:
    """``sevenn``'s model configuration with arrays as lists and the device dropped (JSON-safe)."""
    out = {}
    for key, value in config.items():
        if key == "device":
            continue
        out[key] = value.tolist() if isinstance(value, np.ndarray) else value
    return out


class SevenNetModel(Float32Network, PotentialModel):
    """``sevenn``'s network behind the :class:`~nnsurrogate.atomistic.models.PotentialModel` interface
    (kind ``"atomistic.sevennet"``). It stays in float32, SevenNet-0's own precision (e3nn's compiled
    kernels keep float32 constants): a float64 request, e.g. for evaluation, runs in float32.

    Parameters
    ----------
    net : sevenn.nn.sequential.AtomGraphSequential
    config : dict
        ``sevenn``'s model configuration (JSON-safe), kept for the model file.
    """

    kind = "atomistic.sevennet"
    bias_by_shift = True
    #: What :meth:`freeze` can hold fixed: every layer but the output head.
    PARTS = ("interactions",)

    def __init__(self, net, config: dict) -> None:
        super().__init__()
        from ase.data import chemical_symbols

        self.net = net
        self.config = config
        self.type_map = {int(z): int(k) for z, k in net.type_map.items()}
        self._species = tuple(chemical_symbols[z] for z in sorted(self.type_map, key=self.type_map.get))
        self.reference_energies = (0.0,) * len(self._species)
        self.spec = None

    @classmethod
    def pretrained(cls) -> "SevenNetModel":
        """SevenNet-0 from the checkpoint inside the installed ``sevenn``."""
        util = _sevenn()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript notes on e3nn's compiled modules
            net, config = util.model_from_checkpoint(util.pretrained_name_to_path("7net-0"))
        return cls(net.float(), _json_config(config))

    # ----------------------------------------------------------------------------- interface
    @property
    def species(self) -> tuple[str, ...]:
        return self._species

    @property
    def cutoff(self) -> float:
        return float(self.net.cutoff)

    def featurize(self, frames, dtype: torch.dtype = torch.float32, widths=None, where: str = "") -> list[dict]:
        """Each frame's graph (:func:`~nnsurrogate.atomistic._model_common.graph_features`) plus the atomic
        numbers and the volume (Å³) ``sevenn`` reads. Unknown elements are one-line errors naming the frame."""
        for k, atoms in enumerate(frames):
            unknown = sorted(set(atoms.get_chemical_symbols()) - set(self.species))
            if unknown:
                raise UserInputError(f"element {', '.join(unknown)} is not in SevenNet-0",
                                     f"{where}, frame {k}" if where else f"frame {k}")
        graphs = graph_features(frames, *frame_types_and_pairs(self.species, frames, self.cutoff, where), dtype)
        for atoms, graph in zip(frames, graphs):
            volume = float(atoms.cell.volume) if atoms.pbc.all() else float(np.finfo(float).eps)
            graph.update({"x": torch.as_tensor(atoms.numbers, dtype=torch.long),
                          "cell_volume": torch.tensor([volume], dtype=dtype)})
        return graphs

    def neighbor_widths(self, frames) -> tuple[int, ...]:
        return ()

    collate = staticmethod(collate_graphs)
    shortest_pair = staticmethod(shortest_edge)

    def parameter_groups(self, lr: float) -> list[dict]:
        """Every trainable weight but the energy shifts (moved in closed form, :meth:`shift_energy`)."""
        shift = self.net.rescale_atomic_energy.shift
        return [{"params": [p for p in self.parameters() if p.requires_grad and p is not shift], "lr": lr}]

    def reset_parameters(self, generator=None) -> None:
        raise UserInputError("SevenNet is fine-tuned from its pretrained weights, not trained from scratch", "--model")

    def initialize(self, batch, target_energy_per_atom: float) -> None:
        """Nothing to set: the pretrained shifts and scales are kept."""

    @torch.no_grad()
    def shift_energy(self, delta: float) -> None:
        """Add *delta* (eV) to every site energy (every element's pretrained shift)."""
        self.net.rescale_atomic_energy.shift.add_(float(delta))

    def freeze(self, parts) -> None:
        """``"interactions"``: hold every layer but the output head (:data:`HEAD`) fixed."""
        for part in parts:
            if part not in self.PARTS:
                raise UserInputError(f"cannot freeze '{part}' of SevenNet (choose {', '.join(self.PARTS)})", "freeze")
        for name, child in self.net.named_children():
            if name not in HEAD:
                child.requires_grad_(False)

    # ----------------------------------------------------------------------------- evaluation
    def forward(self, batch: dict[str, torch.Tensor], forces: bool = True, virial: bool = False,
                create_graph: bool = False) -> dict[str, torch.Tensor]:
        """Energies (A,) and (F,) eV, forces (A, 3) eV/Å and virials (F, 3, 3) eV of a collated batch
        (float inputs are taken in the network's own float32, whatever the caller's precision)."""
        dtype = next(self.net.parameters()).dtype
        batch = {k: v.to(dtype) if v.is_floating_point() else v for k, v in batch.items()}
        data = {"x": batch["x"], "atomic_numbers": batch["x"], "pos": batch[keys.ATOM_POSITIONS],
                "edge_vec": edge_vectors(batch).detach(), "cell_lattice_vectors": batch[keys.FRAME_CELL].reshape(-1, 3),
                "edge_index": torch.stack([batch[keys.EDGE_I], batch[keys.EDGE_J]]),
                "pbc_shift": batch[keys.EDGE_UNIT_SHIFT], "cell_volume": batch["cell_volume"],
                "num_atoms": batch[keys.N_ATOMS], "batch": batch[keys.FRAME]}
        was_training = self.net.training
        self.net.train(create_graph)  # sevenn keeps the force graph (create_graph) only in training mode
        self.net.set_is_batch_data(True)
        try:
            with torch.enable_grad():
                out = self.net(data)
        finally:
            self.net.train(was_training)
        energies = out["atomic_energy"].reshape(-1)
        result = {keys.ENERGIES: energies, keys.ENERGY: out["inferred_total_energy"].reshape(-1)}
        if forces:
            result[keys.FORCES] = out["inferred_force"]
        if virial:
            stress = out["inferred_stress"].reshape(-1, 6) * batch["cell_volume"].reshape(-1, 1)
            w = stress.new_zeros(stress.shape[0], 3, 3)
            for k, (a, b) in enumerate(_VOIGT):
                w[:, a, b] = w[:, b, a] = stress[:, k]
            result[keys.VIRIAL] = w
        return result

    # ----------------------------------------------------------------------------- model file
    def to_saved(self) -> tuple[dict, dict]:
        tensors = saved_tensors(self.net)
        header = {"sevenn_config": self.config, "reference_energies_eV": list(self.reference_energies),
                  "units": {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å³"}}
        return tensors, header

    @classmethod
    def from_saved(cls, tensors: dict, header: dict) -> "SevenNetModel":
        build = _sevenn("sevenn.model_build").build_E3_equivariant_model
        config = dict(header["sevenn_config"])
        config["_type_map"] = {int(z): int(k) for z, k in config["_type_map"].items()}  # JSON keys are text
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript notes on e3nn's compiled modules
            net = build(config)
        load_weights(net.float(), {k: np.asarray(v) for k, v in tensors.items()}, "")
        return cls(net, config)
