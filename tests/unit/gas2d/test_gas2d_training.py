"""gas2d training on the engine: the time limit, the progress protocol, old checkpoints, no atomistic import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.gas2d.dataset import GasSpec, generate
from nnsurrogate.gas2d.potentials import Coulomb
from nnsurrogate.gas2d.training import TrainSettings, fit

GRID = 16


@pytest.fixture(scope="module")
def train():
    """400 Coulomb-gas samples (16 Å windows)."""
    spec = GasSpec(Coulomb(), density=0.012, window=16.0, min_distance=1.0)
    return generate(spec, 400, seed=5)


def test_progress_is_called_after_every_mini_batch(train):
    calls = []
    _, history = fit(train, TrainSettings(grid=GRID, epochs=2, recipe="paper"),
                     lambda step, total, metrics: calls.append((step, total, dict(metrics))))
    steps = -(-400 // 64)
    assert [c[0] for c in calls] == list(range(1, 2 * steps + 1)) and {c[1] for c in calls} == {2 * steps}
    assert [c[2]["epoch"] for c in calls] == [1] * steps + [2] * steps
    assert [c[2]["loss"] for c in calls[steps - 1::steps]] == [h["loss"] for h in history]
    assert [sorted(h) for h in history] == [["epoch", "learning_rate", "loss"]] * 2


def test_time_limit_stops_after_the_first_epoch(train, tmp_path):
    settings = TrainSettings(grid=GRID, epochs=3, recipe="paper", time_limit=1e-3)
    _, history = fit(train, settings, None, tmp_path / "state.pt")
    assert [h["epoch"] for h in history] == [1]
    # the time limit is not part of the signature: the same run resumes under another limit ...
    resumed, more = fit(train, TrainSettings(grid=GRID, epochs=3, recipe="paper"), None, tmp_path / "state.pt")
    assert [h["epoch"] for h in more] == [1, 2, 3]
    # ... and ends as an uninterrupted run does
    straight, same = fit(train, TrainSettings(grid=GRID, epochs=3, recipe="paper"))
    assert same == more
    for a, b in zip(straight.net.state_dict().values(), resumed.net.state_dict().values()):
        torch.testing.assert_close(a, b)
    with pytest.raises(UserInputError, match="time limit must be positive") as err:
        TrainSettings(time_limit=0.0)
    assert err.value.where == "time_limit"


def test_a_checkpoint_of_the_old_format_is_a_clean_error(train, tmp_path):
    ckpt = tmp_path / "state.pt"
    torch.save({"signature": "x", "epoch": 1, "history": "[]"}, ckpt)
    with pytest.raises(UserInputError, match="not a checkpoint of this kind"):
        fit(train, TrainSettings(grid=GRID, epochs=1, recipe="paper"), None, ckpt)
    ckpt.write_bytes(b"not a torch file")
    with pytest.raises(UserInputError, match="unreadable checkpoint"):
        fit(train, TrainSettings(grid=GRID, epochs=1, recipe="paper"), None, ckpt)


def test_gas2d_imports_nothing_from_atomistic():
    code = ("import sys, nnsurrogate.gas2d.workflow, nnsurrogate.gas2d.baselines, nnsurrogate.cli.gas2d; "
            "print(sorted(m for m in sys.modules if m.startswith('nnsurrogate.atomistic')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
