"""The reader's rules for a Cox fit on the engine, as SQL: one check query, the model rows.

``check``: one aggregate query over the source, grouped by (row missing a used
value?, strata, factor columns): counts, the reader's checks (numbers, times >= 0,
event codes, entry < exit, weights >= 0), the sums for the covariate means and
whether the times are whole numbers.  The small result is typed by
``engine.source``'s rules (the typing of a column depends only on its distinct
values), so strata labels, factor levels and the 0/1 or 1/2 event coding are the
memory path's.  When a check fails, the rows are read and the memory path's reader
names the first bad row (``reader_error``: the error path only).

``model_rows``: the kept rows as the passes read them (``engine.cox_passes``), compact
where exact: the event as int8, whole-number times as integers, the design columns
centred doubles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from netoutcomes.engine.backends import Backend
from netoutcomes.engine.cox_memory import numeric_columns, spec_survival_data
from netoutcomes.engine.cox_passes import A, C, E, StratumCodes, T, W, column
from netoutcomes.engine.inputs import Described, engine_columns
from netoutcomes.engine.source import typed_columns
from netoutcomes.engine.sql_cells import MISSING_TEXT, strip_text
from netoutcomes.errors import InputError
from netoutcomes.survival.groups import crossed_level_labels
from netoutcomes.survival.model_spec import CoxSpec, DesignColumn, design_columns_values

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

_TRUE_TEXT = ["TRUE", "true", "True", "T"]
_FALSE_TEXT = ["FALSE", "false", "False", "F"]
_MISS, _N = "__missing", "__n"


@dataclass(frozen=True)
class TypedColumns:
    """Typed Ibis expressions over the source table."""

    number: dict[str, Any]  # float64 value (NULL where the text is not a number)
    missing_of: dict[str, Any]  # per used column: its cell is missing in this row

    @property
    def missing(self) -> Any:
        """A used column is missing in this row."""
        return self.missing_except([])

    def missing_except(self, keys: list[str]) -> Any:
        """A used column other than ``keys`` is missing in this row."""
        return _any(*(m for c, m in self.missing_of.items() if c not in keys))


@cache
def _isfinite() -> Any:
    import ibis

    @ibis.udf.scalar.builtin(name="isfinite")
    def isfinite(x: float) -> bool:  # type: ignore[empty-body]
        """DuckDB's isfinite."""

    return isfinite


def _is_nan(col: Any) -> Any:
    """The float cell is NaN (a missing value to the reader).

    Not ``isnan`` on DuckDB: its optimiser (2.0.1) folds ``isnan(x)`` to false when a
    Parquet file's statistics, which leave NaN out, bound the column, so a NaN cell
    was read as present and its row stayed in the fit (a NaN covariate made the fit
    fail as singular).  ``isfinite`` is not folded: NaN is neither finite nor
    infinite."""
    if _backend_name(col) != "duckdb":
        return col.isnan()
    return ~_isfinite()(col) & ~col.isinf()


def _backend_name(col: Any) -> str:
    try:
        return str(col._find_backend().name)
    except Exception:  # an unbound expression: no backend to ask
        return ""


def _stripped(col: Any) -> Any:
    """The text stripped as the reader strips it (``sql_cells.strip_text``), computed
    only where it changes something.

    Stripping (TRIM with a list of characters) costs ~140 ns a cell on DuckDB, most
    of a CSV query's time; every character it removes has code <= 32, so a text whose
    first and last characters are above 32 is its own stripped text.  A CASE, so that
    the engine strips only the other cells."""
    import ibis

    padded = (col.ascii_str() <= 32) | (col.right(1).ascii_str() <= 32)
    return ibis.ifelse(padded, strip_text(col), col)


def typed(table: ir.Table, used: list[str]) -> TypedColumns:
    number: dict[str, Any] = {}
    missing: dict[str, Any] = {}
    for c in used:
        col = table[c]
        kind = col.type()
        if kind.is_string():
            text = _stripped(col)
            missing[c] = col.isnull() | text.isin(MISSING_TEXT)
            number[c] = text.try_cast("float64")
        else:
            number[c] = col.cast("float64")
            missing[c] = col.isnull()
            if kind.is_floating():
                missing[c] = missing[c] | _is_nan(col)
    return TypedColumns(number, missing)


def _event_value(table: ir.Table, name: str) -> Any:
    import ibis

    col = table[name]
    if not col.type().is_string():
        return col.cast("float64")
    text = _stripped(col)
    return ibis.cases(
        (text.isin(_TRUE_TEXT), 1.0), (text.isin(_FALSE_TEXT), 0.0), else_=text.try_cast("float64")
    )


def _numeric_product(spec_column: Any, number: dict[str, Any]) -> Any:
    """The product of a design column's numeric parts (None if it has none)."""
    value: Any = None
    for name, level in spec_column.parts:
        if level is None:
            value = number[name] if value is None else value * number[name]
    return value


@dataclass(frozen=True)
class Checked:
    n: int
    nevent: int
    event_is_two: bool  # R's 1/2 coding: 2 = event
    means: np.ndarray  # what R's coxph centres on (weighted; 0 for -1/0/1 columns)
    plain_means: np.ndarray  # unweighted column means (R's means for an aliased fit)
    zero_one: np.ndarray  # True for a column of -1, 0 and 1 only (R neither centres nor scales it)
    codes: StratumCodes
    labels: list[str]
    # Per strata/factor column, the raw values of the source that are missing cells
    # (besides NULL and NaN); per factor part (column, level), the raw values that
    # are that level.  Both read off the check's groups in Python: the model rows then
    # need no per-row TRIM (~40% of their query's CPU at 1e7 rows, measured).
    key_missing: dict[str, list[Any]]
    level_values: dict[tuple[str, str], list[Any]]
    n_dropped: int
    # The integer type the time columns (exit, entry) are stored as in the model rows
    # when every kept value of both is a whole number ("int32"/"int64"), else None.
    integer_times: str | None


def reader_error(
    described: Described, spec: CoxSpec, backend: Backend, master: str | None
) -> InputError:
    """The memory path's error for the first bad row: read the rows and let it word it."""
    raw, _, _ = engine_columns(described, spec.used_columns, backend, master, "rows")
    try:
        spec_survival_data(described, spec, raw)
    except InputError as exc:
        return exc
    return InputError(f"{described.name}: a value the reader refuses (no row found)")


def _bad_number(table: ir.Table, name: str, number: Any) -> Any:
    """A kept cell that is not a finite number: text that is no number, or +-inf.

    Only for the kept rows (a missing cell, NULL or NaN, drops its row first), so a
    column of integers has none: the check spends no per-row work on it."""
    kind = table[name].type()
    if kind.is_string():
        return number.isnull() | number.isinf()
    if kind.is_floating():
        return number.isinf()
    return None


def _count(flag: Any) -> Any:
    """How many rows have ``flag``: SUM of it as an integer, ~2.5x cheaper on DuckDB than
    ``COUNT(*) FILTER (WHERE flag)`` (measured at 1e7 rows); NULL counts as false."""
    return flag.cast("int64").sum()


def _any(*flags: Any) -> Any:
    present = [f for f in flags if f is not None]
    out = present[0]
    for f in present[1:]:
        out = out | f
    return out


def _time_aggregates(table: ir.Table, i: int, name: str, number: Any, aggs: dict[str, Any]) -> None:
    """Whether time column ``i`` holds whole numbers only, and their range: stored as
    integers, the steps' GROUP BY keys are integers (see ``cox_passes.run_step``)."""
    aggs[f"tmin{i}"], aggs[f"tmax{i}"] = number.min(), number.max()
    if not table[name].type().is_integer():
        aggs[f"tfrac{i}"] = _count((number % 1.0) != 0.0)


def _integer_times(good: pa.Table, times: list[str]) -> str | None:
    """The integer type ("int32", "int64") that holds the kept values of the time
    columns exactly when they are all whole numbers, else None (stored as doubles).
    One type for exit and entry: the steps stack them in one column."""
    low, high = np.inf, -np.inf
    for i in range(len(times)):
        if f"tfrac{i}" in good.column_names and int(column(good, f"tfrac{i}").sum()):
            return None
        low = min(low, float(np.min(column(good, f"tmin{i}").astype(np.float64))))
        high = max(high, float(np.max(column(good, f"tmax{i}").astype(np.float64))))
    if low >= -(2.0**31) and high < 2.0**31:
        return "int32"
    return "int64" if low >= -(2.0**53) and high <= 2.0**53 else None


def _null_or_nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _missing_cell(value: Any) -> bool:
    """The reader's missing cell (``typed``'s rule in Python, on one distinct value):
    NULL, NaN, or a text that is empty or NA/NaN/nan once stripped."""
    if isinstance(value, str):
        return value.strip() in MISSING_TEXT
    return _null_or_nan(value)


def _level_values(
    spec: CoxSpec, good: pa.Table, typed: dict[str, np.ndarray]
) -> dict[tuple[str, str], list[Any]]:
    """Per factor part (column, level): the raw values whose typed value is the level
    (``design_columns_values``'s comparison, on the kept groups)."""
    out: dict[tuple[str, str], list[Any]] = {}
    for sc in spec.columns:
        for name, level in sc.parts:
            if level is None or (name, level) in out:
                continue
            part = DesignColumn(name, name, ((name, level),))
            hit = design_columns_values((part,), {name: typed[name]})[:, 0] == 1.0
            raw = good.column(name).to_pylist()
            out[(name, level)] = list(dict.fromkeys(v for v, h in zip(raw, hit, strict=True) if h))
    return out


def check(
    described: Described, spec: CoxSpec, table: ir.Table, cols: TypedColumns, raise_error: Any
) -> Checked:
    """Query 1: counts, checks and sums for the means, grouped by strata and factor columns.

    Grouped by "row missing a used value" too, so every count of a kept group is a
    count over kept rows: the per-row checks need no ``kept AND`` of their own."""

    numbers = [c for c in numeric_columns(spec) if c not in (spec.time, spec.event)]
    factors = list(dict.fromkeys(n for c in spec.columns for n, lv in c.parts if lv is not None))
    keys = list(dict.fromkeys([*spec.strata, *factors]))
    ev = _event_value(table, spec.event)
    tm = cols.number[spec.time]
    bad_parts = [_bad_number(table, spec.time, tm), tm < 0]
    if table[spec.event].type().is_string():
        bad_parts.append(ev.isnull())
    bad_parts += [_bad_number(table, name, cols.number[name]) for name in numbers]
    if spec.entry:
        entry = cols.number[spec.entry]
        bad_parts += [_bad_number(table, spec.entry, entry), entry >= tm]
    if spec.weights:
        weight = cols.number[spec.weights]
        bad_parts += [_bad_number(table, spec.weights, weight), weight < 0]
    # Means as survival.cox.centred: weighted, but unweighted for (start, stop] data.
    w = cols.number[spec.weights] if spec.weights and not spec.entry else None
    aggs: dict[str, Any] = {
        _N: table.count(),
        "bad": _count(_any(*bad_parts)),
        "e0": _count(ev == 0.0),
        "e1": _count(ev == 1.0),
        "e2": _count(ev == 2.0),
    }
    if w is not None:
        aggs["sw"] = w.sum()
    products: dict[int, Any] = {}
    for j, sc in enumerate(spec.columns):
        prod = _numeric_product(sc, cols.number)
        if prod is None:  # factor levels only: the product of its numeric parts is 1
            continue
        products[j] = prod
        aggs[f"sp{j}"] = prod.sum()
        if w is not None:
            aggs[f"swp{j}"] = (w * prod).sum()
        aggs[f"other{j}"] = _count((prod != 0.0) & (prod.abs() != 1.0))
    times = [spec.time, *([spec.entry] if spec.entry else [])]
    for i, name in enumerate(times):
        _time_aggregates(table, i, name, cols.number[name], aggs)
    grouping = cols.missing_except(keys).name(_MISS)
    result = table.group_by([grouping, *keys]).aggregate(**aggs).to_pyarrow()
    missing = column(result, _MISS).astype(bool)
    key_missing: dict[str, list[Any]] = {}
    for k in keys:
        raw_key = result.column(k).to_pylist()
        flags = np.array([_missing_cell(v) for v in raw_key], dtype=bool)
        key_missing[k] = list(dict.fromkeys(v for v, f in zip(raw_key, flags, strict=True)
                                            if f and not _null_or_nan(v)))  # fmt: skip
        missing |= flags
    good = result.filter(~missing)
    n = int(column(good, _N).sum()) if good.num_rows else 0
    if n == 0 or int(column(good, "bad").sum()):
        raise raise_error()
    e0, e1, e2 = (int(column(good, k).sum()) for k in ("e0", "e1", "e2"))
    # No bad value, so no event value is NULL: the others are the rest.
    not01, not12 = n - e0 - e1, n - e1 - e2
    event_is_two = not12 == 0 and e2 > 0
    if not01 and not event_is_two:
        raise raise_error()
    counts = column(good, _N).astype(np.float64)
    typed = typed_columns(
        described.path or __import__("pathlib").Path(described.name),
        described.file_format,
        {k: good.column(k) for k in keys},
        keys,
        counts,
    ).values if keys else {}  # fmt: skip
    # Per group: the design columns' level indicators (numeric parts taken as 1).
    on_keys = {k: typed[k] for k in keys}
    for name in numbers:
        on_keys.setdefault(name, np.ones(good.num_rows))
    on_keys.setdefault(_N, np.ones(good.num_rows))  # so the design has one row per group
    indicator = design_columns_values(spec.columns, on_keys)
    group_w = column(good, "sw").astype(np.float64) if w is not None else counts
    p = len(spec.columns)
    sp, swp, other = np.zeros(p), np.zeros(p), np.zeros(p)
    for j in range(p):
        ind = indicator[:, j]
        if j in products:
            sp[j] = float(np.dot(ind, column(good, f"sp{j}")))
            swp[j] = float(np.dot(ind, column(good, f"swp{j}"))) if w is not None else sp[j]
            other[j] = float(np.dot(ind, column(good, f"other{j}")))
        else:
            sp[j], swp[j] = float(np.dot(ind, counts)), float(np.dot(ind, group_w))
    total_w = float(group_w.sum())
    means = np.where(other > 0, swp / total_w, 0.0)
    codes: StratumCodes = {}
    labels: list[str] = []
    if spec.strata:
        labels, per_row = crossed_level_labels([(c, typed[c]) for c in spec.strata])
        raw = [good.column(c).to_pylist() for c in spec.strata]
        for i, vals in enumerate(zip(*raw, strict=True)):
            codes[tuple(vals)] = int(per_row[i])
    return Checked(
        n=n,
        nevent=e2 if event_is_two else e1,
        event_is_two=event_is_two,
        means=means,
        plain_means=sp / n,
        zero_one=other == 0,
        codes=codes,
        labels=labels,
        key_missing=key_missing,
        level_values=_level_values(spec, good, typed),
        n_dropped=int(column(result, _N)[missing].sum()),
        integer_times=_integer_times(good, times),
    )


def model_rows(spec: CoxSpec, table: ir.Table, cols: TypedColumns, checked: Checked) -> ir.Table:
    """The kept rows as the passes read them: strata, times, 0/1 event, weight, cluster, x.

    Compact where exact: the event as int8, the times as integers when they are whole
    numbers (integer GROUP BY keys: cheaper steps), the design columns as doubles."""
    ev = _event_value(table, spec.event)

    def time(name: str) -> Any:
        kind = checked.integer_times
        return cols.number[name] if kind is None else cols.number[name].cast(kind)

    out: dict[str, Any] = {s: table[s] for s in spec.strata}
    out[T] = time(spec.time)
    out[E] = (ev == (2.0 if checked.event_is_two else 1.0)).cast("int8")
    if spec.weights:  # without weights there is no weight column (w = 1 is implied)
        out[W] = cols.number[spec.weights]
    if spec.entry:
        out[A] = time(spec.entry)
    if spec.cluster:
        out[C] = table[spec.cluster]
    for j, sc in enumerate(spec.columns):
        x = _numeric_product(sc, cols.number)
        for name, level in sc.parts:
            if level is not None:
                ind = _is_one_of(table[name], checked.level_values[(name, level)])
                x = ind if x is None else x * ind
        # Doubles, also for 0/1 columns: an integer column times a coefficient, which
        # Ibis writes as a literal that DuckDB reads as DECIMAL, is DECIMAL arithmetic
        # (a step 3.7x slower, measured with an int8 column).
        out[f"__x{j}"] = x - float(checked.means[j])
    keep = ~cols.missing_except(list(checked.key_missing))
    for k, values in checked.key_missing.items():
        col = table[k]
        keep = keep & col.notnull()
        if col.type().is_floating():
            keep = keep & ~_is_nan(col)
        if values:
            keep = keep & ~col.isin(values)
    return table.filter(keep).select(**out)


def _is_one_of(col: Any, values: list[Any]) -> Any:
    """1.0 where the raw value is one of ``values``, else 0.0 (in the kept rows)."""
    if not values:  # 0.0 as a column: no kept row holds NULL
        return col.isnull().cast("float64")
    return col.isin(values).cast("float64")
