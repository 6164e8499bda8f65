"""Checking the audit log, and recording events that change no row (exports, screenings).

    verdict = verify_audit("clinic.duckdb", key=b"...")     # AuditVerdict
    record_event("clinic.duckdb", "screen", "os:alice", {"protocol": "mibg.yaml"})

``verify_audit`` recomputes everything ``registry.chain`` describes: the hash
chain, the MAC of every entry (with the key), the digest of every data table
against the newest checkpoint, and the log's end against the head file. What
it finds is in ``problems`` (tampering: exit 2); what it cannot prove (no key,
entries written before the key was set) is in ``unproven``.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb

from netoutcomes.errors import InputError
from netoutcomes.registry.chain import (
    KEY_ENV,
    KEY_FILE_ENV,
    entry_mac,
    first_broken_entry,
    head_mismatch,
    head_path,
    read_head,
)
from netoutcomes.registry.importing import os_user
from netoutcomes.registry.migrations import MIGRATION_USER
from netoutcomes.registry.model import TABLES, TableSpec
from netoutcomes.registry.schema import StoredRow
from netoutcomes.registry.store import AuditEntry, damaged, open_registry, to_json
from netoutcomes.registry.writer import session_key, tampered_tables, write_session

EVENT_ACTIONS = ("export", "screen", "analyze", "report")


@dataclass(frozen=True)
class AuditVerdict:
    entries: int
    problems: list[str]  # tampering found; empty when the log holds
    unproven: list[str]  # what this check cannot rule out (say it, do not hide it)

    @property
    def intact(self) -> bool:
        return not self.problems


def _mac_findings(entries: list[Any], key: bytes | None) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    unproven: list[str] = []
    keyed = [e for e in entries if e.entry_hmac]
    if key is None:
        if entries:
            unproven.append(
                f"no audit key given (${KEY_ENV} or ${KEY_FILE_ENV}, or --audit-key-file): "
                "someone able to write the registry and its head file could have rewritten "
                "entries and recomputed the chain; the key is what proves authorship"
            )
        return problems, unproven
    seen_keyed = False
    unkeyed_before = 0
    for entry in entries:
        if entry.entry_hmac:
            seen_keyed = True
            if not hmac.compare_digest(entry.entry_hmac, entry_mac(key, entry.entry_sha256)):
                problems.append(
                    f"audit entry {entry.audit_id}: its HMAC does not match (edited and "
                    "re-chained, forged, or checked with the wrong key)"
                )
                break
        elif seen_keyed:
            problems.append(
                f"audit entry {entry.audit_id} has no HMAC although earlier entries do: "
                "written by someone without the key"
            )
            break
        else:
            unkeyed_before += 1
    if unkeyed_before:
        unproven.append(
            f"the first {unkeyed_before} entries were written without a key: only the "
            "hash chain and the head vouch for them"
        )
    if entries and not keyed:
        problems.append("no audit entry carries an HMAC, yet a key was given")
    return problems, unproven


def verify_audit(
    registry_path: str | Path, key: bytes | None = None, head: str | Path | None = None
) -> AuditVerdict:
    """Every check of the audit log (see the module doc). ``head``: the clinic's own copy of
    the head file (may be older than the log); default: the file beside the registry."""
    path = Path(registry_path)
    key = session_key(key)
    head_file = Path(head) if head is not None else head_path(path)
    try:
        head_record = read_head(head_file)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if head is not None and head_record is None:
        raise InputError(f"{head_file}: no such audit head file")
    problems: list[str] = []
    with open_registry(path) as registry:
        entries = registry.audit()
        try:
            changed = tampered_tables(registry.connection)
        except duckdb.Error as exc:
            raise damaged(path, exc) from None
        rows = {table: registry.stored_rows(table) for table in changed}
    broken = first_broken_entry(asdict(e) for e in entries)
    if broken is not None:
        problems.append(
            f"audit entry {broken} breaks the hash chain: an entry was edited, removed or reordered"
        )
    mac_problems, unproven = _mac_findings(entries, key)
    problems += mac_problems
    log = {e.audit_id: e.entry_sha256 for e in entries}
    why = head_mismatch(head_record, log, key, newer_allowed=head is not None)
    if why == "no audit head file":
        why = (
            f"no audit head file {head_file}: every audited write leaves one beside the "
            "registry; without it the deletion of the newest entries cannot be ruled out "
            "(give the clinic's copy with --head)"
        )
    if why is not None:
        problems.append(why)
    elif head_record is not None and key is None and head_record.get("hmac"):
        unproven.append("the head file's HMAC was not checked (no key)")
    migrated = any(e.who == MIGRATION_USER for e in entries)
    for table in changed:
        # Replaying the log names the row, when every row came through it (not when
        # a migration vouched for rows written before the log held whole rows).
        where = "" if migrated else _first_difference(TABLES[table], entries, rows[table])
        problems.append(
            f"table {table} differs from the state the last audited write left "
            "(its digest does not match the newest checkpoint): rows were inserted, "
            f"updated or deleted outside netoutcomes{where}"
        )
    return AuditVerdict(len(entries), problems, unproven)


def _first_difference(spec: TableSpec, entries: list[AuditEntry], rows: list[StoredRow]) -> str:
    """``: row {...}, column c: ...`` for the first row that differs from the log's replay."""
    expected: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.table_name == spec.name and entry.action == "insert":
            expected[entry.row_key] = json.loads(entry.new_values)
        elif entry.table_name == spec.name and entry.action == "update":
            expected.setdefault(entry.row_key, {}).update(json.loads(entry.new_values))
    stored = {
        to_json({c: row[c] for c in spec.primary_key}): json.loads(to_json(row)) for row in rows
    }
    for key in sorted(set(expected) | set(stored)):
        if key not in stored:
            return f": row {key} was deleted"
        if key not in expected:
            return f": row {key} was inserted"
        for column, value in stored[key].items():
            if expected[key].get(column) != value:
                logged = expected[key].get(column)
                return f": row {key}, column {column} is {value!r}, the log says {logged!r}"
    return ""


def cli_who(claimed: str | None) -> str:
    """The audit log's ``who`` for a command-line user: the OS login (``os:alice``), or a
    ``--user`` claim marked as such (``cli:jdoe (unauthenticated; OS user alice)``)."""
    if claimed is None:
        return f"os:{os_user()}"
    return f"cli:{claimed} (unauthenticated; OS user {os_user()})"


def record_event(
    registry_path: str | Path,
    action: str,
    user: str,
    details: dict[str, Any],
    audit_key: bytes | None = None,
) -> None:
    """Append one audit entry for an operation that reads the registry but changes no row.

    ``action`` is one of EVENT_ACTIONS; ``details`` is stored as JSON (what was done,
    with what: a protocol file and its SHA-256, an output folder). Call it after the
    operation's read connection is closed (DuckDB allows one writer).
    """
    if action not in EVENT_ACTIONS:
        raise ValueError(f"unknown audit event {action!r}; one of {', '.join(EVENT_ACTIONS)}")
    with write_session(registry_path, audit_key) as session:
        session.record_event(action, user, details)
