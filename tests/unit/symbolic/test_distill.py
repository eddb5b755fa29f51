"""distill_features: a formula on chosen columns of a wide table, scored on held-out rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.symbolic import distill_features

FAST = {"target_r2": 1 - 1e-9, "population_size": 300}


@pytest.fixture
def wide():
    """12 feature columns; the target depends on two of them: y = 3·f2 / f7."""
    rng = np.random.default_rng(6)
    X = pd.DataFrame(rng.uniform(1.0, 4.0, (150, 12)), columns=[f"f{i}" for i in range(12)])
    return X, 3.0 * X["f2"] / X["f7"]


def test_distils_the_relevant_columns(wide):
    X, y = wide
    result = distill_features(X, y, ["f2", "f7"], time_limit=20.0, seed=0, **FAST)
    assert result["r2_test"] > 0.9999 and result["mae_test"] < 1e-4
    assert result["complexity"] <= 8, result["formula"]  # 3*f2/f7: Mul, 3, f2, Pow, f7, -1
    assert "f2" in result["formula"] and "f7" in result["formula"]
    assert result["n_train"] + result["n_test"] == 150 and result["n_test"] == 30
    assert result["columns"] == ["f2", "f7"] and result["fit_seconds"] >= result["search_seconds"] > 0
    front = result["pareto"]
    assert [row["complexity"] for row in front] == sorted(row["complexity"] for row in front)
    assert sum(row["selected"] for row in front) == 1
    assert next(r for r in front if r["selected"])["formula"] == result["formula"]
    json.dumps(result)  # JSON-ready: crystal distill writes it as it is


def test_irrelevant_columns_cannot_explain_the_target(wide):
    X, y = wide
    result = distill_features(X, y, ["f0", "f1"], time_limit=1.0, seed=0, generations=3, population_size=50)
    assert result["r2_test"] < 0.5  # f0, f1 are independent of y


@pytest.mark.parametrize(("change", "message"), [
    (lambda X, y: (X, y, ["f2", "nope"]), "column 'nope' not found"),
    (lambda X, y: (X.assign(f3=["a"] * len(X)), y, ["f3"]), "non-numeric"),
    (lambda X, y: (X, y.where(y.index != 4), ["f2"]), "row 5"),
    (lambda X, y: (X, y[:-1], ["f2"]), "149 values but the table has 150 rows"),
    (lambda X, y: (X, y, []), "no feature columns"),
    (lambda X, y: (X.to_numpy(), y, ["f2"]), "DataFrame"),
])
def test_bad_input_is_one_line(wide, change, message):
    X, y, columns = change(*wide)
    with pytest.raises(UserInputError, match=message) as info:
        distill_features(X, y, columns, time_limit=1.0, seed=0)
    assert "\n" not in str(info.value)
