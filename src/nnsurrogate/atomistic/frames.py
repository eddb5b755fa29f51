"""Training frames of a potential: featurized once, collated into batches, drawn in mini-batches."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.data import frame_labels

__all__ = ["FrameSet", "RunEnv", "make_batch", "minibatches", "prepare_frames"]


@dataclass
class FrameSet:
    """Featurized frames with their targets (energies already minus the reference energies)."""

    features: list[dict]
    energy: torch.Tensor  # (F,) float64, eV
    forces: list[torch.Tensor]  # each (n_atoms, 3) float64, eV/Å
    virial: torch.Tensor  # (F, 3, 3) float64, eV (zeros where absent)
    has_virial: torch.Tensor  # (F,) bool
    n_atoms: torch.Tensor  # (F,) int64
    weight: torch.Tensor | None = None  # (F,) float64, the frames' loss weights; None when all are 1

    def __len__(self) -> int:
        return len(self.features)

    def subset(self, indices) -> "FrameSet":
        """The frames at *indices* (features shared, not copied)."""
        idx = list(indices)
        index = torch.as_tensor(idx, dtype=torch.long)
        return FrameSet([self.features[k] for k in idx], self.energy[index], [self.forces[k] for k in idx],
                        self.virial[index], self.has_virial[index], self.n_atoms[index],
                        None if self.weight is None else self.weight[index])

    def max_neighbors(self) -> tuple[int, ...]:
        """Largest neighbour count of any atom, per neighbour list (``*_j`` fields; −1 marks empty slots)."""
        lists = sorted(k for k in self.features[0] if k.endswith("_j")) if self.features else []
        lists = sorted(lists, key=lambda k: (k != keys.R_J, k))
        return tuple(max(int((f[k] >= 0).sum(1).max()) for f in self.features) for k in lists)


@dataclass(frozen=True)
class RunEnv:
    """Where and how a run evaluates the model.

    Attributes
    ----------
    device : torch.device
        Device of the model and of every batch.
    dtype : torch.dtype
        Floating-point type of the model and of the batches' float tensors.
    virial : bool
        Whether the model predicts (and the loss includes) virials.
    """

    device: torch.device
    dtype: torch.dtype
    virial: bool


def prepare_frames(model, frames: Sequence, widths=None, dtype: torch.dtype = torch.float32, where: str = "") -> FrameSet:
    """Featurize labelled frames (from :func:`~nnsurrogate.atomistic.data.read_frames`) for *model*."""
    refs = dict(zip(model.species, model.reference_energies))
    labels = [frame_labels(a) for a in frames]
    energy = torch.tensor([lab[keys.ENERGY] - sum(refs[s] for s in a.get_chemical_symbols())
                           for lab, a in zip(labels, frames)], dtype=torch.float64)
    virial = torch.zeros(len(frames), 3, 3, dtype=torch.float64)
    has_virial = torch.zeros(len(frames), dtype=torch.bool)
    for k, lab in enumerate(labels):
        if keys.VIRIAL in lab:
            virial[k], has_virial[k] = torch.from_numpy(lab[keys.VIRIAL]), True
    weight = torch.tensor([float(a.info.get(keys.WEIGHT, 1.0)) for a in frames], dtype=torch.float64)
    return FrameSet(model.featurize(frames, dtype, widths, where), energy,
                    [torch.from_numpy(lab[keys.FORCES]) for lab in labels], virial, has_virial,
                    torch.tensor([len(a) for a in frames]), weight if bool((weight != 1.0).any()) else None)


def make_batch(model, data: FrameSet, idx: Sequence[int], device: torch.device, dtype: torch.dtype):
    """Collated inputs and targets of frames *idx*, on *device* with float tensors in *dtype*."""
    batch = model.collate([data.features[i] for i in idx])
    batch = {k: v.to(device=device, dtype=dtype if v.is_floating_point() else v.dtype) for k, v in batch.items()}
    index = torch.as_tensor(list(idx), dtype=torch.long)
    targets = {keys.ENERGY: data.energy[index], keys.FORCES: torch.cat([data.forces[i] for i in idx]),
               keys.VIRIAL: data.virial[index], keys.HAS_VIRIAL: data.has_virial[index], keys.N_ATOMS: data.n_atoms[index]}
    if data.weight is not None:
        targets[keys.WEIGHT] = data.weight[index]
    targets = {k: v.to(device=device, dtype=dtype if v.is_floating_point() else v.dtype) for k, v in targets.items()}
    return batch, targets


def minibatches(n_frames: int, batch_size: int, ctx, generator: torch.Generator,
                deadline: float | None) -> Iterator[list[int]]:
    """Shuffled mini-batches of frame indices for one epoch.

    A remainder too small to give every rank of *ctx* (a
    :class:`~nnsurrogate.atomistic.distributed.DistContext`) a frame is skipped, and the epoch stops
    after the batch during which any rank passed *deadline* (a ``time.perf_counter()`` value).
    """
    order = torch.randperm(n_frames, generator=generator).tolist()
    for start in range(0, n_frames, batch_size):
        frames = order[start : start + batch_size]
        if len(frames) < ctx.world:
            continue
        yield frames
        late = torch.tensor([float(deadline is not None and time.perf_counter() > deadline)])
        if float(ctx.all_reduce(late)[0]) > 0:
            return
