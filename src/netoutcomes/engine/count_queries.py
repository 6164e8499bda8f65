"""KM and log-rank count tables from two GROUP BYs on the engine: exits and entries.

The exits query groups the rows by (strata and group columns, time, event[,
weight]); with delayed entry a second query groups them by (strata and group
columns, entry[, weight]).  Each result is about as small as the distinct times,
whatever the number of rows; one GROUP BY over every used column together is
about as large as the data once the entry times are continuous.

The reader's rules (``engine.source``) still decide everything: each column is
typed from its distinct values (every distinct value of a column is in one of
the two results, with the number of rows it stands for), then missing values,
numbers, the event coding and the weights are checked as the reader checks
them.  What a row links across the two results the queries carry themselves:

- the exits query groups also by "this row's entry is missing", and keeps each
  group's largest entry: ``entry < time`` holds on every row of a group if and
  only if it holds for that largest entry (and so does R's tying of times within
  rounding error, which is monotone);
- the entries query groups also by "this row's time or event is missing".

Those per-row flags and numbers are SQL (``engine.sql_cells``); each is checked
against the reader's own typing of the distinct values it was computed from.
Any disagreement (an unusual cell), or a failed check, raises ``NotOnTheFastPath``
and the caller reads the data the reader's way (``engine.analysis``), which gives
the reader's result or its one-line error naming the first bad row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netoutcomes.engine.backends import Backend
from netoutcomes.engine.cell_typing import missing_mask, typed_columns
from netoutcomes.engine.first_bad_row import first_bad_row
from netoutcomes.engine.inputs import Described, engine_table
from netoutcomes.engine.source import (
    bad_event,
    entry_not_before,
    event_coding,
    negative,
    no_rows_left,
    not_a_number,
    not_finite,
    row_error,
)
from netoutcomes.engine.sql_cells import cell_missing, cell_number
from netoutcomes.survival.counts import CountTable, FloatArray, exits_and_entries_table
from netoutcomes.survival.groups import GroupedTables, crossed_level_labels
from netoutcomes.survival.timefix import collapsed_interval, snap_times, tied_time_cuts

BoolArray = NDArray[np.bool_]

# Internal column names of the queries; prefixed so they cannot clash with user columns.
_N = "__netoutcomes_n"
_ENTRY_MISSING = "__netoutcomes_entry_missing"  # per row, in the exits query
_MAX_ENTRY = "__netoutcomes_max_entry"
_OTHER_MISSING = "__netoutcomes_exit_missing"  # per row: time or event missing
_TIME_MISSING, _EVENT_MISSING = "__netoutcomes_time_missing", "__netoutcomes_event_missing"
_SQL_MISSING, _SQL_NUMBER = "__netoutcomes_sql_missing", "__netoutcomes_sql_number"


class NotOnTheFastPath(Exception):
    """The two queries cannot stand for the reader here; ``bad_data``: a reader's
    check failed, so the reader will raise (its error names the first bad row)."""

    def __init__(self, why: str, bad_data: bool = False) -> None:
        super().__init__(why)
        self.bad_data = bad_data


@dataclass(frozen=True)
class Counted:
    tables: GroupedTables
    n_dropped: int  # rows with a missing value in a used column


@dataclass(frozen=True)
class _Query:
    """The used columns, named by role, and the two query results."""

    time: str
    event: str
    entry: str | None
    keys: list[str]  # group and strata columns
    weights: str | None
    used: list[str]  # in the reader's order
    table: Any  # the used columns, an Ibis table
    exits: Any  # pyarrow Table
    entries: Any  # pyarrow Table, or None without entry


def split_count_tables(
    described: Described,
    time: str,
    event: str,
    entry: str | None,
    by: list[str],
    strata: list[str],
    weights: str | None,
    backend: Backend,
    spark_master: str | None,
) -> Counted:
    """The count tables per (strata, by) level, as ``engine.analysis.grouped_tables_on``
    gives them, from the exits and entries queries (module docstring)."""
    keys = list(dict.fromkeys([*by, *strata]))
    roles = [time, event, *([entry] if entry else []), *([weights] if weights else [])]
    if len(set(roles)) < len(roles) or set(roles) & set(keys):
        raise NotOnTheFastPath("a column has two roles")
    used = [*roles[: 3 if entry else 2], *keys, *([weights] if weights else [])]
    described.check_columns(used)  # the reader's first errors, worded as everywhere
    query = _run(described, used, time, event, entry, keys, weights, backend, spark_master)
    return _tables(described, query, by, strata)


def _run(
    described: Described,
    used: list[str],
    time: str,
    event: str,
    entry: str | None,
    keys: list[str],
    weights: str | None,
    backend: Backend,
    spark_master: str | None,
) -> _Query:
    w = [weights] if weights else []
    try:
        table = engine_table(described, backend, spark_master).select(*used)
        groups: list[Any] = [table[c] for c in [*keys, time, event, *w]]
        aggs: dict[str, Any] = {_N: table.count()}
        if entry:
            groups.append(cell_missing(table[entry]).name(_ENTRY_MISSING))
            aggs[_MAX_ENTRY] = cell_number(table[entry]).max()
        exits = table.group_by(groups).aggregate(**aggs)
        entries = None
        if entry:
            # The reader's missing judgement of each distinct time and event, to check
            # the entries query's per-row flag against.
            exits = exits.mutate(**{_TIME_MISSING: cell_missing(exits[time]),
                                    _EVENT_MISSING: cell_missing(exits[event])})  # fmt: skip
            other = cell_missing(table[time]) | cell_missing(table[event])
            entries = table.group_by(
                [*[table[c] for c in [*keys, entry, *w]], other.name(_OTHER_MISSING)]
            ).aggregate(**{_N: table.count()})
            entries = entries.mutate(**{_SQL_MISSING: cell_missing(entries[entry]),
                                        _SQL_NUMBER: cell_number(entries[entry])})  # fmt: skip
        exits_result = exits.to_pyarrow()
        entries_result = None if entries is None else entries.to_pyarrow()
    except Exception as exc:  # a bad file, a column type SQL cannot read: the reader words it
        raise NotOnTheFastPath(f"the engine refused the queries: {exc}") from exc
    if exits_result.num_rows == 0:
        raise NotOnTheFastPath("no rows", bad_data=True)
    return _Query(time, event, entry, keys, weights, used, table, exits_result, entries_result)


def _column(table: Any, name: str, dtype: Any = np.float64) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(), dtype=dtype)


def _flag(table: Any, name: str) -> BoolArray:
    values = table.column(name)
    if values.null_count:
        raise NotOnTheFastPath(f"a NULL flag {name}")
    return _column(table, name, bool)


def _tables(described: Described, q: _Query, by: list[str], strata: list[str]) -> Counted:
    import pyarrow as pa

    path = described.path or _frame_path(described)
    exits, entries = q.exits, q.entries
    n_exits = exits.num_rows
    n_entries = 0 if entries is None else entries.num_rows
    exit_rows = _column(exits, _N)
    entry_rows = np.zeros(0) if entries is None else _column(entries, _N)
    # The reader's typing, over the distinct values with the rows each stands for; in
    # the reader's column order (time, event, entry, groups, weights: it matters for
    # the quoted-columns rule).  Group and weight columns are in both results: typed
    # once over both, the entries' rows counted 0 (the exits already count them).
    raw: dict[str, Any] = {q.time: exits.column(q.time), q.event: exits.column(q.event)}
    counts: dict[str, FloatArray] = {q.time: exit_rows, q.event: exit_rows}
    if q.entry:
        raw[q.entry], counts[q.entry] = entries.column(q.entry), entry_rows
    for c in [*q.keys, *([q.weights] if q.weights else [])]:
        chunks = exits.column(c).chunks + ([] if entries is None else entries.column(c).chunks)
        raw[c] = pa.chunked_array(chunks, type=exits.column(c).type)
        counts[c] = np.concatenate([exit_rows, np.zeros(n_entries)])
    typed = typed_columns(path, described.file_format, raw, q.keys, counts)
    values = typed.values

    missing = {c: missing_mask(v) for c, v in values.items()}
    exit_missing = missing[q.time] | missing[q.event]
    entry_missing = np.zeros(n_entries, dtype=bool)
    for c in [*q.keys, *([q.weights] if q.weights else [])]:
        exit_missing |= missing[c][:n_exits]
        entry_missing |= missing[c][n_exits:]
    if q.entry:
        # The SQL flags must be the reader's judgement of the same values.
        if not (
            np.array_equal(_flag(exits, _TIME_MISSING), missing[q.time])
            and np.array_equal(_flag(exits, _EVENT_MISSING), missing[q.event])
            and np.array_equal(_flag(entries, _SQL_MISSING), missing[q.entry])
        ):
            raise NotOnTheFastPath("SQL and the reader disagree on a missing value")
        exit_missing |= _flag(exits, _ENTRY_MISSING)
        entry_missing |= missing[q.entry] | _flag(entries, _OTHER_MISSING)
    keep, keep_entry = ~exit_missing, ~entry_missing
    if not keep.any():
        raise no_rows_left(path, float(exit_rows.sum()), q.used)

    # The reader's checks, in its order; a failure names the first failing data row.
    fail = _Failures(q, path, described.row_noun)
    t = _numbers(values[q.time], keep, q.time, fail.on_exits)
    fail.on_exits(keep & ~np.isfinite(t), q.time, lambda g, _: not_finite(t[g]))
    fail.on_exits(keep & (t < 0), q.time, lambda g, _: negative("time", t[g]))
    ev, bad_events = event_coding(values[q.event], keep)
    fail.on_exits(bad_events, q.event, lambda g, _: bad_event(values[q.event][g]))
    assert ev is not None
    start = None
    largest_entry = None
    if q.entry:
        entry_times = start = _numbers(values[q.entry], keep_entry, q.entry, fail.on_entries)
        fail.on_entries(keep_entry & ~np.isfinite(entry_times), q.entry,
                        lambda g, _: not_finite(entry_times[g]))  # fmt: skip
        present = ~missing[q.entry]
        sql_number = _column(entries, _SQL_NUMBER)
        if not np.array_equal(sql_number[present], start[present]):
            raise NotOnTheFastPath("SQL and the reader read an entry time differently")
        largest_entry = _column(exits, _MAX_ENTRY)
        fail.on_exits(keep & ~(largest_entry < t), q.entry,
                      lambda g, a: entry_not_before(a, t[g], q.time), threshold=t)  # fmt: skip
    exit_weights, entry_weights = exit_rows, entry_rows
    if q.weights:
        _numbers(values[q.weights][:n_exits], keep, q.weights, fail.on_exits)
        w = values[q.weights]
        w_exits = w[:n_exits]
        fail.on_exits(keep & ~np.isfinite(w_exits), q.weights,
                      lambda g, _: not_finite(w_exits[g]))  # fmt: skip
        fail.on_exits(keep & (w_exits < 0), q.weights, lambda g, _: negative("weight", w_exits[g]))
        exit_weights, entry_weights = exit_rows * w_exits, entry_rows * w[n_exits:]

    # R's aeqSurv over every kept exit and entry time (survival.timefix).
    both = t[keep] if start is None else np.concatenate([t[keep], start[keep_entry]])
    cuts = tied_time_cuts(both)
    if cuts is not None:
        exit_time = t
        t = snap_times(cuts, t)
        if start is not None and largest_entry is not None:
            start = snap_times(cuts, start)
            collapsed = keep & ~(snap_times(cuts, largest_entry) < t)
            fail.on_exits(collapsed, None, lambda g, a: collapsed_interval(a, exit_time[g]),
                          threshold=t)  # fmt: skip

    def key_columns(names: list[str], part: slice, rows: BoolArray) -> Any:
        return [(c, values[c][part][rows]) for c in names] if names else None

    exit_part, entry_part = slice(0, n_exits), slice(n_exits, n_exits + n_entries)
    doubles = typed.written_as_double
    groups, group_codes = _labels(key_columns(by, exit_part, keep), doubles, int(keep.sum()))
    strata_names, strata_codes = _labels(
        key_columns(strata, exit_part, keep), doubles, int(keep.sum())
    )
    if start is not None:
        n_in = int(keep_entry.sum())
        entry_groups, entry_group_codes = _labels(key_columns(by, entry_part, keep_entry),
                                                  doubles, n_in)  # fmt: skip
        entry_strata, entry_strata_codes = _labels(
            key_columns(strata, entry_part, keep_entry), doubles, n_in
        )
        if (entry_groups, entry_strata) != (groups, strata_names):
            raise NotOnTheFastPath("the two queries disagree on the levels")

    kept_time, kept_event = t[keep], ev[keep]
    kept_exit_weights, kept_rows = exit_weights[keep], exit_rows[keep]
    tables: dict[tuple[str, str], CountTable] = {}
    for si, s in enumerate(strata_names):
        for gi, g in enumerate(groups):
            rows = (strata_codes == si) & (group_codes == gi)
            if not rows.any():
                continue
            entry_time, entry_w = None, None
            if start is not None:
                sel = (entry_strata_codes == si) & (entry_group_codes == gi)
                entry_time, entry_w = start[keep_entry][sel], entry_weights[keep_entry][sel]
            tables[(s, g)] = exits_and_entries_table(
                kept_time[rows], kept_event[rows], kept_exit_weights[rows],
                entry_time, entry_w, n=int(round(float(kept_rows[rows].sum()))),
            )  # fmt: skip
    n_dropped = int(round(float(exit_rows[~keep].sum())))
    return Counted(GroupedTables(groups=groups, strata=strata_names, tables=tables), n_dropped)


def _numbers(
    values: np.ndarray, keep: BoolArray, column: str, report: Callable[..., None]
) -> FloatArray:
    """A column the reader types as numbers.  One typed as text (it has a cell that is
    not a number): the reader's error if a kept cell is one (``report``: the failing
    groups); else the reader's way decides (its kept cells are numbers written oddly)."""
    if values.dtype == np.float64:
        return values
    refused = np.zeros(values.size, dtype=bool)
    for i in np.flatnonzero(keep):
        try:
            float(values[i])
        except (TypeError, ValueError):
            refused[i] = True
    report(refused, column, lambda g, _: not_a_number(values[g]))
    raise NotOnTheFastPath("a text column whose kept cells are numbers")


class _Failures:
    """Raise the reader's error for the first data row in failing groups of a query."""

    def __init__(self, q: _Query, path: Any, noun: str) -> None:
        self.q, self.path, self.noun = q, path, noun
        w = [q.weights] if q.weights else []
        self.exit_keys = [*q.keys, q.time, q.event, *w]
        self.entry_keys = [*q.keys, *([q.entry] if q.entry else []), *w]

    def on_exits(
        self,
        failing: BoolArray,
        column: str | None,
        what: Callable[[int, Any], Any],
        threshold: FloatArray | None = None,
    ) -> None:
        """``failing`` exits groups; ``what(group, entry)``: the error's words (or, for
        ``column`` None, the error); ``threshold``: per group, the entry at or above
        which a row of the group fails."""
        if failing.any():
            q = self.q
            others = [q.entry] if q.entry else []
            self._raise(q.exits, self.exit_keys, failing, others, column, what, threshold)

    def on_entries(self, failing: BoolArray, column: str, what: Callable[[int, Any], Any]) -> None:
        if failing.any():
            q = self.q
            others = [q.time, q.event]
            self._raise(q.entries, self.entry_keys, failing, others, column, what, None)

    def _raise(
        self,
        result: Any,
        keys: list[str],
        failing: BoolArray,
        others: list[str],
        column: str | None,
        what: Callable[[int, Any], Any],
        threshold: FloatArray | None,
    ) -> None:
        index = np.flatnonzero(failing)
        try:
            found = first_bad_row(
                self.q.table, result, keys, index, others,
                self.q.entry if threshold is not None else None,
                None if threshold is None else threshold[index],
            )  # fmt: skip
        except Exception as exc:  # an engine that cannot run it: the reader's way
            raise NotOnTheFastPath("no query for the first bad row", bad_data=True) from exc
        if found is None:
            raise NotOnTheFastPath("the first bad row not found", bad_data=True)
        row, group, entry = found
        if column is None:
            raise what(group, entry)
        raise row_error(self.path, row, self.noun, column, what(group, entry))


def _labels(columns: Any, doubles: frozenset[str], n: int) -> tuple[list[str], NDArray[np.intp]]:
    names, codes = crossed_level_labels(columns, doubles)
    if columns is None:
        codes = np.zeros(n, dtype=np.intp)
    return names, codes


def _frame_path(described: Described) -> Any:
    from pathlib import Path

    return Path(described.name)  # what errors call an in-memory frame: "<DataFrame>"
