"""Material vectors: a network trained on K_VRH separates soft from hard materials; neighbour search."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nnsurrogate.core.embedding import map_2d, nearest_neighbors

from .conftest import DATA


def test_nearest_neighbors_by_cosine_distance():
    ref = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    idx, dist = nearest_neighbors(ref, np.array([[2.0, 0.1], [0.0, -3.0]]), 2)
    assert idx[0].tolist() == [0, 2]  # the direction, not the length, decides
    assert dist[0, 0] == pytest.approx(1 - 2.0 / np.hypot(2.0, 0.1), abs=1e-6)
    assert idx[1, 0] in (0, 3) and dist[1, 0] == pytest.approx(1.0, abs=1e-6)  # orthogonal to both: distance 1


def test_map_2d_falls_back_to_pca_and_refuses_unknown_methods():
    rng = np.random.default_rng(0)
    xy, used = map_2d(rng.normal(size=(30, 5)), "pca")
    assert xy.shape == (30, 2) and used == "pca"
    with pytest.raises(ValueError, match="unknown map"):
        map_2d(rng.normal(size=(30, 5)), "isomap")


@pytest.mark.slow
def test_a_network_trained_on_bulk_moduli_separates_soft_from_hard_materials():
    from nnsurrogate.crystal.io import read_crystals
    from nnsurrogate.crystal.prepare import prepare_crystals
    from nnsurrogate.crystal.regressor import CrystalRegressor

    source = DATA / "mp_matminer" / "elastic_tensor_2015.json.gz"
    if not source.is_file():
        pytest.skip(f"shared data not found at {source}")
    data = read_crystals(source, "K_VRH")
    small = [i for i, c in enumerate(data.crystals) if c.n_atoms <= 12][:500]
    crystals, y = [data.crystals[i] for i in small], np.log10(np.maximum(data.targets[small], 1.0))
    model = CrystalRegressor(model="cgcnn", max_epochs=25, random_state=0)
    prepared = prepare_crystals(crystals, model.graph_settings())
    model.fit(prepared, y)
    hard = (y > np.median(y)).astype(int)
    untrained = CrystalRegressor(model="cgcnn", max_epochs=1, learning_rate=1e-12, random_state=1).fit(prepared, y)

    def probe(vectors):
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
        return float(np.mean(cross_val_score(clf, vectors, hard, cv=5)))

    trained_acc, random_acc = probe(model.embed(prepared)), probe(untrained.embed(prepared))
    assert trained_acc > 0.8 and trained_acc > random_acc + 0.05, (trained_acc, random_acc)
