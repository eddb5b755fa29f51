"""Figures of the 2D-gas model written to files (matplotlib's Agg backend: no screen needed)."""

from __future__ import annotations

import os

import numpy as np

from nnsurrogate.core.plots import new_figure, save_figure

__all__ = ["confusion_plot"]


def confusion_plot(path: str | os.PathLike, true: np.ndarray, pred: np.ndarray, n_classes: int,
                   title: str = "") -> None:
    """Row-normalised confusion matrix of class indices (true along y, predicted along x), saved as PNG.

    Parameters
    ----------
    path : path-like
        Output ``.png``.
    true, pred : numpy.ndarray of int, shape (n,)
        Class indices in 0 … n_classes − 1.
    n_classes : int
    """
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (np.asarray(true, dtype=int), np.asarray(pred, dtype=int)), 1)
    rows = counts.sum(axis=1, keepdims=True)
    frac = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig, ax = new_figure(figsize=(4.8, 4.2), dpi=120)
    im = ax.imshow(frac, origin="lower", cmap="viridis", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, label="fraction of the true class")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
