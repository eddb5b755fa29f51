"""Tree ensembles as arrays, stacked network + tree blends, and saving composite composition models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, GradientBoostingRegressor,
                              HistGradientBoostingClassifier, HistGradientBoostingRegressor)
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.tabular.blend import BlendClassifier, BlendRegressor, simplex_weights
from nnsurrogate.tabular.classifier import SurrogateClassifier
from nnsurrogate.tabular.cv import fit_table_model
from nnsurrogate.tabular.dataset import TableSpec, load_dataset
from nnsurrogate.tabular.estimators import ModelOptions
from nnsurrogate.tabular.gap_model import TwoStageRegressor
from nnsurrogate.tabular.regressor import SurrogateRegressor
from nnsurrogate.tabular.table_model import TableModel
from nnsurrogate.tabular.tree_models import BoostedClassifier, BoostedRegressor, ForestClassifier, ForestRegressor
from nnsurrogate.tabular.trees import TreeArrays

NET = dict(hidden=(16,), ensemble=2, max_epochs=80, patience=20, random_state=0)


def _data(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, np.sin(X[:, 0]) + X[:, 1] ** 2 + 0.5 * X[:, 2] * X[:, 3]


# ------------------------------------------------------------------ tree arrays
def test_arrays_reproduce_scikit_learn_exactly():
    X, y = _data(400, 0)
    X_new = _data(300, 1)[0] * 1.5  # also outside the training range
    hgb = HistGradientBoostingRegressor(max_iter=40, random_state=0).fit(X, y)
    np.testing.assert_allclose(TreeArrays.from_hist_gradient_boosting(hgb).raw(X_new), hgb.predict(X_new),
                               rtol=0, atol=1e-12)
    gbr = GradientBoostingRegressor(n_estimators=40, max_depth=4, subsample=0.8, random_state=0).fit(X, y)
    np.testing.assert_allclose(TreeArrays.from_sklearn(gbr).raw(X_new), gbr.predict(X_new), rtol=0, atol=1e-12)
    labels = np.digitize(X[:, 0], [-0.5, 0.5])
    clf = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, labels)
    raw = np.column_stack([TreeArrays.from_hist_gradient_boosting(clf, k).raw(X_new) for k in range(3)])
    np.testing.assert_allclose(raw, clf.decision_function(X_new), rtol=0, atol=1e-12)
    forest = ExtraTreesRegressor(n_estimators=20, random_state=0).fit(X, y)
    np.testing.assert_allclose(TreeArrays.from_forest(forest).raw(X_new), forest.predict(X_new), rtol=0, atol=1e-12)
    forest_clf = ExtraTreesClassifier(n_estimators=20, min_samples_leaf=3, random_state=0).fit(X, labels)
    proba = np.column_stack([TreeArrays.from_forest(forest_clf, k).raw(X_new) for k in range(3)])
    np.testing.assert_allclose(proba, forest_clf.predict_proba(X_new), rtol=0, atol=1e-12)


def test_boosted_members_match_scikit_learn_and_survive_a_round_trip():
    X, y = _data(300, 2)
    reg = BoostedRegressor(max_iter=30, random_state=0).fit(X, y)
    ref = HistGradientBoostingRegressor(max_iter=30, learning_rate=0.04, max_leaf_nodes=31, min_samples_leaf=10,
                                        l2_regularization=1.0, early_stopping=False, random_state=0).fit(X, y)
    np.testing.assert_allclose(reg.predict(X), ref.predict(X), atol=1e-12)
    np.testing.assert_array_equal(BoostedRegressor.from_state(*reg.to_state()).predict(X), reg.predict(X))
    clf = BoostedClassifier(max_iter=20, random_state=0).fit(X, y > 1.0)
    np.testing.assert_array_equal(BoostedClassifier.from_state(*clf.to_state()).predict_proba(X), clf.predict_proba(X))
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)


def test_log_target_trees_predict_positive_values():
    X, y = _data(300, 3)
    model = BoostedRegressor(max_iter=40, log_target=True, random_state=0).fit(X, np.exp(y))
    assert np.all(model.predict(_data(50, 4)[0] * 3) > 0)
    with pytest.raises(ValueError, match="strictly positive"):
        BoostedRegressor(log_target=True).fit(X, y)


def test_corrupted_tree_arrays_are_a_model_file_error():
    X, y = _data(100, 5)
    tensors, header = BoostedRegressor(max_iter=5, random_state=0).fit(X, y).to_state()
    bad = dict(tensors)
    bad["trees0.left"] = bad["trees0.left"] + 10_000
    with pytest.raises(ModelFileError, match="out of range"):
        BoostedRegressor.from_state(bad, header)
    with pytest.raises(ModelFileError, match="inputs"):
        BoostedRegressor.from_state(tensors, {**header, "n_features_in": 1})  # the trees split on x₁ (y ∝ x₁²)


# ------------------------------------------------------------------------ blends
def test_simplex_weights_find_the_best_mixture():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    good, bad = y + 0.01, y + 5.0
    np.testing.assert_array_equal(simplex_weights([bad, good], lambda p: np.mean(np.abs(p - y))), [0.0, 1.0])
    # two members biased in opposite directions (the equal mixture is exact) and a noisy one
    w = simplex_weights([y + 1.0, y - 1.0, y + np.array([3.0, -2.0, 4.0, -3.0])], lambda p: np.mean(np.abs(p - y)))
    np.testing.assert_allclose(w, [0.5, 0.5, 0.0])
    assert len(w) == 3 and w.sum() == pytest.approx(1.0)


def test_fixed_weights_give_the_weighted_mean_with_the_network_uncertainty():
    X, y = _data(400, 6)
    blend = BlendRegressor(SurrogateRegressor(**NET), [BoostedRegressor(max_iter=30), ForestRegressor(n_estimators=20)],
                           weights=[0.3, 0.5, 0.2], random_state=0).fit(X, y)
    X_new = _data(50, 7)[0]
    net = blend.network_.predict_full(X_new)
    expected = 0.3 * net.mean + 0.5 * blend.members_[0].predict(X_new) + 0.2 * blend.members_[1].predict(X_new)
    full = blend.predict_full(X_new)
    np.testing.assert_allclose(full.mean, expected, rtol=1e-12)
    np.testing.assert_array_equal(full.std, net.std)
    np.testing.assert_array_equal(full.in_domain, net.in_domain)
    with pytest.raises(ValueError, match="summing to 1"):
        BlendRegressor(SurrogateRegressor(**NET), [BoostedRegressor(max_iter=5)], weights=[0.5, 0.6]).fit(X, y)


def test_automatic_weights_prefer_the_member_that_fits_the_set_aside_rows():
    # y depends on x₀ through a step that trees capture and a small network does not; a useless member
    # (trees on the noise column only) must get no weight, and is then not refitted at all
    rng = np.random.default_rng(11)
    X = rng.uniform(-1.0, 1.0, (500, 3))
    y = np.where(X[:, 0] > 0.2, 5.0, 0.0) + 0.1 * X[:, 1]
    noise_only = ForestRegressor(n_estimators=20, columns=(2,))
    blend = BlendRegressor(SurrogateRegressor(hidden=(4,), ensemble=2, max_epochs=30, patience=10),
                           [ForestRegressor(n_estimators=30), noise_only], random_state=0).fit(X, y)
    assert blend.weights_.shape == (3,) and blend.weights_.sum() == pytest.approx(1.0)
    assert blend.weights_[1] >= 0.5 and blend.weights_[2] == 0.0
    assert blend.members_[1] is None
    again = BlendRegressor.from_state(*blend.to_state())
    np.testing.assert_array_equal(again.predict(X[:40]), blend.predict(X[:40]))
    np.testing.assert_array_equal(again.weights_, blend.weights_)


def test_blend_classifier_mixes_probabilities():
    X, y = _data(400, 8)
    labels = np.where(y > 1.0, "high", "low")
    blend = BlendClassifier(SurrogateClassifier(**NET), [BoostedClassifier(max_iter=20), ForestClassifier(n_estimators=20)],
                            random_state=0).fit(X, labels)
    X_new = _data(60, 9)[0]
    w = blend.weights_
    members = [blend.network_] + [m for m in blend.members_]
    expected = sum(wi * m.predict_proba(X_new) for wi, m in zip(w, members) if m is not None)
    np.testing.assert_allclose(blend.predict_proba(X_new), expected, rtol=1e-12)
    np.testing.assert_allclose(blend.predict_proba(X_new).sum(axis=1), 1.0, rtol=1e-12)
    assert list(blend.classes_) == ["high", "low"]
    again = BlendClassifier.from_state(*blend.to_state())
    np.testing.assert_array_equal(again.predict_proba(X_new), blend.predict_proba(X_new))
    np.testing.assert_array_equal(again.predict(X_new), blend.predict(X_new))


def test_forest_on_a_column_subset():
    X, y = _data(300, 12)
    sub = ForestRegressor(n_estimators=20, columns=(0, 1), random_state=0).fit(X, y)
    ref = ExtraTreesRegressor(n_estimators=20, max_features=0.3, random_state=0).fit(X[:, :2], y)
    np.testing.assert_allclose(sub.predict(X), ref.predict(X[:, :2]), atol=1e-12)
    np.testing.assert_array_equal(ForestRegressor.from_state(*sub.to_state()).predict(X), sub.predict(X))
    with pytest.raises(ValueError, match="columns"):
        ForestRegressor(columns=(0, 9)).fit(X, y)


@pytest.mark.slow
def test_default_composition_model_saves_and_loads(tmp_path):
    # a zero-inflated "gap": zero for compounds with a metal majority, else grows with electronegativity spread
    rng = np.random.default_rng(10)
    metals, anions = ["Na", "Mg", "Al", "Fe", "Cu", "Zn"], ["O", "S", "Cl", "F", "N"]
    rows = []
    for i in range(90):
        m, a = rng.choice(metals), rng.choice(anions)
        x = int(rng.integers(1, 4))
        rows.append((f"{m}{x}{a}{4 - x}", 0.0 if x >= 3 else float(rng.uniform(1.0, 6.0))))
    path = tmp_path / "gaps.csv"
    pd.DataFrame(rows, columns=["formula", "gap"]).to_csv(path, index=False)
    with pytest.warns(UserWarning):  # the generated table repeats some compounds
        ds = load_dataset(str(path), TableSpec("gap", formula_column="formula"))
    model = fit_table_model(ds, np.arange(len(ds)), ModelOptions(hidden=(8,), ensemble=2, epochs=20, seed=0), "gap")
    assert isinstance(model.estimator, TwoStageRegressor)
    assert isinstance(model.estimator.classifier_, BlendClassifier)
    assert isinstance(model.estimator.regressor_, BlendRegressor)
    model.save(tmp_path / "model")
    loaded = TableModel.load(tmp_path / "model")
    new = pd.DataFrame({"formula": ["Na3O", "MgS3", "Fe2Cl2", "Pb3O"]})
    a, b = model.predict_frame(new, "new"), loaded.predict_frame(new, "new")
    pd.testing.assert_frame_equal(a, b)
    assert a["in_domain"].tolist()[-1] is False  # lead was never seen
    assert np.all(a["gap_pred"] >= 0)


@parametrize_with_checks([BoostedRegressor(max_iter=10, learning_rate=0.3, random_state=0),
                          BoostedClassifier(max_iter=10, learning_rate=0.3, random_state=0),
                          ForestRegressor(n_estimators=10, random_state=0), ForestClassifier(n_estimators=10, random_state=0),
                          BlendRegressor(SurrogateRegressor(hidden=(8,), ensemble=2, max_epochs=30, patience=10),
                                         [BoostedRegressor(max_iter=10, learning_rate=0.3)], random_state=0)])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)
