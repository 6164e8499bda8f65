"""Count tables (the sufficient statistics of Kaplan-Meier and log-rank) computed by the engine.

One Ibis expression: a GROUP BY (strata, exit time, event code) with a count
over the rows, UNION ALL (with delayed entry) a GROUP BY (strata, entry time)
over the complete rows.  Events and censorings, bad event codes, negative
times and rows with a missing key are read off the groups in numpy, so in the
common case the engine does exactly what a bare GROUP BY does.  The result
has one row per (stratum, distinct time, event code) and is finished in numpy
into ``survival.counts.CountTable`` objects, exactly as
``survival.counts.count_table`` builds them from arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from netoutcomes.engine.backends import Source
from netoutcomes.errors import InputError
from netoutcomes.survival.counts import CountTable, FloatArray, count_table
from netoutcomes.survival.cox import r_timefix
from netoutcomes.survival.design import level_sort_key as text_sort_key
from netoutcomes.survival.groups import ALL, GroupedTables, format_level

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

# Column names of the internal expression; prefixed so they cannot clash with user columns.
_T, _E, _A, _W, _MISS = "__time", "__event", "__entry", "__weight", "__missing"


@dataclass(frozen=True)
class CountTables:
    """Count tables per stratum label, sorted like R's factor levels.

    ``tables`` maps a label (``"sex=female"``, ``"trt=test, celltype=large"``,
    or ``"all"`` without by/strata columns) to its CountTable; ``levels`` maps
    the same label to its column values.  ``n_dropped`` rows had a missing
    value in a used column and were left out.
    """

    tables: dict[str, CountTable]
    levels: dict[str, dict[str, Any]]
    n_dropped: int
    by: tuple[str, ...] = ()
    strata: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return sum(t.n for t in self.tables.values())

    def grouped(self) -> GroupedTables:
        """The tables as ``survival.groups.GroupedTables`` (at most one by- and one strata
        column): what ``survival.curves.km_by_group`` and ``survival.logrank`` take."""
        if len(self.by) > 1 or len(self.strata) > 1:
            raise InputError("give at most one group column and one strata column")

        def labels(columns: tuple[str, ...]) -> list[str]:
            if not columns:
                return [ALL]
            values = {lv[columns[0]] for lv in self.levels.values()}
            return [stratum_label(columns, (v,)) for v in sorted(values, key=level_sort_key)]

        tables: dict[tuple[str, str], CountTable] = {}
        for label, table in self.tables.items():
            lv = self.levels[label]
            group = stratum_label(self.by, [lv[c] for c in self.by])
            stratum = stratum_label(self.strata, [lv[c] for c in self.strata])
            tables[(stratum, group)] = table
        return GroupedTables(groups=labels(self.by), strata=labels(self.strata), tables=tables)


def as_columns(columns: str | Sequence[str] | None) -> tuple[str, ...]:
    if columns is None:
        return ()
    if isinstance(columns, str):
        return (columns,)
    return tuple(columns)


def level_text(value: Any) -> str:
    """A level as R prints it in a label (``TRUE``, ``1``, ``0.5``, ``male``); numbers as
    ``survival.groups.format_level`` prints them, so every backend gives the same labels."""
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | np.integer):
        return str(int(value))
    return format_level(value)


def stratum_label(columns: Sequence[str], values: Sequence[Any]) -> str:
    if not columns:
        return ALL
    return ", ".join(f"{c}={level_text(v)}" for c, v in zip(columns, values, strict=True))


def level_sort_key(value: Any) -> Any:
    """R's factor level order: numbers as numbers (2 before 10); text in R's collation
    (``survival.design.level_sort_key``, the order the in-memory path uses)."""
    if isinstance(value, bool | np.bool_ | int | np.integer | float | np.floating):
        return (0, float(value), ())
    return (1, 0.0, text_sort_key(str(value)))


def crossed_labels(columns: Sequence[str], combos: Sequence[Sequence[Any]]) -> list[str]:
    """Labels of level combinations as R's ``survfit(Surv(t, e) ~ a + b)`` prints them:
    ``a=x, b=y``, the parts of the second and later columns padded with trailing spaces
    to a common width (R's ``format()``), as ``survival.groups.crossed_level_labels``."""
    if not columns:
        return [ALL] * len(combos)
    parts = [[f"{c}={level_text(combo[i])}" for combo in combos] for i, c in enumerate(columns)]
    for i in range(1, len(columns)):
        width = max((len(x) for x in parts[i]), default=0)
        parts[i] = [x.ljust(width) for x in parts[i]]
    return [", ".join(col[j] for col in parts) for j in range(len(combos))]


def used_columns(*groups: str | Sequence[str] | None) -> list[str]:
    out: list[str] = []
    for g in groups:
        out.extend(as_columns(g))
    return list(dict.fromkeys(out))


def check_columns(source: Source, columns: Sequence[str]) -> None:
    assert source.table is not None
    have = list(source.table.columns)
    for c in columns:
        if c not in have:
            raise InputError(f"{source.name}: no column {c!r}; the columns are: {', '.join(have)}")


def missing_flag(table: ir.Table, columns: Sequence[str]) -> ir.BooleanValue:
    """True where any of ``columns`` is NULL (or NaN, for floating columns)."""
    import ibis

    flag: ir.BooleanValue = ibis.literal(False)
    for c in columns:
        col = table[c]
        miss = col.isnull()
        if col.type().is_floating():
            miss = miss | col.isnan()
        flag = flag | miss
    return flag


# ---------------------------------------------------------------------------
# The engine query


def count_tables_expr(
    table: ir.Table,
    time: str,
    event: str,
    entry: str | None = None,
    keys: Sequence[str] = (),
    weights: str | None = None,
) -> ir.Table:
    """The one Ibis expression whose result holds every count table (see module doc).

    Exits are grouped by (keys, time, event) with the raw column values: the
    result says per group how many rows (and their weight) left with that event
    code, so events and censorings, bad event codes, negative times and
    missing values (NULL or NaN keys) are all read off the groups in numpy,
    and the engine does no more work than a plain GROUP BY.  Only a missing
    entry or weight needs a flag column of its own.
    """
    import ibis

    f64, i64 = "float64", "int64"
    time_key = table[time].cast(f64).name(_T) if entry else table[time].name(_T)
    group_keys = [*(table[k] for k in keys), time_key, table[event].name(_E)]
    aggs: dict[str, Any] = {"n": table.count()}
    if not entry and not weights:
        # The common case is exactly the floor: GROUP BY keys, time, event with a count.
        return table.group_by(group_keys).aggregate(**aggs)
    others = [c for c in (entry, weights) if c]
    group_keys.append(missing_flag(table, others).name(_MISS))
    ok = ~missing_flag(table, used_columns(time, event, entry, keys, weights))
    zero_i = ibis.literal(0, i64)
    aggs["sum_w"] = table[weights].cast(f64).sum() if weights else table.count().cast(f64)
    if weights:
        aggs["bad_weight"] = (ok & (table[weights] < 0)).cast(i64).sum()
    if entry:
        aggs["bad_entry"] = (ok & (table[entry] >= table[time])).cast(i64).sum()
    exits = table.group_by(group_keys).aggregate(**aggs)
    if not entry:
        return exits
    entered = table.filter(ok)
    entries = entered.group_by([*(entered[k] for k in keys), entered[entry].cast(f64).name(_T)])
    entry_aggs: dict[str, Any] = {
        _E: ibis.null(table[event].type()),
        _MISS: ibis.literal(False),
        "n": zero_i,
        "bad_entry": zero_i,
    }
    if weights:
        entry_aggs.update(sum_w=entered[weights].cast(f64).sum(), bad_weight=zero_i)
    else:
        entry_aggs["sum_w"] = entered.count().cast(f64)
    entries_agg = entries.aggregate(**entry_aggs)
    return exits.union(entries_agg.select(exits.columns), distinct=False)


def fail_on_bad_values(
    name: str,
    result: pa.Table,
    time: str,
    event: str,
    entry: str | None,
    weights: str | None,
) -> None:
    """InputError when a count column of ``result`` (``bad_event``, ``bad_time``,
    ``bad_entry``, ``bad_weight``) is non-zero; absent columns are not checked."""
    checks = [
        ("bad_event", event, "have an event value other than 0/1"),
        ("bad_time", time, "have a negative time"),
        ("bad_entry", entry, f"have an entry time not before the exit time in {time!r}"),
        ("bad_weight", weights, "have a negative weight"),
    ]
    for key, column, what in checks:
        if key not in result.column_names:
            continue
        count = int(np.asarray(result.column(key).to_numpy(zero_copy_only=False)).sum())
        if count:
            raise InputError(f"{name}: column {column!r}: {count} rows {what}")


def _as_float(result: pa.Table, name: str) -> np.ndarray:
    """A result column as float64 with NaN for NULL (booleans as 0/1)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = result.column(name)
    if pa.types.is_boolean(col.type):
        col = pc.cast(col, "int8")
    return np.asarray(pc.cast(col, "float64").to_numpy(zero_copy_only=False), dtype=np.float64)


def _split_missing_and_check(
    name: str,
    result: pa.Table,
    keys: Sequence[str],
    time: str,
    event: str,
    entry: str | None,
    weights: str | None,
) -> tuple[pa.Table, int]:
    """Drop the groups of rows with a missing value (counting them) and check the values."""
    import pyarrow as pa

    # Entry groups (only with an entry column) are the ones with n = 0.
    is_exit = _as_float(result, "n") > 0
    missing = np.zeros(result.num_rows, dtype=bool)
    if _MISS in result.column_names:
        missing |= np.asarray(result.column(_MISS).to_numpy(zero_copy_only=False), dtype=bool)
    for c in [*keys, _T, _E]:
        miss_c = _is_null(result, c)
        if pa.types.is_floating(result.column(c).type):
            miss_c |= np.isnan(_as_float(result, c))
        missing |= miss_c & is_exit
    n = _as_float(result, "n")
    n_dropped = int(n[missing].sum())
    ev = _as_float(result, _E)
    tm = _as_float(result, _T)
    exits_kept = is_exit & ~missing
    bad = {
        "bad_event": np.where(exits_kept & ~np.isin(ev, (0.0, 1.0)), n, 0.0),
        "bad_time": np.where(exits_kept & (tm < 0), n, 0.0),
    }
    bad.update(
        {c: _as_float(result, c) for c in ("bad_entry", "bad_weight") if c in result.column_names}
    )
    fail_on_bad_values(name, pa.table(bad), time, event, entry, weights)
    return result.filter(pa.array(~missing)), n_dropped


def _is_null(result: pa.Table, name: str) -> np.ndarray:
    import pyarrow.compute as pc

    return np.asarray(pc.is_null(result.column(name)).to_numpy(zero_copy_only=False), dtype=bool)


def _key_codes(result: pa.Table, keys: Sequence[str]) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """One integer code per result row for its key tuple, codes in sorted (R level) order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = result.num_rows
    if not keys:
        return np.zeros(n, dtype=np.int64), [()]
    per_key_levels: list[list[Any]] = []
    per_key_idx: list[np.ndarray] = []
    for k in keys:
        column = result.column(k)
        levels = sorted(set(pc.unique(column).to_pylist()), key=level_sort_key)
        # index_in is vectorised: no Python loop over the (many) result rows.
        idx = pc.index_in(column, value_set=pa.array(levels, type=column.type))
        per_key_levels.append(levels)
        per_key_idx.append(np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64))
    code = np.zeros(n, dtype=np.int64)
    for levels, idx in zip(per_key_levels, per_key_idx, strict=True):
        code = code * len(levels) + idx
    used_codes = np.unique(code)
    tuples = []
    for c in used_codes:
        parts = []
        rem = int(c)
        for levels in reversed(per_key_levels):
            rem, i = divmod(rem, len(levels))
            parts.append(levels[i])
        tuples.append(tuple(reversed(parts)))
    return np.searchsorted(used_codes, code), tuples


def _tables_from_result(kept: pa.Table, keys: Sequence[str]) -> dict[tuple[Any, ...], CountTable]:
    """Count tables per key tuple (in R's level order) from the engine's result."""
    if kept.num_rows == 0:
        return {}
    code, tuples = _key_codes(kept, keys)
    # Times that differ only by rounding error are tied first, as R's aeqSurv and the
    # in-memory path do; its grid is the distinct exit and entry times, all in the result.
    time, _ = r_timefix(_as_float(kept, _T), None)
    ev = _as_float(kept, _E)  # NaN on entry rows
    sum_w = _as_float(kept, "sum_w") if "sum_w" in kept.column_names else _as_float(kept, "n")
    n = _as_float(kept, "n")
    is_entry = np.isnan(ev)
    sums = {
        "n": n,
        "n_event": np.where(ev == 1.0, sum_w, 0.0),
        "n_censor": np.where(ev == 0.0, sum_w, 0.0),
        "n_enter": np.where(is_entry, sum_w, 0.0),
    }
    # Sort by (stratum, time) and merge the rows that share a time.
    order = np.lexsort((time, code))
    code, time = code[order], time[order]
    sums = {k: v[order] for k, v in sums.items()}
    tables: dict[tuple[Any, ...], CountTable] = {}
    bounds = np.searchsorted(code, np.arange(len(tuples) + 1))
    for s, values in enumerate(tuples):
        lo, hi = bounds[s], bounds[s + 1]
        grid, inverse = np.unique(time[lo:hi], return_inverse=True)
        merged: dict[str, FloatArray] = {
            k: np.bincount(inverse, weights=v[lo:hi], minlength=grid.size).astype(np.float64)
            for k, v in sums.items()
        }
        tables[values] = CountTable(
            time=grid,
            n_event=merged["n_event"],
            n_censor=merged["n_censor"],
            n_enter=merged["n_enter"],
            n=int(round(merged["n"].sum())),
        )
    return tables


def _memory_count_tables(
    source: Source,
    time: str,
    event: str,
    entry: str | None,
    keys: Sequence[str],
    weights: str | None,
) -> tuple[dict[tuple[Any, ...], CountTable], int]:
    from netoutcomes.engine.source import survival_data

    assert source.path is not None
    extra = used_columns(keys, weights)
    data = survival_data(source.path, time, event, entry, extra=extra)
    w = None
    if weights:
        w = np.asarray(data.columns[weights])
        if w.dtype != np.float64:
            raise InputError(f"{source.name}: column {weights!r}: weights must be numbers")
    n = data.n
    key_values = [tuple(data.columns[k][i] for k in keys) for i in range(n)]
    distinct = sorted(set(key_values), key=lambda tup: tuple(level_sort_key(v) for v in tup))
    index = {tup: i for i, tup in enumerate(distinct)}
    code = np.fromiter((index[tup] for tup in key_values), dtype=np.int64, count=n)
    exit_times, entry_times = r_timefix(data.time, data.entry)
    tables: dict[tuple[Any, ...], CountTable] = {}
    for i, tup in enumerate(distinct):
        rows = code == i
        tables[tup] = count_table(
            exit_times[rows],
            data.event[rows],
            None if entry_times is None else entry_times[rows],
            None if w is None else w[rows],
        )
    return tables, data.n_dropped


def survival_count_tables(
    source: Source,
    time: str,
    event: str,
    entry: str | None = None,
    by: str | Sequence[str] | None = None,
    strata: str | Sequence[str] | None = None,
    weights: str | None = None,
) -> CountTables:
    """Count tables per (by, strata) level of ``source``, computed where the data lives.

    ``time`` is the exit time, ``event`` 0/1 (or boolean), ``entry`` the
    delayed-entry time (at risk on (entry, time]).  Labels join by-columns
    then strata columns, as R's ``survfit(Surv(...) ~ by + strata(s))``.
    Raises InputError for a missing column, an event not 0/1, a negative
    time or weight, an entry not before the exit, or no rows left.
    """
    by_cols, strata_cols = as_columns(by), as_columns(strata)
    keys = list(dict.fromkeys([*by_cols, *strata_cols]))
    if source.backend == "memory":
        by_key, n_dropped = _memory_count_tables(source, time, event, entry, keys, weights)
    else:
        assert source.table is not None
        check_columns(source, used_columns(time, event, entry, keys, weights))
        expr = count_tables_expr(source.table, time, event, entry, keys, weights)
        result = expr.to_pyarrow()
        kept, n_dropped = _split_missing_and_check(
            source.name, result, keys, time, event, entry, weights
        )
        by_key = _tables_from_result(kept, keys)
    if not by_key:
        raise InputError(f"{source.name}: no rows left after dropping {n_dropped} rows")
    # R's survfit labels: strata columns appear as strata(column)=level.
    shown = [f"strata({k})" if k in strata_cols and k not in by_cols else k for k in keys]
    labels = crossed_labels(shown, list(by_key))
    tables = dict(zip(labels, by_key.values(), strict=True))
    levels = {
        lab: dict(zip(keys, tup, strict=True)) for lab, tup in zip(labels, by_key, strict=True)
    }
    return CountTables(tables, levels, n_dropped, by_cols, strata_cols)
