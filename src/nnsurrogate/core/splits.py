"""Train/test splits named by a short specification string.

``random``       a shuffled hold-out of ``test_size`` of the rows;
``kfold:K``      K shuffled folds (cross-validation; every row is tested once);
``group:COL``    a hold-out in which all rows sharing a value of COL fall on one side
                 (e.g. one sample, one compound), via :class:`sklearn.model_selection.GroupShuffleSplit`;
``time:COL``     the rows with the largest COL values are the test set (forecasting forward, never backward).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, KFold, train_test_split

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
            raise UserInputError(f"kfold needs a number of folds ≥ 2, got '{arg}'", "--split")
        return SplitSpec("kfold", folds=int(arg))
    if kind in ("group", "time") and arg:
        return SplitSpec(kind, column=arg)
    raise UserInputError(f"unknown split '{text}'; use random, kfold:K, group:COL or time:COL", "--split")


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
        raise UserInputError(f"test size must be between 0 and 1, got {test_size}", "--test-size")
    rows = np.arange(n)
    if spec.kind == "random":
        train, test = train_test_split(rows, test_size=test_size, random_state=seed)
    elif spec.kind == "group":
        if len(np.unique(values)) < 2:
            raise UserInputError(f"group split needs at least 2 groups in column '{spec.column}'", "--split")
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train, test = next(splitter.split(rows, groups=values))
    elif spec.kind == "time":
        order = np.argsort(np.asarray(values, dtype=np.float64), kind="stable")
        n_test = max(1, int(round(test_size * n)))
        train, test = order[:-n_test], order[-n_test:]
    else:
        raise ValueError(f"holdout does not handle split kind '{spec.kind}'")
    if len(train) < 2 or len(test) < 1:
        raise UserInputError(f"the split leaves {len(train)} training and {len(test)} test rows; need ≥ 2 and ≥ 1", "--split")
    return np.sort(train), np.sort(test)


def kfold(n: int, folds: int, seed: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled K-fold (train, test) index pairs; every row is in exactly one test fold."""
    if folds > n:
        raise UserInputError(f"{folds} folds need at least {folds} rows, the table has {n}", "--split")
    return list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.arange(n)))
