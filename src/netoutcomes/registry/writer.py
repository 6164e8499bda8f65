"""The only code that writes data rows: one transaction with its audit entries, or nothing.

    with write_session("clinic.duckdb") as session:
        stored = session.stored_rows("patients")
        ...
        session.apply(batch, changes)

Before writing, the session checks that nobody changed the registry outside
netoutcomes since the last audited write (the tables against the newest
checkpoint's digests, the log against the head file): otherwise it refuses,
so that a tampering is never covered by a new checkpoint. After the commit it
rewrites the head file beside the registry (see ``registry.chain``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa

from netoutcomes.errors import InputError
from netoutcomes.registry.chain import (
    AuditKeyError,
    head_mismatch,
    head_path,
    head_record,
    read_head,
    resolve_key,
    write_head,
)
from netoutcomes.registry.ledger import (
    append_checkpoint,
    append_entries,
    event_record,
    last_checkpoint,
    table_digests,
    utc_now,
)
from netoutcomes.registry.model import TABLES, TableSpec
from netoutcomes.registry.schema import ColumnType, StoredRow, column_types, table_rows
from netoutcomes.registry.store import connect_current, damaged, spec_of, to_json

_ARROW_TYPE: dict[ColumnType, pa.DataType] = {
    "text": pa.string(),
    "integer": pa.int64(),
    "real": pa.float64(),
    "date": pa.date32(),
}


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


def _change_record(change: RowChange, batch: Batch, at: Any) -> dict[str, Any]:
    spec = TABLES[change.table]
    key = {c: change.row[c] for c in spec.primary_key}
    if change.action == "insert" or change.old is None:
        old, new = None, to_json(change.row)
    else:
        changed = [c for c in change.row if change.row[c] != change.old.get(c)]
        old = to_json({c: change.old.get(c) for c in changed})
        new = to_json({c: change.row[c] for c in changed})
    return {
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


def tampered_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Data tables whose rows differ from the newest checkpoint (or hold rows none recorded)."""
    digests = table_digests(conn)
    recorded = last_checkpoint(conn)
    if recorded is None:  # no audited write yet: the tables must be empty
        return [t for t in TABLES if scalar_count(conn, t) > 0]
    return [t for t, digest in digests.items() if recorded.get(t) != digest]


def scalar_count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {spec_of(table).name}").fetchall()[0][0])


def audit_log_ids(conn: duckdb.DuckDBPyConnection) -> dict[int, str]:
    rows = conn.execute("SELECT audit_id, entry_sha256 FROM audit ORDER BY audit_id").fetchall()
    return {int(i): str(sha) for i, sha in rows}


class WriteSession:
    """Reads and writes inside ONE open transaction (see ``write_session``)."""

    def __init__(self, path: Path, conn: duckdb.DuckDBPyConnection, key: bytes | None) -> None:
        self.path = path
        self._conn = conn
        self._key = key
        self.wrote = False

    def stored_rows(self, table: str) -> list[StoredRow]:
        try:
            return table_rows(self._conn, spec_of(table))
        except duckdb.Error as exc:
            raise damaged(self.path, exc) from None

    def _refuse_if_tampered(self, check_tables: bool) -> None:
        try:
            head = read_head(head_path(self.path))
        except ValueError as exc:
            raise InputError(str(exc)) from None
        why = head_mismatch(head, audit_log_ids(self._conn), self._key)
        if why is None and check_tables:
            changed = tampered_tables(self._conn)
            if changed:
                why = (
                    f"table {changed[0]} differs from what the last audited write left: "
                    "rows were changed outside netoutcomes"
                )
        if why is not None:
            raise InputError(
                f"{self.path}: refusing to write: {why}. Run `netoutcomes audit "
                f"{self.path} --verify` and restore the registry from a backup"
            )

    def apply(self, batch: Batch, changes: list[RowChange]) -> None:
        """Write rows, their audit entries, a checkpoint and the batch record (one transaction)."""
        if not changes:
            return
        self._refuse_if_tampered(check_tables=True)
        conn = self._conn
        at = utc_now()
        for spec in TABLES.values():
            mine = [c for c in changes if c.table == spec.name]
            if mine:
                _write_table_changes(conn, spec, mine)
        append_entries(conn, [_change_record(c, batch, at) for c in changes], self._key)
        reason = f"import of {len(changes)} changed rows"
        append_checkpoint(conn, batch.who, reason, self._key, batch.batch_id)
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
        self.wrote = True

    def record_event(self, action: str, who: str, details: dict[str, Any]) -> None:
        """An audit entry for something that changes no row (an export, a screening)."""
        self._refuse_if_tampered(check_tables=False)
        append_entries(self._conn, [event_record(who, action, details)], self._key)
        self.wrote = True

    def write_head(self) -> None:
        ids = audit_log_ids(self._conn)
        if ids:
            last = {"audit_id": max(ids), "entry_sha256": ids[max(ids)]}
            write_head(head_path(self.path), head_record(self.path, last, len(ids), self._key))


def session_key(explicit: bytes | None) -> bytes | None:
    try:
        return resolve_key(explicit)
    except AuditKeyError as exc:
        raise InputError(str(exc)) from None


@contextmanager
def write_session(path: str | Path, audit_key: bytes | None = None) -> Iterator[WriteSession]:
    """One transaction for a whole operation: read the state, validate, write, commit.

    Reading inside the write transaction means no other process can change the
    registry between validation and writing. Any exception rolls everything back;
    a session that reads and writes nothing leaves the file byte-for-byte the same.
    ``audit_key`` (else $NETOUTCOMES_AUDIT_KEY_FILE / $NETOUTCOMES_AUDIT_KEY) MACs
    the audit entries.
    """
    path = Path(path)
    key = session_key(audit_key)
    conn = connect_current(path, key)
    try:
        conn.execute("BEGIN TRANSACTION")
        session = WriteSession(path, conn, key)
        try:
            yield session
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if session.wrote:
            try:
                session.write_head()
            except OSError as exc:
                raise InputError(
                    f"{head_path(path)}: the change was written but the audit head file "
                    f"could not be ({exc.strerror}); `audit --verify` will report it"
                ) from None
    finally:
        conn.close()
