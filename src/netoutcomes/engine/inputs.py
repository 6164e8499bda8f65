"""Any data a user hands the engine, described once: a file path or an in-memory table.

``DataInput`` is a CSV or Parquet path (``str`` or ``Path``), a pandas or polars
DataFrame, a pyarrow Table, or an Ibis table on any backend.  Every kind goes
through the same reader rules (``engine.source``): a file's CSV cells are typed
from text, an in-memory frame's columns keep their own types (as a Parquet
file's do).  Errors name a file's "data row N" and a frame's "row N" (1-based).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

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
    con = ibis.pyspark.connect(session)
    return con.create_table(
        f"frame_{id(described.arrow)}", described.arrow.to_pandas(), temp=True, overwrite=True
    )
