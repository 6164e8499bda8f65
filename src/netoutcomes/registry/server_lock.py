"""The one-writer rule: while `netoutcomes serve` runs, the server owns the registry file.

    with serving("clinic.duckdb", "http://127.0.0.1:8000"):
        ...                                   # the server runs
    refuse_if_served("clinic.duckdb")         # in every other writer: one clear line

The server holds an exclusive ``flock`` on ``<registry>.server`` (with its pid
and address inside) for as long as it runs; the kernel drops the lock when the
process dies, so a crashed server leaves a stale file that blocks nobody. A
writer in another process that finds the lock held fails with one line naming
the running server, instead of DuckDB's "Could not set lock on file" (or,
worse, a write between two of the server's). The server's own writes pass.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from netoutcomes.errors import InputError

# Registries this process serves (its own writes must pass its own lock).
_SERVED: set[Path] = set()


def lock_path(registry: str | Path) -> Path:
    registry = Path(registry)
    return registry.with_name(registry.name + ".server")


def _describe(lock: Path) -> str:
    try:
        info = json.loads(lock.read_text(encoding="utf-8"))
        return f"`netoutcomes serve` at {info['url']} (pid {info['pid']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "`netoutcomes serve`"


def running_server(registry: str | Path) -> str | None:
    """A description of the server holding ``registry``, or None when nobody serves it."""
    lock = lock_path(registry)
    try:
        handle = lock.open("rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{lock}: cannot read the server lock ({exc.strerror})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _describe(lock)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None  # a stale file left by a server that died: nobody holds it


def refuse_if_served(registry: str | Path) -> None:
    """Raise InputError naming the server when another process serves ``registry``."""
    if Path(registry).resolve() in _SERVED:
        return
    server = running_server(registry)
    if server is not None:
        raise InputError(
            f"{registry}: the registry is served by {server}; make the change in the web "
            "app, or stop the server first"
        )


@contextmanager
def serving(registry: str | Path, url: str) -> Iterator[Path]:
    """Hold the registry for a server; refuses when another server already holds it."""
    registry = Path(registry)
    lock = lock_path(registry)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InputError(f"{registry}: already served by {_describe(lock)}") from None
    info = {"pid": os.getpid(), "url": url, "since": dt.datetime.now(dt.UTC).isoformat()}
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(info).encode())
    resolved = registry.resolve()
    _SERVED.add(resolved)
    try:
        yield lock
    finally:
        _SERVED.discard(resolved)
        lock.unlink(missing_ok=True)
        os.close(fd)  # closing the descriptor releases the lock
