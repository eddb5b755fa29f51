"""Thread control for PyTorch, importable without pulling in any training machinery."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["single_blas_thread", "torch_threads"]

_BLAS_LIMIT = None


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


def single_blas_thread() -> None:
    """Limit NumPy's BLAS (OpenBLAS, MKL) to one thread for the rest of the process.

    BLAS threads spin on their cores for a while after every call, even one as small as the
    ``np.vdot`` of ASE's kinetic energy; work that has claimed every core on threads of its own
    (a calculator evaluating parallel centre blocks) then runs up to 1.6× slower. Idempotent.
    """
    global _BLAS_LIMIT
    if _BLAS_LIMIT is None:
        from threadpoolctl import threadpool_limits

        _BLAS_LIMIT = threadpool_limits(1, user_api="blas")
