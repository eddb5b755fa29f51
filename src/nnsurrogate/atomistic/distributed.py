"""Data-parallel training across processes (``torchrun --nproc_per_node N``).

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``MASTER_ADDR``/``MASTER_PORT``; :func:`context`
reads them, starts the process group (gloo on CPU, NCCL on CUDA) and the trainer then wraps the
model in :class:`torch.nn.parallel.DistributedDataParallel`. Every rank draws the same batch
order; each takes its share of the frames of every batch, and the loss is assembled from
all-reduced error sums so that the gradient equals the single-process gradient of the same batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Rank and world size of this process (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, frames: list[int]) -> list[int]:
        """This rank's frames of a batch (round robin)."""
        return frames[self.rank :: self.world]

    def all_reduce(self, values: torch.Tensor) -> torch.Tensor:
        """Sum *values* over ranks (a no-op in a single process)."""
        if self.active:
            values = values.clone()
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def context(device: torch.device) -> DistContext:
    """Join the process group when launched by ``torchrun`` (WORLD_SIZE > 1); otherwise rank 0 of 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank=dist.get_rank(), world=dist.get_world_size())


def wrap(model: torch.nn.Module, ctx: DistContext, device: torch.device) -> torch.nn.Module:
    """The model wrapped in DistributedDataParallel when distributed, else itself."""
    if not ctx.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index or 0] if device.type == "cuda" else None
    try:  # buffers (e.g. NEP's q_scaler) are identical on every rank: no need to sync them per forward
        return DistributedDataParallel(model, device_ids=ids, forward_sync_buffers=False)
    except TypeError:  # torch versions before forward_sync_buffers
        return DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)


def shutdown(ctx: DistContext) -> None:
    """Leave the process group (call once at the end of a distributed run)."""
    if ctx.active and dist.is_initialized():
        dist.destroy_process_group()
