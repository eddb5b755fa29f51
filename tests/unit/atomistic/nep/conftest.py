"""Fixtures for the NEP tests: random models and random multi-element periodic structures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk

from nnsurrogate.atomistic.nep import NEPModel, NEPSpec



def random_model(species=("Cu", "Au"), seed=0, **hyper) -> NEPModel:
    """A NEP model with random weights, scaler and biases (float64)."""
    spec = NEPSpec(species=tuple(species), **{"neurons": 8, **hyper})
    model = NEPModel(spec)
    gen = torch.Generator().manual_seed(seed)
    model.reset_parameters(gen)
    with torch.no_grad():
        model.b0.copy_(torch.randn(model.b0.shape, generator=gen, dtype=torch.float64))
        model.w1.copy_(torch.randn(model.w1.shape, generator=gen, dtype=torch.float64))
        model.q_scaler.copy_(0.1 + torch.rand(model.q_scaler.shape, generator=gen, dtype=torch.float64))
        model.b1.fill_(0.37)
    return model


def random_structure(symbols=("Cu", "Au"), seed=0, repeat=(2, 2, 2), shear=0.25, rattle=0.15):
    """A triclinic, rattled fcc supercell with random chemical order."""
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.75, cubic=True).repeat(repeat)
    atoms.set_cell(atoms.cell.array + rng.normal(0.0, shear, (3, 3)), scale_atoms=True)
    atoms.positions += rng.normal(0.0, rattle, atoms.positions.shape)
    atoms.set_chemical_symbols(list(rng.choice(list(symbols), len(atoms))))
    return atoms


@pytest.fixture
def make_model():
    return random_model


@pytest.fixture
def make_structure():
    return random_structure
