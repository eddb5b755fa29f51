"""Plumbing shared by the per-element potentials (:mod:`~nnsurrogate.atomistic.nep.model`,
:mod:`~nnsurrogate.atomistic.bp.model`): element → type index, featurizing frames in groups of
joined neighbour lists, per-element network evaluation, and the model-file header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import ClassVar

import numpy as np
import torch

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.neighbors import Pairs, atoms_pairs
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.modelio import load_weights

#: Units of what the models compute, written to every model file's header.
UNITS = {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å³"}


# ----------------------------------------------------------------------------- model attributes
def reference_energy_tuple(values: Sequence[float] | None, n_types: int) -> tuple[float, ...]:
    """Per-element reference energies (eV) as a tuple of *n_types* floats; ``None`` or empty gives zeros.

    Raises
    ------
    ValueError
        When the count does not match *n_types*.
    """
    energies = tuple(float(v) for v in (values or [0.0] * n_types))
    if len(energies) != n_types:
        raise ValueError(f"{len(energies)} reference energies for {n_types} species")
    return energies


class SpecModelFile:
    """Model-file round trip of a potential built as ``cls(spec, reference_energies)``.

    Mixed into a :class:`~nnsurrogate.atomistic.models.PotentialModel` subclass (before it in the
    bases) that sets ``spec_class``, the class of its ``spec`` (with ``to_json`` / ``from_json``).
    The weights are saved and loaded in float64.
    """

    spec_class: ClassVar[type]

    def to_saved(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Weights and header (``spec``, ``reference_energies_eV``, ``units``) for
        :func:`nnsurrogate.core.modelio.save_model`."""
        tensors = {k: v.detach().double().cpu().contiguous() for k, v in self.state_dict().items()}
        header = {"spec": self.spec.to_json(), "reference_energies_eV": list(self.reference_energies),
                  "units": UNITS}
        return tensors, header

    @classmethod
    def from_saved(cls, tensors: dict, header: dict):
        """Rebuild a model from :meth:`to_saved` output."""
        model = cls(cls.spec_class.from_json(header["spec"]), header.get("reference_energies_eV"))
        load_weights(model, {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items()}, "")
        return model


# ----------------------------------------------------------------------------- evaluation
def per_type(x: torch.Tensor, types: torch.Tensor, n_types: int,
             network: Callable[[torch.Tensor, int], torch.Tensor]) -> torch.Tensor:
    """Each row of *x* through the network of its element, in the original row order.

    Parameters
    ----------
    x : torch.Tensor, shape (A, D)
        Per-atom network inputs.
    types : torch.Tensor of int64, shape (A,)
        Type index of each atom, in ``[0, n_types)``.
    n_types : int
    network : callable
        ``network(rows, t)`` maps the rows (n_t, D) of type *t* to (n_t,).

    Returns
    -------
    torch.Tensor, shape (A,)
    """
    if n_types == 1:
        return network(x, 0)
    order = torch.argsort(types, stable=True)
    counts = torch.bincount(types, minlength=n_types).tolist()
    chunks = torch.split(x[order], counts)
    sorted_out = torch.cat([network(c, t) for t, c in enumerate(chunks)])
    return sorted_out.new_zeros(sorted_out.shape).index_copy(0, order, sorted_out)


# ----------------------------------------------------------------------------- data plumbing
def type_indices(species: tuple[str, ...], atoms, where: str = "") -> np.ndarray:
    """Model type index of each atom (n_atoms,); an unknown element is a :class:`UserInputError`."""
    index = {s: k for k, s in enumerate(species)}
    symbols = atoms.get_chemical_symbols()
    unknown = sorted(set(symbols) - set(index))
    if unknown:
        raise UserInputError(f"element {', '.join(unknown)} is not in the model ({', '.join(species)})",
                             where or "structure")
    return np.array([index[s] for s in symbols], dtype=np.int64)


def frame_types_and_pairs(species: tuple[str, ...], frames, cutoff: float,
                          where: str = "") -> tuple[list[np.ndarray], list[Pairs]]:
    """Type indices (n_atoms,) and neighbour list within *cutoff* (Å) of each frame.

    Errors name the frame: ``"<where>, frame k"`` (or ``"frame k"`` without *where*).
    """
    label = (lambda k: f"{where}, frame {k}") if where else (lambda k: f"frame {k}")  # noqa: E731
    types = [type_indices(species, a, label(k)) for k, a in enumerate(frames)]
    pairs = [atoms_pairs(a, cutoff, label(k)) for k, a in enumerate(frames)]
    return types, pairs


def frame_groups(sizes: Sequence[int], chunk_atoms: int) -> Iterator[slice]:
    """Consecutive frames of about *chunk_atoms* atoms in all (at least one frame per group).

    Parameters
    ----------
    sizes : sequence of int
        Atoms of each frame.
    chunk_atoms : int
        A group takes frames while its atom count stays ≤ *chunk_atoms*.
    """
    start = 0
    while start < len(sizes):
        stop, atoms = start, 0
        while stop < len(sizes) and (stop == start or atoms + sizes[stop] <= chunk_atoms):
            atoms += sizes[stop]
            stop += 1
        yield slice(start, stop)
        start = stop


def join_frames(types: list[np.ndarray], pairs: list[Pairs]) -> tuple[list[int], list[int], np.ndarray, Pairs]:
    """One neighbour list for several frames, atom indices offset by the atoms before each frame.

    Returns
    -------
    offsets, sizes : list of int
        First atom and atom count of each frame in the joined system.
    types : numpy.ndarray of int64, shape (A,)
    pairs : Pairs
    """
    sizes = [len(t) for t in types]
    offsets = np.cumsum([0] + sizes[:-1])
    joined = Pairs(np.concatenate([p.i + o for p, o in zip(pairs, offsets)]),
                   np.concatenate([p.j + o for p, o in zip(pairs, offsets)]),
                   np.concatenate([p.shifts for p in pairs]), np.concatenate([p.vectors for p in pairs]),
                   np.concatenate([p.distances for p in pairs]))
    return offsets.tolist(), sizes, np.concatenate(types), joined


def split_frames(whole: dict[str, torch.Tensor], offsets: list[int], sizes: list[int],
                 index_keys: Sequence[str]) -> list[dict[str, torch.Tensor]]:
    """Per-atom features of a joined system back into frames.

    Parameters
    ----------
    whole : dict of str to torch.Tensor
        Features with the atom as first axis (A, ...).
    offsets, sizes : list of int
        From :func:`join_frames`.
    index_keys : sequence of str
        Features holding neighbour atom indices (−1 for an empty slot); they become frame-local.
    """
    frames = []
    for offset, size in zip(offsets, sizes):
        part = {key: value[offset : offset + size] for key, value in whole.items()}
        for key in index_keys:
            part[key] = torch.where(part[key] >= 0, part[key] - offset, part[key])
        frames.append(part)
    return frames


def featurize_in_groups(types: list[np.ndarray], pairs: list[Pairs],
                        features: Callable[[np.ndarray, Pairs], dict[str, torch.Tensor]],
                        index_keys: Sequence[str], chunk_atoms: int) -> list[dict[str, torch.Tensor]]:
    """Featurize frames in groups of about *chunk_atoms* atoms, one vectorised call per group.

    Parameters
    ----------
    types, pairs : list
        Type indices and neighbour list of each frame (:func:`frame_types_and_pairs`).
    features : callable
        ``features(types (A,), pairs)`` → per-atom features of a joined group.
    index_keys : sequence of str
        Features holding neighbour atom indices (see :func:`split_frames`).
    chunk_atoms : int

    Returns
    -------
    list of dict, one per frame
    """
    out: list[dict[str, torch.Tensor]] = []
    for group in frame_groups([len(t) for t in types], chunk_atoms):
        offsets, sizes, joined_types, joined_pairs = join_frames(types[group], pairs[group])
        out += split_frames(features(joined_types, joined_pairs), offsets, sizes, index_keys)
    return out



# ----------------------------------------------------------------------------- graph models (MACE, SevenNet)
def graph_features(frames, types: list[np.ndarray], pairs: list[Pairs], dtype: torch.dtype) -> list[dict[str, torch.Tensor]]:
    """Each frame as a graph: types (A,), positions (A, 3) Å, cell (1, 3, 3) Å, edges i → j with the
    integer cell shift S and S·cell (Å) of j's image (:mod:`~nnsurrogate.atomistic.keys`)."""
    out = []
    for atoms, t, p in zip(frames, types, pairs):
        cell = np.asarray(atoms.cell.array, dtype=np.float64)
        out.append({keys.TYPES: torch.as_tensor(t), keys.ATOM_POSITIONS: torch.as_tensor(atoms.positions, dtype=dtype),
                    keys.FRAME_CELL: torch.as_tensor(cell, dtype=dtype).unsqueeze(0),
                    keys.EDGE_I: torch.as_tensor(p.i), keys.EDGE_J: torch.as_tensor(p.j),
                    keys.EDGE_UNIT_SHIFT: torch.as_tensor(p.shifts, dtype=dtype),
                    keys.EDGE_SHIFT: torch.as_tensor(p.shifts @ cell, dtype=dtype)})
    return out


def collate_graphs(frames: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Join graphs into one batch: edge atom indices offset, ``frame`` (A,) and ``n_atoms`` (F,) added."""
    sizes = torch.tensor([f[keys.TYPES].shape[0] for f in frames])
    offsets = (torch.cumsum(sizes, 0) - sizes).tolist()
    batch = {}
    for key in frames[0]:
        parts = [f[key] for f in frames]
        if key in (keys.EDGE_I, keys.EDGE_J):
            parts = [p + o for p, o in zip(parts, offsets)]
        batch[key] = torch.cat(parts, 0) if len(parts) > 1 else parts[0]
    batch[keys.FRAME] = torch.repeat_interleave(torch.arange(len(frames)), sizes)
    batch[keys.N_ATOMS] = sizes
    return batch


def edge_vectors(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """r_ij = r_j − r_i + S·cell of every edge of a graph batch (P, 3), Å."""
    positions = batch[keys.ATOM_POSITIONS]
    return positions[batch[keys.EDGE_J]] - positions[batch[keys.EDGE_I]] + batch[keys.EDGE_SHIFT]


def shortest_edge(batch: dict[str, torch.Tensor]) -> float:
    """The shortest edge of a graph batch, Å (``inf`` without edges)."""
    vectors = edge_vectors(batch).detach()
    return float(torch.linalg.vector_norm(vectors, dim=-1).min()) if len(vectors) else float("inf")


# ----------------------------------------------------------------------------- pretrained universal models
class Float32Network:
    """Mixin of a pretrained network that keeps its own float32 (SevenNet, CHGNet): ``to`` moves it to a
    device and ignores a dtype (a float64 request, e.g. for evaluation, runs in float32), ``double`` is a
    no-op. Put it before :class:`torch.nn.Module` in the bases."""

    def to(self, *args, **kwargs):
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        return super().to(device=device) if device is not None else self

    def double(self):
        return self


def saved_tensors(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """*net*'s state as CPU tensors for a model file (floats in float64, the model format's precision)."""
    return {k: (v.detach().double() if v.is_floating_point() else v.detach()).cpu().contiguous()
            for k, v in net.state_dict().items()}
