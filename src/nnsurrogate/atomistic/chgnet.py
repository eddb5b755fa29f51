"""CHGNet, a universal graph potential with angle messages (Deng et al., Nat. Mach. Intell. 5, 1031
(2023)), fine-tuned by this package's trainer.

``CHGNetModel.pretrained()`` is CHGNet 0.3.0, the MPtrj-trained weights that ship inside the ``chgnet``
package (four atom-convolution layers, bond and angle updates, 94 elements, atom-graph cutoff 6 Å, bond
graph 3 Å). The network is ``chgnet``'s own :class:`chgnet.model.CHGNet`, and its graphs are made by its
own :class:`~chgnet.graph.CrystalGraphConverter`: each frame is featurized once into the converter's
tensors (kept as plain tensors so the trainer can cache and batch them) and turned back into
``CrystalGraph`` objects for every evaluation. Energies, forces and stress are ``chgnet``'s (forces and
stress by autograd inside its forward, the graph kept for a force loss); the stress in GPa becomes the
virial W = −σ V (eV). Its composition model (``AtomRef``, fixed per-element energies) holds the reference
energies, so the package's own are zero, and the trainer's closed-form energy shift moves every element's
entry together. CHGNet treats every frame as periodic: a molecule needs a box larger than twice the 6 Å
cutoff.

The model folder stores ``chgnet``'s constructor arguments in ``model.json`` and the weights in
safetensors; loading builds the network with ``CHGNet(**args)`` and fills in the tensors (no pickle).
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import torch

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic._e3nn import quiet_import
from nnsurrogate.atomistic._model_common import Float32Network, saved_tensors
from nnsurrogate.atomistic.models import PotentialModel
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.modelio import load_weights

INSTALL_HINT = "CHGNet needs the chgnet package: pip install 'nnsurrogate[pretrained]'"
#: eV/Å³ per GPa (the unit of CHGNet's stress).
GPA = 1 / 160.21766208
#: Per-frame tensors of a featurized frame (the CrystalGraph fields) and the size column each is split by.
_FIELDS = {"cg_atomic_number": 0, "cg_frac": 0, "cg_atom_graph": 1, "cg_image": 1, "cg_d2u": 1, "cg_u2d": 2,
           "cg_bond_graph": 3}


def _chgnet(module: str = "chgnet.model"):
    return quiet_import(module, INSTALL_HINT, "chgnet")


class CHGNetModel(Float32Network, PotentialModel):
    """``chgnet``'s network behind the :class:`~nnsurrogate.atomistic.models.PotentialModel` interface
    (kind ``"atomistic.chgnet"``). It stays in float32 (``chgnet`` builds its graphs in float32): a float64
    request, e.g. for evaluation, runs in float32.

    Parameters
    ----------
    net : chgnet.model.CHGNet
    """

    kind = "atomistic.chgnet"
    bias_by_shift = True
    #: What :meth:`freeze` can hold fixed: everything but the last atom convolution and the readout.
    PARTS = ("interactions",)

    def __init__(self, net) -> None:
        super().__init__()
        from ase.data import chemical_symbols

        self.net = net
        self._species = tuple(chemical_symbols[1:95])
        self.reference_energies = (0.0,) * len(self._species)
        self.spec = None

    @classmethod
    def pretrained(cls) -> "CHGNetModel":
        """CHGNet 0.3.0 from the weights inside the installed ``chgnet``."""
        model = _chgnet()
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = model.CHGNet.load(use_device="cpu", verbose=False)
        return cls(net.float())

    # ----------------------------------------------------------------------------- interface
    @property
    def species(self) -> tuple[str, ...]:
        return self._species

    #: Atoms per evaluation batch (:func:`~nnsurrogate.atomistic.evaluation.predict_frames`): CHGNet keeps the
    #: graph of its forces and stress, and a 4000-atom batch of mlearn Mo frames took more than 12 GB.
    eval_batch_atoms = 256

    @property
    def cutoff(self) -> float:
        return float(self.net.graph_converter.atom_graph_cutoff)

    def featurize(self, frames, dtype: torch.dtype = torch.float32, widths=None, where: str = "") -> list[dict]:
        """Each frame as the tensors of ``chgnet``'s CrystalGraph (its converter's neighbour search), plus
        the sizes that split a batch back into graphs. A frame without a cell is a one-line error."""
        from pymatgen.core import Lattice, Structure

        out = []
        for k, atoms in enumerate(frames):
            if abs(atoms.cell.volume) < 1e-6:
                raise UserInputError("CHGNet needs a cell (it treats every frame as periodic; put a molecule in a "
                                     "box larger than 12 Å)", f"{where}, frame {k}" if where else f"frame {k}")
            structure = Structure(Lattice(np.asarray(atoms.cell.array)), atoms.get_chemical_symbols(),
                                  atoms.get_scaled_positions(wrap=False))
            try:
                with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
                    warnings.simplefilter("ignore")
                    graph = self.net.graph_converter(structure, graph_id=str(k))
            except (ValueError, RuntimeError) as exc:  # e.g. an atom with no neighbour within the cutoff
                raise UserInputError(f"CHGNet cannot make its graph: {str(exc).splitlines()[0]}",
                                     f"{where}, frame {k}" if where else f"frame {k}") from None
            tensors = {"cg_atomic_number": graph.atomic_number, "cg_frac": graph.atom_frac_coord.detach().to(dtype),
                       "cg_atom_graph": graph.atom_graph.reshape(-1, 2), "cg_image": graph.neighbor_image.to(dtype),
                       "cg_d2u": graph.directed2undirected, "cg_u2d": graph.undirected2directed,
                       "cg_bond_graph": graph.bond_graph.reshape(-1, 5)}
            sizes = [len(tensors[name]) for name in ("cg_frac", "cg_atom_graph", "cg_u2d", "cg_bond_graph")]
            out.append({**tensors, "cg_lattice": graph.lattice.detach().to(dtype).unsqueeze(0),
                        "cg_sizes": torch.tensor([sizes]), keys.TYPES: graph.atomic_number.long() - 1})
        return out

    def neighbor_widths(self, frames) -> tuple[int, ...]:
        return ()

    @staticmethod
    def collate(frames: list[dict]) -> dict[str, torch.Tensor]:
        """Frames joined field by field (each graph keeps its own indices; ``cg_sizes`` splits them again),
        with ``frame`` (A,) and ``n_atoms`` (F,)."""
        batch = {key: torch.cat([f[key] for f in frames], 0) for key in frames[0]}
        sizes = batch["cg_sizes"][:, 0]
        batch[keys.FRAME] = torch.repeat_interleave(torch.arange(len(frames)), sizes)
        batch[keys.N_ATOMS] = sizes
        return batch

    def _graphs(self, batch: dict[str, torch.Tensor]) -> list:
        """``chgnet`` CrystalGraphs of a collated batch, fractional coordinates as gradient leaves."""
        from chgnet.graph.crystalgraph import CrystalGraph

        dtype = next(self.net.parameters()).dtype
        sizes = batch["cg_sizes"].tolist()
        parts = {key: torch.split(batch[key], [s[col] for s in sizes]) for key, col in _FIELDS.items()}
        converter = self.net.graph_converter
        return [CrystalGraph(atomic_number=parts["cg_atomic_number"][k],
                             atom_frac_coord=parts["cg_frac"][k].detach().to(dtype).requires_grad_(True),
                             atom_graph=parts["cg_atom_graph"][k], atom_graph_cutoff=converter.atom_graph_cutoff,
                             neighbor_image=parts["cg_image"][k].to(dtype), directed2undirected=parts["cg_d2u"][k],
                             undirected2directed=parts["cg_u2d"][k], bond_graph=parts["cg_bond_graph"][k],
                             bond_graph_cutoff=converter.bond_graph_cutoff, lattice=batch["cg_lattice"][k].to(dtype),
                             graph_id=str(k))
                for k in range(len(sizes))]

    def shortest_pair(self, batch: dict[str, torch.Tensor]) -> float:
        """The shortest atom-graph bond of a collated batch, Å (``inf`` without bonds)."""
        shortest = float("inf")
        for graph in self._graphs(batch):
            if len(graph.atom_graph):
                frac = graph.atom_frac_coord.detach()
                d = (frac[graph.atom_graph[:, 1]] + graph.neighbor_image - frac[graph.atom_graph[:, 0]]) @ graph.lattice
                shortest = min(shortest, float(torch.linalg.vector_norm(d, dim=-1).min()))
        return shortest

    def parameter_groups(self, lr: float) -> list[dict]:
        """Every trainable weight (the composition model's fixed energies are moved in closed form)."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]

    def reset_parameters(self, generator=None) -> None:
        raise UserInputError("CHGNet is fine-tuned from its pretrained weights, not trained from scratch", "--model")

    def initialize(self, batch, target_energy_per_atom: float) -> None:
        """Nothing to set: the pretrained weights and composition energies are kept."""

    @torch.no_grad()
    def shift_energy(self, delta: float) -> None:
        """Add *delta* (eV) to every site energy (every element's composition-model energy)."""
        self.net.composition_model.fc.weight.add_(float(delta))

    def freeze(self, parts) -> None:
        """``"interactions"``: hold the embeddings, bases and all but the last atom convolution fixed
        (``chgnet``'s own fine-tuning recipe); the last convolution and the readout train."""
        for part in parts:
            if part not in self.PARTS:
                raise UserInputError(f"cannot freeze '{part}' of CHGNet (choose {', '.join(self.PARTS)})", "freeze")
        trainable = {id(p) for module in (self.net.atom_conv_layers[-1], self.net.readout_norm, self.net.mlp)
                     if module is not None for p in module.parameters()}
        for p in self.net.parameters():
            p.requires_grad_(id(p) in trainable)

    # ----------------------------------------------------------------------------- evaluation
    def forward(self, batch: dict[str, torch.Tensor], forces: bool = True, virial: bool = False,
                create_graph: bool = False) -> dict[str, torch.Tensor]:
        """Site energies (A,) and energies (F,) eV, forces (A, 3) eV/Å and virials (F, 3, 3) eV of a collated
        batch (``chgnet`` always keeps the force graph, so *create_graph* needs nothing more)."""
        graphs = self._graphs(batch)
        task = "e" + ("f" if forces or virial else "") + ("s" if virial else "")
        # forces need the coordinate graph even under no_grad; an energy-only pass (the trainer's energy
        # shift, over 4× the training batch) keeps none: CHGNet's graph of 16 Mo frames took > 10 GB
        with torch.enable_grad() if forces or virial else contextlib.nullcontext():
            out = self.net(graphs, task=task, return_site_energies=True)
        n_atoms = batch[keys.N_ATOMS].to(out["e"].device)
        result = {keys.ENERGIES: torch.cat(out["site_energies"]), keys.ENERGY: out["e"] * n_atoms}
        if forces:
            result[keys.FORCES] = torch.cat(out["f"])
        if virial:
            volume = torch.stack([torch.linalg.det(g.lattice).abs() for g in graphs])
            result[keys.VIRIAL] = -torch.stack(out["s"]) * GPA * volume.reshape(-1, 1, 1)
        return result

    # ----------------------------------------------------------------------------- model file
    def to_saved(self) -> tuple[dict, dict]:
        tensors = saved_tensors(self.net)
        header = {"chgnet_args": _json_args(self.net.model_args), "reference_energies_eV": list(self.reference_energies),
                  "units": {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å³"}}
        return tensors, header

    @classmethod
    def from_saved(cls, tensors: dict, header: dict) -> "CHGNetModel":
        model = _chgnet()
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = model.CHGNet(**header["chgnet_args"])
        load_weights(net.float(), {k: np.asarray(v) for k, v in tensors.items()}, "")
        return cls(net)


def _json_args(args: dict) -> dict:
    """``chgnet``'s constructor arguments that JSON can hold (a module argument would not be)."""
    out = {}
    for key, value in args.items():
        if isinstance(value, (str, int, float, bool, type(None))) or (
                isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str)) for v in value)):
            out[key] = list(value) if isinstance(value, tuple) else value
        else:
            raise UserInputError(f"CHGNet argument '{key}' cannot be saved as JSON", "model file")
    return out
