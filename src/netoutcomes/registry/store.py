"""The registry file: create it, open it (upgrading an older schema), read its rows, write changes.

Reading::

    with open_registry("clinic.duckdb") as registry:
        patients = registry.rows_of(Patient)      # list[Patient]
        scans = registry.rows("scans")            # list[RegistryRecord]

Every write goes through a ``write_session``: one DuckDB transaction that
reads the stored rows, and writes the rows, the import batch and one audit
entry per changed row, or nothing. Nothing else in the package writes to a
registry, which is what keeps the audit log append-only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb
import pyarrow as pa

from netoutcomes.errors import InputError
from netoutcomes.registry.audit import AUDIT_CONTENT, GENESIS, chain, first_broken_entry
from netoutcomes.registry.model import TABLES, RegistryRecord, TableSpec, table_of
from netoutcomes.registry.schema import (
    SCHEMA_VERSION,
    ColumnType,
    RowKey,
    StoredRow,
    column_types,
    create_schema,
    migrate,
    scalar,
    schema_version,
)

Record = TypeVar("Record", bound=RegistryRecord)

_ARROW_TYPE: dict[ColumnType, pa.DataType] = {
    "text": pa.string(),
    "integer": pa.int64(),
    "real": pa.float64(),
    "date": pa.date32(),
}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def stored_row(record: RegistryRecord) -> StoredRow:
    """A validated record as the plain values the store holds (enums become their codes)."""
    return {
        name: (value.value if isinstance(value, Enum) else value)
        for name, value in record.model_dump().items()
    }


def row_key(spec: TableSpec, row: StoredRow) -> RowKey:
    return tuple(row[c] for c in spec.primary_key)


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def to_json(values: dict[str, Any]) -> str:
    return json.dumps({k: _json_value(v) for k, v in values.items()}, sort_keys=True)


def _select(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    cursor = conn.execute(sql, list(params))
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def _not_a_registry(path: Path) -> InputError:
    return InputError(
        f"{path}: not a netoutcomes registry (create one with `netoutcomes init {path}`)"
    )


def create_registry(path: str | Path) -> Path:
    """Create an empty registry file of the current schema version. Refuses to overwrite."""
    path = Path(path)
    if path.exists():
        raise InputError(f"{path}: already exists; refusing to overwrite a registry")
    if not path.parent.exists():
        raise InputError(f"{path.parent}: no such directory")
    conn = duckdb.connect(str(path))
    try:
        conn.execute("BEGIN TRANSACTION")
        create_schema(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        path.unlink(missing_ok=True)  # no half-made registry left behind
        raise
    conn.close()
    return path


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    if not path.is_file():
        raise InputError(f"{path}: no such registry file")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: cannot open registry ({first_line})") from None
    except duckdb.Error:
        raise _not_a_registry(path) from None


def upgrade_registry(path: str | Path) -> list[int]:
    """Migrate an older registry in place to the current schema; returns the versions applied."""
    path = Path(path)
    conn = _connect(path, read_only=False)
    try:
        version = schema_version(conn)
        if version is None:
            raise _not_a_registry(path)
        if version > SCHEMA_VERSION:
            raise InputError(
                f"{path}: schema version {version} is newer than this netoutcomes "
                f"({SCHEMA_VERSION}); upgrade netoutcomes"
            )
        return migrate(conn, version) if version < SCHEMA_VERSION else []
    finally:
        conn.close()


def _ensure_current(path: Path) -> None:
    conn = _connect(path, read_only=True)
    try:
        version = schema_version(conn)
    finally:
        conn.close()
    if version is None:
        raise _not_a_registry(path)
    if version != SCHEMA_VERSION:
        upgrade_registry(path)


@dataclass(frozen=True)
class AuditEntry:
    audit_id: int
    at_utc: dt.datetime
    who: str
    action: Literal["insert", "update"]
    table_name: str
    row_key: str  # JSON object: primary-key column -> value
    old_values: str | None  # JSON object of the changed columns before (None on insert)
    new_values: str  # JSON object of the row (insert) or of the changed columns (update)
    batch_id: str
    source_file: str
    source_sha256: str
    entry_sha256: str  # hash chain, see registry.audit


class Registry:
    """An open registry (read side). Use ``open_registry``; close with the context manager."""

    def __init__(self, path: Path, conn: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self._conn = conn

    def stored_rows(self, table: str) -> list[StoredRow]:
        """Rows as plain values, ordered by primary key (fast: no validation)."""
        return _stored_rows(self._conn, table)

    def rows(self, table: str) -> list[RegistryRecord]:
        """Rows of a table as validated model instances, ordered by primary key."""
        model = _spec(table).model
        return [model.model_validate(row) for row in self.stored_rows(table)]

    def rows_of(self, model: type[Record]) -> list[Record]:
        """Typed variant of ``rows``: ``registry.rows_of(Patient) -> list[Patient]``."""
        return [model.model_validate(row) for row in self.stored_rows(table_of(model).name)]

    def count(self, table: str) -> int:
        spec = _spec(table)
        return int(scalar(self._conn, f"SELECT count(*) FROM {spec.name}"))

    def audit(self) -> list[AuditEntry]:
        """The audit log, oldest first."""
        rows = _select(self._conn, "SELECT * FROM audit ORDER BY audit_id")
        return [AuditEntry(**row) for row in rows]

    def audit_intact(self) -> int | None:
        """None when the audit hash chain holds, else the first audit_id that breaks it."""
        return first_broken_entry(_select(self._conn, "SELECT * FROM audit ORDER BY audit_id"))

    @property
    def schema_version(self) -> int:
        return schema_version(self._conn) or 0

    def close(self) -> None:
        self._conn.close()


def _stored_rows(conn: duckdb.DuckDBPyConnection, table: str) -> list[StoredRow]:
    spec = _spec(table)
    columns = ", ".join(column_types(spec))
    order = ", ".join(spec.primary_key)
    return _select(conn, f"SELECT {columns} FROM {spec.name} ORDER BY {order}")


def _spec(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise InputError(f"unknown table {table!r}; tables: {', '.join(TABLES)}") from None


@contextmanager
def open_registry(path: str | Path) -> Iterator[Registry]:
    """Open a registry for reading, first upgrading an older schema in place."""
    path = Path(path)
    _ensure_current(path)
    registry = Registry(path, _connect(path, read_only=True))
    try:
        yield registry
    finally:
        registry.close()


@dataclass(frozen=True)
class RowChange:
    """One row to insert or update, with where it came from (for the audit log)."""

    table: str
    action: Literal["insert", "update"]
    row: StoredRow  # the complete new row
    old: StoredRow | None  # the complete old row (update only)
    source_file: str
    source_sha256: str


@dataclass(frozen=True)
class Batch:
    batch_id: str
    who: str
    sources: list[dict[str, str]] = field(default_factory=list)  # [{file, sha256}]


def _arrow_table(spec: TableSpec, rows: list[StoredRow]) -> pa.Table:
    columns = column_types(spec).items()
    arrays = {name: pa.array([r[name] for r in rows], _ARROW_TYPE[kind]) for name, kind in columns}
    return pa.table(arrays)


def _write_table_changes(
    conn: duckdb.DuckDBPyConnection, spec: TableSpec, changes: list[RowChange]
) -> None:
    inserts = [c.row for c in changes if c.action == "insert"]
    updates = [c.row for c in changes if c.action == "update"]
    if inserts:
        conn.register("incoming_rows", _arrow_table(spec, inserts))
        conn.execute(f"INSERT INTO {spec.name} BY NAME SELECT * FROM incoming_rows")
        conn.unregister("incoming_rows")
    if updates:
        others = [c for c in column_types(spec) if c not in spec.primary_key]
        assignments = ", ".join(f"{c} = u.{c}" for c in others)
        match = " AND ".join(f"{spec.name}.{c} = u.{c}" for c in spec.primary_key)
        conn.register("updated_rows", _arrow_table(spec, updates))
        conn.execute(f"UPDATE {spec.name} SET {assignments} FROM updated_rows u WHERE {match}")
        conn.unregister("updated_rows")


def _audit_rows(
    changes: list[RowChange], batch: Batch, at: dt.datetime, first_id: int, previous: str
) -> pa.Table:
    records: list[dict[str, Any]] = []
    for offset, change in enumerate(changes):
        spec = TABLES[change.table]
        key = {c: change.row[c] for c in spec.primary_key}
        if change.action == "insert" or change.old is None:
            old, new = None, to_json(change.row)
        else:
            changed = [c for c in change.row if change.row[c] != change.old.get(c)]
            old = to_json({c: change.old.get(c) for c in changed})
            new = to_json({c: change.row[c] for c in changed})
        records.append(
            {
                "audit_id": first_id + offset,
                "at_utc": at,
                "who": batch.who,
                "action": change.action,
                "table_name": change.table,
                "row_key": to_json(key),
                "old_values": old,
                "new_values": new,
                "batch_id": batch.batch_id,
                "source_file": change.source_file,
                "source_sha256": change.source_sha256,
            }
        )
    chain(previous, records)
    text_columns = [c for c in (*AUDIT_CONTENT, "entry_sha256") if c not in ("audit_id", "at_utc")]
    schema = pa.schema(
        [("audit_id", pa.int64()), ("at_utc", pa.timestamp("us"))]
        + [(name, pa.string()) for name in text_columns]
    )
    return pa.Table.from_pylist(records, schema=schema)


class WriteSession:
    """Reads and writes inside ONE open transaction (see ``write_session``)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._conn = conn

    def stored_rows(self, table: str) -> list[StoredRow]:
        return _stored_rows(self._conn, table)

    def apply(self, batch: Batch, changes: list[RowChange]) -> None:
        """Write rows, their audit entries and the batch record (committed by the session)."""
        if not changes:
            return
        conn = self._conn
        at = _utc_now()
        for spec in TABLES.values():
            mine = [c for c in changes if c.table == spec.name]
            if mine:
                _write_table_changes(conn, spec, mine)
        last = _select(
            conn, "SELECT audit_id, entry_sha256 FROM audit ORDER BY audit_id DESC LIMIT 1"
        )
        first_id = last[0]["audit_id"] + 1 if last else 1
        previous = last[0]["entry_sha256"] if last else GENESIS
        conn.register("new_audit", _audit_rows(changes, batch, at, first_id, previous))
        conn.execute("INSERT INTO audit BY NAME SELECT * FROM new_audit")
        conn.unregister("new_audit")
        conn.execute(
            "INSERT INTO import_batches VALUES (?, ?, ?, ?, ?, ?)",
            [
                batch.batch_id,
                at,
                batch.who,
                json.dumps(batch.sources),
                sum(c.action == "insert" for c in changes),
                sum(c.action == "update" for c in changes),
            ],
        )


@contextmanager
def write_session(path: str | Path) -> Iterator[WriteSession]:
    """One transaction for a whole operation: read the state, validate, write, commit.

    Reading inside the write transaction means no other process can change the
    registry between validation and writing. Any exception rolls everything back;
    a session that reads and writes nothing leaves the file byte-for-byte the same.
    """
    path = Path(path)
    _ensure_current(path)
    conn = _connect(path, read_only=False)
    try:
        conn.execute("BEGIN TRANSACTION")
        try:
            yield WriteSession(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()
