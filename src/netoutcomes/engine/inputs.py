"""Any data a user hands the engine, described once: a file path or an in-memory table.

``DataInput`` is a CSV or Parquet path (``str`` or ``Path``), a pandas or polars
DataFrame, a pyarrow Table, or an Ibis table on any backend.  Every kind goes
through the same reader rules (``engine.source``): a file's CSV cells are typed
from text, an in-memory frame's columns keep their own types (as a Parquet
file's do).  Errors name a file's "data row N" and a frame's "row N" (1-based).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from netoutcomes.engine.backends import Backend, open_source
from netoutcomes.engine.source import check_file_columns
from netoutcomes.errors import InputError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

# str | Path | pandas.DataFrame | polars.DataFrame | pyarrow.Table | ibis Table
DataInput: TypeAlias = Any


@dataclass(frozen=True)
class Described:
    """What ``data`` is: ``kind`` "file", "frame" (pandas, polars, arrow) or "ibis"."""

    kind: Literal["file", "frame", "ibis"]
    name: str  # what error messages call it: the path, or "<DataFrame>"
    path: Path | None = None
    arrow: pa.Table | None = None  # a frame, as arrow
    ibis_table: ir.Table | None = None

    @property
    def row_noun(self) -> str:
        return "data row" if self.kind == "file" else "row"

    @property
    def file_format(self) -> Literal["csv", "parquet"]:
        """How the reader types its columns: CSV text, or the stored types."""
        if self.path is not None and self.path.suffix.lower() == ".csv":
            return "csv"
        return "parquet"

    def check_columns(self, columns: list[str]) -> None:
        """The file checks every reader makes first, or the columns of a frame."""
        if self.path is not None:
            check_file_columns(self.path, columns)
            return
        present = list(self.ibis_table.columns if self.ibis_table is not None else [])
        if self.arrow is not None:
            present = list(self.arrow.column_names)
        for c in columns:
            if c not in present:
                raise InputError(
                    f"{self.name}: no column {c!r}; the columns are: {', '.join(present)}"
                )


def describe(data: DataInput) -> Described:
    """Classify ``data``; InputError for anything else."""
    if isinstance(data, str | Path):
        return Described("file", str(data), path=Path(data))
    module = type(data).__module__.split(".")[0]
    if module == "ibis":
        return Described("ibis", "<ibis table>", ibis_table=data)
    if module == "pandas":
        import pyarrow as pa

        return Described(
            "frame", "<DataFrame>", arrow=pa.Table.from_pandas(data, preserve_index=False)
        )
    if module == "polars":
        return Described("frame", "<DataFrame>", arrow=data.to_arrow())
    if module == "pyarrow" and hasattr(data, "column_names"):
        return Described("frame", "<Table>", arrow=data)
    raise InputError(
        f"cannot read {type(data).__name__}: give a CSV or Parquet path, a pandas or "
        "polars DataFrame, a pyarrow Table or an Ibis table"
    )


def arrow_columns(described: Described, columns: list[str]) -> dict[str, Any]:
    """The used columns as pyarrow arrays (the memory path; CSV columns as text)."""
    from netoutcomes.engine.source import read_raw_columns

    described.check_columns(columns)
    if described.path is not None:
        return read_raw_columns(described.path, columns)
    if described.ibis_table is not None:
        table = described.ibis_table.select(*columns).to_pyarrow()
    else:
        assert described.arrow is not None
        table = described.arrow.select(columns)
    if table.num_rows == 0:
        raise InputError(f"{described.name}: the table has no rows")
    return {c: table.column(c) for c in columns}


def engine_table(
    described: Described,
    backend: Backend,
    spark_master: str | None = None,
    spark: Any = None,
    all_text: bool = True,
) -> ir.Table:
    """``described`` as an Ibis table on ``backend`` (an Ibis table: on its own backend).

    A frame is registered with the backend (DuckDB: an in-memory table; Spark: a
    DataFrame made from its Arrow batches)."""
    if described.ibis_table is not None:
        return described.ibis_table
    if described.path is not None:
        source = open_source(described.path, backend, spark_master=spark_master, spark=spark,
                             all_text=all_text)  # fmt: skip
        assert source.table is not None
        return source.table
    import ibis

    assert described.arrow is not None
    if backend == "duckdb":
        from netoutcomes.engine.backends import embedded_duckdb

        return embedded_duckdb().create_table(
            f"frame_{id(described.arrow)}", described.arrow, temp=True, overwrite=True
        )
    from netoutcomes.engine.backends import spark_session

    session = spark if spark is not None else spark_session(spark_master)
    name = f"frame_{id(described.arrow)}"
    # A temporary view (Ibis's PySpark backend has no temporary tables).
    session.createDataFrame(described.arrow.to_pandas()).createOrReplaceTempView(name)
    return ibis.pyspark.connect(session).table(name)


# Internal column names of the engine's query; prefixed so they cannot clash with user columns.
_ROW, _COUNT = "__netoutcomes_row", "__netoutcomes_n"


Grouping = Literal["rows", "grouped", "grouped_with_first_row"]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def engine_columns(
    described: Described,
    columns: Sequence[str],
    backend: Backend,
    spark_master: str | None,
    grouping: Grouping,
) -> tuple[dict[str, Any], IntArray | None, FloatArray | None]:
    """The used columns of ``described`` read by the engine, CSV columns as text
    (so the typing is ``engine.source``'s, never the engine's sniffer).

    ``rows``: every row, in file order (DuckDB and Spark keep the order of a plain
    scan).  ``grouped``: one row per distinct combination of the used columns with
    its count (what KM and log-rank need: about as small as the number of distinct
    times).  ``grouped_with_first_row``: the same with each group's first data row,
    sorted by it, to name the first bad row in an error (a window over all rows:
    ~4x the cost of the GROUP BY, so only once an error is known).  Returns
    (columns, data row of each element or None, counts or None).
    """
    import ibis

    # The reader's checks (file type, file exists, not empty, columns present) first,
    # so the engine path gives the same errors as the memory path.
    described.check_columns(list(columns))
    try:
        table = engine_table(described, backend, spark_master).select(*columns)
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
        raise InputError(f"{described.name}: cannot read the data: {first_line}") from exc
    if result.num_rows == 0:
        # The same words as engine.source for a file, so every backend says one thing.
        is_file = described.path is not None
        what = "the file has no data rows" if is_file else "the table has no rows"
        raise InputError(f"{described.name}: {what}")
    raw = {c: result.column(c) for c in columns}
    rows = None
    if _ROW in result.column_names:
        rows = np.asarray(result.column(_ROW).to_numpy(), dtype=np.int64)
    counts = None
    if _COUNT in result.column_names:
        counts = np.asarray(result.column(_COUNT).to_numpy(), dtype=np.float64)
    return raw, rows, counts
