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
    assert info.value.where == "split"
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


# ------------------------------------------------------------ cross-validation schemes
from nnsurrogate.core.splits import (MATBENCH_SEED, CVSpec, cluster_kfold, cluster_labels, cv_folds,  # noqa: E402
                                     group_kfold, leak_report)


def _assert_partition(folds, n):
    counts = np.zeros(n, dtype=int)
    for train, test in folds:
        assert set(train.tolist()).isdisjoint(test.tolist())
        assert len(train) + len(test) == n
        counts[test] += 1
    assert np.all(counts == 1)  # every row is tested exactly once


def test_matbench_protocol_is_kfold_5_shuffled_with_its_seed():
    from sklearn.model_selection import KFold

    folds = cv_folds(CVSpec("matbench", 5), 312, seed=123)  # the user's seed does not change the protocol
    expected = list(KFold(n_splits=5, shuffle=True, random_state=18012019).split(np.arange(312)))
    assert MATBENCH_SEED == 18012019 and len(folds) == 5
    for (tr, te), (tr2, te2) in zip(folds, expected):
        np.testing.assert_array_equal(te, te2)
        np.testing.assert_array_equal(tr, tr2)
    _assert_partition(folds, 312)
    assert sorted(len(te) for _, te in folds) == [62, 62, 62, 63, 63]


def test_grouped_folds_never_put_a_formula_on_both_sides():
    rng = np.random.default_rng(0)
    formulas = np.array([f"compound{i}" for i in range(60)])
    groups = rng.permutation(np.repeat(formulas, rng.integers(1, 6, 60)))  # 1 to 5 rows per compound
    for seed in (0, 1, 2):
        folds = cv_folds(CVSpec("group", 5), len(groups), seed, groups=groups)
        _assert_partition(folds, len(groups))
        for train, test in folds:
            assert set(groups[train]).isdisjoint(groups[test])
        report = leak_report(groups, folds)
        assert report["n_test_rows_seen_in_train"] == 0
    shuffled = [te for _, te in group_kfold(groups, 5, seed=1)]
    assert not all(np.array_equal(a, b) for a, b in zip(shuffled, [te for _, te in group_kfold(groups, 5, seed=2)]))


def test_group_kfold_needs_as_many_groups_as_folds():
    with pytest.raises(UserInputError, match="distinct groups"):
        group_kfold(np.array(["a", "a", "b", "b", "c"]), 4, seed=0)


def test_leak_report_counts_by_hand():
    groups = np.array(["A", "A", "B", "C", "C", "C", "D"])
    folds = [(np.array([0, 2, 3, 6]), np.array([1, 4, 5])),  # test A (A in train), C, C (C in train)
             (np.array([1, 4, 5]), np.array([0, 2, 3, 6]))]  # test A (in train), B, C (in train), D
    report = leak_report(groups, folds)
    assert report["n_rows"] == 7 and report["n_groups"] == 4 and report["n_duplicate_rows"] == 3
    assert report["test_rows_seen_in_train"] == [3, 2]
    assert report["n_test_rows_seen_in_train"] == 5
    assert report["fraction_test_rows_seen_in_train"] == pytest.approx(5 / 7)


def test_random_kfold_leaks_repeated_formulas():
    groups = np.repeat(np.arange(50), 4).astype(str)  # every compound measured 4 times
    report = leak_report(groups, cv_folds(CVSpec("kfold", 5), len(groups), seed=0))
    assert report["fraction_test_rows_seen_in_train"] > 0.9  # nearly every test row has a sibling in train


def test_leave_cluster_out_holds_out_whole_blobs():
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
    blob = np.repeat(np.arange(4), [30, 20, 25, 15])
    X = centres[blob] + rng.normal(0.0, 0.5, (len(blob), 3))
    X = np.column_stack([X, np.full(len(blob), 7.0)])  # a constant column is ignored
    folds = cluster_kfold(X, 4, seed=0)
    _assert_partition(folds, len(blob))
    held_out = sorted(tuple(sorted(set(blob[te].tolist()))) for _, te in folds)
    assert held_out == [(0,), (1,), (2,), (3,)]  # each test fold is exactly one blob
    assert len(np.unique(cluster_labels(X, 4, seed=0))) == 4


def test_cluster_folds_need_enough_distinct_rows():
    with pytest.raises(UserInputError, match="distinct rows"):
        cluster_kfold(np.array([[1.0], [1.0], [2.0]]), 3, seed=0)


@pytest.mark.parametrize(("kind", "folds", "match"), [("loo", 5, "unknown"), ("kfold", 1, "at least 2"),
                                                      ("matbench", 10, "5 folds")])
def test_cv_spec_validation(kind, folds, match):
    with pytest.raises(UserInputError, match=match):
        CVSpec(kind, folds)
