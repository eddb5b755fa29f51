"""``table predict``: a saved model on a new table, importing only what reading that model needs.

Kept apart from :mod:`nnsurrogate.tabular.workflow` (training, cross-validation, plots), so that
predicting with a numeric-table model loads neither the tree ensembles nor the plotting and metric
libraries.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from nnsurrogate.core.errors import DataWarning, UserInputError
from nnsurrogate.core.files import refuse_overwriting
from nnsurrogate.core.tables import read_table, write_table
from nnsurrogate.tabular.table_model import TableModel

__all__ = ["check_levels", "predict_table"]


def predict_table(model_dir: str, data: str, out: str, levels: tuple[float, ...] = ()) -> pd.DataFrame:
    """Predict every row of *data* with the model in *model_dir*; write the table to *out* (CSV/Parquet).

    The output holds every column of *data* plus ``<target>_pred`` and ``<target>_std`` (regression) or
    ``p_<class>`` per class and ``<target>_pred`` (classification), and ``in_domain``. Every level in
    *levels* adds the interval columns ``<target>_low_<pct>`` and ``<target>_high_<pct>`` (conformal for a
    model trained with ``conformal``, else Gaussian from the σ).
    """
    levels = check_levels(levels)
    refuse_overwriting(out, data)
    model = TableModel.load(Path(model_dir) / "model")
    frame = read_table(data)
    result = model.predict_frame(frame, data, levels)
    write_table(result, out)
    n_out = int((~result["in_domain"]).sum())
    if n_out:
        warnings.warn(f"{n_out} of {len(result)} rows are outside the training domain (in_domain = false); "
                      "their predictions are extrapolations", DataWarning, stacklevel=2)
    return result


def check_levels(levels) -> tuple[float, ...]:
    """Interval levels as floats in (0, 1); a bad one is a :class:`UserInputError` naming ``level``."""
    from nnsurrogate.core.conformal import check_level

    try:
        return tuple(check_level(v) for v in levels)
    except (TypeError, ValueError) as exc:
        raise UserInputError(str(exc), "level") from None
