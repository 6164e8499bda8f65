"""The registry file: create it, open it (upgrading an older schema), read its rows, write changes.

Reading::

    with open_registry("clinic.duckdb") as registry:
        patients = registry.rows_of(Patient)      # list[Patient]
        scans = registry.rows("scans")            # list[RegistryRecord]

Every write goes through ``registry.writer.write_session``: one DuckDB
transaction that reads the stored rows, and writes the rows, the import batch
and their audit entries, or nothing. Nothing else in the package writes data
rows, which is what keeps the audit log append-only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from pydantic import ValidationError

from netoutcomes.errors import InputError
from netoutcomes.registry.chain import (
    AuditKeyError,
    first_broken_entry,
    head_path,
    head_record,
    resolve_key,
    write_head,
)
from netoutcomes.registry.messages import describe
from netoutcomes.registry.migrations import migrate
from netoutcomes.registry.model import TABLES, RegistryRecord, TableSpec, table_of
from netoutcomes.registry.schema import (
    SCHEMA_VERSION,
    RowKey,
    StoredRow,
    column_types,
    create_schema,
    scalar,
    schema_version,
    table_rows,
)
from netoutcomes.registry.server_lock import refuse_if_served

Record = TypeVar("Record", bound=RegistryRecord)


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
    if path.exists() or path.is_symlink():
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
    path.chmod(0o600)  # patient data: the owner only, whatever the umask
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


def upgrade_registry(path: str | Path, audit_key: bytes | None = None) -> list[int]:
    """Migrate an older registry in place to the current schema; returns the versions applied.

    The upgrade appends a checkpoint entry to the audit log and writes the head file.
    """
    path = Path(path)
    refuse_if_served(path)  # the one-writer rule: a running server owns the file
    try:
        key = resolve_key(audit_key)
    except AuditKeyError as exc:
        raise InputError(str(exc)) from None
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
            reached = migrate(conn, version, key)
        except duckdb.Error as exc:
            raise InputError(
                f"{path}: cannot upgrade the registry from schema version {version} "
                f"({_first_line(exc)}); the file was left as it was"
            ) from None
        _write_head_after_migration(path, conn, key)
        return reached
    finally:
        conn.close()


def _write_head_after_migration(
    path: Path, conn: duckdb.DuckDBPyConnection, key: bytes | None
) -> None:
    rows = _select(conn, "SELECT audit_id, entry_sha256 FROM audit ORDER BY audit_id")
    if rows:
        write_head(head_path(path), head_record(path, rows[-1], len(rows), key))


def connect_current(path: Path, key: bytes | None = None) -> duckdb.DuckDBPyConnection:
    """A writable connection to a registry of the current schema (upgraded first if older)."""
    refuse_if_served(path)  # the one-writer rule: a running server owns the file
    _ensure_current(path, key)
    return _connect(path, read_only=False)


def _ensure_current(path: Path, key: bytes | None = None) -> None:
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
        upgrade_registry(path, key)
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
    action: str  # insert, update, checkpoint, or an event (export, screen, analyze)
    table_name: str
    row_key: str  # JSON object: primary-key column -> value
    old_values: str | None  # JSON object of the changed columns before (None on insert)
    new_values: str  # JSON object of the row (insert) or of the changed columns (update)
    batch_id: str
    source_file: str
    source_sha256: str
    entry_sha256: str  # hash chain, see registry.chain
    entry_hmac: str | None  # HMAC-SHA256 of entry_sha256 when written with a key


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
        return self._validated(spec_of(table).model, table)

    def rows_of(self, model: type[Record]) -> list[Record]:
        """Typed variant of ``rows``: ``registry.rows_of(Patient) -> list[Patient]``."""
        return self._validated(model, table_of(model).name)

    def _validated(self, model: type[Record], table: str) -> list[Record]:
        records = []
        spec = spec_of(table)
        for row in self.stored_rows(table):
            try:
                records.append(model.model_validate(row))
            except ValidationError as exc:
                raise stored_row_error(self.path, spec, row, exc) from None
        return records

    def count(self, table: str) -> int:
        spec = spec_of(table)
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
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The read-only connection (for the audit checks)."""
        return self._conn

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
    rule = describe(first, row.get(column) if column else None)
    return InputError(
        f"{where}: {value}{rule} (the registry was edited outside netoutcomes, "
        "or the value predates this rule; correct it with an import)"
    )


def _stored_rows(conn: duckdb.DuckDBPyConnection, table: str) -> list[StoredRow]:
    return table_rows(conn, spec_of(table))


def spec_of(table: str) -> TableSpec:
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
