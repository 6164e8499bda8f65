"""Open a table where it lives: DuckDB (embedded, the default), Spark, or memory (the oracle).

DuckDB and Spark are reached through one Ibis expression per statistic (see
``engine.analysis`` and ``engine.cox_engine``); no backend has SQL of its own.
The ``memory`` backend reads the file with ``engine.source`` into numpy and is
the reference the two engines are tested against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from netoutcomes.errors import InputError

if TYPE_CHECKING:
    import ibis.expr.types as ir

Backend = Literal["duckdb", "spark", "memory"]
BACKENDS: tuple[str, ...] = get_args(Backend)

_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".duckdb": "duckdb"}


@dataclass(frozen=True)
class Source:
    """A table on a backend.  ``table`` is an Ibis table (None for the memory backend)."""

    backend: Backend
    name: str  # what error messages call the data: a path or a table name
    table: ir.Table | None = None
    path: Path | None = None


def spark_session(
    master: str | None = None,
    shuffle_partitions: int | None = None,
    conf: Mapping[str, str] | None = None,
) -> Any:
    """A SparkSession: ``local[*]`` unless a master URL is given; the web UI is off;
    ``conf`` adds Spark settings (read when the session's JVM starts)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError(
            "the spark backend needs PySpark: pip install 'netoutcomes[spark]'"
        ) from exc
    builder = (
        SparkSession.builder.master(master or "local[*]")
        .appName("netoutcomes")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if shuffle_partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@cache
def embedded_duckdb() -> Any:
    """One in-memory DuckDB per process for reading files (connecting costs ~30 ms)."""
    # Ibis's DuckDB backend class itself: ``ibis.duckdb`` finds it by reading every
    # installed package's entry points first (~10 ms of `stats km`'s start-up).
    from ibis.backends.duckdb import Backend as DuckDBBackend

    return _quiet(DuckDBBackend().connect())


def _quiet(con: Any) -> Any:
    """No progress bar: DuckDB prints it on stdout for a query over ~2 s, where it would
    land in the middle of `--json` output."""
    con.con.execute("SET enable_progress_bar = false")
    return con


def _duckdb_tables(con: Any) -> list[str]:
    # Not con.list_tables() (nor con.sql): Ibis 12 calls fetch_arrow_table on the DuckDB
    # connection there, which DuckDB 2.0 removed.  Asked of DuckDB itself it works.
    rows = con.con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1")
    return [str(r[0]) for r in rows.fetchall()]


def _file_kind(path: Path) -> str:
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(_SUFFIXES))
        raise InputError(f"{path}: unknown file type {path.suffix or '(none)'!r}; use {known}")
    if not path.exists():
        raise InputError(f"{path}: file not found")
    return kind


def open_source(
    data: str | Path | ir.Table,
    backend: Backend = "duckdb",
    *,
    table: str | None = None,
    spark_master: str | None = None,
    spark: Any = None,
    all_text: bool = False,
) -> Source:
    """Open ``data`` on ``backend``.

    ``data`` is a path (``.csv``, ``.parquet``, or a ``.duckdb`` database with
    ``table`` naming the table) or an Ibis table already bound to a backend.
    For Spark, pass an existing ``spark`` session or let one be created
    (``local[*]`` unless ``spark_master`` is given).  ``all_text``: every CSV column
    is read as text (no type sniffing: ``engine.source``'s rules type the values).
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if not isinstance(data, str | Path):
        if backend == "memory":
            raise InputError("the memory backend reads a CSV or Parquet file, not an Ibis table")
        return Source(backend=backend, name=table or "table", table=data)

    path = Path(data)
    kind = _file_kind(path)
    if backend == "memory":
        if kind == "duckdb":
            raise InputError(
                f"{path}: the memory backend reads CSV or Parquet; use --backend duckdb"
            )
        return Source(backend="memory", name=str(path), path=path)

    import ibis

    if backend == "duckdb":
        if kind == "duckdb":
            con = _quiet(ibis.duckdb.connect(str(path), read_only=True))
            tables = _duckdb_tables(con)
            if table is None:
                raise InputError(f"{path}: name the table to read (tables: {', '.join(tables)})")
            if table not in tables:
                raise InputError(f"{path}: no table {table!r}; tables: {', '.join(tables)}")
            return Source("duckdb", f"{path}:{table}", con.table(table), path)
        con = embedded_duckdb()
        if kind == "csv":
            # Empty cells and NA are missing, as in R's read.csv and engine.source.
            if all_text:  # as engine.source reads: commas, a header line, strict rows
                t = con.read_csv(
                    str(path), nullstr=["", "NA"], all_varchar=True, delim=",", header=True
                )
            else:
                t = con.read_csv(str(path), nullstr=["", "NA"])
        else:
            t = con.read_parquet(str(path))
        return Source("duckdb", str(path), t, path)

    if kind == "duckdb":
        raise InputError(f"{path}: Spark reads CSV or Parquet, not a .duckdb file")
    session = spark if spark is not None else spark_session(spark_master)
    con = ibis.pyspark.connect(session)
    if kind == "csv":
        if all_text:  # as engine.source reads: text, a ragged row is an error
            t = con.read_csv(
                str(path), nullValue="", inferSchema=False, header=True, mode="FAILFAST"
            )
        else:
            t = con.read_csv(str(path), nullValue="", inferSchema=True, header=True)
    else:
        t = con.read_parquet(str(path))
    return Source("spark", str(path), t, path)
