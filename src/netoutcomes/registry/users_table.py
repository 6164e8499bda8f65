"""The DDL of the registry's ``users`` table, with no dependency on the registry store.

``registry.schema`` (a new registry) and ``registry.migrations`` (the v3 -> v4
upgrade) create the table; ``registry.users`` reads and writes it. It lives
here because ``registry.users`` imports the store, which imports the
migrations: importing ``registry.users`` from them would be an import cycle.
"""

from __future__ import annotations

import duckdb

USERS_DDL = """CREATE TABLE IF NOT EXISTS users (
    name VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, password_hash VARCHAR NOT NULL,
    disabled BOOLEAN NOT NULL, failed_logins INTEGER NOT NULL, locked_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL, password_changed_at TIMESTAMP NOT NULL)"""


def add_users_table(conn: duckdb.DuckDBPyConnection, key: bytes | None = None) -> None:
    """Create the users table if it is missing (idempotent; a migration step's signature)."""
    conn.execute(USERS_DDL)
