"""File-to-file workflows behind ``nnsurrogate crystal train | predict | evaluate``.

``train`` reads the structures and the target, prepares graphs (stopping at, or with ``skip_bad``
listing, bad entries), trains on a hold-out split (``random``, or a separate ``test_data`` file) or by
K-fold cross-validation (out-of-fold metrics, final model on all rows), and writes

- ``OUT/model/``: weights and header (:mod:`nnsurrogate.crystal.model_file`);
- ``OUT/metrics.json``: ``mae``, ``rmse``, ``r2`` … on the held-out structures, sizes, skipped entries,
  ``epochs_run`` and ``stopped_by`` (what ended the training: epochs, time limit or early stopping);
- ``OUT/plots/parity.png`` and ``OUT/predictions.csv`` (id, split, target, prediction);
- for SA-GAT, ``OUT/feature_importance.csv`` (rank, feature, group, importance; sums to one) and
  ``OUT/structure_features.parquet`` (per-structure means of the 178 features with split, target and
  the network's prediction) for ``crystal distill``.

Everything is validated before outputs are written, and each output is written atomically. A time
limit counts from the moment the structures are read (graph building included).
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnsurrogate.core.engine.budget import overall_stop, time_limit_scope, time_share
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import checkpoint_dir, refuse_overwriting, write_json
from nnsurrogate.core.metrics import regression_report
from nnsurrogate.core.plots import parity_plot
from nnsurrogate.core.splits import holdout, kfold, parse_split
from nnsurrogate.core.tables import write_table
from nnsurrogate.core.units import unit_from_name
from nnsurrogate.crystal.io import read_crystals, table_columns
from nnsurrogate.crystal.model_file import load_crystal_model, save_crystal_model
from nnsurrogate.crystal.prepare import PreparedCrystals, prepare_crystals
from nnsurrogate.crystal.regressor import CrystalRegressor

STRUCTURE_TABLE = "structure_features.parquet"
IMPORTANCE_FILE = "feature_importance.csv"


@dataclass(frozen=True)
class CrystalTrainOptions:
    """Settings of ``crystal train`` (see the CLI help for each)."""

    target: str
    model: str = "sagat"
    epochs: int | None = None
    seed: int = 0
    split: str = "random"
    test_size: float = 0.2
    test_data: str | None = None
    skip_bad: bool = False
    resume: bool = False
    cutoff: float = 8.0
    max_neighbors: int = 12
    batch_size: int = 64
    learning_rate: float = 2e-3
    loss: str = "l1"
    time_limit: float | None = None
    verbose: int = 0


@dataclass(frozen=True)
class Labelled:
    """Prepared structures with their target values (n,)."""

    data: PreparedCrystals
    y: np.ndarray


def load_labelled(path: str, target: str | None, options_cutoff: float, max_neighbors: int,
                  skip_bad: bool) -> Labelled:
    """Read *path*, keep the entries whose graphs can be built, and their targets."""
    from nnsurrogate.crystal.graph import GraphSettings

    dataset = read_crystals(path, target, skip_bad=skip_bad)
    prepared = prepare_crystals(dataset.crystals, GraphSettings(cutoff=options_cutoff, max_neighbors=max_neighbors),
                                skip_bad=skip_bad, source=str(path))
    skipped = list(dataset.skipped) + list(prepared.skipped)
    prepared = PreparedCrystals(prepared.ids, prepared.graphs, prepared.features, prepared.elements,
                                prepared.settings, prepared.kept, skipped)
    y = dataset.targets[prepared.kept] if dataset.targets is not None else np.full(len(prepared), np.nan)
    return Labelled(prepared, y)


def make_regressor(options: CrystalTrainOptions) -> CrystalRegressor:
    """The estimator ``crystal train`` fits, from its validated options."""
    params = dict(model=options.model, cutoff=options.cutoff, max_neighbors=options.max_neighbors,
                  batch_size=options.batch_size, learning_rate=options.learning_rate, loss=options.loss,
                  random_state=options.seed, verbose=options.verbose, time_limit=options.time_limit)
    if options.epochs is not None:
        params["max_epochs"] = options.epochs
    return CrystalRegressor(**params)._validated()


def train_crystal(data: str, out: str, options: CrystalTrainOptions) -> dict:
    """Train on *data*, evaluate on held-out structures and write the outputs listed in the module docstring.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    regressor = make_regressor(options)
    if not (math.isfinite(options.test_size) and 0.0 < options.test_size < 1.0):
        raise UserInputError(f"test_size must be between 0 and 1, got {options.test_size}", "test_size")
    spec = parse_split(options.split)
    if spec.kind not in ("random", "kfold"):
        raise UserInputError(f"crystal training supports the split random or kfold:K, not '{options.split}'", "split")
    with time_limit_scope(options.time_limit):  # reading the structures and building graphs count
        train = load_labelled(data, options.target, options.cutoff, options.max_neighbors, options.skip_bad)
        test = None
        if options.test_data:
            test = load_labelled(options.test_data, options.target, options.cutoff, options.max_neighbors,
                                 options.skip_bad)
        out_dir = Path(out)
        ckpt = checkpoint_dir(out_dir, options.resume)
        start = time.perf_counter()
        stops: list[str] = []
        if test is not None:
            model, table = _fit_with_test(regressor, train, test, ckpt)
        elif spec.kind == "kfold":
            model, table, stops = _fit_kfold(regressor, train, spec.folds, options.seed, ckpt)
        else:
            model, table = _fit_holdout(regressor, train, options.test_size, options.seed, ckpt)
    held = table[table["split"] == "test"]
    metrics = regression_report(held["target"], held["prediction"])
    skipped = train.data.skipped + (test.data.skipped if test is not None else [])
    metrics.update(target=options.target, unit=unit_from_name(options.target), model=options.model,
                   n_train=int((table["split"] == "train").sum()), n_test=int(len(held)),
                   split="test file" if test is not None else options.split, seed=options.seed,
                   epochs_run=int(model.n_epochs_), best_epoch=int(model.best_epoch_),
                   stopped_by=overall_stop([*stops, model.stopped_by_]), time_limit=options.time_limit,
                   fit_seconds=round(time.perf_counter() - start, 3),
                   skipped=[{"id": i, "reason": r} for i, r in skipped])
    _write_training_outputs(out_dir, model, options.target, metrics, table, train, test)
    shutil.rmtree(ckpt, ignore_errors=True)
    return metrics


def _table(ids, split, y, pred) -> pd.DataFrame:
    return pd.DataFrame({"id": list(ids), "split": split, "target": np.asarray(y, float), "prediction": np.asarray(pred, float)})


def _fit_holdout(regressor: CrystalRegressor, train: Labelled, test_size: float, seed: int, ckpt: Path):
    tr, te = holdout(parse_split("random"), len(train.y), test_size, seed)
    model = regressor.fit(train.data.subset(tr), train.y[tr], checkpoint=str(ckpt / "holdout.pt"))
    pred = model.predict(train.data)
    split = np.where(np.isin(np.arange(len(train.y)), te), "test", "train")
    return model, _table(train.data.ids, split, train.y, pred)


def _fit_with_test(regressor: CrystalRegressor, train: Labelled, test: Labelled, ckpt: Path):
    model = regressor.fit(train.data, train.y, checkpoint=str(ckpt / "train.pt"))
    table = pd.concat([_table(train.data.ids, "train", train.y, model.predict(train.data)),
                       _table(test.data.ids, "test", test.y, model.predict(test.data))], ignore_index=True)
    return model, table


def _fit_kfold(regressor: CrystalRegressor, train: Labelled, folds: int, seed: int, ckpt: Path):
    from sklearn.base import clone

    pred = np.empty(len(train.y))
    stops = []
    for k, (tr, te) in enumerate(kfold(len(train.y), folds, seed)):
        with time_share(folds + 1 - k):  # under a time limit: an equal part of the time left
            fold = clone(regressor).fit(train.data.subset(tr), train.y[tr], checkpoint=str(ckpt / f"fold{k}.pt"))
        pred[te] = fold.predict(train.data.subset(te))
        stops.append(fold.stopped_by_)
    model = clone(regressor).fit(train.data, train.y, checkpoint=str(ckpt / "all.pt"))
    return model, _table(train.data.ids, "test", train.y, pred), stops


def _write_training_outputs(out_dir: Path, model: CrystalRegressor, target: str, metrics: dict,
                            table: pd.DataFrame, train: Labelled, test: Labelled | None) -> None:
    save_crystal_model(out_dir / "model", model, target)
    write_table(table, out_dir / "predictions.csv")
    if model.model == "sagat":
        write_table(model.feature_importance(), out_dir / IMPORTANCE_FILE)
        parts = [train.data.structure_table()] + ([test.data.structure_table()] if test is not None else [])
        features = pd.concat(parts).reset_index()
        features.insert(1, "split", table["split"].to_numpy())
        features.insert(2, "target", table["target"].to_numpy())
        features.insert(3, "prediction", table["prediction"].to_numpy())
        write_table(features, out_dir / STRUCTURE_TABLE)
    held = table[table["split"] == "test"]
    unit = unit_from_name(target)
    parity_plot(out_dir / "plots" / "parity.png", held["target"], held["prediction"], None,
                f"{target} [{unit}]" if unit else target, title=f"{model.model}: MAE {metrics['mae']:.4g}, R² {metrics['r2']:.4f}")
    write_json(out_dir / "metrics.json", metrics)


def _model_folder(model_dir: str) -> Path:
    path = Path(model_dir)
    return path / "model" if (path / "model").is_dir() else path


def predict_crystal(model_dir: str, data: str, out: str, skip_bad: bool = False) -> pd.DataFrame:
    """Predict every structure in *data*; write ``id, <target>_pred`` to *out* (CSV or Parquet).

    For a table of structures, every other column of it (labels, notes; not the ``cif`` text) comes along
    after ``id``, on the rows of the structures that were predicted.
    """
    model, header = load_crystal_model(_model_folder(model_dir))
    target = header["target"]["name"]
    if not str(out).lower().endswith((".csv", ".parquet", ".pq")):
        raise UserInputError("the output must be a .csv or .parquet file", str(out))
    refuse_overwriting(out, data)
    items = load_labelled(data, None, model.cutoff, model.max_neighbors, skip_bad)
    result = pd.DataFrame({"id": items.data.ids, f"{target}_pred": model.predict(items.data)})
    result = _with_input_columns(result, table_columns(data), {i for i, _ in items.data.skipped})
    write_table(result, out)
    result.attrs["skipped"] = items.data.skipped
    return result


def _with_input_columns(result: pd.DataFrame, table, skipped: set[str]) -> pd.DataFrame:
    """*result* with the input table's own columns between ``id`` and the predictions."""
    if table is None:
        return result
    ids, frame = table
    rows = [k for k, entry in enumerate(ids) if entry not in skipped]
    if len(rows) != len(result):  # an id skipped and repeated: the rows cannot be matched by position
        return result
    extra = frame.iloc[rows].drop(columns=[c for c in frame.columns if c in result.columns]).reset_index(drop=True)
    return pd.concat([result[["id"]], extra, result.drop(columns=["id"])], axis=1)


def evaluate_crystal(model_dir: str, data: str, out: str, skip_bad: bool = False) -> dict:
    """Score the model in *model_dir* on the labelled structures *data*; write metrics, parity plot, predictions."""
    model, header = load_crystal_model(_model_folder(model_dir))
    target = header["target"]["name"]
    items = load_labelled(data, target, model.cutoff, model.max_neighbors, skip_bad)
    pred = model.predict(items.data)
    metrics = regression_report(items.y, pred)
    metrics.update(target=target, unit=header["target"].get("unit"), model=model.model, n_test=int(len(pred)),
                   skipped=[{"id": i, "reason": r} for i, r in items.data.skipped],
                   model_dir=str(Path(model_dir).resolve()))
    out_dir = Path(out)
    unit = header["target"].get("unit")
    write_table(_table(items.data.ids, "test", items.y, pred), out_dir / "predictions.csv")
    parity_plot(out_dir / "plots" / "parity.png", items.y, pred, None, f"{target} [{unit}]" if unit else target,
                title=f"MAE {metrics['mae']:.4g}, R² {metrics['r2']:.4f}")
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def embed_crystal(model_dir: str, data: str, out: str, neighbors: int = 5, map_method: str = "auto",
                  skip_bad: bool = False) -> dict:
    """The model's material vectors for *data*, their nearest neighbours and a 2D map, written to *out*/.

    Files as :func:`nnsurrogate.core.embedding.write_embedding` (the map coloured by the model's target
    when *data* holds it) and ``embedding.json`` (sizes, method, skipped entries).
    """
    from nnsurrogate.core.embedding import check_embed_options, write_embedding

    check_embed_options(neighbors, map_method)
    model, header = load_crystal_model(_model_folder(model_dir))
    target = header["target"]["name"]
    try:
        items = load_labelled(data, target, model.cutoff, model.max_neighbors, skip_bad)
    except UserInputError:  # structures without the target: the map is not coloured
        items = load_labelled(data, None, model.cutoff, model.max_neighbors, skip_bad)
    if len(items.y) < 2:
        raise UserInputError("need at least 2 structures to embed and compare", data)
    report = write_embedding(out, [str(i) for i in items.data.ids], model.embed(items.data), items.y, target,
                             neighbors, map_method, f"{model.model} material vectors")
    report.update(n_structures=report["n"], model=model.model, target=target,
                  skipped=[{"id": i, "reason": r} for i, r in items.data.skipped])
    write_json(Path(out) / "embedding.json", report)
    return report

