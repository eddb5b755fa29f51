"""Shared test fixtures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def films_csv(tmp_path):
    """A small thin-film table written by the real generator (60 rows)."""
    from nnsurrogate.tabular.thin_film import sample_thin_film

    path = tmp_path / "films.csv"
    sample_thin_film(60, seed=3).to_csv(path, index=False)
    return path


@pytest.fixture
def smooth_csv(tmp_path):
    """y = x1² + sin(x2) on 120 rows, with an id column of text."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (120, 2))
    frame = pd.DataFrame({"sample": [f"s{i}" for i in range(120)], "x1": x[:, 0], "x2": x[:, 1],
                          "y": x[:, 0] ** 2 + np.sin(x[:, 1])})
    path = tmp_path / "smooth.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def killed_training():
    """``kill(argv, out)``: run ``nnsurrogate ARGV`` (a ``potential train`` writing to *out*) in its own
    process, SIGKILL it a little after its first checkpoint, and return the epoch that checkpoint holds
    (asserting that the run had not finished)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from nnsurrogate.core.engine.checkpoint import read_checkpoint

    def kill(argv, out, settle_s: float = 1.0) -> int:
        cmd = [sys.executable, "-c", "from nnsurrogate.cli.main import main; main()", *map(str, argv)]
        proc = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        checkpoint = out / ".checkpoint" / "train.pt"
        deadline = time.time() + 240
        while not checkpoint.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        time.sleep(settle_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert checkpoint.exists() and not (out / "metrics.json").exists()
        return read_checkpoint(checkpoint)["state"]["budget"]["epoch"]

    return kill
