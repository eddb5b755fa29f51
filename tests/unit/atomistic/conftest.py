"""Shared by the atomistic unit tests: labelled EMT copper frames (one PyTorch thread: ``tests/unit/conftest.py``)."""

from __future__ import annotations

import pytest


def _emt_copper(n: int, rattle: float, seed: int, repeat=(1, 1, 1)) -> list:
    """*n* cubic fcc Cu cells (4 atoms × *repeat*), atoms rattled by *rattle* Å (seeds seed … seed + n − 1),
    each carrying its EMT energy and forces."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    out = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(repeat)
        atoms.rattle(rattle, seed=seed + k)
        atoms.calc = EMT()
        atoms.get_forces()
        out.append(atoms)
    return out


@pytest.fixture(scope="session")
def emt_copper():
    """``emt_copper(n, rattle, seed, repeat=(1, 1, 1))``: labelled EMT copper frames (see :func:`_emt_copper`)."""
    return _emt_copper
