"""heat1d's --time-limit covers the whole command: what the exact and FD solutions took is not the PINN's."""

from __future__ import annotations

import time

import pytest

from nnsurrogate.pde.workflow import PINNOptions, _left_after


def test_the_pinn_gets_what_is_left_of_the_commands_limit():
    started = time.perf_counter() - 5.0  # five seconds already spent on the grid solutions
    assert _left_after(PINNOptions(time_limit=8.0), started).time_limit == pytest.approx(3.0, abs=0.5)
    assert _left_after(PINNOptions(time_limit=2.0), started).time_limit == pytest.approx(1e-9)  # spent: one step
    assert _left_after(PINNOptions(), started).time_limit is None  # no limit: epoch budgets alone decide
