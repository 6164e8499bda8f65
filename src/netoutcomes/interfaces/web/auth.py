"""Who may do what, and the session checks every route goes through.

Permissions, not a ladder of roles: a data manager enters data but does not run
analyses, an analyst analyses but does not edit, an admin manages users and
reads the audit log. ``ROLE_PERMISSIONS`` is the whole policy; every route
names the permission it needs (``app.ROUTES``), and ``guarded`` enforces it.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from enum import StrEnum

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from netoutcomes.registry.users import Role


class Permission(StrEnum):
    public = "public"  # no login (login page, static files)
    signed_in = "signed_in"  # any user
    aggregate = "aggregate"  # counts, CONSORT flow, analysis reports
    read_rows = "read_rows"  # row-level patient data
    write_rows = "write_rows"  # add and edit records
    import_data = "import_data"
    analyse = "analyse"  # run an analysis
    export = "export"  # de-identified export
    audit = "audit"  # the audit log (it holds row-level values)
    users = "users"


_EVERYONE = {Permission.public, Permission.signed_in, Permission.aggregate}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.viewer: frozenset(_EVERYONE),
    Role.analyst: frozenset(
        _EVERYONE | {Permission.read_rows, Permission.analyse, Permission.export}
    ),
    Role.data_manager: frozenset(
        _EVERYONE
        | {Permission.read_rows, Permission.write_rows, Permission.import_data, Permission.audit}
    ),
    Role.admin: frozenset(_EVERYONE | {Permission.users, Permission.audit}),
}

SESSION_SECONDS = 8 * 3600  # the cookie's lifetime (signed timestamp, checked by the server)
IDLE_SECONDS = 30 * 60  # a session unused this long ends
CSRF_FIELD = "csrf_token"

Endpoint = Callable[[Request], Awaitable[Response]]


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use); every form carries it."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


class CsrfRefused(Exception):
    pass


async def checked_multipart(request: Request) -> FormData:
    """The POSTed form (files too), after checking its CSRF token (else CsrfRefused)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str):
        raise CsrfRefused
    if not hmac.compare_digest(sent, expected):
        raise CsrfRefused
    return form


async def checked_form(request: Request) -> dict[str, str]:
    """The POSTed form's text fields, after checking its CSRF token (else CsrfRefused)."""
    form = await checked_multipart(request)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def start_session(request: Request, name: str, role: Role) -> None:
    """A fresh session at login (nothing carried over from before: no fixation)."""
    request.session.clear()
    now = int(time.time())
    request.session.update({"user": name, "role": role.value, "since": now, "seen": now})
    csrf_token(request)


def session_user(request: Request) -> tuple[str, Role] | None:
    """The signed-in user and role, or None (also ends an idle or expired session)."""
    name, role = request.session.get("user"), request.session.get("role")
    seen, since = request.session.get("seen"), request.session.get("since")
    if not isinstance(name, str) or not isinstance(role, str):
        return None
    now = int(time.time())
    if not isinstance(seen, int) or not isinstance(since, int):
        request.session.clear()
        return None
    if now - seen > IDLE_SECONDS or now - since > SESSION_SECONDS:
        request.session.clear()
        return None
    request.session["seen"] = now
    try:
        return name, Role(role)
    except ValueError:
        request.session.clear()
        return None


def allowed(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


class LoginThrottle:
    """At most ``limit`` failed logins per client address in ``window`` seconds (then 429).

    The account lock-out (registry.users) stops guessing one password; this stops
    one client from trying many names."""

    def __init__(self, limit: int = 20, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures[client]
        cutoff = time.monotonic() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= self.limit

    def failed(self, client: str) -> None:
        self._recent(client).append(time.monotonic())


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
