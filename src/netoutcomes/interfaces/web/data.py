"""What the pages read and write, through the registry and study layers only (no SQL here).

DuckDB lets one process hold a file either read-only or read-write, not both at
once, so every call into the registry goes through ``RegistryAccess.call``:
one at a time, in a worker thread. The server is the only writer of the file
(``registry.server_lock``), so what it read stays true until it writes itself:
the screening of the whole registry is cached until the next write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from netoutcomes.registry.importing import ImportReport, import_data
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import StoredRow
from netoutcomes.registry.sources import Problem, SourceData, SourceFile, SourceRow
from netoutcomes.registry.store import AuditEntry, open_registry, row_key
from netoutcomes.registry.users import User, list_users
from netoutcomes.study.eligibility import PatientVerdict, Screening, screen
from netoutcomes.study.load import patient_records
from netoutcomes.study.protocol import Protocol, bundled_protocol_path, load_protocol
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.run import SYNTHETIC_PREFIX

T = TypeVar("T")
PROTOCOLS = ("mibg-net", "lu177-pnet")  # the bundled protocols the web app offers
FORM_FILE = "web form"


def protocol_named(name: str | None) -> str:
    return name if name in PROTOCOLS else PROTOCOLS[0]


# Reads answered from the snapshot once it is loaded (screenings are computed from it).
_SNAPSHOT_READS = {
    "counts",
    "rows",
    "patient_rows",
    "stored",
    "audit",
    "records",
    "verdict",
    "screening",
}


@dataclass(frozen=True)
class Snapshot:
    """Everything the pages read, loaded in one opening of the registry."""

    tables: dict[str, list[StoredRow]]
    records: list[PatientRecord]
    audit: list[AuditEntry]
    synthetic: bool  # holds patients of the bundled SYNTHETIC cohort (ids SYN-...)


@dataclass
class _Cache:
    generation: int = 0
    snapshot: Snapshot | None = None
    screenings: dict[str, Screening] = field(default_factory=dict)
    protocols: dict[str, Protocol] = field(default_factory=dict)
    users: dict[str, User] | None = None


class RegistryAccess:
    def __init__(self, path: Path) -> None:
        self.path = path
        # Re-entrant: a read answered in memory may find the cache just invalidated by a
        # write in a worker thread, and then loads under the lock itself.
        self._lock = threading.RLock()
        self._cache = _Cache()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._in_memory(fn):
            return fn(*args)  # answered from the cache: no thread, no lock
        return await run_in_threadpool(self._locked, fn, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """For a function that only reads through this object (rows, records, screenings):
        answered on the event loop once the snapshot is loaded."""
        if self._cache.snapshot is not None:
            return fn(*args)
        return await self.call(fn, *args)

    def _in_memory(self, fn: Callable[..., Any]) -> bool:
        if getattr(fn, "__self__", None) is not self:
            return False
        name = getattr(fn, "__name__", "")
        if name == "user":
            return self._cache.users is not None
        return name in _SNAPSHOT_READS and self._cache.snapshot is not None

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return fn(*args)

    def changed(self) -> None:
        """After any write by this server: the snapshot is stale."""
        self._cache = _Cache(generation=self._cache.generation + 1, protocols=self._cache.protocols)

    # --- reads (call them through ``call``) ------------------------------------------

    def snapshot(self) -> Snapshot:
        # Opening a registry costs three DuckDB connections (tens of ms each): read it
        # all once, and again only after this server wrote (it is the only writer).
        return self._snapshot_of(self._cache)

    def _snapshot_of(self, cache: _Cache) -> Snapshot:
        if cache.snapshot is None:
            with self._lock:
                if cache.snapshot is None:
                    cache.snapshot = self._read_snapshot()
        return cache.snapshot

    def _read_snapshot(self) -> Snapshot:
        with open_registry(self.path) as registry:
            tables = {name: registry.stored_rows(name) for name in TABLES}
            records = patient_records(registry)
            audit = registry.audit()
        # Labelled as soon as one SYNTHETIC patient is in (a demo registry plus test entries).
        synthetic = any(r.patient_id.startswith(SYNTHETIC_PREFIX) for r in records)
        return Snapshot(tables, records, audit, synthetic)

    def synthetic(self) -> bool:
        """Whether the data shown are SYNTHETIC (as last read; no registry access)."""
        snapshot = self._cache.snapshot
        return snapshot is not None and snapshot.synthetic

    def user(self, name: str) -> User | None:
        cache = self._cache
        if cache.users is None:
            with self._lock:
                if cache.users is None:
                    cache.users = {u.name: u for u in list_users(self.path)}
        return cache.users.get(name)

    def users_changed(self) -> None:
        """After a login attempt (the lock-out counter) or a change to a user."""
        self._cache.users = None

    def protocol(self, name: str) -> Protocol:
        if name not in self._cache.protocols:
            self._cache.protocols[name] = load_protocol(bundled_protocol_path(name))
        return self._cache.protocols[name]

    def records(self) -> list[PatientRecord]:
        return self.snapshot().records

    def screening(self, name: str) -> Screening:
        cache = self._cache  # one generation: the screening is of the records it holds
        if name not in cache.screenings:
            records = self._snapshot_of(cache).records
            cache.screenings[name] = screen(self.protocol(name), records)
        return cache.screenings[name]

    def counts(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in self.snapshot().tables.items()}

    def rows(self, table: str) -> list[StoredRow]:
        return self.snapshot().tables[table]

    def patient_rows(self, patient_id: str) -> dict[str, list[StoredRow]]:
        """Every row about one patient, per table (lesions through the patient's scans)."""
        tables = self.snapshot().tables
        found = {
            name: [r for r in tables[name] if r.get("patient_id") == patient_id]
            for name, spec in TABLES.items()
            if "patient_id" in spec.model.model_fields
        }
        scans = {r["scan_id"] for r in found.get("scans", [])}
        found["lesions"] = [r for r in tables["lesions"] if r["scan_id"] in scans]
        return found

    def verdict(self, name: str, patient_id: str) -> PatientVerdict | None:
        for v in self.screening(name).verdicts:
            if v.patient_id == patient_id:
                return v
        return None

    def stored(self, table: str, key: tuple[str, ...]) -> StoredRow | None:
        spec = TABLES[table]
        for row in self.rows(table):
            if tuple(str(v) for v in row_key(spec, row)) == key:
                return row
        return None

    def audit(self) -> list[AuditEntry]:
        return self.snapshot().audit

    # --- writes -------------------------------------------------------------------

    def save_rows(
        self, rows: list[tuple[str, dict[str, Any]]], user: str, new_keys: bool
    ) -> ImportReport:
        """Rows from a form, validated and written as one import (all or nothing).

        ``new_keys``: the form adds records, so a key already stored is an error
        rather than an update of someone else's record. Raises ImportRejected.
        """
        from netoutcomes.registry.importing import ImportRejected

        digest = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode())
        sha = digest.hexdigest()
        source = SourceData(
            rows=[
                SourceRow(table, FORM_FILE, number, values, sha)
                for number, (table, values) in enumerate(rows, start=1)
            ],
            files=[SourceFile(FORM_FILE, sha)],
        )
        if new_keys:
            taken = self._taken_keys(rows)
            if taken:
                raise ImportRejected(taken)
        try:
            return import_data(self.path, source, user=user)
        finally:
            self.changed()

    def _taken_keys(self, rows: list[tuple[str, dict[str, Any]]]) -> list[Problem]:
        problems = []
        for number, (table, values) in enumerate(rows, start=1):
            spec = TABLES[table]
            key = tuple(str(values.get(c) or "") for c in spec.primary_key)
            if self.stored(table, key) is not None:
                column = spec.primary_key[-1]
                problems.append(
                    Problem(FORM_FILE, number, column, key[-1], "this id is already in use")
                )
        return problems

    def import_files(self, sources: list[Path], user: str, dry_run: bool) -> ImportReport:
        from netoutcomes.registry.sources import read_sources

        try:
            return import_data(self.path, read_sources(sources), user=user, dry_run=dry_run)
        finally:
            if not dry_run:
                self.changed()


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
