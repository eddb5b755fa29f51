"""Gradient-boosted trees stored as plain arrays, so that model files stay code-free.

scikit-learn fits the trees (Friedman, Ann. Stat. 29, 1189 (2001)); their split arrays are copied
into padded matrices of shape (n_trees, max_nodes):

- :class:`~sklearn.ensemble.GradientBoostingRegressor` / ``…Classifier`` and the random and
  extra-trees forests: the public ``tree_`` arrays (``children_left``, ``children_right``,
  ``feature``, ``threshold``, ``value``); like scikit-learn, inputs are rounded to float32 before
  they are compared with these thresholds;
- :class:`~sklearn.ensemble.HistGradientBoostingRegressor` / ``…Classifier``: the node records of
  its tree predictors (``feature_idx``, ``num_threshold``, ``left``, ``right``, ``is_leaf``,
  ``value``; leaf values already include the learning rate) and its baseline score. These are
  scikit-learn internals: :meth:`TreeArrays.from_hist_gradient_boosting` checks that they are
  there and the tests check that the copy reproduces scikit-learn's predictions exactly.

The raw score of a row x is

    F(x) = F₀ + ν Σ_t v_t(leaf_t(x)),

with F₀ the initial estimate (the training mean for squared error, the prior log-odds for a binary
classifier; 0 for a forest), ν the learning rate (1/n_trees for a forest, whose prediction is the
mean of its trees) and v_t the value of the leaf that x reaches in tree t (left
child when x[feature] ≤ threshold, as in scikit-learn). Prediction walks all trees at once,
level by level, with NumPy gathers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_LEAF = -1
_CHUNK = 4096  # rows per traversal block (bounds memory at n_trees × chunk)


@dataclass(frozen=True)
class TreeArrays:
    """A boosted tree ensemble as arrays.

    Attributes
    ----------
    left, right : numpy.ndarray of int32, shape (n_trees, max_nodes)
        Child node indices; −1 marks a leaf (and padding).
    feature : numpy.ndarray of int32, shape (n_trees, max_nodes)
        Input column tested at each node (0 at leaves).
    threshold : numpy.ndarray of float64, shape (n_trees, max_nodes)
    value : numpy.ndarray of float64, shape (n_trees, max_nodes)
        Leaf values (raw-score units).
    base : float
        F₀, the initial raw score.
    learning_rate : float
        ν, the shrinkage of every tree.
    depth : int
        Largest number of splits from a root to a leaf.
    float32_inputs : bool
        Round inputs to float32 before comparing, as scikit-learn's decision trees do.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    base: float
    learning_rate: float
    depth: int
    float32_inputs: bool = False

    @classmethod
    def from_sklearn(cls, model, column: int = 0) -> "TreeArrays":
        """Copy a fitted ``GradientBoostingRegressor`` or ``GradientBoostingClassifier``.

        A classifier with K > 2 classes has one tree per class and stage: *column* picks class K.
        """
        trees = [est.tree_ for est in np.asarray(model.estimators_)[:, column]]
        return cls._from_trees(trees, [t.value[:, 0, 0] for t in trees], _initial_score(model, column),
                               float(model.learning_rate))

    @classmethod
    def from_forest(cls, model, column: int = 0) -> "TreeArrays":
        """Copy a fitted random or extra-trees forest: the mean of its trees (of P(class *column*) for a classifier)."""
        trees = [est.tree_ for est in model.estimators_]
        if hasattr(model, "classes_"):
            values = [t.value[:, 0, column] / np.maximum(t.value[:, 0, :].sum(axis=1), 1e-300) for t in trees]
        else:
            values = [t.value[:, 0, 0] for t in trees]
        return cls._from_trees(trees, values, 0.0, 1.0 / len(trees))

    @classmethod
    def _from_trees(cls, trees: list, values: list, base: float, learning_rate: float) -> "TreeArrays":
        width = max(t.node_count for t in trees)
        shape = (len(trees), width)
        left, right = np.full(shape, _LEAF, np.int32), np.full(shape, _LEAF, np.int32)
        feature, threshold, value = np.zeros(shape, np.int32), np.zeros(shape), np.zeros(shape)
        for i, (t, v) in enumerate(zip(trees, values)):
            n = t.node_count
            left[i, :n], right[i, :n] = t.children_left, t.children_right
            feature[i, :n] = np.maximum(t.feature, 0)
            threshold[i, :n], value[i, :n] = t.threshold, v
        return cls(left, right, feature, threshold, value, base, learning_rate, int(max(t.max_depth for t in trees)),
                   float32_inputs=True)

    @classmethod
    def from_hist_gradient_boosting(cls, model, column: int = 0) -> "TreeArrays":
        """Copy a fitted ``HistGradientBoostingRegressor`` or ``…Classifier`` (numeric inputs, no NaN)."""
        try:
            nodes = [stage[column].nodes for stage in model._predictors]
            base = float(np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1)[column])
        except (AttributeError, IndexError, TypeError) as exc:
            raise RuntimeError("this scikit-learn version stores histogram gradient boosting differently; "
                               f"cannot copy its trees ({exc})") from None
        width = max(len(n) for n in nodes)
        shape = (len(nodes), width)
        left, right = np.full(shape, _LEAF, np.int32), np.full(shape, _LEAF, np.int32)
        feature, threshold, value = np.zeros(shape, np.int32), np.zeros(shape), np.zeros(shape)
        for i, n in enumerate(nodes):
            k = len(n)
            leaf = n["is_leaf"].astype(bool)
            left[i, :k] = np.where(leaf, _LEAF, n["left"])
            right[i, :k] = np.where(leaf, _LEAF, n["right"])
            feature[i, :k] = np.where(leaf, 0, n["feature_idx"])
            threshold[i, :k], value[i, :k] = n["num_threshold"], n["value"]
        depth = int(max(n["depth"].max() for n in nodes))
        return cls(left, right, feature, threshold, value, base, 1.0, depth)

    def raw(self, X: np.ndarray) -> np.ndarray:
        """F(x) for every row of X (n, d); shape (n,)."""
        X = np.asarray(X, dtype=np.float32 if self.float32_inputs else np.float64).astype(np.float64)
        out = np.empty(X.shape[0])
        for start in range(0, X.shape[0], _CHUNK):
            block = X[start : start + _CHUNK]
            out[start : start + len(block)] = self.base + self.learning_rate * self._leaf_values(block).sum(axis=0)
        return out

    def _leaf_values(self, X: np.ndarray) -> np.ndarray:
        """Value of the leaf each row reaches in each tree, shape (n_trees, n)."""
        n_trees, n = self.left.shape[0], X.shape[0]
        trees = np.arange(n_trees)[:, None]
        rows = np.arange(n)[None, :]
        node = np.zeros((n_trees, n), dtype=np.int64)
        for _ in range(self.depth):
            left = self.left[trees, node]
            inner = left != _LEAF
            go_left = X[rows, self.feature[trees, node]] <= self.threshold[trees, node]
            node = np.where(inner, np.where(go_left, left, self.right[trees, node]), node)
        return self.value[trees, node]

    def to_tensors(self, prefix: str) -> tuple[dict[str, np.ndarray], dict]:
        """Arrays for safetensors (keys start with *prefix*) and the scalars for JSON."""
        tensors = {f"{prefix}left": self.left, f"{prefix}right": self.right, f"{prefix}feature": self.feature,
                   f"{prefix}threshold": self.threshold, f"{prefix}value": self.value}
        return tensors, {"base": self.base, "learning_rate": self.learning_rate, "depth": self.depth,
                         "float32_inputs": self.float32_inputs}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], header: dict, prefix: str) -> "TreeArrays":
        """Inverse of :meth:`to_tensors`; checks that the arrays agree and the indices are in range."""
        get = lambda k: np.asarray(tensors[prefix + k])  # noqa: E731
        left, right, feature = get("left").astype(np.int32), get("right").astype(np.int32), get("feature").astype(np.int32)
        threshold, value = get("threshold").astype(np.float64), get("value").astype(np.float64)
        shapes = {a.shape for a in (left, right, feature, threshold, value)}
        if len(shapes) != 1 or left.ndim != 2:
            raise ValueError("tree arrays have different shapes")
        width = left.shape[1]
        if left.min(initial=0) < _LEAF or left.max(initial=0) >= width or right.max(initial=0) >= width:
            raise ValueError("tree child index out of range")
        return cls(left, right, feature, threshold, value, float(header["base"]), float(header["learning_rate"]),
                   int(header["depth"]), bool(header.get("float32_inputs", False)))

    def check_features(self, n_features: int) -> None:
        """Raise ``ValueError`` if a node tests a column ≥ *n_features*."""
        if self.feature.max(initial=0) >= n_features:
            raise ValueError(f"a tree tests input {int(self.feature.max())}, but there are {n_features} inputs")


def _initial_score(model, column: int) -> float:
    """F₀ of a fitted gradient-boosting model: the mean (regression), the prior log-odds (two classes)
    or the log prior of class *column* (more classes; softmax is blind to a shift common to all classes)."""
    init = model.init_
    if hasattr(init, "class_prior_"):
        prior = np.clip(np.asarray(init.class_prior_, dtype=np.float64), 1e-15, 1 - 1e-15)
        if len(prior) == 2:
            return float(np.log(prior[1] / (1.0 - prior[1])))
        return float(np.log(prior[column]))
    return float(np.ravel(init.constant_)[0])
