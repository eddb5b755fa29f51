"""Reading user tables (CSV or Parquet) and turning columns into validated numeric arrays.

Every problem is reported as a :class:`~nnsurrogate.core.errors.UserInputError` that names the
file, the column and the row (rows are counted from 1, the header not included), so that the
command line can print one precise line instead of a traceback.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nnsurrogate.core.errors import UserInputError

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without byte-order mark) or Parquet file.

    Parameters
    ----------
    path : path-like
        ``*.csv``, ``*.parquet`` or ``*.pq``.

    Returns
    -------
    pandas.DataFrame
        At least one row; column names stripped of surrounding spaces.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise UserInputError("file not found", where)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise UserInputError(f"unsupported table format '{suffix}', expected .csv or .parquet", where)
    if path.stat().st_size == 0:
        raise UserInputError("file is empty", where)
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, encoding="utf-8-sig", skipinitialspace=True)
        else:
            frame = pd.read_parquet(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise UserInputError(f"cannot read table: {_first_line(exc)}", where) from None
    if suffix == ".csv":
        _refuse_repeated_names(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame) == 0:
        raise UserInputError("table has a header but no rows", where)
    return frame


def _refuse_repeated_names(path: Path) -> None:
    """A CSV header that names a column twice is an error (pandas would rename the second ``x.1``)."""
    header = pd.read_csv(path, encoding="utf-8-sig", skipinitialspace=True, header=None, nrows=1, dtype=str)
    names = [str(c).strip() for c in header.iloc[0].tolist()] if len(header) else []
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        if name in seen and name != "nan":
            raise UserInputError(f"column name '{name}' appears twice (columns {seen[name] + 1} and {k + 1})",
                                 str(path))
        seen.setdefault(name, k)


#: Magnitudes above this overflow float64 when squared (variances, standardisation): refused.
LARGEST_VALUE = 1e150


def is_number(text: str) -> bool:
    """Whether Python's ``float`` reads *text* (``"1e-3"``, ``"nan"`` and ``"inf"`` included)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def require_columns(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Raise if any of *columns* is missing, suggesting the closest existing name."""
    for name in columns:
        if name not in frame.columns:
            close = difflib.get_close_matches(name, [str(c) for c in frame.columns], n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else f"; columns are {', '.join(map(str, frame.columns))}"
            raise UserInputError(f"column '{name}' not found{hint}", where)


def numeric_matrix(frame: pd.DataFrame, columns: Sequence[str], where: str) -> np.ndarray:
    """Return the given columns as a float64 array, refusing text, NaN and infinities.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    columns : sequence of str
        Column names, all present (see :func:`require_columns`).
    where : str
        File name used in error messages.

    Returns
    -------
    numpy.ndarray, shape (n_rows, n_columns)
    """
    require_columns(frame, columns, where)
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        out[:, j] = numeric_column(frame, name, where)
    return out


def numeric_column(frame: pd.DataFrame, name: str, where: str) -> np.ndarray:
    """Return one column as float64, naming the first bad row if any.

    Returns
    -------
    numpy.ndarray, shape (n_rows,)
    """
    raw = frame[name]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad_text = np.isnan(values) & raw.notna().to_numpy()
    if bad_text.any():
        i = int(np.flatnonzero(bad_text)[0])
        raise UserInputError(f"column '{name}' has non-numeric value {str(raw.iloc[i])!r}", f"{where}, row {i + 1}")
    missing = np.isnan(values)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise UserInputError(f"column '{name}' has a missing or NaN value", f"{where}, row {i + 1}")
    infinite = np.isinf(values)
    if infinite.any():
        i = int(np.flatnonzero(infinite)[0])
        raise UserInputError(f"column '{name}' has an infinite value", f"{where}, row {i + 1}")
    huge = np.abs(values) > LARGEST_VALUE
    if huge.any():
        i = int(np.flatnonzero(huge)[0])
        raise UserInputError(f"column '{name}' has {values[i]:.3g}, too large to compute with (|x| > 1e150)",
                             f"{where}, row {i + 1}")
    return values


def parse_column_list(text: str | None) -> list[str] | None:
    """Split ``"a,b , c"`` into ``["a", "b", "c"]``; ``None`` or empty gives ``None``."""
    if text is None or not text.strip():
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a CSV or Parquet file atomically, by the suffix of *path*."""
    from nnsurrogate.core.files import atomic_path

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise UserInputError(f"unsupported output format '{suffix}', expected .csv or .parquet", str(path))
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
