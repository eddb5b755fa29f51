"""`CrystalRegressor`: CGCNN or SA-GAT behind one fit / predict interface on crystal structures.

``fit(X, y)`` takes structures (pymatgen ``Structure``, ``ase.Atoms``, :class:`Crystal`) or a
:class:`~nnsurrogate.crystal.prepare.PreparedCrystals` and a target (n,); the target is standardised
on the training structures, a ``validation_fraction`` of them is held out for early stopping, and
the network of the chosen ``model`` is trained with :func:`~nnsurrogate.crystal.training.train_graph_model`.
For SA-GAT the quantile knots of every feature are fitted on the training atoms, and after training
the mean feature attention over the training atoms is kept as :attr:`feature_importances_`.

The estimator follows scikit-learn's conventions (parameters stored by ``__init__``, learned
attributes ending in ``_``, ``fit`` returns ``self``), and clones into ``cross_val_score`` and
``GridSearchCV``; its inputs are structures, not arrays, so of ``parametrize_with_checks`` only the
checks that do not feed float matrices apply (``tests/unit/crystal/test_sklearn_contract.py`` runs
those and the rest rewritten for structures).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.progress import epoch_bar
from nnsurrogate.core.threads import torch_threads
from nnsurrogate.core.training import TrainConfig
from nnsurrogate.crystal.batch import GraphStore
from nnsurrogate.crystal.cgcnn import CGCNN
from nnsurrogate.crystal.encoding import QuantileBinning
from nnsurrogate.crystal.features import feature_groups, feature_names
from nnsurrogate.crystal.graph import GraphSettings
from nnsurrogate.crystal.prepare import PreparedCrystals, prepare_crystals
from nnsurrogate.crystal.sagat import SAGAT
from nnsurrogate.crystal.training import LOSSES, SCHEDULES, predict_store, readout_store, train_graph_model

MODELS = ("cgcnn", "sagat")


class CrystalRegressor(RegressorMixin, BaseEstimator):
    """A graph network from crystal structures to a scalar property.

    Parameters
    ----------
    model : {"cgcnn", "sagat"}
        CGCNN (Xie & Grossman 2018) or SA-GAT (feature attention + graph attention).
    cutoff : float
        Neighbour cutoff, Å.
    max_neighbors : int
        Neighbours kept per atom (the nearest, plus ties).
    n_bins : int
        SA-GAT: quantile knots per feature.
    dim : int
        Atom vector width.
    n_layers : int
        Graph convolutions (CGCNN) or graph-attention layers (SA-GAT).
    hidden : int
        Hidden width of the readout MLP (and of SA-GAT's feature network).
    dropout : float
        SA-GAT: dropout on the gated feature embeddings during training.
    edge_updates : bool
        SA-GAT: refine the edge states in every graph-attention layer (MEGNet/ALIGNN-style).
    max_epochs, batch_size, learning_rate, weight_decay, patience, lr_patience :
        Optimisation: AdamW; the learning rate warms up and decays on a cosine over ``max_epochs``
        (``schedule="cosine"``) or halves after ``lr_patience`` epochs without a better validation MAE
        (``"plateau"``); training stops after ``patience`` epochs without one; the best epoch is kept.
    loss : {"mse", "l1", "huber"}
        Training loss on the standardised target.
    schedule : {"cosine", "plateau"}
        Learning-rate schedule (see :func:`~nnsurrogate.crystal.training.train_graph_model`).
    validation_fraction : float
        Training structures held out for early stopping (0 ≤ f < 1; 0 uses the training error).
    time_limit : float or None
        Training wall time of one ``fit``, s: training ends after the mini-batch during which it runs
        out, keeping the best epoch so far (the cosine schedule stays planned over ``max_epochs``);
        ``None``: no limit.
    n_threads : int or None
        PyTorch threads during fit and predict (restored afterwards).
    random_state : int or None
    verbose : int
        1 shows a progress bar.

    Attributes
    ----------
    network_ : torch.nn.Module
    n_node_inputs_ : int
        Per-atom input width of the network.
    binning_ : QuantileBinning or None
    target_mean_, target_scale_ : float
    n_epochs_, best_epoch_ : int
    stopped_by_ : str
        What ended the training: ``"epochs"``, ``"time limit"`` or ``"early stopping"`` (not saved).
    history_ : list of (epoch, train loss, validation MAE in standardised units)
    feature_importances_ : numpy.ndarray, shape (178,), or None
        SA-GAT: mean attention weight of each feature over the training atoms (sums to one).
    fit_seconds_ : float
    """

    def __init__(self, model="sagat", cutoff=8.0, max_neighbors=12, n_bins=8, dim=64, n_layers=3, hidden=128,
                 dropout=0.1, max_epochs=100, batch_size=64, learning_rate=2e-3, weight_decay=0.0, patience=100,
                 lr_patience=10, loss="l1", schedule="cosine", validation_fraction=0.1, n_threads=1,
                 random_state=None, verbose=0, time_limit=None, edge_updates=True):
        self.model = model
        self.cutoff = cutoff
        self.max_neighbors = max_neighbors
        self.n_bins = n_bins
        self.dim = dim
        self.n_layers = n_layers
        self.hidden = hidden
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.lr_patience = lr_patience
        self.loss = loss
        self.schedule = schedule
        self.validation_fraction = validation_fraction
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.time_limit = time_limit
        self.edge_updates = edge_updates

    # ------------------------------------------------------------------ set-up
    def graph_settings(self) -> GraphSettings:
        return GraphSettings(cutoff=float(self.cutoff), max_neighbors=int(self.max_neighbors))

    def _check_params(self) -> None:
        if self.model not in MODELS:
            raise UserInputError(f"unknown model '{self.model}'; choose one of {', '.join(MODELS)}", "model")
        if self.loss not in LOSSES:
            raise UserInputError(f"unknown loss '{self.loss}'; choose one of {', '.join(LOSSES)}", "loss")
        if self.schedule not in SCHEDULES:
            raise UserInputError(f"unknown schedule '{self.schedule}'; choose one of {', '.join(SCHEDULES)}", "schedule")
        if not 0.0 <= float(self.validation_fraction) < 1.0:
            raise UserInputError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}", "validation_fraction")
        if int(self.max_epochs) < 1:
            raise UserInputError(f"max_epochs must be positive, got {self.max_epochs}", "max_epochs")
        if int(self.batch_size) < 1:
            raise UserInputError(f"batch_size must be positive, got {self.batch_size}", "batch_size")
        if not (math.isfinite(float(self.learning_rate)) and float(self.learning_rate) > 0):
            raise UserInputError(f"learning_rate must be a positive number, got {self.learning_rate}", "learning_rate")
        if self.time_limit is not None and not float(self.time_limit) > 0:
            raise UserInputError(f"time_limit must be positive seconds, got {self.time_limit}", "time_limit")
        if not float(self.cutoff) > 0.5 or int(self.max_neighbors) < 1:
            raise UserInputError(f"need a cutoff above 0.5 Å and at least one neighbour, got {self.cutoff} and "
                                 f"{self.max_neighbors}", "cutoff")

    def _validated(self) -> "CrystalRegressor":
        """Check the parameters now (before any data is read); returns self."""
        self._check_params()
        return self

    def _prepared(self, X: Any) -> PreparedCrystals:
        if isinstance(X, PreparedCrystals):
            if X.settings != self.graph_settings():
                raise ValueError(f"structures were prepared with {X.settings}, the model uses {self.graph_settings()}")
            return X
        return prepare_crystals(list(X), self.graph_settings())

    def build_network(self, n_inputs: int) -> torch.nn.Module:
        """A freshly initialised network of the configured kind, for *n_inputs* per-atom inputs."""
        if self.model == "cgcnn":
            return CGCNN(n_inputs, dim=int(self.dim), n_conv=int(self.n_layers), hidden=int(self.hidden),
                         cutoff=float(self.cutoff))
        return SAGAT(n_inputs, int(self.n_bins), dim=int(self.dim), n_layers=int(self.n_layers),
                     hidden=int(self.hidden), cutoff=float(self.cutoff), dropout=float(self.dropout),
                     edge_updates=bool(self.edge_updates))

    def store(self, data: PreparedCrystals) -> GraphStore:
        """The graphs of *data* with this model's per-atom inputs (binned features or element inputs)."""
        if self.model == "cgcnn":
            return GraphStore(data.graphs, data.elements)
        return GraphStore(data.graphs, [self.binning_.transform(f) for f in data.features])

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X: Any, y: Sequence[float], checkpoint: str | None = None) -> "CrystalRegressor":
        """Train on structures *X* (n) and targets *y* (n,); *checkpoint* makes the run resumable.

        With ``time_limit`` the graph building of *X* counts against it (inside a
        :func:`~nnsurrogate.core.engine.budget.time_limit_scope`, the scope's clock applies instead).
        """
        setup_started = time.perf_counter()
        self._check_params()
        data = self._prepared(X)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if len(data) != y.size:
            raise UserInputError(f"{len(data)} structures but {y.size} target values", "fit")
        if y.size < 2 or not np.all(np.isfinite(y)):
            raise UserInputError("need at least 2 structures with finite targets", "fit")
        start = time.perf_counter()
        seed = 0 if self.random_state is None else int(self.random_state)
        train_ids, val_ids = self._split(y.size, seed)
        self.binning_ = None
        if self.model == "sagat":
            self.binning_ = QuantileBinning.fit(np.vstack([data.features[i] for i in train_ids]), int(self.n_bins))
        self.target_mean_ = float(y[train_ids].mean())
        self.target_scale_ = float(y[train_ids].std()) or 1.0
        with torch_threads(self.n_threads):
            torch.manual_seed(seed)
            store = self.store(data)
            self.n_node_inputs_ = int(store.nodes.shape[1])
            self.network_ = self.build_network(self.n_node_inputs_)
            config = TrainConfig(max_epochs=int(self.max_epochs), batch_size=int(self.batch_size),
                                 learning_rate=float(self.learning_rate), weight_decay=float(self.weight_decay),
                                 patience=int(self.patience), lr_patience=int(self.lr_patience), checkpoint=checkpoint)
            target = torch.as_tensor((y - self.target_mean_) / self.target_scale_, dtype=torch.float32)
            with epoch_bar(f"training {self.model}", enabled=bool(self.verbose)) as progress:
                result = train_graph_model(self.network_, store, target, train_ids, val_ids, config,
                                           torch.Generator().manual_seed(seed), self.loss, progress,
                                           self.schedule, self._time_limit(), setup_started)
            self.feature_importances_ = self._importances(store, train_ids)
        self.n_epochs_, self.best_epoch_, self.history_ = result.epochs_run, result.best_epoch, result.history
        self.stopped_by_ = result.stopped_by
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _time_limit(self) -> float | None:
        return None if self.time_limit is None else float(self.time_limit)

    def _split(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(n)
        n_val = int(round(float(self.validation_fraction) * n))
        if n_val < 1 or n - n_val < 1:
            return rows, np.zeros(0, dtype=np.int64)
        train, val = train_test_split(rows, test_size=n_val, random_state=seed)
        return np.sort(train), np.sort(val)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape (n,), in the units of the training target."""
        check_is_fitted(self, "network_")
        data = self._prepared(X)
        with torch_threads(self.n_threads):
            out = predict_store(self.network_, self.store(data))
        return out * self.target_scale_ + self.target_mean_

    def embed(self, X: Any) -> np.ndarray:
        """Learned material vectors, shape (n, dim): the mean atom vector that the network's head reads.

        Structures with similar vectors are similar to the network. A supercell of a crystal has nearly
        its vector: three of SA-GAT's atom features describe the cell as given (log of its atom count,
        lattice-length ratios, angle deviation), so the two differ where the network weighs those.
        """
        check_is_fitted(self, "network_")
        data = self._prepared(X)
        with torch_threads(self.n_threads):
            return readout_store(self.network_, self.store(data))

    @torch.no_grad()
    def _importances(self, store: GraphStore, ids: np.ndarray) -> np.ndarray | None:
        if self.model != "sagat":
            return None
        self.network_.eval()
        total, count = torch.zeros(store.nodes.shape[1], dtype=torch.float64), 0
        for start in range(0, len(ids), 256):
            alpha = self.network_.feature_attention(store.batch(ids[start : start + 256]))
            total += alpha.double().sum(dim=0)
            count += alpha.shape[0]
        weights = (total / max(count, 1)).numpy()
        return weights / weights.sum()

    def feature_importance(self, X: Any = None) -> pd.DataFrame:
        """SA-GAT feature importances as a table (rank, feature, group, importance), largest first.

        With *X*, the mean attention over the atoms of those structures; without, over the training atoms.
        """
        check_is_fitted(self, "network_")
        if self.model != "sagat":
            raise ValueError("feature importances come from SA-GAT's feature attention; this is a CGCNN model")
        weights = self.feature_importances_
        if X is not None:
            data = self._prepared(X)
            with torch_threads(self.n_threads):
                weights = self._importances(self.store(data), np.arange(len(data)))
        table = pd.DataFrame({"feature": feature_names(), "group": feature_groups(), "importance": weights})
        table = table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
        table.insert(0, "rank", np.arange(1, len(table) + 1))
        return table
