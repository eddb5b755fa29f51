"""The shipped element tables: contents against the published values and the imputation rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.core.elements import element_properties, element_table, known_elements
from nnsurrogate.core.errors import UserInputError


def test_magpie_has_97_elements_and_known_values():
    table = element_table("magpie")
    assert table.shape == (97, 22)
    assert table.loc["Si", "Number"] == 14
    assert table.loc["O", "Electronegativity"] == pytest.approx(3.44)  # Pauling scale
    assert table.loc["Fe", "Row"] == 4 and table.loc["Fe", "Column"] == 8


def test_properties_in_requested_order():
    rows = element_properties(["O", "Si"])
    assert rows.shape == (2, 22)
    assert rows[0, 0] == 8 and rows[1, 0] == 14


def test_unknown_element_is_a_user_error_naming_it():
    with pytest.raises(UserInputError, match="'Xx'.*row 3"):
        element_properties(["Si", "Xx"], where="data.csv, row 3")


def test_oliynyk_missing_entries_are_column_medians():
    import importlib.resources as res

    with res.files("nnsurrogate.core").joinpath("data/oliynyk.csv").open() as fh:
        raw = pd.read_csv(fh).set_index("element")
    table = element_table("oliynyk")
    assert not table.isna().any().any()
    column = "Miracle_Radius_[pm]"
    missing = raw.index[raw[column].isna()]
    assert len(missing) == 10
    np.testing.assert_allclose(table.loc[missing, column], np.nanmedian(raw[column].to_numpy(float)))
    assert "Bk" in known_elements("magpie") and "Bk" not in known_elements("oliynyk")
