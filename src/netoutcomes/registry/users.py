"""The registry's users: names, roles, argon2 password hashes and lock-out state.

    add_user("clinic.duckdb", "alice", "data_manager", password, by="os:root")
    result = authenticate("clinic.duckdb", "alice", password)   # LoginResult

The ``users`` table lives in the registry file beside the data (so a copy of
the file carries its users), but outside the data tables: it is never
exported, and the audit checkpoints' table digests do not cover it. Every
change to a user (added, disabled, password reset, locked out) is an audit
event (``action`` ``user``) naming who did it; failed logins only move the
counter.

Lock-out: ``MAX_FAILED_LOGINS`` wrong passwords in a row lock the account for
``LOCK_MINUTES`` (a reset by an admin unlocks it at once). A locked, disabled
or unknown account and a wrong password all get the same answer from the web
app, so that a login page does not tell which names exist.

The table is created with every new registry and by the schema 3 -> 4
migration (``registry.users_table``); ``ensure_users_table`` still creates it
idempotently when a user is added or the server starts, so a registry opened
read-only before its upgrade does not break the login page.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from netoutcomes.errors import InputError
from netoutcomes.registry.server_lock import refuse_if_served
from netoutcomes.registry.store import connect_current, damaged, open_registry
from netoutcomes.registry.users_table import add_users_table
from netoutcomes.registry.writer import write_session

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 10
_NAME = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")

# argon2id with the library's defaults (RFC 9106 "second recommended" profile).
_HASHER = PasswordHasher()
# Verified when the name is unknown, so that the answer takes as long as for a real user.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class Role(StrEnum):
    admin = "admin"
    data_manager = "data_manager"
    analyst = "analyst"
    viewer = "viewer"


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    disabled: bool
    failed_logins: int
    locked_until: dt.datetime | None
    created_at: dt.datetime

    def locked(self, now: dt.datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class LoginResult:
    user: User | None  # set only when the login succeeded
    reason: str  # "ok", "unknown", "wrong_password", "locked", "disabled"
    locked_now: bool = False  # this attempt locked the account


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InputError(
            f"user name {name!r}: 2-32 characters, lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter"
        )
    return name


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InputError(f"role {role!r}: one of {', '.join(r.value for r in Role)}") from None


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


def ensure_users_table(path: str | Path) -> None:
    """Create the users table if the registry has none (idempotent)."""
    path = Path(path)
    with open_registry(path) as registry:
        if _has_users_table(registry.connection):
            return
    refuse_if_served(path)
    conn = connect_current(path)
    try:
        add_users_table(conn)
    except duckdb.Error as exc:
        raise damaged(path, exc) from None
    finally:
        conn.close()


def _has_users_table(conn: duckdb.DuckDBPyConnection) -> bool:
    rows = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'users'"
    ).fetchall()
    return bool(rows[0][0])


_COLUMNS = "name, role, disabled, failed_logins, locked_until, created_at"


def _user(row: tuple) -> User:
    name, role, disabled, failed, locked_until, created = row
    return User(name, Role(role), bool(disabled), int(failed), locked_until, created)


def list_users(path: str | Path) -> list[User]:
    with open_registry(path) as registry:
        conn = registry.connection
        if not _has_users_table(conn):
            return []
        rows = conn.execute(f"SELECT {_COLUMNS} FROM users ORDER BY name").fetchall()
    return [_user(r) for r in rows]


def get_user(path: str | Path, name: str) -> User | None:
    with open_registry(path) as registry:
        conn = registry.connection
        if not _has_users_table(conn):
            return None
        rows = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE name = ?", [name]).fetchall()
    return _user(rows[0]) if rows else None


# The configuration store.py opens registries with: DuckDB shares one database instance
# between the connections of a process only when their configurations are equal.
_REGISTRY_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}


def _same_instance(path: Path) -> duckdb.DuckDBPyConnection:
    """A writable connection beside an open write session (same configuration)."""
    return duckdb.connect(str(path), config=_REGISTRY_CONFIG)


def _write(path: Path, sql: str, params: list, who: str, details: dict) -> None:
    """One users-table change and its audit event (the event is written after the change
    commits: a crash in between leaves a change without its entry, never the reverse)."""
    refuse_if_served(path)
    with write_session(path) as session:
        conn = _same_instance(path)
        try:
            add_users_table(conn)  # idempotent: a registry from before users has none
            changed = conn.execute(sql, params).fetchall()
        except duckdb.ConstraintException:
            raise InputError(f"{path}: user {details.get('user')!r} already exists") from None
        finally:
            conn.close()
        if not changed or not changed[0][0]:
            raise InputError(f"{path}: no user {details.get('user')!r}")
        session.record_event("user", who, details)


def add_user(path: str | Path, name: str, role: str, password: str, by: str) -> User:
    path = Path(path)
    check_name(name)
    checked_role = check_role(role)
    check_password(password)
    now = _now()
    _write(
        path,
        "INSERT INTO users VALUES (?, ?, ?, false, 0, NULL, ?, ?)",
        [name, checked_role.value, _HASHER.hash(password), now, now],
        by,
        {"change": "added", "user": name, "role": checked_role.value},
    )
    return User(name, checked_role, False, 0, None, now)


def set_disabled(path: str | Path, name: str, disabled: bool, by: str) -> None:
    path = Path(path)
    _write(
        path,
        "UPDATE users SET disabled = ? WHERE name = ?",
        [disabled, name],
        by,
        {"change": "disabled" if disabled else "enabled", "user": name},
    )


def reset_password(path: str | Path, name: str, password: str, by: str) -> None:
    """A new password; also unlocks the account."""
    path = Path(path)
    check_password(password)
    _write(
        path,
        "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL, "
        "password_changed_at = ? WHERE name = ?",
        [_HASHER.hash(password), _now(), name],
        by,
        {"change": "password reset", "user": name},
    )


def _stored_hash(path: Path, name: str) -> tuple[User, str] | None:
    with open_registry(path) as registry:
        conn = registry.connection
        if not _has_users_table(conn):
            return None
        rows = conn.execute(
            f"SELECT {_COLUMNS}, password_hash FROM users WHERE name = ?", [name]
        ).fetchall()
    return (_user(rows[0][:-1]), str(rows[0][-1])) if rows else None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(
    path: str | Path, name: str, password: str, now: dt.datetime | None = None
) -> LoginResult:
    """Check a password and update the lock-out state (the caller is the one writer)."""
    path = Path(path)
    now = now or _now()
    found = _stored_hash(path, name)
    if found is None:
        _verify(_DUMMY_HASH, password)
        return LoginResult(None, "unknown")
    user, password_hash = found
    if user.disabled or user.locked(now):
        _verify(_DUMMY_HASH, password)  # as slow as a real check: the state does not show
        return LoginResult(None, "disabled" if user.disabled else "locked")
    if _verify(password_hash, password):
        if user.failed_logins or user.locked_until is not None:
            _update_state(path, "failed_logins = 0, locked_until = NULL", [name])
        return LoginResult(replace(user, failed_logins=0, locked_until=None), "ok")
    failed = user.failed_logins + 1
    if failed < MAX_FAILED_LOGINS:
        _update_state(path, "failed_logins = ?", [failed, name])
        return LoginResult(None, "wrong_password")
    until = now + dt.timedelta(minutes=LOCK_MINUTES)
    _write(
        path,
        "UPDATE users SET failed_logins = 0, locked_until = ? WHERE name = ?",
        [until, name],
        "netoutcomes login",
        {"change": "locked out", "user": name, "after_failed_logins": failed},
    )
    return LoginResult(None, "locked", locked_now=True)


def _update_state(path: Path, assignments: str, params: list) -> None:
    """Lock-out bookkeeping: not audited (a counter, not a change to who may do what)."""
    conn = _same_instance(path)
    try:
        conn.execute(f"UPDATE users SET {assignments} WHERE name = ?", params)
    finally:
        conn.close()
