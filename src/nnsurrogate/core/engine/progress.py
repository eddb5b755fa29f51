"""One progress protocol for every long run: ``progress(step, total, metrics)``.

*step* counts completed units (epochs, iterations, MD steps, labelled frames), *total* is their
planned number (``None`` when open-ended, e.g. a run bounded by a time limit) and *metrics* a flat
dict of named numbers (``{"train_loss": 0.1, "valid_loss": 0.2, "elapsed_s": 3.0}``). The rich bar
(:func:`progress_bar`), a log and a loss trace are all consumers of the same calls (:func:`fan_out`).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping

__all__ = ["LOG_EVERY_S", "Progress", "fan_out", "format_metrics", "log_lines", "progress_bar"]

#: Seconds between progress lines when stderr is not a terminal (``NNSURROGATE_LOG_EVERY`` overrides).
LOG_EVERY_S = 30.0

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


def _log_every() -> float:
    """``NNSURROGATE_LOG_EVERY`` in seconds when it is a number ≥ 0, else :data:`LOG_EVERY_S`."""
    try:
        value = float(os.environ.get("NNSURROGATE_LOG_EVERY", LOG_EVERY_S))
    except ValueError:
        return LOG_EVERY_S
    return value if value >= 0 else LOG_EVERY_S


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@contextlib.contextmanager
def log_lines(description: str, render: Callable[[Mapping[str, float]], str], stream=None,
              every: float | None = None) -> Iterator[Progress]:
    """Yield a :data:`Progress` callback that writes one plain line every *every* seconds, and the last.

    What a bar becomes when stderr is a log file or a pipe: ``description: step/total  h:mm:ss  info``
    — the first call, then at most one line per *every* seconds (default :data:`LOG_EVERY_S`, or the
    environment variable ``NNSURROGATE_LOG_EVERY``), then the final state when the run ends.
    """
    stream = sys.stderr if stream is None else stream
    every = _log_every() if every is None else every
    start, state = time.perf_counter(), {"last": -math.inf, "line": None, "shown": None}

    def line(step: int, total: int | None, metrics: Mapping[str, float]) -> str:
        count = f"{step}/{total}" if total is not None else str(step)
        info = render(metrics)
        return f"{description}: {count}  {_clock(time.perf_counter() - start)}" + (f"  {info}" if info else "")

    def update(step: int, total: int | None, metrics: Mapping[str, float]) -> None:
        state["line"] = line(step, total, metrics)
        now = time.perf_counter()
        if now - state["last"] >= every:
            print(state["line"], file=stream, flush=True)
            state["last"], state["shown"] = now, state["line"]

    yield update
    if state["line"] is not None and state["line"] != state["shown"]:
        print(state["line"], file=stream, flush=True)


@contextlib.contextmanager
def progress_bar(description: str, enabled: bool = True,
                 render: Callable[[Mapping[str, float]], str] | None = None) -> Iterator[Progress | None]:
    """Yield a :data:`Progress` callback drawing a rich bar on stderr (``None`` when not *enabled*).

    When stderr is not an interactive terminal as rich judges it (a log file, a pipe, a batch job;
    ``TTY_INTERACTIVE=0`` forces it) the bar becomes periodic plain lines (:func:`log_lines`) instead
    of redraws nobody sees.

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

    render = format_metrics if render is None else render
    console = Console(file=sys.stderr)
    if not console.is_interactive:  # rich's test (a TTY, not Jupyter; TTY_INTERACTIVE=0/1 overrides)
        with log_lines(description, render) as update:
            yield update
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[info]}"))
    with Bar(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=None, info="")

        def update(step: int, total: int | None, metrics: Mapping[str, float]) -> None:
            bar.update(task, completed=step, total=total, info=render(metrics))

        yield update
        done = bar.tasks[0].completed
        bar.update(task, total=max(done, 1), completed=max(done, 1))

