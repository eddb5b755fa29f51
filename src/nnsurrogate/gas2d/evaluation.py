"""Scores of force predictions: the paper's class accuracies and regression errors.

* ``accuracy_both`` — fraction of samples whose x and y classes are both exactly right (the paper's
  metric), ``accuracy_x`` / ``accuracy_y`` per component;
* ``force_mae`` — mean |F̂ − F| over both components, eV/Å; ``force_std`` — the spread of the true
  forces, √(½(Var F_x + Var F_y)), eV/Å; ``force_mae_over_std`` their ratio;
* ``force_r2`` — 1 − Σ(F̂ − F)² / Σ(F − F̄)² over both components (each about its own mean).

The majority-class baseline predicts, for every test sample, the (x, y) class pair most frequent in
the training set; it is what "accuracy" means without looking at the image.
"""

from __future__ import annotations

import numpy as np

from nnsurrogate.gas2d.classes import force_classes

__all__ = ["majority_baseline", "score"]


def score(pred_classes: np.ndarray, pred_forces: np.ndarray, true_forces: np.ndarray, f_max: float,
          n_classes: int) -> dict[str, float]:
    """Accuracies and force errors.

    Parameters
    ----------
    pred_classes : numpy.ndarray of int, shape (n, 2)
        Predicted class of F_x and F_y.
    pred_forces : numpy.ndarray, shape (n, 2)
        Predicted force, eV/Å.
    true_forces : numpy.ndarray, shape (n, 2)
        True force, eV/Å.
    f_max : float
        Half-width of the binned range, eV/Å.
    n_classes : int
        K.
    """
    true_forces = np.asarray(true_forces, dtype=np.float64)
    pred_forces = np.asarray(pred_forces, dtype=np.float64)
    hit = np.asarray(pred_classes) == force_classes(true_forces, f_max, n_classes)
    err = pred_forces - true_forces
    sst = float(((true_forces - true_forces.mean(axis=0)) ** 2).sum())
    std = float(np.sqrt(np.mean(np.var(true_forces, axis=0))))
    mae = float(np.abs(err).mean())
    return {
        "accuracy_both": float(hit.all(axis=1).mean()),
        "accuracy_x": float(hit[:, 0].mean()),
        "accuracy_y": float(hit[:, 1].mean()),
        "force_mae": mae,
        "force_rmse": float(np.sqrt(np.mean(err**2))),
        "force_std": std,
        "force_mae_over_std": mae / std if std > 0 else float("nan"),
        "force_r2": 1.0 - float((err**2).sum()) / sst if sst > 0 else float("nan"),
    }


def majority_baseline(train_forces: np.ndarray, test_forces: np.ndarray, f_max: float,
                      n_classes: int) -> dict[str, float]:
    """Accuracy on the test forces of always predicting the training set's most frequent classes.

    Returns ``accuracy_both`` (the most frequent (x, y) pair), ``accuracy_x`` and ``accuracy_y``
    (the most frequent class of each component).
    """
    k = n_classes
    tr = force_classes(train_forces, f_max, k)
    te = force_classes(test_forces, f_max, k)
    pair = np.bincount(tr[:, 0] * k + tr[:, 1], minlength=k * k).argmax()
    best = [np.bincount(tr[:, c], minlength=k).argmax() for c in range(2)]
    return {"accuracy_both": float(((te[:, 0] == pair // k) & (te[:, 1] == pair % k)).mean()),
            "accuracy_x": float((te[:, 0] == best[0]).mean()),
            "accuracy_y": float((te[:, 1] == best[1]).mean())}
