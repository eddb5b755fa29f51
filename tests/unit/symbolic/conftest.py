"""Fixtures of the symbolic-regression tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def law_csv(tmp_path):
    """y = 3·alpha·beta + gamma on 200 rows (inputs in [0.5, 2], no noise), with a text id column first."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.uniform(0.5, 2.0, (200, 3)), columns=["alpha", "beta", "gamma"])
    frame["y"] = 3.0 * frame["alpha"] * frame["beta"] + frame["gamma"]
    frame.insert(0, "sample", [f"s{i}" for i in range(len(frame))])
    path = tmp_path / "law.csv"
    frame.to_csv(path, index=False)
    return path
