"""The reader's typing rules: a column's cells (CSV text, or a Parquet or frame
column's own type) to numbers or text, and what the file says about R's types.

The rules (``engine.source`` lists them) look only at a column's distinct values and
at the file's quotes, so they type an engine's grouped rows as they type every row:
``typed_columns`` takes, with each grouped row, the number of the file's rows it
stands for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

BoolArray = NDArray[np.bool_]
# Rows of the file each element stands for: one array, or one per column.
RowCounts = NDArray[np.float64] | Mapping[str, NDArray[np.float64]] | None

_MISSING_TEXT = frozenset({"", "NA", "NaN", "nan"})
TRUE_TEXT = frozenset({"TRUE", "true", "True", "T"})
FALSE_TEXT = frozenset({"FALSE", "false", "False", "F"})


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return value.strip() in _MISSING_TEXT
    return False


def _to_numeric_or_text(values: list[object]) -> np.ndarray:
    """float64 when every non-missing value is a number, else an object array (None = missing)."""
    numbers = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if _is_missing(v):
            numbers[i] = np.nan
            continue
        if isinstance(v, bool):
            break  # booleans stay text-like: the event coding decides what they mean
        try:
            numbers[i] = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            break
    else:
        return numbers
    text = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        text[i] = None if _is_missing(v) else (v.strip() if isinstance(v, str) else v)
    return _as_logical_text(text)


def _as_logical_text(text: np.ndarray) -> np.ndarray:
    """A column R's ``read.csv`` would read as logical, spelled as R prints it: TRUE/FALSE."""
    present = [v for v in text if v is not None]
    if not present or not all(
        v is True or v is False or (isinstance(v, str) and v in TRUE_TEXT | FALSE_TEXT)
        for v in present
    ):
        return text
    out = np.empty(text.size, dtype=object)
    for i, v in enumerate(text):
        out[i] = None if v is None else ("TRUE" if v is True or v in TRUE_TEXT else "FALSE")
    return out


def _column_values(column: Any) -> np.ndarray:
    """A pyarrow column as float64 (numbers) or object (anything else).

    Fast path: numeric Parquet columns, and text columns that pyarrow can cast to
    float64 as a whole; otherwise value by value (``_to_numeric_or_text``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False), np.float64)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        # Text: type the distinct values only (a group column has a handful among
        # millions of rows), then spread them back by their codes; every decision
        # (all numbers? all logical?) is over the same set of values, so the result
        # is the same as value by value.
        encoded = pc.dictionary_encode(column, null_encoding="encode")
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        distinct = encoded.dictionary
        try:
            numbers = pc.cast(pc.utf8_trim_whitespace(distinct), pa.float64())
        except pa.ArrowInvalid:
            return _to_numeric_or_text(distinct.to_pylist())[codes]
        return np.asarray(numbers.to_numpy(zero_copy_only=False), np.float64)[codes]
    return _to_numeric_or_text(column.to_pylist())


def _present(column: Any) -> Any:
    """Per cell: not missing (null, or a missing-value text such as a quoted "NA")."""
    import pyarrow as pa
    import pyarrow.compute as pc

    missing_text = pc.is_in(pc.utf8_trim_whitespace(column), pa.array(sorted(_MISSING_TEXT)))
    return pc.and_(pc.is_valid(column), pc.invert(pc.fill_null(missing_text, True)))


def _numeric_text(column: Any) -> bool:
    """A text column whose non-missing cells all parse as numbers (and there is one)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return False
    column = pc.unique(column)  # the answer depends only on the distinct values
    present = pc.filter(pc.utf8_trim_whitespace(column), _present(column))
    if len(present) == 0:
        return False
    try:
        pc.cast(present, pa.float64())
    except pa.ArrowInvalid:
        return False
    return True


def _quoted_csv_columns(
    path: Path,
    raw: dict[str, Any],
    candidates: Sequence[str],
    counts: RowCounts = None,
) -> set[str]:
    """Those ``candidates`` whose non-missing cells are all quoted in the CSV file.

    pyarrow drops the quotes, but can be told to treat a given set of cell texts as
    missing only when they are *not* quoted: read the columns again with every
    value they hold in that set; what survives was quoted.  ``raw`` may be an
    engine's grouped rows, row i standing for ``counts[i]`` rows of the file
    (``counts[c][i]`` when ``counts`` is given per column).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv

    if not candidates:
        return set()
    values = sorted(
        {v for c in candidates for v in raw[c].unique().to_pylist() if v is not None} | {"", "NA"}
    )
    again = csv.read_csv(
        path,
        convert_options=csv.ConvertOptions(
            include_columns=list(candidates),
            column_types={c: pa.string() for c in candidates},
            null_values=values,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    quoted = set()
    for c in candidates:
        present = np.asarray(_present(raw[c]).to_numpy(zero_copy_only=False), dtype=bool)
        weight = _counts_of(counts, c)
        n_present = float(present.sum() if weight is None else weight[present].sum())
        # every value is in null_values, so a cell still present was quoted
        n_quoted = pc.sum(_present(again.column(c))).as_py() or 0
        if n_present and n_quoted == n_present:
            quoted.add(c)
    return quoted


def _counts_of(counts: RowCounts, column: str) -> NDArray[np.float64] | None:
    return counts.get(column) if isinstance(counts, Mapping) else counts


def _text_values(column: Any) -> np.ndarray:
    """A column as text exactly as written (trimmed), None for missing."""
    text = np.empty(len(column), dtype=object)
    for i, v in enumerate(column.to_pylist()):
        text[i] = None if _is_missing(v) else (v.strip() if isinstance(v, str) else v)
    return text


def _written_as_double(column: Any) -> bool:
    """A double in R: a Parquet floating-point column, or a CSV column with a cell in
    scientific notation (``1e+05``: ``write.csv`` writes integers in full)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_floating(column.type):
        return True
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return False
    return bool(pc.any(pc.match_substring_regex(column, r"^\s*[-+]?[0-9.]+[eE]")).as_py())


@dataclass(frozen=True)
class Columns:
    """Columns read from a file, and what the file says about their R types."""

    values: dict[str, np.ndarray]
    written_as_double: frozenset[str]  # numeric columns with a cell like 1e+05


def typed_columns(
    path: Path,
    file_format: Literal["csv", "parquet"],
    raw: dict[str, Any],
    text_if_quoted: Sequence[str] = (),
    counts: RowCounts = None,
) -> Columns:
    """The reader's typing rules applied to pyarrow columns ``raw`` read from ``path``
    (CSV columns as text).  ``raw`` may be an engine's grouped rows, row i standing
    for ``counts[i]`` rows of the file: the rules look only at the distinct values,
    and at the file's quotes.  ``counts`` may be given per column (a mapping), and
    then the columns may come from different GROUP BYs, each with every distinct
    value of its column (``engine.count_queries``)."""
    unique = list(raw)
    candidates = [c for c in dict.fromkeys(text_if_quoted) if _numeric_text(raw[c])]
    quoted: set[str] = set()
    if candidates:
        # Numbers stored as text elsewhere (the time column quoted in a CSV, or a
        # Parquet string): the writer quoted / stringified everything, so the
        # quotes say nothing about what R had.
        others = [c for c in unique if c not in text_if_quoted and _numeric_text(raw[c])]
        if file_format == "csv":
            quoted = _quoted_csv_columns(path, raw, candidates, counts)
            if quoted and others and _quoted_csv_columns(path, raw, others[:1], counts):
                quoted = set()
        elif not others:
            quoted = set(candidates)
    values = {c: _text_values(raw[c]) if c in quoted else _column_values(raw[c]) for c in unique}
    doubles = frozenset(
        c for c in unique if values[c].dtype == np.float64 and _written_as_double(raw[c])
    )
    return Columns(values, doubles)


def missing_mask(values: np.ndarray) -> BoolArray:
    """Per element of a typed column (``typed_columns``): the value is missing."""
    if values.dtype == np.float64:
        return np.isnan(values)
    return np.array([v is None for v in values], dtype=bool)
