"""Thread control for PyTorch, importable without pulling in any training machinery."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["torch_threads"]


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with *n_threads* PyTorch intra-op threads, restoring the previous setting after.

    Small networks are dominated by per-operation overhead: one thread avoids synchronisation and
    is many times faster when other processes share the cores. ``None`` leaves the setting alone.
    """
    if n_threads is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
