"""The search loop shared by the back ends: chunks of generations until a budget runs out.

A back end (:class:`~nnsurrogate.symbolic.operon_backend.OperonSearch`,
:class:`~nnsurrogate.symbolic.gplearn_backend.GplearnSearch`) offers ``step(generations, seconds)``,
``best_r2(X, y)`` and ``candidates()``. The loop stops at the first of: the time limit, the
generation limit, or a best validation R² at or above a target.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import sympy

#: Generations in one chunk of the search, between two checks of the clock.
CHUNK_GENERATIONS = 10

#: ``progress(elapsed_s, generations, best_validation_r2)``
ProgressFn = Callable[[float, int, float], None]


class Search(Protocol):
    """What the loop needs from a back end."""

    def step(self, generations: int, seconds: float) -> int: ...

    def best_r2(self, X: np.ndarray, y: np.ndarray) -> float: ...

    def candidates(self) -> list[sympy.Expr]: ...


@dataclass(frozen=True)
class Budget:
    """When to stop: *time_limit* seconds, *generations* (``None``: no limit), *target_r2* (``None``: none)."""

    time_limit: float
    generations: int | None = None
    target_r2: float | None = None


@dataclass(frozen=True)
class SearchResult:
    """Raw candidates and how the search ended (``stopped_by``: time limit, generations or target R²)."""

    candidates: list[sympy.Expr]
    generations: int
    seconds: float
    best_r2: float
    stopped_by: str


def run_search(search: Search, budget: Budget, X_val: np.ndarray, y_val: np.ndarray,
               progress: ProgressFn | None = None) -> SearchResult:
    """Advance *search* chunk by chunk until *budget* is spent; at least one chunk always runs.

    Parameters
    ----------
    search : Search
    budget : Budget
    X_val : numpy.ndarray, shape (n_val, n_features)
        Validation rows for the target-R² check and the progress line.
    y_val : numpy.ndarray, shape (n_val,)
    progress : callable, optional
        Called after every chunk as ``progress(elapsed_s, generations, best_r2)``.
    """
    start = time.perf_counter()
    done, best, stopped_by = 0, -math.inf, ""
    while not stopped_by:
        remaining = budget.time_limit - (time.perf_counter() - start)
        chunk = CHUNK_GENERATIONS if budget.generations is None else min(CHUNK_GENERATIONS, budget.generations - done)
        done += search.step(chunk, remaining)
        best = search.best_r2(X_val, y_val)
        elapsed = time.perf_counter() - start
        if progress is not None:
            progress(elapsed, done, best)
        if budget.target_r2 is not None and best >= budget.target_r2:
            stopped_by = "target r2"
        elif budget.generations is not None and done >= budget.generations:
            stopped_by = "generations"
        elif elapsed >= budget.time_limit:
            stopped_by = "time limit"
    return SearchResult(search.candidates(), done, time.perf_counter() - start, best, stopped_by)


@contextlib.contextmanager
def search_bar(description: str, time_limit: float, enabled: bool = True) -> Iterator[ProgressFn | None]:
    """Yield a progress callback drawing a rich bar of the time budget on stderr (``None`` if disabled)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), TextColumn("{task.fields[state]}"))
    with Progress(*columns, console=Console(file=sys.stderr), transient=False) as bar:
        task = bar.add_task(description, total=float(time_limit), state="")

        def update(elapsed: float, generations: int, best_r2: float) -> None:
            r2 = f"{best_r2:.5f}" if math.isfinite(best_r2) else "—"
            bar.update(task, completed=min(elapsed, time_limit), state=f"generation {generations}, best validation R² {r2}")

        yield update
        bar.update(task, completed=float(time_limit))
