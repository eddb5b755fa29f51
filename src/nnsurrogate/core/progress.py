"""Progress bars for long runs (rich), as callbacks the training loop can call."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from nnsurrogate.core.training import ProgressFn


@contextlib.contextmanager
def epoch_bar(description: str, enabled: bool = True) -> Iterator[ProgressFn | None]:
    """Yield a ``progress(epoch, max_epochs, train_loss, val_loss)`` callback drawing a bar on stderr.

    Yields ``None`` when *enabled* is false, so callers can pass the result straight on.
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[losses]}"))
    console = Console(file=sys.stderr)
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=None, losses="")

        def update(epoch: int, max_epochs: int, train_loss: float, val_loss: float) -> None:
            bar.update(task, completed=epoch, total=max_epochs,
                       losses=f"train {train_loss:.3g}  val {val_loss:.3g}")

        yield update
        done = bar.tasks[0].completed
        bar.update(task, total=max(done, 1), completed=max(done, 1))
