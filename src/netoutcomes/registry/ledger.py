"""Appending to the audit log inside an open transaction: entries, checkpoints, digests.

Every writer of the log (an import, a schema migration, an audited event such as
an export) appends through ``append_entries``, which numbers, chains and (with a
key) MACs the entries; ``append_checkpoint`` records the digest of every data
table as the transaction leaves it (see ``registry.chain``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import duckdb
import pyarrow as pa

from netoutcomes.registry.chain import AUDIT_CONTENT, CHECKPOINT, GENESIS, chain, rows_digest
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import table_rows

_TEXT_COLUMNS = [
    c for c in (*AUDIT_CONTENT, "entry_sha256", "entry_hmac") if c not in ("audit_id", "at_utc")
]
_AUDIT_SCHEMA = pa.schema(
    [("audit_id", pa.int64()), ("at_utc", pa.timestamp("us"))]
    + [(name, pa.string()) for name in _TEXT_COLUMNS]
)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def table_digests(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """SHA-256 of every data table's rows, as this connection sees them."""
    return {name: rows_digest(table_rows(conn, spec)) for name, spec in TABLES.items()}


def last_entry(conn: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    cursor = conn.execute("SELECT * FROM audit ORDER BY audit_id DESC LIMIT 1")
    names = [d[0] for d in cursor.description or ()]
    rows = cursor.fetchall()
    return dict(zip(names, rows[0], strict=True)) if rows else None


def last_checkpoint(conn: duckdb.DuckDBPyConnection) -> dict[str, str] | None:
    """The table digests of the newest checkpoint entry, or None when there is none."""
    rows = conn.execute(
        "SELECT new_values FROM audit WHERE action = ? ORDER BY audit_id DESC LIMIT 1",
        [CHECKPOINT],
    ).fetchall()
    if not rows:
        return None
    digests = json.loads(rows[0][0]).get("tables")
    return digests if isinstance(digests, dict) else {}


def append_entries(
    conn: duckdb.DuckDBPyConnection, records: list[dict[str, Any]], key: bytes | None
) -> dict[str, Any] | None:
    """Number, chain and insert entries (``records`` lack audit_id and the digests).

    Returns the newest entry (None when there was nothing to append).
    """
    if not records:
        return None
    last = last_entry(conn)
    first_id = int(last["audit_id"]) + 1 if last else 1
    for offset, record in enumerate(records):
        record["audit_id"] = first_id + offset
    chain(last["entry_sha256"] if last else GENESIS, records, key)
    conn.register("new_audit", pa.Table.from_pylist(records, schema=_AUDIT_SCHEMA))
    conn.execute("INSERT INTO audit BY NAME SELECT * FROM new_audit")
    conn.unregister("new_audit")
    return records[-1]


def event_record(
    who: str,
    action: str,
    details: dict[str, Any],
    batch_id: str | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """An entry that changes no row: a checkpoint, an export, a screening, an analysis."""
    return {
        "at_utc": at or utc_now(),
        "who": who,
        "action": action,
        "table_name": "",
        "row_key": "{}",
        "old_values": None,
        "new_values": json.dumps(details, sort_keys=True, default=str),
        "batch_id": batch_id or uuid.uuid4().hex,
        "source_file": "",
        "source_sha256": "",
    }


def append_checkpoint(
    conn: duckdb.DuckDBPyConnection,
    who: str,
    reason: str,
    key: bytes | None,
    batch_id: str | None = None,
) -> dict[str, Any] | None:
    """Append a checkpoint: the digest of every data table as this transaction leaves it."""
    details = {"reason": reason, "tables": table_digests(conn)}
    return append_entries(conn, [event_record(who, CHECKPOINT, details, batch_id)], key)
