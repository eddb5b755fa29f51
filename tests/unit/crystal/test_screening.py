"""Feature screening checks: a planted-feature target, where SA-GAT's attention must find the truth."""

from __future__ import annotations

import numpy as np
import pytest

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.crystal.prepare import prepare_crystals
from nnsurrogate.crystal.regressor import CrystalRegressor
from nnsurrogate.crystal.screening import planted_ranks, planted_target, rank_agreement
from nnsurrogate.crystal.structures import from_arrays

#: A cell, a neighbour-shell and a bond-length feature: little correlated with the others on these cells.
PLANTED = ["cell_vpa_over_gsvol", "nb_mean_GSvolume_pa", "env_d_std"]


def _perovskites(n: int, seed: int = 0):
    """*n* cubic ABX₃ cells with random A, B, X and lattice constants 3.6–4.4 Å."""
    from ase.data import atomic_numbers as Z

    rng = np.random.default_rng(seed)
    a_site = ["Ca", "Sr", "Ba", "K", "Na", "La", "Y", "Pb", "Rb", "Cs"]
    b_site = ["Ti", "Zr", "Nb", "Ta", "Fe", "Mn", "Co", "Ni", "V", "Cr", "Al", "Ga", "Sn", "Hf"]
    frac = np.array([[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    out = []
    for i in range(n):
        a, x = rng.uniform(3.6, 4.4), ["O", "F", "S", "N"][rng.integers(4)]
        numbers = [Z[a_site[rng.integers(len(a_site))]], Z[b_site[rng.integers(len(b_site))]]] + [Z[x]] * 3
        out.append(from_arrays(f"p{i}", numbers, frac * a, np.eye(3) * a))
    return out


@pytest.fixture(scope="module")
def planted():
    data = prepare_crystals(_perovskites(300))
    return data, planted_target(data, PLANTED, noise=0.05, seed=0)


def test_planted_target_depends_on_the_planted_features_only(planted):
    data, y = planted
    again = planted_target(data, PLANTED, noise=0.05, seed=0)
    assert np.array_equal(y, again) and y.shape == (300,)
    clean = planted_target(data, PLANTED, noise=0.0)
    assert 0.9 < np.corrcoef(clean, y)[0, 1] < 1.0  # the noise is there, and small
    with pytest.raises(UserInputError, match="unknown feature 'nope'"):
        planted_target(data, ["nope", *PLANTED[1:]])
    with pytest.raises(UserInputError, match="three different"):
        planted_target(data, PLANTED[:2])


def test_attention_ranks_the_planted_features_at_the_top(planted):
    """Two seeds: the planted features are among the 10 (of 178) with the largest mean attention."""
    data, y = planted
    tables = []
    for seed in (0, 1):
        model = CrystalRegressor(max_epochs=30, batch_size=32, random_state=seed).fit(data, y)
        tables.append(model.feature_importance())
        ranks = planted_ranks(tables[-1], PLANTED)
        assert max(ranks.values()) <= 10, ranks
    agreement = rank_agreement(tables, k=8)
    assert agreement["spearman_min"] > 0.2 and agreement["top_k_overlap_min"] >= 0.25
