"""A potential's errors broken down by chemical element and by ``config_type``, and their bar charts.

Metric names (as in ``metrics.json``, beside those of :func:`~nnsurrogate.atomistic.evaluation.error_metrics`):

- ``force_rmse_meV_A_per_element``, ``force_mae_meV_A_per_element``: element → RMSE / MAE of the
  Cartesian force components on the atoms of that element (meV/Å), so that
  Σ_e n_e · RMSE_e² / Σ_e n_e = RMSE² of all atoms; ``n_atoms_per_element``: element → n_e;
- ``by_config_type``: config_type → :func:`~nnsurrogate.atomistic.evaluation.error_metrics` of its
  frames (only when the frames carry a ``config_type``).

Plots (:func:`write_breakdown`): ``force_error_by_element.png`` and ``error_by_config_type.png``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic.data import frame_labels, species_of, virial_from_stress
from nnsurrogate.atomistic.evaluation import Predictions, error_metrics

__all__ = ["ELEMENT_PLOT", "CONFIG_TYPE_PLOT", "as_predictions", "breakdown_metrics", "config_type_plot",
           "element_errors", "element_plot", "errors_by_config_type", "write_breakdown"]

ELEMENT_PLOT = "force_error_by_element.png"
CONFIG_TYPE_PLOT = "error_by_config_type.png"
#: The bar of "every frame" when no frame carries a config_type.
ALL_FRAMES = "all frames"


def as_predictions(pred, frames: Sequence[Atoms]) -> Predictions:
    """:class:`~nnsurrogate.atomistic.evaluation.Predictions` from a calculator's
    :class:`~nnsurrogate.atomistic.audit_checks.Predictions` on *frames* (a committee's).

    The virial W = −V σ (eV) comes from the predicted stress where every frame has one; else it is NaN.
    """
    virial = np.full((len(frames), 3, 3), np.nan)
    if len(pred.stress_pred) == len(frames):
        virial = np.array([virial_from_stress(s, a.cell.volume) for a, s in zip(frames, pred.stress_pred)])
    return Predictions(np.asarray(pred.energy_pred, float), [np.asarray(f, float) for f in pred.forces_pred],
                       virial.reshape(-1, 3, 3))


def element_errors(pred: Predictions, frames: Sequence[Atoms]) -> dict[str, dict]:
    """Per element (ordered by atomic number): ``n_atoms`` and the force-component ``force_rmse_meV_A``,
    ``force_mae_meV_A`` over its atoms (meV/Å)."""
    symbols = np.concatenate([a.get_chemical_symbols() for a in frames])
    diff = np.concatenate(pred.forces) - np.concatenate([frame_labels(a)[keys.FORCES] for a in frames])  # (A, 3) eV/Å
    out = {}
    for element in species_of(frames):
        d = diff[symbols == element]
        out[element] = {"n_atoms": int(len(d)), "force_rmse_meV_A": 1000.0 * float(np.sqrt(np.mean(d**2))),
                        "force_mae_meV_A": 1000.0 * float(np.mean(np.abs(d)))}
    return out


def errors_by_config_type(pred: Predictions, frames: Sequence[Atoms]) -> dict[str, dict]:
    """:func:`~nnsurrogate.atomistic.evaluation.error_metrics` per ``config_type`` (empty if no frame has one)."""
    types = [str(f.info.get(keys.CONFIG_TYPE, "")) for f in frames]
    if not any(types):
        return {}
    out = {}
    for name in sorted(set(types)):
        rows = [k for k, t in enumerate(types) if t == name]
        part = Predictions(pred.energy[rows], [pred.forces[k] for k in rows], pred.virial[rows])
        out[name or "(none)"] = error_metrics(part, [frames[k] for k in rows])
    return out


def breakdown_metrics(pred: Predictions, frames: Sequence[Atoms]) -> dict:
    """The per-element maps and (when the frames have config types) ``by_config_type`` (module docstring)."""
    per_element = element_errors(pred, frames)
    out = {f"{key}_per_element": {e: v[key] for e, v in per_element.items()}
           for key in ("force_rmse_meV_A", "force_mae_meV_A", "n_atoms")}
    by_type = errors_by_config_type(pred, frames)
    if by_type:
        out["by_config_type"] = by_type
    return out


def write_breakdown(directory: str | os.PathLike, pred: Predictions, frames: Sequence[Atoms], title: str = "") -> dict:
    """Write ``directory/{force_error_by_element,error_by_config_type}.png``; return :func:`breakdown_metrics`.

    Without any ``config_type`` in the frames the second plot has one bar, "all frames", and says so.
    """
    directory = Path(directory)
    metrics = breakdown_metrics(pred, frames)
    element_plot(directory / ELEMENT_PLOT, metrics, title)
    groups = metrics.get("by_config_type") or {ALL_FRAMES: error_metrics(pred, frames)}
    config_type_plot(directory / CONFIG_TYPE_PLOT, groups, title if "by_config_type" in metrics else
                     f"{title}{': ' if title else ''}the frames carry no config_type")
    return metrics


def _bars(ax, names: list[str], pairs: list[tuple[float, float]], horizontal: bool) -> None:
    """RMSE and MAE side by side for each name, values written at the bar ends."""
    at = np.arange(len(names), dtype=float)
    width = 0.38
    for j, (label, color) in enumerate((("RMSE", "C0"), ("MAE", "C1"))):
        values = [p[j] for p in pairs]
        bars = (ax.barh if horizontal else ax.bar)(at - width / 2 + j * width, values, width, label=label, color=color)
        ax.bar_label(bars, labels=[_number(v) for v in values], fontsize=7, padding=2)
    if horizontal:
        ax.set_yticks(at, names)
        ax.margins(x=0.2)
        ax.set_xlim(left=0)
    else:
        ax.set_xticks(at, names)
        ax.set_xlim(-0.75, len(names) - 0.25)
        ax.margins(y=0.15)
        ax.set_ylim(bottom=0)


def _legend(ax) -> None:
    """RMSE / MAE in one row just above *ax*, where no bar or value can lie under it."""
    ax.legend(fontsize=7, ncols=2, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, borderaxespad=0.1)


def element_plot(path: str | os.PathLike, metrics: dict, title: str = "") -> None:
    """Force RMSE and MAE (meV/Å) per element as bars, the number of atoms under each element.

    Parameters
    ----------
    metrics : dict
        Holds ``force_rmse_meV_A_per_element``, ``force_mae_meV_A_per_element`` and
        ``n_atoms_per_element`` (:func:`breakdown_metrics`).
    """
    from nnsurrogate.core.plots import new_figure, save_figure

    rmse, mae, count = (metrics[f"{k}_per_element"] for k in ("force_rmse_meV_A", "force_mae_meV_A", "n_atoms"))
    names = list(rmse)
    fig, ax = new_figure(figsize=(max(3.8, 1.0 + 0.9 * len(names)), 3.6))
    _bars(ax, [f"{e}\n{_count(count[e], 'atom')}" for e in names], [(rmse[e], mae[e]) for e in names], horizontal=False)
    ax.set_ylabel("force error (meV/Å)")
    _legend(ax)
    fig.suptitle(f"force-component error per element{f'{chr(10)}{title}' if title else ''}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def config_type_plot(path: str | os.PathLike, groups: dict[str, dict], title: str = "") -> None:
    """Energy (meV/atom) and force (meV/Å) RMSE and MAE per config_type, as horizontal bars side by side.

    Parameters
    ----------
    groups : dict
        config_type → :func:`~nnsurrogate.atomistic.evaluation.error_metrics` of its frames.
    """
    from nnsurrogate.core.plots import new_figure, save_figure

    names = list(groups)
    fig, (left, right) = new_figure(figsize=(8.4, 1.5 + 0.55 * len(names)), ncols=2, sharey=True)
    labels = [f"{n}\n{_count(groups[n]['n_frames'], 'frame')}" for n in names]
    for ax, what, unit in ((left, "energy", "meV/atom"), (right, "force", "meV/Å")):
        _bars(ax, labels, [(groups[n][f"{what}_rmse_{_key(unit)}"], groups[n][f"{what}_mae_{_key(unit)}"])
                           for n in names], horizontal=True)
        ax.set_xlabel(f"{what} error ({unit})")
    _legend(right)
    left.invert_yaxis()  # the first config_type on top
    fig.suptitle(f"error per config_type{f' — {title}' if title else ''}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def _number(value: float) -> str:
    """Three significant digits without an exponent from 0.001 up (1590, 71.6, 0.0123)."""
    if not np.isfinite(value):
        return "—"
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.2g}"


def _key(unit: str) -> str:
    return {"meV/atom": "meV_atom", "meV/Å": "meV_A"}[unit]


def _count(n: int, noun: str) -> str:
    """``1 frame``, ``3 frames``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")
