"""Element property tables shipped with the package (Magpie, Oliynyk), shared by every pillar.

The tables are read from ``nnsurrogate/core/data/`` (see ``ATTRIBUTION.md`` there for sources and
licenses) on first use and cached per process. Rows are indexed by element symbol; columns are the
numeric properties in the source's units (e.g. Magpie ``MeltingT`` in K, ``CovalentRadius`` in pm,
``GSvolume_pa`` in Å³/atom).

Imputation: an element present in a table but missing a property gets the median of that property
over all elements of the table, so no NaN reaches a network. An element absent from a table is an
error (:class:`~nnsurrogate.core.errors.UserInputError`), never silently imputed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources

import numpy as np
import pandas as pd

from nnsurrogate.core.errors import UserInputError

TABLES = ("magpie", "oliynyk")


@functools.lru_cache(maxsize=None)
def _load(name: str) -> pd.DataFrame:
    with resources.files("nnsurrogate.core").joinpath(f"data/{name}.csv").open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh)
    frame = frame.set_index(frame.columns[0])
    frame.index = frame.index.astype(str).str.strip()
    frame.index.name = "element"
    numeric = frame.apply(pd.to_numeric, errors="coerce").astype(np.float64)
    numeric = numeric.loc[:, numeric.notna().any()]  # drop text-only columns (none in the shipped tables)
    return numeric.fillna(numeric.median())


def element_table(name: str = "magpie") -> pd.DataFrame:
    """Return a copy of the element table *name* (``magpie`` or ``oliynyk``), indexed by symbol.

    Returns
    -------
    pandas.DataFrame, shape (n_elements, n_properties)
        Float properties, missing entries imputed with the column median.
    """
    if name not in TABLES:
        raise ValueError(f"unknown element table '{name}'; choose one of {', '.join(TABLES)}")
    return _load(name).copy()


def known_elements(name: str = "magpie") -> frozenset[str]:
    """Symbols that table *name* covers."""
    if name not in TABLES:
        raise ValueError(f"unknown element table '{name}'; choose one of {', '.join(TABLES)}")
    return frozenset(_load(name).index)


def element_properties(symbols: Sequence[str], name: str = "magpie", where: str = "") -> np.ndarray:
    """Property rows for *symbols*, in order.

    Parameters
    ----------
    symbols : sequence of str
        Element symbols, e.g. ``["Si", "O"]``.
    name : str
        Table name (``magpie`` or ``oliynyk``).
    where : str
        Location for the error message (a file and row), if any.

    Returns
    -------
    numpy.ndarray, shape (len(symbols), n_properties)

    Raises
    ------
    UserInputError
        If a symbol is not in the table.
    """
    table = _load(name) if name in TABLES else element_table(name)
    missing = [s for s in symbols if s not in table.index]
    if missing:
        raise UserInputError(f"element {missing[0]!r} is not in the {name} element table", where)
    return table.loc[list(symbols)].to_numpy(dtype=np.float64, copy=True)
