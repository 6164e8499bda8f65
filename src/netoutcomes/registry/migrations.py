"""Upgrades of an older registry file, one schema version at a time, in one transaction.

Version history:
  1  first release: ``therapies.activity_mci`` (mCi), no ``diagnoses.lung_category``.
  2  activity stored in MBq (``therapies.activity_mbq``, 1 mCi = 37 MBq);
     ``diagnoses.lung_category`` added; audit entries hash-chained (``entry_sha256``).
  3  audit entries keyed (``entry_hmac``, HMAC-SHA256 when a key is set); every audited
     write ends with a ``checkpoint`` entry holding the digest of every data table.
     The upgrade appends one checkpoint of the tables as they are: the audit vouches
     for changes from then on.
  4  ``adverse_events`` (CTCAE v5.0 term and grade, onset, therapy, attribution) and
     the ``users`` table of the web app (``registry.users_table``).

Every upgrade ends with one checkpoint of the tables as they are (from version 3
on, the audit vouches for changes from then on): appended once after the last
step, so that it digests every table of the current version.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from netoutcomes.registry.chain import AUDIT_CONTENT, GENESIS, chain
from netoutcomes.registry.ledger import append_checkpoint
from netoutcomes.registry.model import MBQ_PER_MCI, TABLES
from netoutcomes.registry.schema import SCHEMA_VERSION, create_table_sql, record_version
from netoutcomes.registry.users_table import add_users_table

MIGRATION_USER = "netoutcomes schema migration"


def _v1_to_v2(conn: duckdb.DuckDBPyConnection, key: bytes | None) -> None:
    conn.execute("ALTER TABLE therapies ADD COLUMN activity_mbq DOUBLE")
    conn.execute(f"UPDATE therapies SET activity_mbq = activity_mci * {MBQ_PER_MCI}")
    conn.execute("ALTER TABLE therapies DROP COLUMN activity_mci")
    conn.execute("ALTER TABLE diagnoses ADD COLUMN lung_category VARCHAR")
    # Version 1 had no hash chain: chain the entries it wrote, in their order.
    conn.execute("ALTER TABLE audit ADD COLUMN entry_sha256 VARCHAR")
    cursor = conn.execute(f"SELECT {', '.join(AUDIT_CONTENT)} FROM audit ORDER BY audit_id")
    entries = [dict(zip(AUDIT_CONTENT, row, strict=True)) for row in cursor.fetchall()]
    chain(GENESIS, entries)
    for entry in entries:
        conn.execute(
            "UPDATE audit SET entry_sha256 = ? WHERE audit_id = ?",
            [entry["entry_sha256"], entry["audit_id"]],
        )


def _v2_to_v3(conn: duckdb.DuckDBPyConnection, key: bytes | None) -> None:
    conn.execute("ALTER TABLE audit ADD COLUMN entry_hmac VARCHAR")


def _v3_to_v4(conn: duckdb.DuckDBPyConnection, key: bytes | None) -> None:
    add_users_table(conn, key)
    conn.execute(create_table_sql(TABLES["adverse_events"]))


# MIGRATIONS[n] upgrades a version-n registry to version n + 1.
MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection, bytes | None], None]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
}


def migrate(conn: duckdb.DuckDBPyConnection, from_version: int, key: bytes | None) -> list[int]:
    """Apply every migration from ``from_version`` to SCHEMA_VERSION in one transaction.

    Returns the versions reached, in order. Rolled back entirely on any error.
    """
    reached: list[int] = []
    conn.execute("BEGIN TRANSACTION")
    try:
        version = from_version
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](conn, key)
            version += 1
            record_version(conn, version)
            reached.append(version)
        if reached:
            append_checkpoint(conn, MIGRATION_USER, f"schema version {version}", key)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return reached
