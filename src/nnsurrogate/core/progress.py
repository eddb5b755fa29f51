"""Progress bars for training runs: the engine's :func:`~nnsurrogate.core.engine.progress.progress_bar`
with the train / valid losses after the bar."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from nnsurrogate.core.engine.progress import Progress, progress_bar

__all__ = ["epoch_bar"]


def _losses(metrics: Mapping[str, float]) -> str:
    train, valid = metrics.get("train_loss"), metrics.get("valid_loss")
    return "" if train is None else f"train {train:.3g}  val {valid:.3g}"


@contextlib.contextmanager
def epoch_bar(description: str, enabled: bool = True) -> Iterator[Progress | None]:
    """Yield a ``progress(epoch, max_epochs, metrics)`` callback drawing a bar on stderr, showing the
    ``train_loss`` and ``valid_loss`` entries of *metrics*; ``None`` when *enabled* is false."""
    with progress_bar(description, enabled, render=_losses) as update:
        yield update
