"""Shared by the atomistic unit tests: one PyTorch thread per test, and labelled EMT copper frames."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny networks: one thread avoids OpenMP waits on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
