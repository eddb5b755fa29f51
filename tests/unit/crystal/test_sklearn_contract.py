"""``CrystalRegressor`` and scikit-learn's estimator contract.

Its inputs are crystal structures, not numeric arrays, so the checks of ``parametrize_with_checks``
that feed random float matrices do not apply (a float matrix is no crystal; the estimator refuses it
with a one-line error naming the entry). What does apply is checked here: scikit-learn's own
data-independent checks, run as they are, and the data-dependent ones rewritten for structures
(fit returns self, parameters untouched by fit, idempotent fits, pickling, order and subset
invariance, cloning into ``cross_val_score`` and ``GridSearchCV``).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils import estimator_checks as checks

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.crystal.regressor import CrystalRegressor

from .conftest import cscl, perovskite, rocksalt

#: scikit-learn checks that do not depend on the input type, run unchanged.
DATA_FREE_CHECKS = ("check_valid_tag_types", "check_estimator_repr", "check_no_attributes_set_in_init",
                    "check_estimators_unfitted", "check_do_not_raise_errors_in_init_or_set_params",
                    "check_mixin_order", "check_parameters_default_constructible", "check_get_params_invariance",
                    "check_set_params", "check_supervised_y_no_nan", "check_non_transformer_estimators_n_iter")


def _estimator(model: str = "sagat") -> CrystalRegressor:
    return CrystalRegressor(model=model, max_epochs=3, batch_size=4, random_state=0)


def _data(n: int = 12):
    structures = [s for k in range(n // 3) for s in (rocksalt(5.5 + 0.05 * k), cscl(4.0 + 0.05 * k),
                                                      perovskite(3.8 + 0.03 * k))]
    y = np.array([i % 3 + 0.1 * (i // 3) for i in range(len(structures))], dtype=float)
    return structures, y


@pytest.mark.parametrize("name", DATA_FREE_CHECKS)
@pytest.mark.parametrize("model", ["sagat", "cgcnn"])
def test_scikit_learn_data_free_checks(name, model):
    getattr(checks, name)("CrystalRegressor", _estimator(model))


@pytest.mark.parametrize("model", ["sagat", "cgcnn"])
def test_fit_returns_self_keeps_params_and_repeats(model):
    X, y = _data()
    est = _estimator(model)
    before = est.get_params()
    assert est.fit(X, y) is est
    assert est.get_params() == before  # fit does not touch the constructor parameters
    first = est.predict(X)
    second = clone(est).fit(X, y).predict(X)
    assert np.allclose(first, second)  # same seed, same data: the same network
    restored = pickle.loads(pickle.dumps(est))
    assert np.allclose(restored.predict(X), first)


def test_predictions_do_not_depend_on_order_or_batch():
    X, y = _data()
    est = _estimator().fit(X, y)
    full = est.predict(X)
    order = np.random.default_rng(0).permutation(len(X))
    assert np.allclose(est.predict([X[i] for i in order]), full[order], atol=1e-6)
    assert np.allclose(est.predict(X[:5]), full[:5], atol=1e-6)


def test_cross_validation_and_grid_search_clone_it():
    X, y = _data()
    scores = cross_val_score(_estimator(), X, y, cv=KFold(3), scoring="neg_mean_absolute_error")
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    search = GridSearchCV(_estimator(), {"dim": [16, 32]}, cv=KFold(2), scoring="neg_mean_absolute_error").fit(X, y)
    assert search.best_params_["dim"] in (16, 32) and search.best_estimator_.predict(X[:2]).shape == (2,)


def test_a_float_matrix_is_refused_with_the_entry_named():
    X = np.random.default_rng(0).normal(size=(6, 4))
    with pytest.raises(UserInputError, match="entry 0"):
        _estimator().fit(X, np.arange(6.0))
