"""The audit log's tamper evidence: a hash chain, an optional keyed MAC, table digests, a head.

- **Hash chain.** Each entry's ``entry_sha256`` covers its content and the previous
  entry's hash: change, remove or reorder an entry and it stops matching.
- **Keyed MAC.** A plain chain can be recomputed by whoever can write the file. With
  a key (``NETOUTCOMES_AUDIT_KEY``, or a key file), each entry also gets
  ``entry_hmac`` = HMAC-SHA256(key, entry_sha256), which nobody without the key can
  recompute. The key never enters the registry file.
- **Table digests.** Every audited write ends with a ``checkpoint`` entry holding the
  SHA-256 of every data table as the write left it, so a row changed by any other
  means (a DuckDB shell) no longer matches the newest checkpoint.
- **Head.** ``<registry>.audit-head`` (JSON, written after every audited write, and
  worth copying elsewhere) names the newest entry; deleting the newest entries, or
  the whole log, no longer matches it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# The columns a digest covers, in this order (everything but the digest itself).
AUDIT_CONTENT = (
    "audit_id",
    "at_utc",
    "who",
    "action",
    "table_name",
    "row_key",
    "old_values",
    "new_values",
    "batch_id",
    "source_file",
    "source_sha256",
)
GENESIS = ""  # the "previous hash" of the first entry
CHECKPOINT = "checkpoint"  # the action of the entry holding the table digests
KEY_ENV = "NETOUTCOMES_AUDIT_KEY"  # the key itself
KEY_FILE_ENV = "NETOUTCOMES_AUDIT_KEY_FILE"  # or a file holding it
MIN_KEY_BYTES = 16  # a shorter key can be guessed
HEAD_SUFFIX = ".audit-head"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def entry_digest(previous: str, entry: Mapping[str, Any]) -> str:
    content = json.dumps([previous] + [_plain(entry[c]) for c in AUDIT_CONTENT])
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def entry_mac(key: bytes, entry_sha256: str) -> str:
    return hmac.new(key, entry_sha256.encode("ascii"), hashlib.sha256).hexdigest()


def chain(previous: str, entries: Iterable[dict[str, Any]], key: bytes | None = None) -> str:
    """Set ``entry_sha256`` (and ``entry_hmac`` when keyed) on each entry; returns the last."""
    for entry in entries:
        previous = entry["entry_sha256"] = entry_digest(previous, entry)
        entry["entry_hmac"] = None if key is None else entry_mac(key, previous)
    return previous


def first_broken_entry(entries: Iterable[Mapping[str, Any]]) -> int | None:
    """The audit_id of the first entry whose digest does not match, or None if intact."""
    previous = GENESIS
    for entry in entries:
        if entry["entry_sha256"] != entry_digest(previous, entry):
            return int(entry["audit_id"])
        previous = entry["entry_sha256"]
    return None


def rows_digest(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of a table's rows (in primary-key order), one canonical JSON line per row."""
    digest = hashlib.sha256()
    for row in rows:
        line = json.dumps([_plain(v) for v in row.values()], default=repr)
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


class AuditKeyError(ValueError):
    """The audit key is set but unusable (too short, unreadable file)."""


def read_key_file(path: str | Path) -> bytes:
    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        raise AuditKeyError(f"{path}: cannot read the audit key file ({exc.strerror})") from None
    if len(key) < MIN_KEY_BYTES:
        raise AuditKeyError(f"{path}: the audit key must be at least {MIN_KEY_BYTES} bytes")
    return key


def resolve_key(explicit: bytes | None = None) -> bytes | None:
    """The audit key: ``explicit``, else the file $NETOUTCOMES_AUDIT_KEY_FILE names, else
    $NETOUTCOMES_AUDIT_KEY."""
    if explicit is not None:
        return explicit
    if os.environ.get(KEY_FILE_ENV):
        return read_key_file(os.environ[KEY_FILE_ENV])
    text = os.environ.get(KEY_ENV)
    if not text:
        return None
    if len(text.encode("utf-8")) < MIN_KEY_BYTES:
        raise AuditKeyError(f"${KEY_ENV} must be at least {MIN_KEY_BYTES} bytes long")
    return text.encode("utf-8")


def head_path(registry: Path) -> Path:
    return registry.with_name(registry.name + HEAD_SUFFIX)


def head_record(registry: Path, last: Mapping[str, Any], count: int, key: bytes | None) -> dict:
    """What the head file holds: the newest entry, the number of entries, a MAC when keyed."""
    record: dict[str, Any] = {
        "registry": registry.name,
        "entries": count,
        "last_audit_id": int(last["audit_id"]),
        "last_entry_sha256": last["entry_sha256"],
    }
    record["hmac"] = None if key is None else entry_mac(key, _head_content(record))
    return record


def _head_content(record: Mapping[str, Any]) -> str:
    fields = ("registry", "entries", "last_audit_id", "last_entry_sha256")
    return json.dumps([record.get(f) for f in fields])


def head_mac_matches(record: Mapping[str, Any], key: bytes) -> bool:
    mac = record.get("hmac")
    return isinstance(mac, str) and hmac.compare_digest(mac, entry_mac(key, _head_content(record)))


def write_head(path: Path, record: Mapping[str, Any]) -> None:
    """Atomically replace the head file (owner-only: it describes a patient registry)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=1)
        handle.write("\n")
    os.replace(temporary, path)


def head_mismatch(
    head: Mapping[str, Any] | None,
    log: Mapping[int, str],
    key: bytes | None,
    newer_allowed: bool = False,
) -> str | None:
    """Why the log (audit_id -> entry_sha256) does not end where the head says, else None.

    ``newer_allowed``: entries after the head's are fine (an older copy the clinic
    kept elsewhere); the head file beside the registry must name the newest entry.
    """
    if head is None:
        return None if not log else "no audit head file"
    try:
        last_id, last_sha = int(head["last_audit_id"]), str(head["last_entry_sha256"])
    except (KeyError, TypeError, ValueError):
        return "the audit head file is not a head file"
    if key is not None and head.get("hmac") is not None and not head_mac_matches(head, key):
        return "the audit head file's HMAC does not match: it was edited or made without the key"
    if last_id not in log:
        newest = max(log, default=0)
        return (
            f"the head names entry {last_id}, but the log ends at entry {newest}: "
            "the newest entries were deleted"
        )
    if log[last_id] != last_sha:
        return f"entry {last_id} is not the one the head names: the log was rewritten"
    if not newer_allowed and max(log) != last_id:
        return (
            f"entries after {last_id} are not covered by the head: appended outside "
            "netoutcomes, or the head file was replaced by an older copy"
        )
    return None


def read_head(path: Path) -> dict[str, Any] | None:
    """The head file's record; None when there is no file; a ValueError when unreadable."""
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable audit head file ({exc})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: not an audit head file")
    return record
