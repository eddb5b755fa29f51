"""Figures written to files: matplotlib ``Figure`` objects on their own canvas, so no plot ever
switches the global backend or needs a screen (and pyplot's global state is never touched)."""

from __future__ import annotations

import os

import numpy as np

from nnsurrogate.core.files import atomic_path

__all__ = ["new_figure", "parity_plot", "save_figure"]


def new_figure(figsize: tuple[float, float] = (4.6, 4.4), dpi: int = 120, nrows: int = 1, ncols: int = 1, **kwargs):
    """A ``(Figure, axes)`` pair outside pyplot: ``axes`` as :meth:`matplotlib.figure.Figure.subplots` returns it."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save_figure(fig, path: str | os.PathLike, fmt: str = "png") -> None:
    """Write *fig* to *path* atomically (PNG by default)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt)


def _log_axes(ax) -> None:
    """Logarithmic x and y with plain-number labels at 1-2-5 steps and unlabelled minor ticks (matplotlib's
    default labels every minor tick of a short log axis as 2×10¹, 3×10¹, …, which run into each other)."""
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        formatter = ScalarFormatter()
        formatter.set_scientific(False)
        axis.set_major_formatter(formatter)
        axis.set_minor_formatter(NullFormatter())


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
        _log_axes(ax)
    ax.set_xlabel(f"true {label}")
    ax.set_ylabel(f"predicted {label}")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
