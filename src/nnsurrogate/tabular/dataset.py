"""Reading a training table: target, numeric inputs, an optional formula column, the task and duplicates.

A *task* is ``regress`` (a numeric target) or ``classify`` (class labels). ``auto`` picks
``classify`` when the target is text or takes only the values 0 and 1, and ``regress`` otherwise.

Rows that repeat the inputs of an earlier row (the same reduced formula, e.g. ``Fe2O3`` and
``Fe4O6``, and the same numeric inputs) are handled by the duplicates policy:

``mean``   one row per distinct input, with the mean target (the majority class when classifying;
           ties go to the class seen first); the default, with a warning that counts them;
``first``  the first row of each distinct input is kept;
``keep``   every row is kept (repeated measurements; they can leak between train and test).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnsurrogate.core.errors import DataWarning, UserInputError
from nnsurrogate.core.tables import numeric_column, numeric_matrix, read_table, require_columns
from nnsurrogate.core.elements import known_elements
from nnsurrogate.tabular.composition import PRIMARY_TABLE, parse_amounts, reduced_formula

TASKS = ("auto", "regress", "classify")
DUPLICATES = ("mean", "first", "keep")


@dataclass(frozen=True)
class TableSpec:
    """What to read from a table (see the CLI help of ``table train`` for each field)."""

    target: str
    inputs: tuple[str, ...] | None = None
    formula_column: str | None = None
    task: str = "auto"
    duplicates: str = "mean"
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UserInputError(f"unknown task '{self.task}'; use {', '.join(TASKS)}", "task")
        if self.duplicates not in DUPLICATES:
            raise UserInputError(f"unknown duplicates policy '{self.duplicates}'; use {', '.join(DUPLICATES)}",
                                 "duplicates")


@dataclass(frozen=True)
class Dataset:
    """A validated table after the duplicates policy.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows kept (index reset), all original columns.
    inputs : list of str
        Numeric input columns, in order.
    formula_column : str or None
    X : numpy.ndarray, shape (n, len(inputs))
        Numeric inputs (no formula features: those are computed inside each fit).
    formulas : numpy.ndarray of object, shape (n,) or None
    groups : numpy.ndarray of str, shape (n,)
        Reduced formula of each row (or the row's numeric inputs as text without a formula column).
    y : numpy.ndarray, shape (n,)
        Float target (regress) or class labels (classify).
    task : str
        ``regress`` or ``classify``.
    n_duplicates : int
        Rows that repeated an earlier row's inputs in the file.
    """

    frame: pd.DataFrame
    inputs: list[str]
    formula_column: str | None
    X: np.ndarray
    formulas: np.ndarray | None
    groups: np.ndarray
    y: np.ndarray
    task: str
    n_duplicates: int

    def __len__(self) -> int:
        return len(self.y)


def detect_task(values: pd.Series) -> str:
    """``classify`` for text labels or a 0/1 column, ``regress`` for other numbers.

    A column that is mostly numbers with a few text cells is a numeric column with bad cells
    (``regress``, so that the row is reported), not a set of class labels; ``task="classify"``
    overrides.
    """
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().any() and values.notna().all():
        return "regress" if numeric.notna().mean() >= 0.5 else "classify"
    distinct = set(numeric.dropna().unique().tolist())
    return "classify" if distinct and distinct <= {0.0, 1.0} else "regress"


def load_dataset(path: str, spec: TableSpec, columns: list[str] | None = None) -> Dataset:
    """Read *path*, validate the columns named by *spec* and apply the duplicates policy.

    *columns*, when given, are the only columns read (others in the file are ignored).
    """
    frame = read_table(path)
    if columns is not None:
        require_columns(frame, columns, path)
        frame = frame[columns]
    require_columns(frame, [spec.target], path)
    if spec.formula_column:
        require_columns(frame, [spec.formula_column], path)
    skip = {spec.target, spec.formula_column, *spec.exclude} - {None}
    inputs = list(spec.inputs) if spec.inputs else _default_inputs(frame, skip)
    if spec.target in inputs:
        raise UserInputError(f"the target '{spec.target}' is also listed as an input", "inputs")
    if spec.formula_column and spec.formula_column in inputs:
        raise UserInputError(f"the formula column '{spec.formula_column}' is also listed as a numeric input", "inputs")
    if not inputs and not spec.formula_column:
        raise UserInputError(f"no numeric input columns besides the target '{spec.target}' (for a table of "
                             "chemical formulas, name its formula column)", path)
    task = detect_task(frame[spec.target]) if spec.task == "auto" else spec.task
    y = _target(frame, spec.target, task, path)
    X = numeric_matrix(frame, inputs, path) if inputs else np.zeros((len(frame), 0))
    formulas = frame[spec.formula_column].to_numpy(dtype=object) if spec.formula_column else None
    groups = _groups(formulas, X, path, spec.formula_column)
    keep, y, n_dup = _apply_duplicates(groups, X, y, task, spec.duplicates)
    if len(keep) < 2:
        merged = " after merging duplicate rows" if n_dup and spec.duplicates != "keep" else ""
        raise UserInputError(f"need at least 2 rows to train, found {len(keep)}{merged}", path)
    _warn_constant(y, spec.target, task)
    frame = frame.iloc[keep].reset_index(drop=True)
    return Dataset(frame, inputs, spec.formula_column, X[keep], None if formulas is None else formulas[keep],
                   groups[keep], y, task, n_dup)


def _default_inputs(frame: pd.DataFrame, skip: set) -> list[str]:
    """Every column not in *skip* that holds at least one number; text columns are ignored with a warning."""
    chosen = []
    for name in frame.columns:
        if name in skip:
            continue
        if pd.to_numeric(frame[name], errors="coerce").notna().any():
            chosen.append(name)
        else:
            warnings.warn(f"ignoring non-numeric column '{name}' (set inputs to choose the columns)", DataWarning,
                          stacklevel=4)
    return chosen


def _target(frame: pd.DataFrame, name: str, task: str, where: str) -> np.ndarray:
    if task == "regress":
        return numeric_column(frame, name, where)
    values = frame[name]
    missing = values.isna().to_numpy()
    if missing.any():
        raise UserInputError(f"column '{name}' has a missing class label", f"{where}, row {int(np.flatnonzero(missing)[0]) + 1}")
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        as_int = numeric.to_numpy(dtype=np.float64)
        return as_int.astype(np.int64) if np.all(as_int == np.round(as_int)) else values.astype(str).to_numpy()
    return values.astype(str).str.strip().to_numpy(dtype=object)


def row_keys(groups: np.ndarray, X: np.ndarray) -> list[str]:
    """One text key per row: its reduced formula (or group) and numeric inputs; equal keys are the same sample."""
    return [f"{g}|" + ",".join(f"{v:.12g}" for v in row) for g, row in zip(groups, X)]


def compound_groups(formulas: np.ndarray, where: str, column: str) -> np.ndarray:
    """Reduced formula of every formula text (n,); an unknown element is a user error naming *where*."""
    return _groups(np.asarray(formulas, dtype=object), np.zeros((len(formulas), 0)), where, column)


def _groups(formulas: np.ndarray | None, X: np.ndarray, path: str, column: str | None) -> np.ndarray:
    """Reduced formula per row (parsed once per distinct text); without formulas, the inputs as text."""
    if formulas is None:
        return np.array([",".join(f"{v:.12g}" for v in row) for row in X], dtype=object)
    known = known_elements(PRIMARY_TABLE)
    cache: dict[str, str] = {}
    out = np.empty(len(formulas), dtype=object)
    for i, text in enumerate(formulas):
        key = str(text)
        if key not in cache:
            where = f"{path}, column '{column}', row {i + 1}"
            unknown = sorted(set(parse_amounts(text, where)) - known)
            if unknown:
                raise UserInputError(f"formula {key!r} contains {unknown[0]!r}, which the {PRIMARY_TABLE} element "
                                     "table does not cover", where)
            cache[key] = reduced_formula(text, where)
        out[i] = cache[key]
    return out


def _apply_duplicates(groups: np.ndarray, X: np.ndarray, y: np.ndarray, task: str,
                      policy: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows to keep (indices into the file), their targets, and the number of duplicate rows found."""
    keys = pd.Series(row_keys(groups, X))
    codes, uniques = pd.factorize(keys)
    n_dup = len(keys) - len(uniques)
    if n_dup == 0 or policy == "keep":
        if n_dup:
            warnings.warn(f"{n_dup} rows repeat the inputs of an earlier row; they are kept (--duplicates keep), "
                          "so the same input can fall on both sides of a split", DataWarning, stacklevel=4)
        return np.arange(len(y)), y, n_dup
    first = np.array([np.flatnonzero(codes == c)[0] for c in range(len(uniques))])
    if policy == "first":
        what = "only the first of each is kept (--duplicates first)"
        y_new = y[first]
    elif task == "regress":
        what = "their targets are averaged into one row (--duplicates mean)"
        y_new = np.bincount(codes, weights=y.astype(np.float64)) / np.bincount(codes)
    else:
        what = "each keeps its majority class (--duplicates mean)"
        votes = [Counter() for _ in range(len(uniques))]
        for code, label in zip(codes, y):
            votes[code][label] += 1
        y_new = np.array([v.most_common(1)[0][0] for v in votes], dtype=y.dtype)  # ties: the label seen first
    warnings.warn(f"{n_dup} rows repeat the inputs of an earlier row; {what}", DataWarning, stacklevel=4)
    return first, y_new, n_dup


def _warn_constant(y: np.ndarray, target: str, task: str) -> None:
    if len(np.unique(y)) == 1:
        if task == "classify":
            raise UserInputError(f"target '{target}' has a single class ({y[0]!r}); a classifier needs two or more")
        warnings.warn(f"target '{target}' is constant ({y[0]:g}); the model can only predict that value", DataWarning,
                      stacklevel=4)
