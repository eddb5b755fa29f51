"""Figures written to files: matplotlib ``Figure`` objects on their own canvas, so no plot ever
switches the global backend or needs a screen (and pyplot's global state is never touched)."""

from __future__ import annotations

import os

import numpy as np

from nnsurrogate.core.files import atomic_path

__all__ = ["new_figure", "parity_plot", "save_figure", "thin_crowded_ticks", "tidy_axes", "tidy_log_axes"]

#: A log axis spanning at most this ratio gets plain-number labels at 1-2-5 steps.
PLAIN_LOG_SPAN = 1e3


def new_figure(figsize: tuple[float, float] = (4.6, 4.4), dpi: int = 120, nrows: int = 1, ncols: int = 1, **kwargs):
    """A ``(Figure, axes)`` pair outside pyplot: ``axes`` as :meth:`matplotlib.figure.Figure.subplots` returns it."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def tidy_log_axes(fig) -> None:
    """Make every logarithmic axis of *fig* read at a glance.

    matplotlib labels the minor ticks of a log axis that spans less than a decade or so
    (``2×10¹ 3×10¹ 4×10¹ 6×10¹``), and the labels run into each other. Here minor ticks are never
    labelled; an axis spanning at most :data:`PLAIN_LOG_SPAN` gets major ticks at 1-2-5 steps written
    as plain numbers (20, 50, 100), a wider one keeps its decades.
    """
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    for ax in fig.get_axes():
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale != "log":
                continue
            lo, hi = sorted(axis.get_view_interval())
            if lo > 0 and hi / lo <= PLAIN_LOG_SPAN:
                axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                formatter = ScalarFormatter()
                formatter.set_scientific(False)
                axis.set_major_formatter(formatter)
            axis.set_minor_formatter(NullFormatter())


#: Fewest major ticks :func:`thin_crowded_ticks` goes down to on a linear axis.
MIN_TICKS = 3


def _renderer(fig):
    """The renderer of *fig*'s canvas (an Agg canvas is attached to a figure made outside pyplot)."""
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _crowded(axis, renderer, vertical: bool) -> bool:
    """True when two neighbouring tick labels of *axis* overlap (or nearly touch) as drawn."""
    boxes = [t.get_window_extent(renderer) for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
    if len(boxes) < 2:
        return False
    spans = sorted((b.y0, b.y1) if vertical else (b.x0, b.x1) for b in boxes)
    gap = 2.0  # pixels
    return any(hi + gap > lo_next for (_, hi), (lo_next, _) in zip(spans, spans[1:]))


def thin_crowded_ticks(fig) -> None:
    """Fewer major ticks on every linear axis of *fig* whose tick labels run into each other.

    Long labels (``0.0200 0.0225 0.0250`` on a narrow parity plot) overlap at matplotlib's default
    density; the axis is given ever fewer "nice" ticks (:class:`~matplotlib.ticker.MaxNLocator`)
    until the labels stand apart, down to :data:`MIN_TICKS`.
    """
    from matplotlib.ticker import MaxNLocator

    renderer = _renderer(fig)
    for ax in fig.get_axes():
        for axis, scale, vertical in ((ax.xaxis, ax.get_xscale(), False), (ax.yaxis, ax.get_yscale(), True)):
            if scale != "linear" or not _crowded(axis, renderer, vertical):
                continue
            for bins in range(max(len(axis.get_major_locator()()) - 2, MIN_TICKS), MIN_TICKS - 1, -1):
                axis.set_major_locator(MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]))
                renderer = _renderer(fig)
                if not _crowded(axis, renderer, vertical):
                    break


def tidy_axes(fig) -> None:
    """Log axes labelled at a glance (:func:`tidy_log_axes`), then crowded linear labels thinned
    (:func:`thin_crowded_ticks`): what every saved figure gets."""
    tidy_log_axes(fig)
    thin_crowded_ticks(fig)


def save_figure(fig, path: str | os.PathLike, fmt: str = "png") -> None:
    """Write *fig* to *path* atomically (PNG by default), its axes tidied (:func:`tidy_axes`)."""
    tidy_axes(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt)


def parity_plot(path: str | os.PathLike, y_true: np.ndarray, y_pred: np.ndarray, y_std: np.ndarray | None = None,
                label: str = "target", log: bool = False, title: str = "") -> None:
    """Predicted vs true values with ±1σ error bars and the y = x line, saved as PNG.

    Parameters
    ----------
    path : path-like
        Output ``.png``.
    y_true, y_pred : numpy.ndarray, shape (n,)
    y_std : numpy.ndarray, shape (n,), optional
        Predicted standard deviations, drawn as error bars.
    label : str
        Axis label (name and unit).
    log : bool
        Logarithmic axes (positive data).
    """
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    fig, ax = new_figure()
    ax.errorbar(y_true, y_pred, yerr=y_std, fmt="o", ms=2.5, alpha=0.6, elinewidth=0.6, color="tab:blue")
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    if log and lo > 0:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(f"true {label}")
    ax.set_ylabel(f"predicted {label}")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
