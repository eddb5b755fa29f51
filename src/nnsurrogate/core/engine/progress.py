"""One progress protocol for every long run: ``progress(step, total, metrics)``.

*step* counts completed units (epochs, iterations, MD steps, labelled frames), *total* is their
planned number (``None`` when open-ended, e.g. a run bounded by a time limit) and *metrics* a flat
dict of named numbers (``{"train_loss": 0.1, "valid_loss": 0.2, "elapsed_s": 3.0}``). The rich bar
(:func:`progress_bar`), a log and a loss trace are all consumers of the same calls (:func:`fan_out`).
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator, Mapping

__all__ = ["Progress", "fan_out", "format_metrics", "progress_bar"]

#: ``progress(step, total, metrics)`` — see the module docstring.
Progress = Callable[[int, "int | None", Mapping[str, float]], None]


def format_metrics(metrics: Mapping[str, object], keys: tuple[str, ...] | None = None) -> str:
    """``"train_loss 0.123  valid_loss 0.456"`` for the finite numbers among *metrics* (or *keys* of them)."""
    parts = []
    for key in keys if keys is not None else tuple(metrics):
        value = metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            parts.append(f"{key.replace('_', ' ')} {value:.3g}")
    return "  ".join(parts)


def fan_out(*callbacks: Progress | None) -> Progress | None:
    """One callback that calls every non-``None`` callback in turn (``None`` if there are none)."""
    active = [cb for cb in callbacks if cb is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]

    def call(step: int, total: int | None, metrics: Mapping[str, float]) -> None:
        for cb in active:
            cb(step, total, metrics)

    return call


@contextlib.contextmanager
def progress_bar(description: str, enabled: bool = True,
                 render: Callable[[Mapping[str, float]], str] | None = None) -> Iterator[Progress | None]:
    """Yield a :data:`Progress` callback drawing a rich bar on stderr (``None`` when not *enabled*).

    Parameters
    ----------
    description : str
        Text before the bar.
    enabled : bool
        ``False`` yields ``None``, so callers can pass the result straight on.
    render : callable, optional
        Turns the metrics of a call into the text after the bar (default :func:`format_metrics`).
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn

    render = format_metrics if render is None else render
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[info]}"))
    with Bar(*columns, console=Console(file=sys.stderr), transient=False) as bar:
        task = bar.add_task(description, total=None, info="")

        def update(step: int, total: int | None, metrics: Mapping[str, float]) -> None:
            bar.update(task, completed=step, total=total, info=render(metrics))

        yield update
        done = bar.tasks[0].completed
        bar.update(task, total=max(done, 1), completed=max(done, 1))
