"""The audit log's hash chain: each entry's SHA-256 covers its content and the previous hash.

DuckDB has no triggers, so the log cannot forbid an UPDATE or DELETE typed in a
SQL shell. The chain makes such an edit visible: change, remove or reorder an
entry and every later ``entry_sha256`` stops matching (``first_broken_entry``).
Removing only the newest entries is not detected by the chain alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
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


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def entry_digest(previous: str, entry: Mapping[str, Any]) -> str:
    content = json.dumps([previous] + [_plain(entry[c]) for c in AUDIT_CONTENT])
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def chain(previous: str, entries: Iterable[dict[str, Any]]) -> str:
    """Set ``entry_sha256`` on each entry (in order); returns the last digest."""
    for entry in entries:
        previous = entry["entry_sha256"] = entry_digest(previous, entry)
    return previous


def first_broken_entry(entries: Iterable[Mapping[str, Any]]) -> int | None:
    """The audit_id of the first entry whose digest does not match, or None if intact."""
    previous = GENESIS
    for entry in entries:
        if entry["entry_sha256"] != entry_digest(previous, entry):
            return int(entry["audit_id"])
        previous = entry["entry_sha256"]
    return None
