"""Thread pools sized to the cores the process may use."""

from __future__ import annotations

import os

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from nnsurrogate.core import threads


def test_available_cores_follows_the_affinity_mask_and_a_cgroup_quota(tmp_path, monkeypatch):
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no affinity masks on this platform")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5})
    assert threads.available_cores(tmp_path) == 6  # no cgroup files: the mask
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # cgroup v2: 1.5 CPUs
    assert threads.available_cores(tmp_path) == 2
    (tmp_path / "cpu.max").write_text("max 100000\n")  # no quota
    assert threads.available_cores(tmp_path) == 6
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")  # cgroup v1: 3 CPUs
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert threads.available_cores(tmp_path) == 3


def test_set_process_threads_sizes_every_pool_together(monkeypatch):
    import torch

    before = torch.get_num_threads()
    for name in threads.THREAD_VARIABLES:
        monkeypatch.setenv(name, os.environ.get(name, "1"))
    try:
        assert threads.set_process_threads(2) == 2
        assert torch.get_num_threads() == 2 and os.environ["OMP_NUM_THREADS"] == "2"
        np.dot(np.ones((4, 4)), np.ones((4, 4)))
        blas = [pool for pool in threadpool_info() if pool["user_api"] in ("blas", "openmp")]
        assert blas and all(pool["num_threads"] <= 2 for pool in blas)
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert threads.set_process_threads(None) == 1  # the environment's setting is kept
    finally:
        threads.set_process_threads(1)
        torch.set_num_threads(before)
