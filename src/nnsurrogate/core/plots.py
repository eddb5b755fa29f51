"""Figures written to files: matplotlib ``Figure`` objects on their own canvas, so no plot ever
switches the global backend or needs a screen (and pyplot's global state is never touched)."""

from __future__ import annotations

import os

import numpy as np

from nnsurrogate.core.files import atomic_path

__all__ = ["new_figure", "parity_plot", "save_figure", "tidy_log_axes"]

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


def save_figure(fig, path: str | os.PathLike, fmt: str = "png") -> None:
    """Write *fig* to *path* atomically (PNG by default), log axes tidied (:func:`tidy_log_axes`)."""
    tidy_log_axes(fig)
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
