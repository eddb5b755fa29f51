"""Reading training tables: task detection, formula columns, the duplicates policy, errors naming rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.core.errors import DataWarning, UserInputError
from nnsurrogate.tabular.composition import reduced_formula
from nnsurrogate.tabular.dataset import TableSpec, detect_task, load_dataset

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "tables"


def _csv(tmp_path, frame: pd.DataFrame, name="t.csv") -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize(("values", "task"), [(["a", "b", "a"], "classify"), ([0, 1, 1], "classify"),
                                              ([0.0, 1.0, 0.0], "classify"), ([0.5, 1.0, 2.0], "regress"),
                                              ([0, 1, 2], "regress"), ([1, 1, 1], "classify"),
                                              (["1.5", "2.5", "oops", "3.5"], "regress"),  # a bad cell, reported
                                              (["metal", "insulator", "3"], "classify")])
def test_detect_task(values, task):
    assert detect_task(pd.Series(values)) == task


def test_duplicates_mean_averages_the_same_compound_and_inputs(tmp_path):
    frame = pd.DataFrame({"formula": ["Fe2O3", "Fe4O6", "Fe2O3", "SiO2", "NaCl"],
                          "load": [1.0, 1.0, 2.0, 1.0, 1.0], "y": [1.0, 3.0, 5.0, 7.0, 9.0]})
    path = _csv(tmp_path, frame)
    with pytest.warns(DataWarning, match="1 rows repeat the inputs.*averaged"):
        ds = load_dataset(path, TableSpec("y", ("load",), "formula"))
    # Fe2O3 and Fe4O6 at load 1 are one compound at one load: one row with the mean target 2
    assert len(ds) == 4 and ds.n_duplicates == 1
    assert ds.y.tolist() == [2.0, 5.0, 7.0, 9.0]
    assert ds.groups.tolist() == ["Fe2O3", "Fe2O3", "SiO2", "NaCl"]  # grouped by compound, whatever the load


def test_duplicates_first_and_keep(tmp_path):
    frame = pd.DataFrame({"formula": ["Fe2O3", "Fe4O6", "SiO2"], "y": [1.0, 3.0, 7.0]})
    path = _csv(tmp_path, frame)
    with pytest.warns(DataWarning, match="only the first"):
        assert load_dataset(path, TableSpec("y", formula_column="formula", duplicates="first")).y.tolist() == [1.0, 7.0]
    with pytest.warns(DataWarning, match="kept"):
        assert len(load_dataset(path, TableSpec("y", formula_column="formula", duplicates="keep"))) == 3


def test_classification_duplicates_keep_the_majority_class(tmp_path):
    frame = pd.DataFrame({"formula": ["CuZr", "Cu2Zr2", "CuZr", "NiB", "Ni2B2", "SiO2"],
                          "glass": ["yes", "no", "no", "yes", "no", "yes"]})
    with pytest.warns(DataWarning, match="majority class"):
        ds = load_dataset(_csv(tmp_path, frame), TableSpec("glass", formula_column="formula"))
    assert ds.task == "classify"
    assert ds.y.tolist() == ["no", "yes", "yes"]  # CuZr: 2 × no; NiB: a tie, the label seen first wins


def test_hardness_table_with_byte_order_mark_and_repeated_compounds():
    path = DATA / "hardness_with_load.csv"
    if not path.is_file():
        pytest.skip(f"shared data folder not found: {path}")
    raw = pd.read_csv(path, encoding="utf-8-sig")
    with pytest.warns(DataWarning, match="averaged"):
        ds = load_dataset(str(path), TableSpec("hardness", ("load",), "composition"))
    keys = [(reduced_formula(f), round(load, 12)) for f, load in zip(raw["composition"], raw["load"])]
    assert len(ds) == len(set(keys)) and ds.n_duplicates == len(raw) - len(set(keys))
    assert ds.inputs == ["load"] and ds.task == "regress"
    assert len(set(ds.groups)) < len(ds)  # the same compound is measured at several loads


def test_formula_only_table_needs_no_numeric_inputs(tmp_path):
    path = _csv(tmp_path, pd.DataFrame({"formula": ["SiO2", "NaCl", "Fe2O3"], "gap": [9.0, 8.5, 2.2]}))
    ds = load_dataset(path, TableSpec("gap", formula_column="formula"))
    assert ds.inputs == [] and ds.X.shape == (3, 0) and ds.formulas.tolist() == ["SiO2", "NaCl", "Fe2O3"]


def test_text_column_without_formula_flag_is_ignored_with_a_warning(tmp_path):
    path = _csv(tmp_path, pd.DataFrame({"formula": ["SiO2", "NaCl", "Fe2O3"], "x": [1.0, 2.0, 3.0], "y": [1.0, 2, 3]}))
    with pytest.warns(DataWarning, match="ignoring non-numeric column 'formula'"):
        assert load_dataset(path, TableSpec("y")).inputs == ["x"]


@pytest.mark.parametrize(("spec", "match"), [
    (TableSpec("gap", formula_column="formul"), "column 'formul' not found; did you mean 'formula'"),
    (TableSpec("gap", ("formula",), "formula"), "formula column 'formula' is also listed"),
    (TableSpec("gap", ("gap",), "formula"), "target 'gap' is also listed"),
])
def test_column_errors(tmp_path, spec, match):
    path = _csv(tmp_path, pd.DataFrame({"formula": ["SiO2", "NaCl"], "gap": [9.0, 8.5]}))
    with pytest.raises(UserInputError, match=match):
        load_dataset(path, spec)


def test_bad_formula_error_names_file_column_and_row(tmp_path):
    path = _csv(tmp_path, pd.DataFrame({"formula": ["SiO2", "NaCl", "Qq2O"], "gap": [9.0, 8.5, 1.0]}))
    with pytest.raises(UserInputError) as info:
        load_dataset(path, TableSpec("gap", formula_column="formula"))
    assert info.value.where == f"{path}, column 'formula', row 3"


def test_single_class_and_bad_options(tmp_path):
    path = _csv(tmp_path, pd.DataFrame({"formula": ["SiO2", "NaCl"], "glass": ["no", "no"]}))
    with pytest.raises(UserInputError, match="single class"):
        load_dataset(path, TableSpec("glass", formula_column="formula"))
    with pytest.raises(UserInputError, match=r"\(duplicates\)"):
        TableSpec("y", duplicates="median")
    with pytest.raises(UserInputError, match=r"\(task\)"):
        TableSpec("y", task="cluster")
