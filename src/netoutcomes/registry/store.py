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
from pydantic import ValidationError

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
    conn = duckdb.connect(str(path), config=_NO_EXTENSIONS)
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


# A registry never needs an extension: with autoloading on, opening a SQLite file
# (or any file DuckDB recognises) would try to download one from the internet.
_NO_EXTENSIONS: dict[str, str | bool | int | float | list[str]] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}
_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def damaged(path: Path, exc: BaseException) -> InputError:
    """The error for a registry DuckDB cannot read (a checksum or catalog failure)."""
    return InputError(
        f"{path}: the registry file is damaged ({_first_line(exc)}); restore it from a backup"
    )


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    if not path.is_file():
        raise InputError(f"{path}: no such registry file")
    try:
        with path.open("rb") as handle:
            is_duckdb = handle.read(12)[8:12] == _DUCKDB_MAGIC
    except OSError as exc:
        raise InputError(f"{path}: cannot open registry ({exc.strerror})") from None
    if not is_duckdb:
        raise _not_a_registry(path)
    try:
        return duckdb.connect(str(path), read_only=read_only, config=_NO_EXTENSIONS)
    except duckdb.IOException as exc:
        if "not a valid DuckDB database file" in str(exc):
            raise _not_a_registry(path) from None
        raise InputError(f"{path}: cannot open registry ({_first_line(exc)})") from None
    except duckdb.Error as exc:
        raise damaged(path, exc) from None


def _check_tables(path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    """Every table and column of the current schema is there (a hand-edited file may not be)."""
    found: dict[str, set[str]] = {}
    for table, column in conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
    ).fetchall():
        found.setdefault(table, set()).add(column)
    for spec in TABLES.values():
        if spec.name not in found:
            raise InputError(
                f"{path}: table {spec.name} is missing: the file was edited outside "
                "netoutcomes or is damaged; restore it from a backup"
            )
        missing = [c for c in column_types(spec) if c not in found[spec.name]]
        if missing:
            raise InputError(
                f"{path}: table {spec.name} is missing column {missing[0]}: the file was "
                "edited outside netoutcomes or is damaged; restore it from a backup"
            )


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
        if version == SCHEMA_VERSION:
            return []
        try:
            return migrate(conn, version)
        except duckdb.Error as exc:
            raise InputError(
                f"{path}: cannot upgrade the registry from schema version {version} "
                f"({_first_line(exc)}); the file was left as it was"
            ) from None
    finally:
        conn.close()


def _ensure_current(path: Path) -> None:
    conn = _connect(path, read_only=True)
    try:
        version = schema_version(conn)
    except duckdb.Error as exc:
        raise damaged(path, exc) from None
    finally:
        conn.close()
    if version is None:
        raise _not_a_registry(path)
    if version != SCHEMA_VERSION:
        upgrade_registry(path)
    conn = _connect(path, read_only=True)
    try:
        _check_tables(path, conn)
    except duckdb.Error as exc:
        raise damaged(path, exc) from None
    finally:
        conn.close()


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
        try:
            return _stored_rows(self._conn, table)
        except duckdb.Error as exc:
            raise damaged(self.path, exc) from None

    def rows(self, table: str) -> list[RegistryRecord]:
        """Rows of a table as validated model instances, ordered by primary key.

        A stored value the model refuses (written outside netoutcomes, or before a
        rule existed) is an InputError naming the table, the row and the column.
        """
        return self._validated(_spec(table).model, table)

    def rows_of(self, model: type[Record]) -> list[Record]:
        """Typed variant of ``rows``: ``registry.rows_of(Patient) -> list[Patient]``."""
        return self._validated(model, table_of(model).name)

    def _validated(self, model: type[Record], table: str) -> list[Record]:
        records = []
        spec = _spec(table)
        for row in self.stored_rows(table):
            try:
                records.append(model.model_validate(row))
            except ValidationError as exc:
                raise stored_row_error(self.path, spec, row, exc) from None
        return records

    def count(self, table: str) -> int:
        spec = _spec(table)
        try:
            return int(scalar(self._conn, f"SELECT count(*) FROM {spec.name}"))
        except duckdb.Error as exc:
            raise damaged(self.path, exc) from None

    def audit(self) -> list[AuditEntry]:
        """The audit log, oldest first."""
        try:
            rows = _select(self._conn, "SELECT * FROM audit ORDER BY audit_id")
        except duckdb.Error as exc:
            raise damaged(self.path, exc) from None
        return [AuditEntry(**row) for row in rows]

    def audit_intact(self) -> int | None:
        """None when the audit hash chain holds, else the first audit_id that breaks it."""
        return first_broken_entry(_select(self._conn, "SELECT * FROM audit ORDER BY audit_id"))

    @property
    def schema_version(self) -> int:
        return schema_version(self._conn) or 0

    def close(self) -> None:
        self._conn.close()


def stored_row_error(
    path: Path, spec: TableSpec, row: StoredRow, exc: ValidationError
) -> InputError:
    """One line: registry, table, row (its key), column, stored value, rule."""
    first = exc.errors()[0]
    column = str(first["loc"][0]) if first["loc"] else None
    key = "/".join(str(row[c]) for c in spec.primary_key)
    where = f"{path}, table {spec.name}, row {key}" + (f", column {column}" if column else "")
    value = f"stored value {row.get(column)!r}: " if column else ""
    rule = first["msg"].removeprefix("Value error, ")
    return InputError(
        f"{where}: {value}{rule} (the registry was edited outside netoutcomes, "
        "or the value predates this rule; correct it with an import)"
    )


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

    def __init__(self, path: Path, conn: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self._conn = conn

    def stored_rows(self, table: str) -> list[StoredRow]:
        try:
            return _stored_rows(self._conn, table)
        except duckdb.Error as exc:
            raise damaged(self.path, exc) from None

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
            yield WriteSession(path, conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()
