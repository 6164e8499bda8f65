"""Login and logout, the home page, the audit log and the users page."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from netoutcomes.errors import InputError
from netoutcomes.interfaces.web.auth import checked_form, redirect, start_session
from netoutcomes.interfaces.web.data import RegistryAccess
from netoutcomes.interfaces.web.render import render
from netoutcomes.registry import users
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.store import AuditEntry

log = logging.getLogger("netoutcomes.web")
AUDIT_PAGE_ROWS = 500


def _access(request: Request) -> RegistryAccess:
    access: RegistryAccess = request.app.state.access
    return access


def _web_user(request: Request) -> str:
    """How the audit log names the signed-in user."""
    return f"web:{request.state.user}"


async def login_page(request: Request) -> Response:
    return render(request, "login.html", error=None, name="")


async def login_submit(request: Request) -> Response:
    form = await checked_form(request)
    client = request.client.host if request.client else "unknown"
    throttle = request.app.state.throttle
    name = form.get("name", "").strip()
    if throttle.blocked(client):
        log.warning("login throttled for a client")
        message = "Too many failed logins from this address. Wait a few minutes."
        return render(request, "login.html", status=429, error=message, name=name)
    access = _access(request)
    result = await access.call(users.authenticate, access.path, name, form.get("password", ""))
    access.users_changed()  # the lock-out counter moved
    if result.user is None:
        throttle.failed(client)
        log.info("failed login (%s)", result.reason)  # no name: it may be a mistyped password
        # One answer for unknown, wrong, locked and disabled: the page does not tell names.
        message = "Wrong name or password, or the account is locked or disabled."
        return render(request, "login.html", status=401, error=message, name=name)
    start_session(request, result.user.name, result.user.role)
    return redirect("/")


async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return redirect("/login")


async def home(request: Request) -> Response:
    access = _access(request)
    counts = await access.call(access.counts)
    return render(request, "home.html", counts=counts)


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    key: str  # "therapy_id=R1"
    change: str  # "agent: i131_mibg; date: 2011-04-01" or "cycle: 1 -> 2"


def _pairs(text: str | None) -> dict[str, object]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {"": text}
    return value if isinstance(value, dict) else {"": value}


def audit_row(entry: AuditEntry) -> AuditRow:
    key = ", ".join(f"{k}={v}" for k, v in _pairs(entry.row_key).items())
    new, old = _pairs(entry.new_values), _pairs(entry.old_values)
    if entry.action == "checkpoint":
        # The table digests are for `audit --verify`; the page shows why it was written.
        change = f"{new.get('reason', '')} (table digests recorded)"
    elif entry.old_values:
        change = "; ".join(f"{k}: {old.get(k)} → {v}" for k, v in new.items())
    else:
        change = "; ".join(f"{k}: {v}" for k, v in new.items() if v is not None)
    return AuditRow(entry, key, change)


def _matches(entry: AuditEntry, who: str, action: str, table: str, since: str, until: str) -> bool:
    day = entry.at_utc.date().isoformat()
    return (
        (not who or who.lower() in entry.who.lower())
        and (not action or entry.action == action)
        and (not table or entry.table_name == table)
        and (not since or day >= since)
        and (not until or day <= until)
    )


async def audit_log(request: Request) -> Response:
    access = _access(request)
    entries = await access.call(access.audit)
    q = request.query_params
    filters = {k: q.get(k, "").strip() for k in ("who", "action", "table", "since", "until")}
    shown = [e for e in reversed(entries) if _matches(e, **filters)]
    actions = sorted({e.action for e in entries})
    return render(
        request,
        "audit.html",
        entries=[audit_row(e) for e in shown[:AUDIT_PAGE_ROWS]],
        total=len(shown),
        limit=AUDIT_PAGE_ROWS,
        filters=filters,
        actions=actions,
        tables=list(TABLES),
    )


async def _users_page(request: Request, status: int = 200, **context: object) -> Response:
    access = _access(request)
    found = await access.call(users.list_users, access.path)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    context.setdefault("error", None)
    context.setdefault("message", None)
    return render(
        request,
        "users.html",
        status=status,
        users=found,
        now=now,
        roles=[r.value for r in users.Role],
        **context,
    )


async def users_page(request: Request) -> Response:
    return await _users_page(request)


async def user_add(request: Request) -> Response:
    form = await checked_form(request)
    access = _access(request)
    name, role = form.get("name", "").strip(), form.get("role", "")
    try:
        await access.call(
            users.add_user, access.path, name, role, form.get("password", ""), _web_user(request)
        )
    except InputError as exc:
        return await _users_page(request, status=400, error=str(exc))
    finally:
        access.changed()
    return await _users_page(request, message=f"Added {name} ({role}).")


async def user_change(request: Request) -> Response:
    form = await checked_form(request)
    access = _access(request)
    name = request.path_params["name"]
    change = form.get("change", "")
    try:
        if change in ("disable", "enable"):
            if name == request.state.user:
                raise InputError("you cannot disable your own account")
            await access.call(
                users.set_disabled, access.path, name, change == "disable", _web_user(request)
            )
        elif change == "reset":
            await access.call(
                users.reset_password,
                access.path,
                name,
                form.get("password", ""),
                _web_user(request),
            )
        else:
            raise InputError(f"unknown change {change!r}")
    except InputError as exc:
        return await _users_page(request, status=400, error=str(exc))
    finally:
        access.changed()
    return await _users_page(request, message=f"{name}: {change} done.")
