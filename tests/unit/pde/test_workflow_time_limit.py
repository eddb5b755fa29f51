"""heat1d's --time-limit covers the whole command: what the exact and FD solutions took is not the PINN's."""

from __future__ import annotations

import time

from nnsurrogate.pde import HeatRod
from nnsurrogate.pde import workflow
from nnsurrogate.pde.workflow import PINNOptions, run_heat1d


def test_the_grid_solutions_before_the_pinn_count_against_the_limit(tmp_path, monkeypatch):
    grid_fields = workflow._grid_fields

    def slow_grid_fields(*args, **kwargs):  # finite differences that take longer than the whole limit
        time.sleep(1.5)
        return grid_fields(*args, **kwargs)

    monkeypatch.setattr(workflow, "_grid_fields", slow_grid_fields)
    rod = HeatRod(alpha=0.1, length=1.0, t_end=1.0, t_left=0.0, t_right=1.0, t_initial=0.0)
    pinn = PINNOptions(adam_iterations=2000, lbfgs_iterations=0, n_domain=200, time_limit=1.0)
    metrics = run_heat1d(rod, str(tmp_path / "heat"), methods=("pinn", "fd"), pinn=pinn, verbose=False)
    # the limit was spent before the PINN began: it trains its one step and stops, not for a whole second
    assert metrics["pinn"]["stopped_by"] == "time limit" and metrics["pinn"]["adam_iterations"] == 1
