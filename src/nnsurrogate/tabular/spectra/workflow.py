"""File-to-file workflows behind ``nnsurrogate spectra train | predict``.

A spectra file is a **long table** (CSV or Parquet), one row per point: ``id``, ``x`` (e.g. 2θ in
degrees, energy in eV, Raman shift in cm⁻¹), ``intensity``, and any number of target columns whose
value repeats on every row of a spectrum (``nnsurrogate spectra xrd`` writes such a file from crystal
structures). Training puts every spectrum on one grid (:mod:`~nnsurrogate.tabular.spectra.preprocess`),
holds out a random test fraction, trains a :class:`SpectrumRegressor` and writes ``OUT/model/``,
``OUT/metrics.json``, ``OUT/predictions.csv`` and ``OUT/plots/parity.png``. A time limit counts from
the moment the table is read (putting the spectra on the grid included); ``metrics.json`` says what
ended the training (``stopped_by``) besides the epochs it reached (``epochs_run``).
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnsurrogate.core.engine.budget import check_time_limit, time_limit_scope
from nnsurrogate.core.errors import ModelFileError, UserInputError
from nnsurrogate.core.files import checkpoint_dir, refuse_overwriting, write_json
from nnsurrogate.core.metrics import regression_report
from nnsurrogate.core.modelio import load_model, save_model
from nnsurrogate.core.plots import parity_plot
from nnsurrogate.core.splits import holdout, parse_split
from nnsurrogate.core.tables import numeric_column, read_table, require_columns, write_table
from nnsurrogate.tabular.spectra.preprocess import NORMALIZATIONS, SpectrumGrid, spectra_on_grid
from nnsurrogate.tabular.spectra.regressor import SpectrumRegressor

KIND = "tabular.SpectrumRegressor"
KINDS = ("auto", "peaks", "profile")


@dataclass(frozen=True)
class Spectra:
    """Spectra of a long table: ids (n), {id: (x, intensity)} and the target of each (n,) or None."""

    ids: list[str]
    curves: dict
    y: np.ndarray | None


@dataclass(frozen=True)
class SpectraTrainOptions:
    """Settings of ``spectra train`` (see the CLI help of each)."""

    target: str
    grid: str = "10:90:0.1"
    fwhm: float = 0.3
    kind: str = "auto"
    normalize: str = "max"
    members: int = 5
    epochs: int = 300
    test_size: float = 0.2
    seed: int = 0
    resume: bool = False
    verbose: int = 0
    time_limit: float | None = None

    def validate(self) -> SpectrumGrid:
        """The grid; every other setting checked (a :class:`UserInputError` naming it)."""
        try:
            grid = SpectrumGrid.parse(self.grid)
        except ValueError as exc:
            raise UserInputError(str(exc), "grid") from None
        if self.kind not in KINDS:
            raise UserInputError(f"unknown spectrum kind '{self.kind}'; use {', '.join(KINDS)}", "kind")
        if self.normalize not in NORMALIZATIONS:
            raise UserInputError(f"unknown normalisation '{self.normalize}'; use {', '.join(NORMALIZATIONS)}",
                                 "normalize")
        if not (math.isfinite(self.fwhm) and self.fwhm > 0):
            raise UserInputError(f"peak width must be positive, got {self.fwhm}", "fwhm")
        for name, value in (("members", self.members), ("epochs", self.epochs)):
            if int(value) < 1:
                raise UserInputError(f"{name} must be at least 1, got {value}", name)
        if not (math.isfinite(self.test_size) and 0.0 < self.test_size < 1.0):
            raise UserInputError(f"test_size must be between 0 and 1, got {self.test_size}", "test_size")
        check_time_limit(self.time_limit)
        return grid


def read_spectra(path: str, target: str | None = None) -> Spectra:
    """The spectra of the long table *path* (columns ``id``, ``x``, ``intensity`` and *target*)."""
    frame = read_table(path)
    require_columns(frame, ["id", "x", "intensity"] + ([target] if target else []), path)
    x = numeric_column(frame, "x", path)
    intensity = numeric_column(frame, "intensity", path)
    ids = frame["id"].astype(str).to_numpy()
    order = pd.unique(ids)
    index = pd.Series(np.arange(len(ids))).groupby(ids, sort=False).indices
    curves = {i: (x[index[i]], intensity[index[i]]) for i in order}
    y = None
    if target:
        values = numeric_column(frame, target, path)
        first = {i: values[index[i][0]] for i in order}
        for i in order:
            if not np.allclose(values[index[i]], first[i]):
                raise UserInputError(f"target '{target}' changes within spectrum '{i}'", path)
        y = np.array([first[i] for i in order], dtype=np.float64)
    if len(order) < 2:
        raise UserInputError(f"need at least 2 spectra, found {len(order)}", path)
    return Spectra(list(order), curves, y)


def train_spectra(data: str, out: str, options: SpectraTrainOptions) -> dict:
    """Train on the spectra in *data*; write model, metrics, predictions and a parity plot to *out*/."""
    grid = options.validate()
    with time_limit_scope(options.time_limit):  # the clock starts before the table is read
        spectra = read_spectra(data, options.target)
        X = spectra_on_grid(spectra.curves, grid, options.kind, options.fwhm)
        train, test = holdout(parse_split("random"), len(spectra.ids), options.test_size, options.seed)
        out_dir = Path(out)
        ckpt = checkpoint_dir(out_dir, options.resume)
        start = time.perf_counter()
        model = SpectrumRegressor(ensemble=int(options.members), max_epochs=int(options.epochs),
                                  normalize=options.normalize, random_state=options.seed, verbose=options.verbose)
        model.fit(X[train], spectra.y[train], checkpoint=str(ckpt / "holdout.pt"))
    pred, std = model.predict(X, return_std=True)
    metrics = regression_report(spectra.y[test], pred[test], std[test])
    metrics.update(target=options.target, n_train=int(len(train)), n_test=int(len(test)), grid=options.grid,
                   fwhm=options.fwhm, kind=options.kind, epochs_run=model.n_epochs_, stopped_by=model.stopped_by_,
                   time_limit=options.time_limit,
                   fit_seconds=round(time.perf_counter() - start, 3))
    save_spectrum_model(out_dir / "model", model, options.target, options.grid, options.fwhm, options.kind)
    split = np.where(np.isin(np.arange(len(pred)), test), "test", "train")
    write_table(pd.DataFrame({"id": spectra.ids, "split": split, "target": spectra.y, "prediction": pred,
                              "std": std}), out_dir / "predictions.csv")
    parity_plot(out_dir / "plots" / "parity.png", spectra.y[test], pred[test], std[test], options.target,
                title=f"held-out spectra: MAE {metrics['mae']:.4g}, R² {metrics['r2']:.4f}")
    write_json(out_dir / "metrics.json", metrics)
    shutil.rmtree(ckpt, ignore_errors=True)
    return metrics


def save_spectrum_model(directory: Path, model: SpectrumRegressor, target: str, grid: str, fwhm: float,
                        kind: str) -> None:
    """The estimator plus how spectra are put on its grid, as one model folder."""
    tensors, header = model.to_state()
    header["spectra"] = {"target": target, "grid": grid, "fwhm": float(fwhm), "kind": kind}
    save_model(directory, KIND, tensors, header)


def load_spectrum_model(directory: str) -> tuple[SpectrumRegressor, dict]:
    """The estimator and its ``spectra`` settings; a foreign or tampered folder is a ``ModelFileError``."""
    path = Path(directory)
    path = path / "model" if (path / "model").is_dir() else path
    tensors, header = load_model(path, KIND)
    try:
        settings = header["spectra"]
        SpectrumGrid.parse(settings["grid"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model.json lacks the spectrum settings: {exc}", str(path)) from None
    return SpectrumRegressor.from_state(tensors, header), settings


def predict_spectra(model_dir: str, data: str, out: str) -> pd.DataFrame:
    """Predict every spectrum of *data*: ``id``, ``<target>_pred``, ``<target>_std``, ``in_domain`` in *out*."""
    refuse_overwriting(out, data)
    model, settings = load_spectrum_model(model_dir)
    spectra = read_spectra(data)
    X = spectra_on_grid(spectra.curves, SpectrumGrid.parse(settings["grid"]), settings["kind"], settings["fwhm"])
    pred = model.predict_full(X)
    target = settings["target"]
    result = pd.DataFrame({"id": spectra.ids, f"{target}_pred": pred.mean, f"{target}_std": pred.std,
                           "in_domain": pred.in_domain})
    write_table(result, out)
    return result
