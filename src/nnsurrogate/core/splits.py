"""Train/test splits named by a short specification string.

``random``       a shuffled hold-out of ``test_size`` of the rows;
``kfold:K``      K shuffled folds (cross-validation; every row is tested once);
``group:COL``    a hold-out in which all rows sharing a value of COL fall on one side
                 (e.g. one sample, one compound), via :class:`sklearn.model_selection.GroupShuffleSplit`;
``time:COL``     the rows with the largest COL values are the test set (forecasting forward, never backward).

Cross-validation folds (:func:`cv_folds`, named by :class:`CVSpec`):

``kfold``        shuffled K-fold;
``matbench``     Matbench v0.1's protocol, ``KFold(n_splits=5, shuffle=True, random_state=18012019)``
                 (Dunn et al., npj Comput. Mater. 6, 138 (2020));
``group``        grouped K-fold: all rows with the same group label (e.g. the reduced formula of a
                 compound) are in the same test fold, so no compound is on both sides;
``cluster``      leave-cluster-out: k-means clusters of the standardised features, one cluster per test
                 fold (the LOCO-CV of Meredig et al., Mol. Syst. Des. Eng. 3, 819 (2018), as in MAST-ML).

:func:`leak_report` counts, before any training, the duplicated groups and the test rows whose group
also occurs on the training side of their fold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, KFold, train_test_split

from nnsurrogate.core.errors import UserInputError


@dataclass(frozen=True)
class SplitSpec:
    """A parsed split specification; ``folds`` for ``kfold``, ``column`` for ``group``/``time``."""

    kind: str
    folds: int = 0
    column: str = ""


def parse_split(text: str) -> SplitSpec:
    """Parse ``random``, ``kfold:K``, ``group:COL`` or ``time:COL``."""
    kind, _, arg = text.strip().partition(":")
    if kind == "random" and not arg:
        return SplitSpec("random")
    if kind == "kfold":
        if not arg.isdigit() or int(arg) < 2:
            raise UserInputError(f"kfold needs a number of folds ≥ 2, got '{arg}'", "split")
        return SplitSpec("kfold", folds=int(arg))
    if kind in ("group", "time") and arg:
        return SplitSpec(kind, column=arg)
    raise UserInputError(f"unknown split '{text}'; use random, kfold:K, group:COL or time:COL", "split")


def holdout(spec: SplitSpec, n: int, test_size: float, seed: int | None,
            values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) for a one-off hold-out.

    Parameters
    ----------
    spec : SplitSpec
        ``random``, ``group`` or ``time``.
    n : int
        Number of rows.
    test_size : float
        Fraction of rows (or of groups) in the test set, 0 < test_size < 1.
    seed : int or None
    values : numpy.ndarray, shape (n,), optional
        The group labels or times for ``group`` and ``time``.
    """
    if not 0.0 < test_size < 1.0:
        raise UserInputError(f"test size must be between 0 and 1, got {test_size}", "test_size")
    rows = np.arange(n)
    if spec.kind == "random":
        train, test = train_test_split(rows, test_size=test_size, random_state=seed)
    elif spec.kind == "group":
        if len(np.unique(values)) < 2:
            raise UserInputError(f"group split needs at least 2 groups in column '{spec.column}'", "split")
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train, test = next(splitter.split(rows, groups=values))
    elif spec.kind == "time":
        order = np.argsort(np.asarray(values, dtype=np.float64), kind="stable")
        n_test = max(1, int(round(test_size * n)))
        train, test = order[:-n_test], order[-n_test:]
    else:
        raise ValueError(f"holdout does not handle split kind '{spec.kind}'")
    if len(train) < 2 or len(test) < 1:
        raise UserInputError(f"the split leaves {len(train)} training and {len(test)} test rows; need ≥ 2 and ≥ 1", "split")
    return np.sort(train), np.sort(test)


def kfold(n: int, folds: int, seed: int | None, setting: str = "split") -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled K-fold (train, test) index pairs; every row is in exactly one test fold.

    *setting* is the setting named when there are fewer rows than folds: ``split`` (whose ``kfold:K``
    chose *folds*) or ``folds``.
    """
    if folds > n:
        raise UserInputError(f"{folds} folds need at least {folds} rows, the table has {n}", setting)
    return list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.arange(n)))


MATBENCH_SEED = 18012019
MATBENCH_FOLDS = 5
CV_KINDS = ("kfold", "matbench", "group", "cluster")

Folds = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class CVSpec:
    """A cross-validation scheme: ``kind`` in :data:`CV_KINDS` and the number of folds."""

    kind: str = "kfold"
    folds: int = 5

    def __post_init__(self) -> None:
        if self.kind not in CV_KINDS:
            raise UserInputError(f"unknown cross-validation scheme '{self.kind}'; use {', '.join(CV_KINDS)}", "kind")
        if int(self.folds) < 2:
            raise UserInputError(f"cross-validation needs at least 2 folds, got {self.folds}", "folds")
        if self.kind == "matbench" and int(self.folds) != MATBENCH_FOLDS:
            raise UserInputError(f"the matbench protocol has {MATBENCH_FOLDS} folds, got {self.folds}", "folds")


def cv_folds(spec: CVSpec, n: int, seed: int | None = 0, groups: np.ndarray | None = None,
             features: np.ndarray | None = None) -> Folds:
    """(train, test) index pairs of a cross-validation; every row is tested exactly once.

    Parameters
    ----------
    spec : CVSpec
    n : int
        Number of rows.
    seed : int or None
        Shuffling seed (ignored by ``matbench``, which fixes its own).
    groups : numpy.ndarray, shape (n,), optional
        Group labels, required for ``group``.
    features : numpy.ndarray, shape (n, d), optional
        Inputs to cluster, required for ``cluster``.
    """
    if spec.kind == "matbench":
        return kfold(n, MATBENCH_FOLDS, MATBENCH_SEED, "folds")
    if spec.kind == "kfold":
        return kfold(n, spec.folds, seed, "folds")
    if spec.kind == "group":
        if groups is None or len(groups) != n:
            raise ValueError("grouped cross-validation needs one group label per row")
        return group_kfold(groups, spec.folds, seed)
    if features is None or len(features) != n:
        raise ValueError("leave-cluster-out cross-validation needs one feature row per row")
    return cluster_kfold(features, spec.folds, seed)


def group_kfold(groups: np.ndarray, folds: int, seed: int | None) -> Folds:
    """Grouped K-fold: each group's rows share one test fold (shuffled :class:`~sklearn.model_selection.GroupKFold`)."""
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups < folds:
        raise UserInputError(f"{folds} grouped folds need at least {folds} distinct groups, the table has {n_groups}",
                             "folds")
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(np.sort(tr), np.sort(te)) for tr, te in splitter.split(np.zeros(len(groups)), groups=groups)]


def cluster_labels(features: np.ndarray, n_clusters: int, seed: int | None) -> np.ndarray:
    """k-means labels (n,) of the standardised *features* (n, d); constant columns are ignored."""
    from sklearn.cluster import KMeans

    X = np.asarray(features, dtype=np.float64)
    scale = X.std(axis=0)
    Z = (X[:, scale > 0] - X[:, scale > 0].mean(axis=0)) / scale[scale > 0]
    n_distinct = len(np.unique(Z, axis=0)) if Z.shape[1] else 1
    if n_distinct < n_clusters:
        raise UserInputError(f"{n_clusters} clusters need at least {n_clusters} distinct rows, the table has "
                             f"{n_distinct}", "folds")
    return KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit_predict(Z)


def cluster_kfold(features: np.ndarray, folds: int, seed: int | None) -> Folds:
    """Leave-cluster-out folds: k-means with *folds* clusters, each cluster one test fold."""
    labels = cluster_labels(features, folds, seed)
    rows = np.arange(len(labels))
    return [(rows[labels != c], rows[labels == c]) for c in range(folds)]


def leak_report(groups: np.ndarray, folds: Folds) -> dict:
    """Duplicated groups and, per fold, the test rows whose group is also among the training rows.

    Parameters
    ----------
    groups : numpy.ndarray, shape (n,)
        One label per row, e.g. the reduced formula (with any condition columns) of each row.
    folds : list of (train, test) index arrays

    Returns
    -------
    dict
        ``n_rows``, ``n_groups``, ``n_duplicate_rows`` (rows beyond the first of their group),
        ``test_rows_seen_in_train`` (per fold), ``n_test_rows_seen_in_train`` and
        ``fraction_test_rows_seen_in_train`` (summed over folds).
    """
    groups = np.asarray(groups)
    seen = []
    for train, test in folds:
        train_groups = set(groups[train].tolist())
        seen.append(int(sum(g in train_groups for g in groups[test].tolist())))
    n_test = sum(len(test) for _, test in folds)
    n_groups = len(set(groups.tolist()))
    return {
        "n_rows": int(len(groups)),
        "n_groups": int(n_groups),
        "n_duplicate_rows": int(len(groups) - n_groups),
        "test_rows_seen_in_train": seen,
        "n_test_rows_seen_in_train": int(sum(seen)),
        "fraction_test_rows_seen_in_train": float(sum(seen) / n_test) if n_test else 0.0,
    }


def given_split(n: int, validation) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices from explicit validation rows; the rest train.

    Parameters
    ----------
    n : int
        Number of rows.
    validation : array-like of int
        Distinct row indices in [0, n), leaving at least 2 training rows.
    """
    val = np.unique(np.asarray(validation, dtype=np.int64).ravel())
    if val.size and (val[0] < 0 or val[-1] >= n):
        raise ValueError(f"validation rows must lie in [0, {n}), got {val[0]} … {val[-1]}")
    train = np.setdiff1d(np.arange(n), val)
    if len(train) < 2:
        raise ValueError(f"the validation rows leave {len(train)} training rows; need at least 2")
    return train, val
