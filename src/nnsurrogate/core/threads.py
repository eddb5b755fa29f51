"""Thread control for PyTorch, importable without pulling in any training machinery."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["available_cores", "set_process_threads", "single_blas_thread", "torch_threads"]

#: Environment variables that size the OpenMP, MKL and OpenBLAS pools of libraries loaded later.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_CGROUP = Path("/sys/fs/cgroup")

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


def _cgroup_quota(root: Path = _CGROUP) -> float | None:
    """CPUs the process's cgroup may use (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``), or None."""
    try:
        fields = (root / "cpu.max").read_text().split()
        if fields and fields[0] != "max":
            return float(fields[0]) / float(fields[1])
        return None
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = float((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = float((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def available_cores(cgroup_root: Path = _CGROUP) -> int:
    """Cores this process may run on: the affinity mask, capped by the cgroup CPU quota (not the host's count)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_quota(cgroup_root)
    if quota is not None:
        n = min(n, max(1, math.ceil(quota - 1e-9)))
    return max(1, n)


def set_process_threads(n_threads: int | None = None) -> int:
    """Size every thread pool of the process together: PyTorch, OpenMP (scikit-learn's trees) and BLAS.

    ``None`` takes :func:`available_cores`, unless the environment already sets ``OMP_NUM_THREADS``
    (then that is kept). Libraries imported later read the environment variables; those already
    loaded are limited through threadpoolctl and ``torch.set_num_threads``. Returns the count used.
    """
    if n_threads is None:
        given = os.environ.get("OMP_NUM_THREADS", "")
        n_threads = int(given) if given.isdigit() and int(given) > 0 else available_cores()
    n_threads = int(n_threads)
    for name in THREAD_VARIABLES:
        os.environ[name] = str(n_threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n_threads)
    if any(name in sys.modules for name in ("numpy", "sklearn", "scipy")):
        from threadpoolctl import threadpool_limits

        threadpool_limits(n_threads)
    return n_threads


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
