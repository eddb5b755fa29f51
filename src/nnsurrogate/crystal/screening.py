"""Checks of SA-GAT's feature screening: a target with planted features, and agreement across seeds.

Attention weights are only worth handing to symbolic regression if they single out the features the
target depends on. :func:`planted_target` builds a property of real structures from a few chosen
per-atom features (plus noise), so the truth is known; :func:`planted_ranks` says where a trained
model's ranking put them, and :func:`rank_agreement` how stable rankings are from seed to seed
(Spearman's ρ of the importances, and the overlap of the top k).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.crystal.features import feature_names
from nnsurrogate.crystal.prepare import PreparedCrystals


def _robust_scores(values: np.ndarray) -> np.ndarray:
    """(v − median) / IQR, clipped to [−3, 3]; shape kept. Constant columns raise."""
    q25, q50, q75 = np.percentile(values, [25, 50, 75])
    spread = q75 - q25 or np.std(values)
    if not spread > 0:
        raise UserInputError("a planted feature is constant over these structures", "features")
    return np.clip((values - q50) / spread, -3.0, 3.0)


def planted_target(data: PreparedCrystals, features: Sequence[str], noise: float = 0.1,
                   seed: int = 0) -> np.ndarray:
    """A structure property that depends on exactly three per-atom features, plus Gaussian noise.

    With z_k the robust score of feature k on each atom (median and interquartile range over all
    atoms of *data*, clipped at ±3), the property of a crystal is the mean over its atoms of
    t_1 + t_2 + t_3 with t_1 = z_1, t_2 = tanh(z_2), t_3 = z_3², each term scaled to unit variance
    over the atoms (so no planted feature is drowned by another), plus Gaussian noise of standard
    deviation ``noise`` × the spread of the noise-free property.

    Parameters
    ----------
    data : PreparedCrystals
        Structures with their per-atom features.
    features : sequence of 3 str
        Names from :func:`~nnsurrogate.crystal.features.feature_names`.
    noise : float
        Noise relative to the standard deviation of the noise-free property (≥ 0).
    seed : int
        Seed of the noise.

    Returns
    -------
    numpy.ndarray, shape (len(data),)
    """
    names = list(feature_names())
    if len(features) != 3 or len(set(features)) != 3:
        raise UserInputError(f"need three different features, got {list(features)}", "features")
    unknown = [f for f in features if f not in names]
    if unknown:
        raise UserInputError(f"unknown feature '{unknown[0]}'", "features")
    if not noise >= 0:
        raise UserInputError(f"noise must be ≥ 0, got {noise}", "noise")
    columns = [names.index(f) for f in features]
    atoms = np.vstack(data.features)[:, columns]
    z = np.column_stack([_robust_scores(atoms[:, k]) for k in range(3)])
    terms = np.column_stack([z[:, 0], np.tanh(z[:, 1]), z[:, 2] ** 2])
    per_atom = ((terms - terms.mean(axis=0)) / terms.std(axis=0)).sum(axis=1)
    counts = np.array([len(f) for f in data.features])
    owner = np.repeat(np.arange(len(counts)), counts)
    clean = np.bincount(owner, weights=per_atom, minlength=len(counts)) / counts
    rng = np.random.default_rng(seed)
    return clean + float(noise) * float(np.std(clean)) * rng.normal(size=clean.size)


def planted_ranks(importance: pd.DataFrame, features: Sequence[str]) -> dict[str, int]:
    """Rank (1 = most important) of each planted feature in a ``feature_importance()`` table."""
    rank = dict(zip(importance["feature"], importance["rank"]))
    return {f: int(rank[f]) for f in features}


def rank_agreement(importances: Sequence[pd.DataFrame], k: int = 8) -> dict[str, float]:
    """How alike the rankings of several runs are.

    Parameters
    ----------
    importances : sequence of pandas.DataFrame
        ``feature_importance()`` tables of runs that differ only in their seed (≥ 2).
    k : int
        Size of the top set compared.

    Returns
    -------
    dict
        ``spearman_min`` and ``spearman_median``: Spearman's ρ of the importances over every pair
        of runs; ``top_k_overlap_min``: the smallest shared fraction of the top *k* of two runs.
    """
    if len(importances) < 2:
        raise UserInputError("rank agreement needs at least two runs", "importances")
    vectors = [t.set_index("feature")["importance"].sort_index() for t in importances]
    tops = [set(t["feature"].iloc[:k]) for t in importances]
    rho, overlap = [], []
    for i in range(len(vectors)):
        for j in range(i + 1, len(vectors)):
            rho.append(float(spearmanr(vectors[i].to_numpy(), vectors[j].to_numpy()).statistic))
            overlap.append(len(tops[i] & tops[j]) / k)
    return {"spearman_min": min(rho), "spearman_median": float(np.median(rho)), "top_k_overlap_min": min(overlap)}
