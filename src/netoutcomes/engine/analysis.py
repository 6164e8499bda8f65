"""The engine's entry points: any data in, the tables and fits the statistics need out.

``grouped_tables_on`` gives the count tables (``survival.groups.GroupedTables``)
that ``survival.curves.km_by_group`` and ``survival.logrank`` take; ``cox_on`` an
``EngineCox`` (R's ``summary(coxph)``, concordance, ``cox.zph``, the baseline
hazard).  ``data`` is a ``DataInput`` (``engine.inputs``): a CSV or Parquet path, a
pandas or polars DataFrame, a pyarrow Table or an Ibis table (run on its own
backend).  ``backend`` chooses where the work happens: ``duckdb`` (the default)
and ``spark`` run Ibis queries where the data lives; ``memory`` is the in-memory
oracle the engines are tested against.  One set of reader rules everywhere
(``engine.source``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from netoutcomes.engine.backends import Backend
from netoutcomes.engine.count_queries import NotOnTheFastPath, split_count_tables
from netoutcomes.engine.cox_result import CoxConcordance, EngineCox
from netoutcomes.engine.inputs import DataInput, Described, describe, engine_columns
from netoutcomes.engine.source import (
    SurvivalData,
    grouped_tables,
    validated_survival_data,
)
from netoutcomes.errors import InputError
from netoutcomes.survival.counts import FloatArray
from netoutcomes.survival.groups import GroupedTables, crossed_level_labels
from netoutcomes.survival.model_spec import CoxSpec

__all__ = [
    "CoxConcordance",
    "DataInput",
    "EngineCox",
    "EngineTables",
    "cox_on",
    "grouped_tables_on",
    "survival_data_on",
]

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class EngineTables:
    tables: GroupedTables
    n_dropped: int  # rows with a missing value in a used column


Grouping = Literal["rows", "grouped", "grouped_with_first_row"]


def survival_data_on(
    data: DataInput,
    time: str,
    event: str,
    entry: str | None = None,
    extra: Sequence[str] = (),
    backend: Backend = "duckdb",
    spark_master: str | None = None,
    grouped: bool = False,
    weights: str | None = None,
) -> SurvivalData:
    """``engine.source``'s validated survival data, the columns read by ``backend``.

    The same typing, validation and one-line errors (file or frame, row, column,
    value) on every backend.  ``grouped``: the engine groups the rows by every used
    column first, and the result's elements carry ``counts`` (enough for count
    tables).  ``weights``: a case-weight column, checked finite and not negative.
    """
    return _survival_data(
        describe(data), time, event, entry, extra, backend, spark_master,
        ["grouped", "grouped_with_first_row"] if grouped else ["rows"], weights,
    )  # fmt: skip


def _survival_data(
    described: Described,
    time: str,
    event: str,
    entry: str | None,
    extra: Sequence[str],
    backend: Backend,
    spark_master: str | None,
    groupings: list[Grouping],
    weights: str | None,
) -> SurvivalData:
    """``survival_data_on`` on described data; the engine reads the rows as each of
    ``groupings`` says in turn until one raises no InputError (the last one's error
    is raised: ``grouped_with_first_row`` names the first bad data row, as the memory
    path does)."""
    from netoutcomes.engine.inputs import arrow_columns

    extra = list(dict.fromkeys([*extra, *([weights] if weights else [])]))
    used = list(dict.fromkeys([time, event, *([entry] if entry else []), *extra]))
    path = described.path or _frame_path(described)

    def validate(
        raw: dict[str, Any], rows: IntArray | None, counts: FloatArray | None
    ) -> SurvivalData:
        return validated_survival_data(
            path, described.file_format, raw, time, event, entry, extra, rows=rows,
            counts=counts, noun=described.row_noun, weights=weights,
        )  # fmt: skip

    if backend == "memory":
        return validate(arrow_columns(described, used), None, None)
    for grouping in groupings[:-1]:
        try:
            return validate(*engine_columns(described, used, backend, spark_master, grouping))
        except InputError:
            continue
    return validate(*engine_columns(described, used, backend, spark_master, groupings[-1]))


def _frame_path(described: Described) -> Any:
    from pathlib import Path

    return Path(described.name)  # what errors call an in-memory frame: "<DataFrame>"


def _as_list(columns: str | Sequence[str] | None) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns or [])


def grouped_tables_on(
    data: DataInput,
    time: str,
    event: str,
    entry: str | None = None,
    by: str | Sequence[str] | None = None,
    strata: str | Sequence[str] | None = None,
    weights: str | None = None,
    backend: Backend = "duckdb",
    spark_master: str | None = None,
) -> EngineTables:
    """Count tables per (strata, by) level; ``by`` and ``strata`` one column or several
    (crossed, as R's ``~ a + b`` and ``strata(a, b)``); ``weights`` a case-weight column
    (R's ``weights=``: counts at risk, events and censorings are weighted sums; each
    table's ``n`` stays the number of rows).

    The one production path for KM and log-rank tables.  On an engine the data is
    reduced by two GROUP BYs, exits and entries (``engine.count_queries``), each
    about as small as the distinct times; typing, validation, labels and level order
    are the memory path's (``engine.source``, ``survival.groups``).  Where those
    queries cannot stand for the reader (a failed check, an unusual cell), the rows
    are grouped by every used column together and read the reader's way, which
    names the first bad data row in its error.
    """
    by_cols, strata_cols = _as_list(by), _as_list(strata)
    extra = list(dict.fromkeys(by_cols + strata_cols))
    described = describe(data)
    groupings: list[Grouping] = ["rows"]
    if backend != "memory":
        try:
            counted = split_count_tables(
                described, time, event, entry, by_cols, strata_cols, weights, backend,
                spark_master,
            )  # fmt: skip
            return EngineTables(counted.tables, counted.n_dropped)
        except NotOnTheFastPath as why:
            # The reader's way: its result, or its error for the first bad data row.
            groupings = ["grouped", "grouped_with_first_row"]
            if why.bad_data:  # it will raise: name the row at once
                groupings = ["grouped_with_first_row"]
    survival = _survival_data(
        described, time, event, entry, extra, backend, spark_master, groupings, weights
    )
    if weights is None:
        return EngineTables(grouped_tables(survival, by_cols, strata_cols), survival.n_dropped)
    rows = survival.counts if survival.counts is not None else np.ones(survival.time.size)
    w = np.asarray(survival.columns[weights], dtype=np.float64)
    tables = _weighted_tables(survival, by_cols, strata_cols, rows, rows * w)
    return EngineTables(tables, survival.n_dropped)


def _weighted_tables(
    survival: SurvivalData,
    by_cols: list[str],
    strata_cols: list[str],
    rows: FloatArray,
    weights: FloatArray,
) -> GroupedTables:
    """Count tables with case weights; ``n`` of each table is its number of rows."""
    from netoutcomes.survival.groups import grouped_count_tables

    def columns(names: list[str]) -> Any:
        return [(c, survival.columns[c]) for c in names] if names else None

    grouped = grouped_count_tables(
        survival.time, survival.event, survival.entry, group=columns(by_cols),
        stratum=columns(strata_cols), weights=weights, r_doubles=survival.written_as_double,
    )  # fmt: skip
    group_names, group_codes = crossed_level_labels(columns(by_cols), survival.written_as_double)
    strata_names, strata_codes = crossed_level_labels(
        columns(strata_cols), survival.written_as_double
    )
    if not by_cols:
        group_codes = np.zeros(survival.time.size, dtype=np.intp)
    if not strata_cols:
        strata_codes = np.zeros(survival.time.size, dtype=np.intp)
    tables = {}
    for (s, g), t in grouped.tables.items():
        sel = (strata_codes == strata_names.index(s)) & (group_codes == group_names.index(g))
        tables[(s, g)] = replace(t, n=int(round(float(rows[sel].sum()))))
    return replace(grouped, tables=tables)


def cox_on(
    data: DataInput,
    spec: CoxSpec,
    backend: Backend = "duckdb",
    spark_master: str | None = None,
    conf_level: float = 0.95,
) -> EngineCox:
    """A Cox model fitted where the data lives, with everything ``stats cox`` reports.

    ``spec`` (``survival.model_spec.CoxSpec``) says the design columns (products of
    numeric values and level indicators), strata, cluster/robust, weights, entry
    and ties.  The result's ``fit`` is R's ``summary(coxph)`` (``robust_se`` with a
    cluster or ``robust``), ``concordance`` R's ``concordance(fit)``, ``zph()``
    R's ``cox.zph`` and ``baseline_hazard()`` R's ``basehaz``; aliased columns are
    NA as in R.  ``backend``: ``duckdb`` and ``spark`` run aggregate queries (one per
    Newton step; only tables the size of the distinct times or of the events come
    back; see docs/engine.md), ``memory`` is the in-memory oracle.
    """
    described = describe(data)
    if backend == "memory":
        from netoutcomes.engine.cox_memory import memory_cox

        return memory_cox(described, spec, conf_level)
    from netoutcomes.engine.cox_engine import engine_cox

    return engine_cox(described, spec, backend, spark_master, conf_level)
