"""Read the columns a `stats` command needs from a CSV or Parquet file and validate them.

Conventions (documented in docs/statistics.md):

- In CSV files an empty cell or ``NA`` is a missing value (as R's ``read.csv``
  with ``na.strings = c("", "NA")``).  ``NaN`` is missing too.
- A column whose non-missing values all parse as numbers is numeric (float64,
  NaN for missing); any other column is text (object array, None for missing).
- Except: a grouping or covariate column whose cells are all written in quotes
  (``"1"``, ``"10"``) is text, as R's ``write.csv`` writes a character or factor
  column (and never quotes a number).  Files that quote every field (their time
  column is quoted too) carry no such information and are read by the rule above.
  Parquet string columns used that way are text likewise (unless the time column
  is a string column too).
- A numeric column with a cell in scientific notation (``1e+05``) was a double in
  R (``write.csv`` writes integers in full), as is a Parquet floating-point column:
  its group labels print as doubles.
- Rows with a missing value in any *used* column are dropped, as R drops them
  from a model frame; the number dropped is reported.
- Error messages count rows as "data row N": N = 1 is the first row after the
  header line (so in a spreadsheet it is on line N + 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from netoutcomes.errors import InputError
from netoutcomes.survival.groups import GroupedTables, grouped_count_tables

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
# Rows of the file each element stands for: one array, or one per column.
RowCounts = NDArray[np.float64] | Mapping[str, NDArray[np.float64]] | None

_MISSING_TEXT = frozenset({"", "NA", "NaN", "nan"})
_TRUE_TEXT = frozenset({"TRUE", "true", "True", "T"})
_FALSE_TEXT = frozenset({"FALSE", "false", "False", "F"})


def _row(i: int, noun: str = "data row") -> str:
    """A file's "data row N" (after the header line) or a frame's "row N", 1-based."""
    return f"{noun} {i + 1}"


def _at(rows: IntArray | None, i: int) -> int:
    """The file's (0-based) data row of element i."""
    return i if rows is None else int(rows[i])


def _show(value: object) -> str:
    """A cell value as the user typed it: numbers plain (2, 3.5), text quoted ('abc')."""
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return repr(value)


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
        v is True or v is False or (isinstance(v, str) and v in _TRUE_TEXT | _FALSE_TEXT)
        for v in present
    ):
        return text
    out = np.empty(text.size, dtype=object)
    for i, v in enumerate(text):
        out[i] = None if v is None else ("TRUE" if v is True or v in _TRUE_TEXT else "FALSE")
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


def read_raw_columns(path: Path, columns: Sequence[str]) -> dict[str, Any]:
    """The used columns of a file as pyarrow arrays, CSV cells as text (untyped)."""
    return _read_table_and_format(path, columns)[0]


def _read_table_and_format(
    path: Path, columns: Sequence[str]
) -> tuple[dict[str, Any], Literal["csv", "parquet"]]:
    import pyarrow as pa

    file_format = check_file_columns(path, columns)
    try:
        if file_format == "csv":
            from pyarrow import csv

            # Read every used column as text, then decide numeric vs text over the
            # whole column (pyarrow infers from the first block only).
            table = csv.read_csv(
                path,
                convert_options=csv.ConvertOptions(
                    include_columns=list(columns),
                    column_types={c: pa.string() for c in columns},
                    null_values=["", "NA"],
                    strings_can_be_null=True,
                ),
            )
        else:
            import pyarrow.parquet as pq

            table = pq.read_table(path, columns=list(columns))
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from exc
    if table.num_rows == 0:
        raise InputError(f"{path}: the file has no data rows")
    return {c: table.column(c) for c in columns}, file_format


def _unreadable(path: Path, exc: Exception) -> InputError:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"{path}: cannot read the file: {first_line}")


def check_file_columns(path: Path, columns: Sequence[str]) -> Literal["csv", "parquet"]:
    """The file's format after the checks every reader makes first (known type, file
    exists and is not empty, every column in its header); InputError otherwise."""
    import pyarrow as pa

    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise InputError(f"{path}: unknown file type {suffix or '(none)'!r}; use .csv or .parquet")
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    try:
        if suffix == ".csv":
            header = _csv_header(path)
        else:
            import pyarrow.parquet as pq

            header = pq.read_schema(path).names
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from exc
    _check_columns(path, header, columns)
    return "csv" if suffix == ".csv" else "parquet"


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


def _csv_header(path: Path) -> list[str]:
    import csv as pycsv

    with path.open(newline="", encoding="utf-8-sig") as fh:
        return next(pycsv.reader(fh), [])


def _check_columns(path: Path, header: Sequence[str], columns: Sequence[str]) -> None:
    for c in columns:
        if c not in header:
            available = ", ".join(header)
            raise InputError(f"{path}: no column {c!r}; the columns are: {available}")


@dataclass(frozen=True)
class Columns:
    """Columns read from a file, and what the file says about their R types."""

    values: dict[str, np.ndarray]
    written_as_double: frozenset[str]  # numeric columns with a cell like 1e+05


def read_columns(
    path: Path, columns: Sequence[str], text_if_quoted: Sequence[str] = ()
) -> dict[str, np.ndarray]:
    """Read ``columns`` from a CSV or Parquet file.

    Numeric columns come back as float64 with NaN for missing, other columns as
    object arrays with None for missing.  Columns in ``text_if_quoted`` (groups,
    covariates) whose cells are all quoted in a CSV, or that are Parquet strings,
    come back as text even when they look like numbers.  Raises InputError for a
    missing file, an unknown extension, an empty file or a missing column.
    """
    return read_typed_columns(path, columns, text_if_quoted).values


def read_typed_columns(
    path: Path, columns: Sequence[str], text_if_quoted: Sequence[str] = ()
) -> Columns:
    """``read_columns`` plus which numeric columns R had as doubles."""
    path = Path(path)
    unique = list(dict.fromkeys(columns))
    raw, file_format = _read_table_and_format(path, unique)
    return typed_columns(path, file_format, raw, text_if_quoted)


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


@dataclass(frozen=True)
class SurvivalData:
    """Validated survival data: one row per subject (or per (entry, exit] interval)."""

    time: FloatArray
    event: BoolArray
    entry: FloatArray | None
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    n_dropped: int = 0
    path: Path | None = None
    written_as_double: frozenset[str] = frozenset()  # numeric columns R had as doubles
    # None: one row per element.  Else element i stands for counts[i] identical rows
    # (an engine's GROUP BY over the used columns, engine.analysis).
    counts: FloatArray | None = None

    @property
    def n(self) -> int:
        if self.counts is not None:
            return int(round(float(self.counts.sum())))
        return int(self.time.size)


def missing_mask(values: np.ndarray) -> BoolArray:
    """Per element of a typed column (``typed_columns``): the value is missing."""
    if values.dtype == np.float64:
        return np.isnan(values)
    return np.array([v is None for v in values], dtype=bool)


def _numeric(
    path: Path,
    name: str,
    values: np.ndarray,
    keep: BoolArray,
    rows: IntArray | None = None,
    noun: str = "data row",
) -> FloatArray:
    """The column as float64; an error naming the first non-numeric kept value.

    ``rows``: the file's data row (0-based) of each element, when they are not 0, 1, ...
    """
    if values.dtype == np.float64:
        out = values
    else:
        out = np.full(values.size, np.nan)
        for i, v in enumerate(values):
            if not keep[i]:
                continue
            try:
                out[i] = float(v)
            except (TypeError, ValueError):
                what = f"{_show(v)} is not a number"
                raise row_error(path, _at(rows, i), noun, name, what) from None
    bad = np.flatnonzero(keep & ~np.isfinite(out))
    if bad.size:
        i = int(bad[0])
        raise row_error(path, _at(rows, i), noun, name, not_finite(values[i]))
    return out


def event_codes(
    path: Path,
    name: str,
    values: np.ndarray,
    keep: BoolArray,
    rows: IntArray | None = None,
    noun: str = "data row",
) -> BoolArray:
    """0/1, TRUE/FALSE, or 1/2 when every value is 1 or 2 (as R's ``Surv``: 1 censored, 2 event)."""
    events, bad = event_coding(values, keep)
    if events is None:
        i = int(np.flatnonzero(bad)[0])
        raise row_error(path, _at(rows, i), noun, name, bad_event(values[i]))
    return events


def event_coding(values: np.ndarray, keep: BoolArray) -> tuple[BoolArray | None, BoolArray]:
    """``event_codes`` without the error: (events, no element bad), or (None, the kept
    elements that are not 0/1)."""
    n = values.size
    if values.dtype == np.float64:
        codes = values
    else:
        codes = np.full(n, np.nan)
        for i, v in enumerate(values):
            if not keep[i]:
                continue
            if v is True or (isinstance(v, str) and v in _TRUE_TEXT):
                codes[i] = 1.0
            elif v is False or (isinstance(v, str) and v in _FALSE_TEXT):
                codes[i] = 0.0
            else:
                try:
                    codes[i] = float(v)
                except (TypeError, ValueError):
                    codes[i] = -1.0  # flagged below with the original text
    kept = codes[keep]
    if kept.size and np.all((kept == 1.0) | (kept == 2.0)) and np.any(kept == 2.0):
        return codes == 2.0, np.zeros(n, dtype=bool)
    bad = keep & ~((codes == 0.0) | (codes == 1.0))
    return (None if bad.any() else codes == 1.0), bad


def row_error(path: Path, row: int, noun: str, column: str, what: str) -> InputError:
    """The reader's one-line error for the file's data row ``row`` (0-based)."""
    return InputError(f"{path}: {_row(row, noun)}, column {column!r}: {what}")


def not_finite(value: object) -> str:
    return f"{_show(value)} is not a finite number"


def negative(kind: str, value: object) -> str:
    return f"{kind} {_show(value)} is negative"


def bad_event(value: object) -> str:
    return (
        f"event value {_show(value)} is not 0/1 "
        "(TRUE/FALSE, or 1/2 throughout meaning censored/event, are also accepted)"
    )


def entry_not_before(entry: object, time: object, time_column: str) -> str:
    return (
        f"entry {_show(entry)} is not before the exit time {_show(time)} in column {time_column!r}"
    )


def no_rows_left(path: Path, n_missing: float, used: Sequence[str]) -> InputError:
    return InputError(
        f"{path}: no rows left after dropping {round(n_missing)} rows with a missing value "
        f"in columns {', '.join(dict.fromkeys(used))}"
    )


def survival_data(
    path: Path,
    time: str,
    event: str,
    entry: str | None = None,
    extra: Sequence[str] = (),
) -> SurvivalData:
    """Read and validate (entry,) time and event columns plus ``extra`` columns.

    Rows with a missing value in any used column are dropped (counted in
    ``n_dropped``).  Raises InputError, naming file, data row, column and value,
    for a non-numeric or negative time, an event not in {0, 1}, an entry not
    strictly before the exit, or no rows left.
    """
    path = Path(path)
    used = [time, event] + ([entry] if entry else []) + list(extra)
    raw, file_format = _read_table_and_format(path, list(dict.fromkeys(used)))
    return validated_survival_data(path, file_format, raw, time, event, entry, extra)


def validated_survival_data(
    path: Path,
    file_format: Literal["csv", "parquet"],
    raw: dict[str, Any],
    time: str,
    event: str,
    entry: str | None = None,
    extra: Sequence[str] = (),
    rows: IntArray | None = None,
    counts: FloatArray | None = None,
    noun: str = "data row",
    weights: str | None = None,
    numeric: Sequence[str] = (),
) -> SurvivalData:
    """``survival_data`` on pyarrow columns already read from ``path`` (CSV columns as
    text), e.g. by an engine.  ``raw`` may be the engine's rows grouped by every used
    column: element i is data row ``rows[i]`` of the file (its first occurrence; the
    elements sorted by it, so the first bad element is the first bad row) and stands
    for ``counts[i]`` rows."""
    used = [time, event] + ([entry] if entry else []) + list(extra)
    typed = typed_columns(
        path, file_format, raw,
        [c for c in extra if c not in (time, event, entry, weights, *numeric)],
        counts,
    )  # fmt: skip
    cols = typed.values
    n_rows = next(iter(cols.values())).size
    missing = np.zeros(n_rows, dtype=bool)
    for c in dict.fromkeys(used):
        missing |= missing_mask(cols[c])
    keep = ~missing

    t = _numeric(path, time, cols[time], keep, rows, noun)
    negative_time = np.flatnonzero(keep & (t < 0))
    if negative_time.size:
        i = int(negative_time[0])
        raise row_error(path, _at(rows, i), noun, time, negative("time", cols[time][i]))
    ev = event_codes(path, event, cols[event], keep, rows, noun)
    start: FloatArray | None = None
    if entry:
        start = _numeric(path, entry, cols[entry], keep, rows, noun)
        not_before = np.flatnonzero(keep & (start >= t))
        if not_before.size:
            i = int(not_before[0])
            what = entry_not_before(cols[entry][i], cols[time][i], time)
            raise row_error(path, _at(rows, i), noun, entry, what)
    for c in numeric:  # covariates used by value (a Cox model's numeric columns)
        cols[c] = _numeric(path, c, cols[c], keep, rows, noun)
    if weights:  # case weights (R's weights=): finite and not negative
        w = _numeric(path, weights, cols[weights], keep, rows, noun)
        negative_w = np.flatnonzero(keep & (w < 0))
        if negative_w.size:
            i = int(negative_w[0])
            what = negative("weight", cols[weights][i])
            raise row_error(path, _at(rows, i), noun, weights, what)
        cols[weights] = w
    n_missing = float(missing.sum() if counts is None else counts[missing].sum())
    if not keep.any():
        raise no_rows_left(path, n_missing, used)
    extras = {c: cols[c][keep] for c in extra}
    return SurvivalData(
        time=t[keep],
        event=ev[keep],
        entry=None if start is None else start[keep],
        columns=extras,
        n_dropped=int(round(n_missing)),
        path=path,
        written_as_double=typed.written_as_double,
        counts=None if counts is None else counts[keep],
    )


def grouped_tables(
    data: SurvivalData,
    by: str | Sequence[str] | None = None,
    strata: str | Sequence[str] | None = None,
) -> GroupedTables:
    """Count tables per (strata level, by level) of validated in-memory data (the memory path).

    ``by`` may name several columns: their combinations are the groups (R's ``~ a + b``);
    likewise several ``strata`` columns (R's ``strata(a, b)``).
    """
    by_names = [by] if isinstance(by, str) else list(by or [])
    strata_names = [strata] if isinstance(strata, str) else list(strata or [])
    grouped = grouped_count_tables(
        data.time,
        data.event,
        data.entry,
        group=[(c, data.columns[c]) for c in by_names] if by_names else None,
        stratum=[(c, data.columns[c]) for c in strata_names] if strata_names else None,
        weights=data.counts,
        r_doubles=data.written_as_double,
    )
    if data.counts is None:
        return grouped
    # Grouped rows were counted as weights: a table's rows are its exits (each row
    # leaves once), a sum of whole numbers and so exact.
    tables = {
        key: replace(t, n=int(round(float((t.n_event + t.n_censor).sum()))))
        for key, t in grouped.tables.items()
    }
    return replace(grouped, tables=tables)
