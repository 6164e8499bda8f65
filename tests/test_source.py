"""engine.source: reading CSV/Parquet columns and validating survival data (hand-made files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from netoutcomes.engine.source import read_columns, survival_data
from netoutcomes.errors import InputError


def write(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_read_numeric_and_text_with_missing(tmp_path: Path) -> None:
    p = write(tmp_path, "t,e,g\n1,1,a\n,0,NA\n3.5,NA,b\n")
    cols = read_columns(p, ["t", "e", "g"])
    assert cols["t"].dtype == np.float64
    np.testing.assert_array_equal(cols["t"], [1.0, np.nan, 3.5])
    assert cols["g"].dtype == object
    assert list(cols["g"]) == ["a", None, "b"]


def test_numbers_with_spaces_and_nan_text(tmp_path: Path) -> None:
    p = write(tmp_path, "t,e\n 1 ,1\nNaN,0\n2.5, 0\n")
    cols = read_columns(p, ["t", "e"])
    np.testing.assert_array_equal(cols["t"], [1.0, np.nan, 2.5])
    np.testing.assert_array_equal(cols["e"], [1.0, 0.0, 0.0])


def test_logical_columns_spelled_as_r(tmp_path: Path) -> None:
    p = write(tmp_path, "t,e,flag,word\n1,1,true,T\n2,0,False,x\n3,1,,F\n")
    cols = read_columns(p, ["flag", "word"])
    assert list(cols["flag"]) == ["TRUE", "FALSE", None]
    assert list(cols["word"]) == ["T", "x", "F"]  # not all logical: left as text
    parquet = tmp_path / "b.parquet"
    pq.write_table(pa.table({"t": [1.0, 2.0], "e": [True, False], "b": [False, True]}), parquet)
    d = survival_data(parquet, "t", "e", extra=["b"])
    assert list(d.columns["b"]) == ["FALSE", "TRUE"]
    np.testing.assert_array_equal(d.event, [True, False])


def test_type_decided_over_whole_column(tmp_path: Path) -> None:
    # A text value far down the file must not break reading (pyarrow infers from block 1 only).
    rows = "".join(f"{i},1\n" for i in range(20000))
    p = write(tmp_path, "t,e\n" + rows + "x,1\n")
    cols = read_columns(p, ["t"])
    assert cols["t"].dtype == object
    with pytest.raises(InputError, match=r"data row 20001, column 't': 'x' is not a number"):
        survival_data(p, "t", "e")


def test_parquet(tmp_path: Path) -> None:
    p = tmp_path / "d.parquet"
    pq.write_table(
        pa.table({"t": [1.0, 2.0, None], "e": [1, 0, 1], "g": ["x", None, "y"]}),
        p,
    )
    d = survival_data(p, "t", "e", extra=["g"])
    np.testing.assert_array_equal(d.time, [1.0])
    assert d.n_dropped == 2
    assert list(d.columns["g"]) == ["x"]


def test_rows_with_missing_used_column_dropped(tmp_path: Path) -> None:
    p = write(tmp_path, "t,e,g,unused\n1,1,a,\n2,,b,1\n3,0,,1\n4,1,c,1\n")
    d = survival_data(p, "t", "e", extra=["g"])
    np.testing.assert_array_equal(d.time, [1.0, 4.0])
    np.testing.assert_array_equal(d.event, [True, True])
    assert d.n_dropped == 2


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ("TRUE,FALSE,true,false", [True, False, True, False]),
        ("1,2,2,1", [False, True, True, False]),
        ("2,2,2,2", [True, True, True, True]),
        ("1,1,1,1", [True, True, True, True]),  # R: all 1 means all events
        ("0,1,0,1", [False, True, False, True]),
    ],
)
def test_event_codings(tmp_path: Path, codes: str, expected: list[bool]) -> None:
    lines = "".join(f"{i + 1},{c}\n" for i, c in enumerate(codes.split(",")))
    d = survival_data(write(tmp_path, "t,e\n" + lines), "t", "e")
    np.testing.assert_array_equal(d.event, expected)


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("t,e\n1,1\n-2,0\n", {}, r"data row 2, column 't': time -2 is negative"),
        ("t,e\n1,1\nabc,0\n", {}, r"data row 2, column 't': 'abc' is not a number"),
        ("t,e\n1,1\ninf,0\n", {}, r"data row 2, column 't': inf is not a finite number"),
        ("t,e\n1,1\n2,3\n", {}, r"data row 2, column 'e': event value 3 is not 0/1"),
        ("t,e\n1,0\n2,1\n3,2\n", {}, r"data row 3, column 'e': event value 2 is not 0/1"),
        ("t,e\n1,yes\n", {}, r"data row 1, column 'e': event value 'yes' is not 0/1"),
        ("t,e,s\n5,1,1\n5,1,5\n", {"entry": "s"}, r"data row 2, column 's': entry .* not before"),
        ("t,e\n,1\n2,\n", {}, r"no rows left after dropping 2 rows"),
        ("t,e\n", {}, r"no data rows"),
        ("t,e\n1,1\n", {"extra": ["sex"]}, r"no column 'sex'; the columns are: t, e"),
    ],
)
def test_bad_input_one_line(tmp_path: Path, text: str, kwargs: dict, message: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(InputError, match=message) as info:
        survival_data(p, "t", "e", **kwargs)
    assert "\n" not in str(info.value)
    assert str(p) in str(info.value)


def test_missing_file_empty_file_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_columns(tmp_path / "nope.csv", ["t"])
    with pytest.raises(InputError, match="is empty"):
        read_columns(write(tmp_path, ""), ["t"])
    with pytest.raises(InputError, match="unknown file type '.txt'"):
        read_columns(write(tmp_path, "t\n1\n", "d.txt"), ["t"])


def test_entry_read(tmp_path: Path) -> None:
    d = survival_data(write(tmp_path, "a,t,e\n0,5,1\n2,3,0\n"), "t", "e", entry="a")
    assert d.entry is not None
    np.testing.assert_array_equal(d.entry, [0.0, 2.0])


def test_quoted_numeric_codes_are_text_as_r_wrote_them(tmp_path: Path) -> None:
    # R's write.csv quotes a character column ("9", "10") and never a number.
    p = write(tmp_path, 't,e,code,n\n1,1,"9",9\n2,0,"10",10\n3,1,,\n4,1,"9",9\n')
    d = survival_data(p, "t", "e", extra=["code", "n"])
    assert list(d.columns["code"]) == ["9", "10", "9"]  # text, missing row dropped
    assert d.columns["n"].dtype == np.float64
    np.testing.assert_array_equal(d.time, [1.0, 2.0, 4.0])
    # time/event/entry stay numbers whatever the quoting; read_columns alone keeps numbers
    assert read_columns(p, ["code"])["code"].dtype == np.float64


def test_quoting_ignored_when_every_field_is_quoted(tmp_path: Path) -> None:
    p = write(tmp_path, '"t","e","code"\n"1","1","9"\n"2","0","10"\n')
    d = survival_data(p, "t", "e", extra=["code"])
    assert d.columns["code"].dtype == np.float64


def test_partly_quoted_column_stays_numeric(tmp_path: Path) -> None:
    p = write(tmp_path, 't,e,code\n1,1,"9"\n2,0,10\n')
    d = survival_data(p, "t", "e", extra=["code"])
    assert d.columns["code"].dtype == np.float64


def test_parquet_strings_that_look_like_numbers_are_text(tmp_path: Path) -> None:
    p = tmp_path / "d.parquet"
    pq.write_table(pa.table({"t": [1.0, 2.0], "e": [1, 0], "g": ["10", "9"]}), p)
    d = survival_data(p, "t", "e", extra=["g"])
    assert list(d.columns["g"]) == ["10", "9"]
    # every column stored as strings: the strings say nothing about R's types
    pq.write_table(pa.table({"t": ["1", "2"], "e": ["1", "0"], "g": ["10", "9"]}), p)
    d = survival_data(p, "t", "e", extra=["g"])
    np.testing.assert_array_equal(d.time, [1.0, 2.0])
    assert d.columns["g"].dtype == np.float64


def test_scientific_cells_mark_an_r_double(tmp_path: Path) -> None:
    # R: factor(c(0, 1e5)) has levels "0", "1e+05"; an integer column prints 100000.
    from netoutcomes.engine.source import grouped_tables

    p = write(tmp_path, "t,e,x,y\n1,1,0,0\n2,1,1e+05,100000\n3,0,0,0\n")
    d = survival_data(p, "t", "e", extra=["x", "y"])
    assert d.written_as_double == frozenset({"x"})
    assert grouped_tables(d, "x").groups == ["x=0", "x=1e+05"]
    assert grouped_tables(d, "y").groups == ["y=0", "y=100000"]
    parquet = tmp_path / "d.parquet"
    pq.write_table(
        pa.table({"t": [1.0, 2.0], "e": [1, 1], "x": [0.0, 1e5], "y": [0, 100000]}), parquet
    )
    d = survival_data(parquet, "t", "e", extra=["x", "y"])
    assert grouped_tables(d, "x").groups == ["x=0", "x=1e+05"]
    assert grouped_tables(d, "y").groups == ["y=0", "y=100000"]
