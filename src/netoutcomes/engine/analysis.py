"""The engine's entry points for the `stats` commands and the study layer: file in, results out.

``grouped_tables_on`` gives the ``survival.groups.GroupedTables`` that
``survival.curves.km_by_group`` and ``survival.logrank`` take;
``cox_on`` a ``survival.cox.CoxFit``.  ``backend`` chooses where the counting
happens: ``memory`` is the in-memory path (``engine.source``) unchanged,
``duckdb`` (the default) and ``spark`` run one Ibis query (per Newton step for
Cox) where the data lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from netoutcomes.engine.backends import Backend, open_source
from netoutcomes.engine.cox_sums import engine_cox_fit
from netoutcomes.engine.source import (
    SurvivalData,
    check_file_columns,
    grouped_tables,
    survival_data,
    validated_survival_data,
)
from netoutcomes.errors import InputError
from netoutcomes.survival.counts import FloatArray
from netoutcomes.survival.cox import CoxFit, Ties, cox_summary
from netoutcomes.survival.groups import GroupedTables

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class EngineTables:
    tables: GroupedTables
    n_dropped: int  # rows with a missing value in a used column


# Internal column names of the engine's query; prefixed so they cannot clash with user columns.
_ROW, _COUNT = "__netoutcomes_row", "__netoutcomes_n"


Grouping = Literal["rows", "grouped", "grouped_with_first_row"]


def _engine_columns(
    path: Path,
    columns: Sequence[str],
    backend: Backend,
    spark_master: str | None,
    grouping: Grouping,
) -> tuple[dict[str, Any], Literal["csv", "parquet"], IntArray | None, FloatArray | None]:
    """The used columns of a CSV/Parquet file read by the engine, CSV columns as text
    (so the typing is ``engine.source``'s, never the engine's sniffer).

    ``rows``: every row, in file order (DuckDB and Spark keep the order of a plain
    scan).  ``grouped``: one row per distinct combination of the used columns with
    its count (what KM and log-rank need: about as small as the number of distinct
    times).  ``grouped_with_first_row``: the same with each group's first data row,
    sorted by it, to name the first bad row in an error (a window over all rows:
    ~4x the cost of the GROUP BY, so only once an error is known).  Returns
    (columns, file format, file data row of each element or None, counts or None).
    """
    import ibis
    import pyarrow as pa

    # The reader's checks (file type, file exists, not empty, columns present) on the
    # header alone, so the engine path gives the same errors as the memory path.
    file_format = check_file_columns(path, columns)
    try:
        source = open_source(path, backend, spark_master=spark_master, all_text=True)
        assert source.table is not None
        table = source.table.select(*columns)
        expr: Any = table
        if grouping == "grouped":
            expr = table.group_by(list(columns)).aggregate(**{_COUNT: table.count()})
        elif grouping == "grouped_with_first_row":
            numbered = table.mutate(**{_ROW: ibis.row_number()})
            expr = (
                numbered.group_by(list(columns))
                .aggregate(**{_COUNT: numbered.count(), _ROW: numbered[_ROW].min()})
                .order_by(_ROW)
            )
        result: pa.Table = expr.to_pyarrow()
    except InputError:
        raise
    except Exception as exc:  # the engines raise their own error types for a bad file
        text = str(exc).strip()
        first_line = text.splitlines()[0] if text else type(exc).__name__
        raise InputError(f"{path}: cannot read the file: {first_line}") from exc
    if result.num_rows == 0:
        raise InputError(f"{path}: the file has no data rows")
    raw = {c: result.column(c) for c in columns}
    rows = None
    if _ROW in result.column_names:
        rows = np.asarray(result.column(_ROW).to_numpy(), dtype=np.int64)
    counts = None
    if _COUNT in result.column_names:
        counts = np.asarray(result.column(_COUNT).to_numpy(), dtype=np.float64)
    return raw, file_format, rows, counts


def survival_data_on(
    path: str | Path,
    time: str,
    event: str,
    entry: str | None = None,
    extra: Sequence[str] = (),
    backend: Backend = "duckdb",
    spark_master: str | None = None,
    grouped: bool = False,
) -> SurvivalData:
    """``engine.source.survival_data`` with the file read by ``backend``.

    The same typing, validation and one-line errors (file, data row, column,
    value) as the memory path.  ``grouped``: the engine groups the rows by every
    used column first, and the result's elements carry ``counts`` (enough for count
    tables; Cox needs the rows).
    """
    path = Path(path)
    if backend == "memory":
        return survival_data(path, time, event, entry, extra)
    used = list(dict.fromkeys([time, event, *([entry] if entry else []), *extra]))

    def read(grouping: Grouping) -> SurvivalData:
        raw, file_format, rows, counts = _engine_columns(
            path, used, backend, spark_master, grouping
        )
        return validated_survival_data(
            path, file_format, raw, time, event, entry, extra, rows=rows, counts=counts
        )

    if not grouped:
        return read("rows")
    try:
        return read("grouped")
    except InputError:
        # Bad data: group again with each group's first row, sorted by it, so the
        # error names the first bad data row of the file, as the memory path does.
        return read("grouped_with_first_row")


def grouped_tables_on(
    path: str | Path,
    time: str,
    event: str,
    entry: str | None = None,
    by: str | Sequence[str] | None = None,
    strata: str | Sequence[str] | None = None,
    backend: Backend = "duckdb",
    spark_master: str | None = None,
) -> EngineTables:
    """Count tables per (strata, by) level of a CSV/Parquet file; ``by`` and ``strata``
    one column or several (crossed, as R's ``~ a + b`` and ``strata(a, b)``).

    On an engine the file is reduced to one row per distinct combination of the used
    columns with its count (one GROUP BY); typing, validation, labels and level order
    are then exactly the memory path's (``engine.source``, ``survival.groups``).
    """
    by_cols = [by] if isinstance(by, str) else list(by or [])
    strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
    extra = list(dict.fromkeys(by_cols + strata_cols))
    data = survival_data_on(
        path, time, event, entry, extra, backend, spark_master, grouped=backend != "memory"
    )
    return EngineTables(grouped_tables(data, by_cols, strata_cols), data.n_dropped)


def cox_on(
    path: str | Path,
    time: str,
    event: str,
    covariates: Sequence[str],
    entry: str | None = None,
    strata: str | None = None,
    ties: Ties = "efron",
    backend: Backend = "duckdb",
    spark_master: str | None = None,
    conf_level: float = 0.95,
) -> tuple[CoxFit, int]:
    """A Cox fit computed on the engine, and the number of rows dropped.

    The engine sees only per-time sums, so what needs the rows themselves is
    not computed: ``robust_se`` is None and ``concordance`` NaN (use the memory
    backend, ``survival.cox.cox_ph``, for those and for ``cox.zph``).
    """
    source = open_source(path, backend, spark_master=spark_master)
    sums, newton = engine_cox_fit(source, time, event, covariates, entry, strata, ties=ties)
    fit = cox_summary(
        sums.terms,
        newton,
        ties,
        n=sums.n,
        nevent=sums.nevent,
        means=sums.means,
        sums=sums.sums_at(newton.coef),
        conf_level=conf_level,
    )
    return fit, sums.n_dropped
