"""Figures of space–time fields (matplotlib `Figure` objects, no global backend): heat maps, errors, profiles."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from nnsurrogate.core.files import atomic_path


def _figure(**kwargs):
    """A matplotlib ``Figure`` detached from pyplot (drawn by its own Agg canvas on save)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _save(fig, path: str | os.PathLike) -> None:
    from nnsurrogate.core.plots import tidy_axes

    fig.tight_layout()
    tidy_axes(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def field_maps(path: str | os.PathLike, x: np.ndarray, t: np.ndarray, fields: Mapping[str, np.ndarray],
               label: str = "T", cmap: str = "inferno", symmetric: bool = False, shared: bool = True) -> None:
    """One heat map per field, side by side.

    Parameters
    ----------
    x : numpy.ndarray, shape (nx,)
    t : numpy.ndarray, shape (nt,)
    fields : mapping of str to numpy.ndarray, each shape (nt, nx)
        Title → field; rows are times.
    label : str
        Colour-bar label (name and unit).
    symmetric : bool
        Colour scale symmetric about zero (for errors), reaching the 99.5th percentile of |field|: a
        few extreme cells (the corner jump of the rod, for finite differences) saturate, marked by the
        colour bar's pointed ends, instead of washing every other cell out to the zero colour.
    shared : bool
        One colour scale for all panels; otherwise each panel has its own colour bar.
    """
    n = len(fields)
    fig = _figure(figsize=(3.7 * n + (0.9 if shared else 0.3 * n), 3.3), dpi=110, layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)
    limits = [_limits(np.concatenate([np.ravel(v) for v in fields.values()]), symmetric)] * n if shared else \
        [_limits(np.ravel(v), symmetric) for v in fields.values()]
    image, any_clipped = None, False
    for ax, (title, field), (lo, hi) in zip(axes[0], fields.items(), limits):
        clipped = symmetric and bool(np.nanmax(np.abs(field)) > hi * (1 + 1e-9))
        any_clipped |= clipped
        image = ax.pcolormesh(x, t, field, shading="auto", cmap=cmap, vmin=lo, vmax=hi)
        ax.set_xlabel("x")
        ax.set_ylabel("t")
        ax.set_title(title, fontsize=9)
        if not shared:
            fig.colorbar(image, ax=ax, label=label, shrink=0.9, extend="both" if clipped else "neither")
    if shared:
        fig.colorbar(image, ax=list(axes[0]), label=label, shrink=0.9, extend="both" if any_clipped else "neither")
    from nnsurrogate.core.plots import tidy_axes

    tidy_axes(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


#: Percentile of |error| a symmetric colour scale reaches (the rest saturates).
ERROR_PERCENTILE = 99.5


def _limits(values: np.ndarray, symmetric: bool) -> tuple[float, float]:
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if symmetric:
        m = float(np.nanpercentile(np.abs(values), ERROR_PERCENTILE))
        m = m if m > 0 else max(abs(lo), abs(hi), 1e-300)
        return -m, m
    return lo, hi


def profiles(path: str | os.PathLike, x: np.ndarray, t: np.ndarray, fields: Mapping[str, np.ndarray],
             times: Sequence[float], reference: str, label: str = "T") -> None:
    """Profiles u(x) at several times: the *reference* field as lines, the others as markers.

    Parameters
    ----------
    fields : mapping of str to numpy.ndarray, each shape (nt, nx)
    times : sequence of float
        Times to show; the nearest grid rows are used.
    reference : str
        Key of the field drawn as solid lines.
    """
    fig = _figure(figsize=(5.2, 3.8), dpi=110)
    ax = fig.subplots()
    markers = ["o", "s", "^", "x", "d"]
    step = max(1, len(x) // 25)
    for j, tv in enumerate(times):
        k = int(np.argmin(np.abs(np.asarray(t) - tv)))
        color = f"C{j}"
        ax.plot(x, fields[reference][k], "-", color=color, lw=1.3, label=f"t = {t[k]:.3g}")
        for m, (name, field) in enumerate((n, f) for n, f in fields.items() if n != reference):
            ax.plot(x[::step], field[k][::step], markers[m % len(markers)], color=color, ms=3.5, mfc="none",
                    label=name if j == 0 else None)
    ax.set_xlabel("x")
    ax.set_ylabel(label)
    ax.set_title(f"lines: {reference}; markers: " + ", ".join(n for n in fields if n != reference), fontsize=8)
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path)


def loss_history(path: str | os.PathLike, history: Sequence[tuple[int, float]], switch: int | None = None) -> None:
    """Training loss against iteration on a log scale; a dashed line where L-BFGS takes over."""
    fig = _figure(figsize=(5.0, 3.4), dpi=110)
    ax = fig.subplots()
    if history:
        it, loss = np.array(history, dtype=float).T
        ax.semilogy(it, np.maximum(loss, 1e-300), "-", lw=1.2)
    if switch:
        ax.axvline(switch, color="k", ls="--", lw=0.8, label="Adam → L-BFGS")
        ax.legend(fontsize=8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    _save(fig, path)
