"""The search loop shared by the back ends: chunks of generations until a budget runs out.

A back end (:class:`~nnsurrogate.symbolic.operon_backend.OperonSearch`,
:class:`~nnsurrogate.symbolic.gplearn_backend.GplearnSearch`) offers ``step(generations, seconds)``,
``best_r2(X, y)`` and ``candidates()``. The loop stops at the first of: the generation limit, the
time limit (if any), or a best validation R² at or above a target.

Reproducibility: the chunks are cut by generations alone, so without a time limit (the default of
:class:`~nnsurrogate.symbolic.regressor.SymbolicRegressor`) a seed gives the same search, and the same
formula, however busy the machine; a time limit makes the search end wherever the clock says.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import sympy

from nnsurrogate.core.engine.progress import Progress, progress_bar

#: Generations in one chunk of the search, between two checks of the clock.
CHUNK_GENERATIONS = 10


class Search(Protocol):
    """What the loop needs from a back end."""

    def step(self, generations: int, seconds: float) -> int: ...

    def best_r2(self, X: np.ndarray, y: np.ndarray) -> float: ...

    def candidates(self) -> list[sympy.Expr]: ...


#: Seconds handed to a back end's chunk when there is no time limit (a chunk then ends by generations).
UNLIMITED_SECONDS = 10.0 ** 7


@dataclass(frozen=True)
class Budget:
    """When to stop: *generations*, *time_limit* seconds (``None``: none), *target_r2* (``None``: none).

    The time limit counts from *started*, a ``time.perf_counter()`` value (``None``: the start of the
    search), so that the set-up before the search (reading data, building the back end) counts too.
    """

    generations: int
    time_limit: float | None = None
    target_r2: float | None = None
    started: float | None = None


@dataclass(frozen=True)
class SearchResult:
    """Raw candidates and how the search ended (``stopped_by``: time limit, generations or target R²)."""

    candidates: list[sympy.Expr]
    generations: int
    seconds: float
    best_r2: float
    stopped_by: str


def run_search(search: Search, budget: Budget, X_val: np.ndarray, y_val: np.ndarray,
               progress: Progress | None = None) -> SearchResult:
    """Advance *search* chunk by chunk until *budget* is spent; at least one chunk always runs.

    Parameters
    ----------
    search : Search
    budget : Budget
    X_val : numpy.ndarray, shape (n_val, n_features)
        Validation rows for the target-R² check and the progress line.
    y_val : numpy.ndarray, shape (n_val,)
    progress : callable, optional
        Called after every chunk as ``progress(step, total, metrics)``: generations done of
        ``budget.generations``, and *metrics* ``{"generations", "best_r2" (validation), "elapsed_s"}``.
    """
    start = time.perf_counter()
    clock = start if budget.started is None else float(budget.started)  # the time limit counts from here
    limit = math.inf if budget.time_limit is None else float(budget.time_limit)
    done, best, stopped_by = 0, -math.inf, ""
    while not stopped_by:
        remaining = min(limit - (time.perf_counter() - clock), UNLIMITED_SECONDS)
        done += search.step(min(CHUNK_GENERATIONS, budget.generations - done), remaining)
        best = search.best_r2(X_val, y_val)
        elapsed = time.perf_counter() - start
        if progress is not None:
            progress(min(done, budget.generations), budget.generations,
                     {"generations": done, "best_r2": best, "elapsed_s": elapsed})
        if budget.target_r2 is not None and best >= budget.target_r2:
            stopped_by = "target r2"
        elif done >= budget.generations:
            stopped_by = "generations"
        elif time.perf_counter() - clock >= limit:
            stopped_by = "time limit"
    return SearchResult(search.candidates(), done, time.perf_counter() - start, best, stopped_by)


def _render_search(metrics: Mapping[str, float]) -> str:
    """``"generation 40, best validation R² 0.99871"`` for a search progress call."""
    best = metrics.get("best_r2", math.nan)
    r2 = f"{best:.5f}" if math.isfinite(best) else "—"
    return f"generation {metrics.get('generations', 0)}, best validation R² {r2}"


def search_bar(description: str, enabled: bool = True) -> AbstractContextManager[Progress | None]:
    """A rich bar of the generation budget on stderr; yields a :func:`run_search` progress callback (``None`` if disabled)."""
    return progress_bar(description, enabled, render=_render_search)
