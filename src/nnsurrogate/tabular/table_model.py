"""A trained table model: the regressor plus the names and units of its columns, saved as one folder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nnsurrogate.core.errors import ModelFileError, UserInputError
from nnsurrogate.core.modelio import load_model, save_model
from nnsurrogate.core.tables import numeric_matrix
from nnsurrogate.core.units import unit_from_name
from nnsurrogate.tabular.regressor import SurrogateRegressor

KIND = "tabular.SurrogateRegressor"


@dataclass
class TableModel:
    """A fitted :class:`SurrogateRegressor` with the table columns it reads and writes.

    Attributes
    ----------
    regressor : SurrogateRegressor
    inputs : list of str
        Input column names, in the order the regressor expects.
    target : str
        Target column name.
    units : dict of str to str or None
        Unit of each input and of the target, read from the column names.
    """

    regressor: SurrogateRegressor
    inputs: list[str]
    target: str
    units: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def create(cls, regressor: SurrogateRegressor, inputs: list[str], target: str) -> "TableModel":
        units = {name: unit_from_name(name) for name in [*inputs, target]}
        return cls(regressor, list(inputs), target, units)

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``weights.safetensors`` and ``model.json`` into *directory* (atomically)."""
        tensors, header = self.regressor.to_state()
        header["inputs"] = [{"name": n, "unit": self.units.get(n)} for n in self.inputs]
        header["target"] = {"name": self.target, "unit": self.units.get(self.target)}
        save_model(directory, KIND, tensors, header)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "TableModel":
        """Read a folder written by :meth:`save`; foreign or tampered files raise ``ModelFileError``."""
        tensors, header = load_model(directory, KIND)
        try:
            inputs = [str(item["name"]) for item in header["inputs"]]
            target = str(header["target"]["name"])
            units = {str(item["name"]): item.get("unit") for item in header["inputs"]}
            units[target] = header["target"].get("unit")
        except (KeyError, TypeError) as exc:
            raise ModelFileError(f"model.json lacks inputs or target: {exc}", str(directory)) from None
        regressor = SurrogateRegressor.from_state(tensors, header)
        if len(inputs) != regressor.n_features_in_:
            raise ModelFileError("model.json lists a different number of inputs than the weights", str(directory))
        return cls(regressor, inputs, target, units)

    def input_matrix(self, frame: pd.DataFrame, where: str) -> np.ndarray:
        """The model's inputs from *frame*, shape (n_rows, n_inputs); a missing input is a user error."""
        missing = [name for name in self.inputs if name not in frame.columns]
        if missing:
            raise UserInputError(f"missing input column '{missing[0]}' that the model was trained on "
                                 f"(inputs: {', '.join(self.inputs)})", where)
        return numeric_matrix(frame, self.inputs, where)

    def predict_frame(self, frame: pd.DataFrame, where: str) -> pd.DataFrame:
        """Input columns plus ``<target>_pred``, ``<target>_std`` and ``in_domain``, one row per input row."""
        X = self.input_matrix(frame, where)
        pred = self.regressor.predict_full(X)
        out = frame[self.inputs].copy()
        out[f"{self.target}_pred"] = pred.mean
        out[f"{self.target}_std"] = pred.std
        out["in_domain"] = pred.in_domain
        return out
