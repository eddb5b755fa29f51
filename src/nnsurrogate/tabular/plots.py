"""Figures for classification results (matplotlib's Agg backend: no screen needed)."""

from __future__ import annotations

import os

import numpy as np



def reliability_curve(y: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean predicted confidence, observed accuracy and count per confidence bin.

    Parameters
    ----------
    y : numpy.ndarray of int, shape (n,)
        True class indices.
    proba : numpy.ndarray, shape (n, K)
        Predicted probabilities; the confidence of a row is its largest probability.
    n_bins : int
        Equal-width bins of the confidence on [1/K, 1].

    Returns
    -------
    confidence, accuracy, count : numpy.ndarray, each shape (n_bins,)
        Empty bins have NaN confidence and accuracy. For calibrated probabilities accuracy ≈ confidence.
    """
    proba = np.asarray(proba, dtype=np.float64)
    conf = proba.max(axis=1)
    correct = (np.argmax(proba, axis=1) == np.asarray(y)).astype(np.float64)
    edges = np.linspace(1.0 / proba.shape[1], 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(which, weights=correct, minlength=n_bins) / count
    return mean_conf, accuracy, count


def reliability_plot(path: str | os.PathLike, y: np.ndarray, proba: np.ndarray, title: str = "") -> None:
    """Observed accuracy against predicted confidence (the diagonal is perfect calibration), as PNG."""
    from nnsurrogate.core.plots import new_figure, save_figure

    conf, acc, count = reliability_curve(y, proba)
    keep = count > 0
    fig, ax = new_figure()
    low = 1.0 / np.asarray(proba).shape[1]
    ax.plot([low, 1.0], [low, 1.0], "k--", lw=1, label="calibrated")
    ax.plot(conf[keep], acc[keep], "o-", color="tab:blue", label="model")
    for c, a, n in zip(conf[keep], acc[keep], count[keep]):
        ax.annotate(f"{int(n)}", (c, a), textcoords="offset points", xytext=(3, -10), fontsize=6)
    ax.set_xlabel("predicted probability of the chosen class")
    ax.set_ylabel("fraction correct")
    ax.legend(loc="upper left", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
