"""Every unit test runs PyTorch on one thread: with other jobs on a 2-core machine, the OpenMP threads
of the tiny test networks' small matrix products spend far more time waiting on each other than
computing."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
