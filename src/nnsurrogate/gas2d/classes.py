"""Forces as classes (Zharikov, Zavyalov & Sivashova 2022): each component's range cut into K bins.

The range [−f_max, f_max] of one force component is cut into K equal bins of width 2 f_max / K;
class c ∈ {0, …, K − 1} holds −f_max + c·w ≤ F < −f_max + (c+1)·w, and forces beyond ±f_max fall in
the end classes (the paper does not say what happens to them; clipping keeps every sample). The
bins are symmetric, so the class of −F is K − 1 minus the class of F (away from bin edges).

How f_max is chosen:

* ``"cell"`` — the paper's rule: the magnitude of the pair force between particles in neighbouring
  cells, taken at the distance between the cell centres, h = W / n, so f_max = |f(h)|;
* ``"quantile:Q"`` — the Q-quantile of |F_x| and |F_y| pooled over the training set, for potentials
  (Lennard-Jones with small cells) where |f(h)| is orders of magnitude above any force that occurs;
* a positive number — f_max in eV/Å as given.
"""

from __future__ import annotations

import numpy as np

from nnsurrogate.core.errors import UserInputError

__all__ = ["class_centres", "force_classes", "parse_fmax_rule", "resolve_fmax"]


def force_classes(force: np.ndarray, f_max: float, n_classes: int) -> np.ndarray:
    """Class index of each force component.

    Parameters
    ----------
    force : numpy.ndarray, any shape
        Force components, eV/Å.
    f_max : float
        Half-width of the binned range, eV/Å.
    n_classes : int
        K, number of bins per component.

    Returns
    -------
    numpy.ndarray of int64, same shape as *force*
    """
    _check(f_max, n_classes)
    scaled = (np.asarray(force, dtype=np.float64) + f_max) * (n_classes / (2.0 * f_max))
    return np.clip(np.floor(scaled), 0, n_classes - 1).astype(np.int64)


def class_centres(f_max: float, n_classes: int) -> np.ndarray:
    """Force at the centre of each class (K,), eV/Å: −f_max + (c + ½)·2f_max/K."""
    _check(f_max, n_classes)
    return -f_max + (np.arange(n_classes) + 0.5) * (2.0 * f_max / n_classes)


def parse_fmax_rule(rule: str) -> tuple[str, float]:
    """Split an f_max rule into (kind, value): ``("cell", 0)``, ``("quantile", Q)`` or ``("value", f)``."""
    text = str(rule).strip().lower()
    if text == "cell":
        return "cell", 0.0
    try:
        if text.startswith("quantile:"):
            q = float(text.split(":", 1)[1])
            if 0.0 < q <= 1.0:
                return "quantile", q
        else:
            value = float(text)
            if np.isfinite(value) and value > 0:
                return "value", value
    except ValueError:
        pass
    raise UserInputError(f"f_max rule must be 'cell', 'quantile:Q' with 0 < Q ≤ 1, or a positive force; got '{rule}'",
                         "fmax")


def resolve_fmax(rule: str, potential, window: float, grid: int, train_forces: np.ndarray) -> float:
    """f_max in eV/Å from a rule (see the module docstring).

    Parameters
    ----------
    rule : str
        ``"cell"``, ``"quantile:Q"`` or a number.
    potential : LennardJones or Coulomb
    window : float
        Window side W, Å.
    grid : int
        Cells per side n; the cell side is h = W / n.
    train_forces : numpy.ndarray, shape (n, 2)
        Training forces, eV/Å (used by the quantile rule only).
    """
    kind, value = parse_fmax_rule(rule)
    if kind == "cell":
        f_max = abs(float(potential.force(window / grid)))
    elif kind == "quantile":
        f_max = float(np.quantile(np.abs(np.asarray(train_forces, dtype=np.float64)), value))
    else:
        f_max = value
    if not np.isfinite(f_max) or f_max <= 0:
        raise UserInputError(f"rule '{rule}' gives f_max = {f_max:g} eV/Å; choose another", "fmax")
    return f_max


def _check(f_max: float, n_classes: int) -> None:
    if not np.isfinite(f_max) or f_max <= 0:
        raise UserInputError(f"f_max must be a positive force, got {f_max}", "fmax")
    if int(n_classes) != n_classes or n_classes < 2:
        raise UserInputError(f"the number of classes must be an integer ≥ 2, got {n_classes}", "n_classes")
