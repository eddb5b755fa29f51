"""Reading and writing user tables: every mistake is one precise UserInputError line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.tables import (
    numeric_column,
    numeric_matrix,
    parse_column_list,
    read_table,
    require_columns,
    write_table,
)


def _csv(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _single_line(err: UserInputError) -> str:
    line = err.one_line()
    assert "\n" not in line and "\r" not in line
    assert str(err) == line
    assert isinstance(err, ValueError)
    return line


def test_reads_a_plain_csv(tmp_path):
    frame = read_table(_csv(tmp_path, "x, y\n1, 2.5\n3, -4e2\n"))
    assert list(frame.columns) == ["x", "y"]
    np.testing.assert_array_equal(numeric_matrix(frame, ["x", "y"], "data.csv"), [[1.0, 2.5], [3.0, -400.0]])


def test_missing_file(tmp_path):
    with pytest.raises(UserInputError) as info:
        read_table(tmp_path / "nope.csv")
    line = _single_line(info.value)
    assert "file not found" in line and "nope.csv" in line


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(UserInputError, match="empty") as info:
        read_table(path)
    assert "empty.csv" in _single_line(info.value)


def test_blank_lines_only(tmp_path):
    with pytest.raises(UserInputError, match="cannot read table") as info:
        read_table(_csv(tmp_path, "\n\n\n"))
    _single_line(info.value)


def test_header_only_file(tmp_path):
    with pytest.raises(UserInputError, match="header but no rows") as info:
        read_table(_csv(tmp_path, "thickness_nm,kappa\n"))
    _single_line(info.value)


@pytest.mark.parametrize("name", ["data.xlsx", "data.txt", "data"])
def test_unsupported_suffix(tmp_path, name):
    path = tmp_path / name
    path.write_text("x,y\n1,2\n")
    with pytest.raises(UserInputError, match="unsupported table format") as info:
        read_table(path)
    _single_line(info.value)


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "data.parquet"
    path.write_text("this is not parquet\n")
    with pytest.raises(UserInputError, match="cannot read table") as info:
        read_table(path)
    _single_line(info.value)


def test_misspelled_column_suggests_the_closest_name(tmp_path):
    frame = read_table(_csv(tmp_path, "thickness_nm,temperature_K,kappa\n1,300,10\n"))
    with pytest.raises(UserInputError) as info:
        numeric_matrix(frame, ["thickness_nm", "temprature_K"], "data.csv")
    line = _single_line(info.value)
    assert "'temprature_K' not found" in line
    assert "did you mean 'temperature_K'?" in line
    assert "(data.csv)" in line


def test_unrelated_column_lists_the_columns(tmp_path):
    frame = read_table(_csv(tmp_path, "alpha,beta\n1,2\n"))
    with pytest.raises(UserInputError) as info:
        require_columns(frame, ["zzzzzz"], "data.csv")
    line = _single_line(info.value)
    assert "did you mean" not in line
    assert "alpha" in line and "beta" in line


def test_text_in_numeric_column_names_the_row(tmp_path):
    # data rows are counted from 1, the header excluded: 'abc' is on data row 3
    frame = read_table(_csv(tmp_path, "x,y\n1,2\n3,4\n5,abc\n7,8\n"))
    with pytest.raises(UserInputError) as info:
        numeric_column(frame, "y", "films.csv")
    err = info.value
    line = _single_line(err)
    assert "'abc'" in line and "'y'" in line
    assert err.where == "films.csv, row 3"


@pytest.mark.parametrize(("cell", "row", "word"), [("", 2, "missing"), ("nan", 1, "missing"),
                                                   ("NaN", 3, "missing"), ("inf", 2, "infinite"),
                                                   ("-inf", 1, "infinite")])
def test_nan_and_inf_name_the_row(tmp_path, cell, row, word):
    values = ["1.5", "2.5", "3.5"]
    values[row - 1] = cell
    text = "a,b\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))
    frame = read_table(_csv(tmp_path, text))
    with pytest.raises(UserInputError, match=word) as info:
        numeric_matrix(frame, ["a", "b"], "t.csv")
    assert info.value.where == f"t.csv, row {row}"
    _single_line(info.value)


def test_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffthickness_nm,kappa\n10,5.5\n20,7.5\n".encode("utf-8"))
    frame = read_table(path)
    assert list(frame.columns) == ["thickness_nm", "kappa"]
    np.testing.assert_array_equal(numeric_column(frame, "thickness_nm", "excel.csv"), [10.0, 20.0])


def test_parquet_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=7), "n": np.arange(7), "name": list("abcdefg")})
    for suffix in (".parquet", ".pq"):
        path = tmp_path / f"t{suffix}"
        write_table(frame, path)
        back = read_table(path)
        pd.testing.assert_frame_equal(back, frame)


def test_csv_round_trip_keeps_floats_bitwise(tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=20) * 1e-7, "y": rng.normal(size=20) * 1e9})
    path = tmp_path / "t.csv"
    write_table(frame, path)
    back = read_table(path)
    np.testing.assert_array_equal(numeric_matrix(back, ["x", "y"], "t.csv"), frame.to_numpy())


@pytest.mark.parametrize(("text", "expected"), [
    ("a,b , c", ["a", "b", "c"]),
    ("  kappa  ", ["kappa"]),
    ("a,,b,", ["a", "b"]),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_parse_column_list(text, expected):
    assert parse_column_list(text) == expected


def test_write_table_leaves_no_temporary_files(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    write_table(frame, tmp_path / "sub" / "out.csv")
    write_table(frame, tmp_path / "sub" / "out.parquet")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["out.csv", "out.parquet"]


def test_write_table_bad_suffix_leaves_existing_file_untouched(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("precious\n")
    with pytest.raises(UserInputError, match="unsupported output format") as info:
        write_table(pd.DataFrame({"x": [1.0]}), target)
    _single_line(info.value)
    assert target.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_write_table_failing_midway_leaves_existing_file_untouched(tmp_path):
    target = tmp_path / "out.parquet"
    good = pd.DataFrame({"x": [1.0, 2.0]})
    write_table(good, target)
    before = target.read_bytes()
    unconvertible = pd.DataFrame({"x": [object(), object()]})  # pyarrow cannot store arbitrary objects
    with pytest.raises(ValueError):
        write_table(unconvertible, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]
    pd.testing.assert_frame_equal(read_table(target), good)


def test_one_line_collapses_newlines():
    err = UserInputError("bad\nvalue", "file.csv,\n row 2")
    assert err.one_line() == "bad value (file.csv, row 2)"
    assert UserInputError("no location").one_line() == "no location"


def test_a_value_too_large_to_square_names_the_row(tmp_path):
    frame = read_table(_csv(tmp_path, "a,b\n1,2\n3,1e308\n"))
    with pytest.raises(UserInputError, match=r"column 'b' has 1e\+308, too large to compute with") as info:
        numeric_matrix(frame, ["a", "b"], "t.csv")
    assert info.value.where == "t.csv, row 2"
    assert numeric_matrix(read_table(_csv(tmp_path, "a\n1e149\n", "ok.csv")), ["a"], "ok.csv")[0, 0] == 1e149


def test_a_column_named_twice_is_refused(tmp_path):
    with pytest.raises(UserInputError, match=r"column name 'roughness_nm' appears twice \(columns 2 and 4\)"):
        read_table(_csv(tmp_path, "t_nm,roughness_nm,kappa, roughness_nm\n1,2,3,4\n"))
    assert list(read_table(_csv(tmp_path, "x,x.1\n1,2\n", "dot.csv")).columns) == ["x", "x.1"]
