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

The typing rules themselves are ``engine.cell_typing`` (``typed_columns``, also
importable from here); this module reads files and validates survival data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from netoutcomes.engine.cell_typing import (
    FALSE_TEXT,
    TRUE_TEXT,
    Columns,
    missing_mask,
    typed_columns,
)
from netoutcomes.errors import InputError
from netoutcomes.survival.groups import GroupedTables, grouped_count_tables

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


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


def _csv_header(path: Path) -> list[str]:
    import csv as pycsv

    with path.open(newline="", encoding="utf-8-sig") as fh:
        return next(pycsv.reader(fh), [])


def _check_columns(path: Path, header: Sequence[str], columns: Sequence[str]) -> None:
    for c in columns:
        if c not in header:
            available = ", ".join(header)
            raise InputError(f"{path}: no column {c!r}; the columns are: {available}")


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
                raise row_error(path, _at(rows, i), noun, name, not_a_number(v)) from None
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
            if v is True or (isinstance(v, str) and v in TRUE_TEXT):
                codes[i] = 1.0
            elif v is False or (isinstance(v, str) and v in FALSE_TEXT):
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


def not_a_number(value: object) -> str:
    return f"{_show(value)} is not a number"


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
