"""Small crystals with hand-countable neighbours (one-thread torch: ``tests/unit/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnsurrogate.crystal.structures import Crystal, from_arrays

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "crystals"


def simple_cubic(a: float = 3.0, z: int = 29) -> Crystal:
    """One atom in a cubic cell of edge *a* Å: all its neighbours are its own periodic images."""
    return from_arrays("sc", [z], [[0.0, 0.0, 0.0]], np.eye(3) * a)


def cscl(a: float = 4.0) -> Crystal:
    """CsCl structure: Cs at the corner, Cl at the body centre of a cube of edge *a* Å."""
    return from_arrays("cscl", [55, 17], [[0.0, 0.0, 0.0], [a / 2, a / 2, a / 2]], np.eye(3) * a)


def rocksalt(a: float = 5.64) -> Crystal:
    """Conventional NaCl cell (8 atoms), Na at fcc sites, Cl shifted by a/2 along x."""
    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    frac = np.vstack([fcc, fcc + [0.5, 0, 0]]) % 1.0
    return from_arrays("nacl", [11] * 4 + [17] * 4, frac * a, np.eye(3) * a)


def perovskite(a: float = 3.9) -> Crystal:
    """Cubic SrTiO3: Sr at the corner, Ti at the body centre, O at the face centres."""
    frac = np.array([[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    return from_arrays("srtio3", [38, 22, 8, 8, 8], frac * a, np.eye(3) * a)


@pytest.fixture
def perov_csv_rows():
    """The first rows of perov5/val.csv (skips when the shared data folder is absent)."""
    path = DATA / "perov5" / "val.csv"
    if not path.is_file():
        pytest.skip(f"shared data not found at {path}")
    import pandas as pd

    return pd.read_csv(path, nrows=40)
