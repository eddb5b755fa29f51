"""Train/test splits: sizes, no leaks across groups, forward-in-time test sets, complete folds."""

from __future__ import annotations

import numpy as np
import pytest

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.splits import SplitSpec, holdout, kfold, parse_split


@pytest.mark.parametrize(("text", "spec"), [
    ("random", SplitSpec("random")),
    ("  random ", SplitSpec("random")),
    ("kfold:5", SplitSpec("kfold", folds=5)),
    ("kfold:2", SplitSpec("kfold", folds=2)),
    ("group:sample_id", SplitSpec("group", column="sample_id")),
    ("time:date", SplitSpec("time", column="date")),
])
def test_parse_split(text, spec):
    assert parse_split(text) == spec


@pytest.mark.parametrize("text", ["kfold:1", "kfold:0", "kfold:x", "kfold:", "kfold:-3", "kfold:2.5",
                                  "group:", "time:", "shuffle", "random:3", "", "Random"])
def test_parse_split_errors(text):
    with pytest.raises(UserInputError) as info:
        parse_split(text)
    assert info.value.where == "--split"
    assert "\n" not in info.value.one_line()


@pytest.mark.parametrize(("n", "test_size", "n_test"), [(100, 0.2, 20), (10, 0.3, 3), (7, 0.5, 4)])
def test_random_holdout_sizes_and_partition(n, test_size, n_test):
    train, test = holdout(SplitSpec("random"), n, test_size, seed=0)
    assert len(test) == n_test and len(train) == n - n_test
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))  # disjoint and complete
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)  # returned sorted


def test_random_holdout_is_repeatable_and_seeded():
    a = holdout(SplitSpec("random"), 50, 0.2, seed=3)
    b = holdout(SplitSpec("random"), 50, 0.2, seed=3)
    c = holdout(SplitSpec("random"), 50, 0.2, seed=4)
    assert np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_group_holdout_keeps_every_group_on_one_side():
    rng = np.random.default_rng(0)
    groups = rng.permutation(np.repeat(np.array([f"s{i}" for i in range(20)]), rng.integers(1, 8, 20)))
    n = len(groups)
    for seed in range(5):
        train, test = holdout(SplitSpec("group", column="sample"), n, 0.25, seed=seed, values=groups)
        assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
        assert set(groups[train]).isdisjoint(groups[test])
        assert len(set(groups[test])) == 5  # 25 % of the 20 groups


def test_group_holdout_needs_two_groups():
    with pytest.raises(UserInputError, match="at least 2 groups"):
        holdout(SplitSpec("group", column="g"), 5, 0.2, seed=0, values=np.array(["a"] * 5))


def test_time_holdout_tests_on_the_latest_rows():
    rng = np.random.default_rng(1)
    times = rng.permutation(np.arange(40.0)) * 0.5 + 2000.0
    train, test = holdout(SplitSpec("time", column="year"), 40, 0.25, seed=None, values=times)
    assert len(test) == 10 and len(train) == 30
    assert times[test].min() > times[train].max()
    assert set(times[test]) == set(np.sort(times)[-10:])


def test_time_holdout_ignores_the_seed():
    times = np.linspace(0.0, 1.0, 20)[::-1]
    a = holdout(SplitSpec("time", column="t"), 20, 0.2, seed=0, values=times)
    b = holdout(SplitSpec("time", column="t"), 20, 0.2, seed=99, values=times)
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[1], [0, 1, 2, 3])  # largest times are first rows


@pytest.mark.parametrize("test_size", [0.0, 1.0, -0.1, 1.5])
def test_holdout_test_size_out_of_range(test_size):
    with pytest.raises(UserInputError, match="test size"):
        holdout(SplitSpec("random"), 10, test_size, seed=0)


def test_holdout_too_few_rows():
    with pytest.raises(UserInputError, match="need"):
        holdout(SplitSpec("time", column="t"), 2, 0.5, seed=0, values=np.array([1.0, 2.0]))


@pytest.mark.parametrize(("n", "folds"), [(10, 2), (23, 5), (5, 5)])
def test_kfold_tests_every_row_exactly_once(n, folds):
    pairs = kfold(n, folds, seed=0)
    assert len(pairs) == folds
    counts = np.zeros(n, dtype=int)
    for train, test in pairs:
        counts[test] += 1
        assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
        assert len(test) in (n // folds, n // folds + 1)
    assert np.all(counts == 1)


def test_kfold_is_shuffled():
    first_test = kfold(100, 4, seed=0)[0][1]
    assert not np.array_equal(first_test, np.arange(25))


def test_kfold_needs_enough_rows():
    with pytest.raises(UserInputError, match="3 folds need at least 3 rows"):
        kfold(2, 3, seed=0)
