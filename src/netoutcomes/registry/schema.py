"""The DuckDB schema of a registry file, its version, and the migrations between versions.

The data tables are generated from the pydantic models in ``registry.model``
(one column per field); bookkeeping tables sit beside them:
``schema_version`` (one row per applied version), ``import_batches``, the
append-only ``audit`` log and ``users`` (``registry.users_table``).

The migrations between versions are in ``registry.migrations``.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from enum import Enum
from typing import Any, Literal

import duckdb

from netoutcomes.registry.model import TABLES, TableSpec
from netoutcomes.registry.users_table import add_users_table

SCHEMA_VERSION = 4

StoredRow = dict[str, Any]  # column -> plain value (str, int, float, date or None)
RowKey = tuple[Any, ...]  # primary-key values in TableSpec.primary_key order

ColumnType = Literal["text", "integer", "real", "date"]
_SQL_TYPE: dict[ColumnType, str] = {
    "text": "VARCHAR",
    "integer": "BIGINT",
    "real": "DOUBLE",
    "date": "DATE",
}


def _base_type(annotation: object) -> object:
    """``X | None`` -> ``X``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0]
    return annotation


def column_types(spec: TableSpec) -> dict[str, ColumnType]:
    """Storage type of every column of a table, in model field order."""
    result: dict[str, ColumnType] = {}
    for name, field in spec.model.model_fields.items():
        base = _base_type(field.annotation)
        if base is dt.date:
            result[name] = "date"
        elif base is bool or base is int:
            result[name] = "integer"
        elif base is float:
            result[name] = "real"
        elif base is str or (isinstance(base, type) and issubclass(base, Enum)):
            result[name] = "text"
        else:  # pragma: no cover - a new field type must be mapped here on purpose
            raise TypeError(f"{spec.name}.{name}: no storage type for {base!r}")
    return result


def _extra(spec: TableSpec, column: str) -> dict[str, Any]:
    extra = spec.model.model_fields[column].json_schema_extra
    return extra if isinstance(extra, dict) else {}


def is_free_text(spec: TableSpec, column: str) -> bool:
    """Free text may identify a person: de-identified exports drop it."""
    return bool(_extra(spec, column).get("free_text"))


def allowed_codes(spec: TableSpec, column: str) -> list[str] | None:
    """The values a coded column may hold (enum values or declared codes), else None."""
    base = _base_type(spec.model.model_fields[column].annotation)
    if isinstance(base, type) and issubclass(base, Enum):
        return [str(member.value) for member in base]
    codes = _extra(spec, column).get("codes")
    return [str(c) for c in codes] if isinstance(codes, dict | list) else None


def coded_columns(spec: TableSpec) -> list[str]:
    return [c for c in spec.model.model_fields if allowed_codes(spec, c) is not None]


def required_columns(spec: TableSpec) -> tuple[str, ...]:
    return tuple(n for n, f in spec.model.model_fields.items() if f.is_required())


def create_table_sql(spec: TableSpec) -> str:
    cols = [f"{name} {_SQL_TYPE[kind]}" for name, kind in column_types(spec).items()]
    cols.append(f"PRIMARY KEY ({', '.join(spec.primary_key)})")
    return f"CREATE TABLE {spec.name} ({', '.join(cols)})"


BOOKKEEPING_SQL = (
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)",
    """CREATE TABLE import_batches (
        batch_id VARCHAR PRIMARY KEY, at_utc TIMESTAMP, who VARCHAR, sources VARCHAR,
        inserted BIGINT, updated BIGINT)""",
    """CREATE TABLE audit (
        audit_id BIGINT PRIMARY KEY, at_utc TIMESTAMP, who VARCHAR, action VARCHAR,
        table_name VARCHAR, row_key VARCHAR, old_values VARCHAR, new_values VARCHAR,
        batch_id VARCHAR, source_file VARCHAR, source_sha256 VARCHAR, entry_sha256 VARCHAR,
        entry_hmac VARCHAR)""",
)


def create_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create every table of the current version in an empty database (caller's transaction)."""
    for sql in BOOKKEEPING_SQL:
        conn.execute(sql)
    add_users_table(conn)
    for spec in TABLES.values():
        conn.execute(create_table_sql(spec))
    record_version(conn, SCHEMA_VERSION)


def record_version(conn: duckdb.DuckDBPyConnection, version: int) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    conn.execute("INSERT INTO schema_version VALUES (?, ?)", [version, now])


def scalar(conn: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The single value a query returns (fetches everything: DuckDB 2 wants results drained)."""
    rows = conn.execute(sql).fetchall()
    return rows[0][0] if rows else None


def schema_version(conn: duckdb.DuckDBPyConnection) -> int | None:
    """The registry's schema version, or None when the file is not a registry."""
    tables = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    if not scalar(conn, tables):
        return None
    version = scalar(conn, "SELECT max(version) FROM schema_version")
    return None if version is None else int(version)


def table_rows(conn: duckdb.DuckDBPyConnection, spec: TableSpec) -> list[StoredRow]:
    """Every row of a data table as plain values, in primary-key order."""
    columns = ", ".join(column_types(spec))
    cursor = conn.execute(
        f"SELECT {columns} FROM {spec.name} ORDER BY {', '.join(spec.primary_key)}"
    )
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
