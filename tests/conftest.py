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
