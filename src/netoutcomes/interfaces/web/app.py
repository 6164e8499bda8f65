"""The web app: every route with the permission it needs, the session, and the headers.

``ROUTES`` is the one list of routes; each is wrapped by ``guarded`` with its
permission, so a route cannot exist without one (tests/web/test_roles.py
checks every route against every role, and fails on a route it does not know).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Match, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netoutcomes.interfaces.web import pages_admin, pages_records, pages_study
from netoutcomes.interfaces.web.auth import (
    SESSION_SECONDS,
    CsrfRefused,
    Endpoint,
    LoginThrottle,
    Permission,
    allowed,
    redirect,
    session_user,
)
from netoutcomes.interfaces.web.data import RegistryAccess
from netoutcomes.interfaces.web.render import forbidden
from netoutcomes.registry.users import ensure_users_table, list_users

log = logging.getLogger("netoutcomes.web")

P = Permission


@dataclass(frozen=True)
class WebRoute:
    path: str
    endpoint: Endpoint
    methods: tuple[str, ...]
    permission: Permission


ROUTES: list[WebRoute] = [
    WebRoute("/login", pages_admin.login_page, ("GET",), P.public),
    WebRoute("/login", pages_admin.login_submit, ("POST",), P.public),
    WebRoute("/logout", pages_admin.logout, ("POST",), P.signed_in),
    WebRoute("/", pages_admin.home, ("GET",), P.aggregate),
    WebRoute("/patients", pages_records.patients, ("GET",), P.read_rows),
    WebRoute("/patients/{patient_id}", pages_records.timeline, ("GET",), P.read_rows),
    WebRoute("/records/{table}/new", pages_records.new_form, ("GET",), P.write_rows),
    WebRoute("/records/{table}/new", pages_records.new_submit, ("POST",), P.write_rows),
    WebRoute("/records/{table}/edit", pages_records.edit_form, ("GET",), P.write_rows),
    WebRoute("/records/{table}/edit", pages_records.edit_submit, ("POST",), P.write_rows),
    WebRoute("/screening", pages_study.screening, ("GET",), P.aggregate),
    WebRoute("/screening/verdicts", pages_study.verdicts, ("GET",), P.read_rows),
    WebRoute("/analysis", pages_study.analyses, ("GET",), P.aggregate),
    WebRoute("/analysis/run", pages_study.run_analysis, ("POST",), P.analyse),
    WebRoute("/analysis/{run_id}/report", pages_study.report, ("GET",), P.aggregate),
    WebRoute("/analysis/{run_id}/download", pages_study.download_report, ("GET",), P.aggregate),
    WebRoute("/export", pages_study.export_page, ("GET",), P.export),
    WebRoute("/export", pages_study.export_download, ("POST",), P.export),
    WebRoute("/import", pages_study.import_page, ("GET",), P.import_data),
    WebRoute("/import", pages_study.import_preview, ("POST",), P.import_data),
    WebRoute("/import/confirm", pages_study.import_confirm, ("POST",), P.import_data),
    WebRoute("/audit", pages_admin.audit_log, ("GET",), P.audit),
    WebRoute("/users", pages_admin.users_page, ("GET",), P.users),
    WebRoute("/users", pages_admin.user_add, ("POST",), P.users),
    WebRoute("/users/{name}", pages_admin.user_change, ("POST",), P.users),
]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def guarded(permission: Permission, endpoint: Endpoint) -> Endpoint:
    async def checked(request: Request) -> Response:
        try:
            if permission is P.public:
                return await endpoint(request)
            who = session_user(request)
            access: RegistryAccess = request.app.state.access
            user = None if who is None else await access.call(access.user, who[0])
            if who is None or user is None or user.disabled or user.role != who[1]:
                request.session.clear()
                if request.method == "GET":
                    return redirect("/login")
                return forbidden(request, "You are not signed in.")
            request.state.user, request.state.role = user.name, user.role
            if not allowed(user.role, permission):
                return forbidden(request)
            return await endpoint(request)
        except CsrfRefused:
            return forbidden(request, "The form was missing its security token. Reload the page.")

    return checked


class Headers:
    """Security headers on every response, and an access log without patient data:
    the route's pattern (``/patients/{patient_id}``), never the path or query."""

    def __init__(self, app: ASGIApp, routes: list[Route | Mount]) -> None:
        self.app = app
        self.routes = routes

    def _pattern(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", "?"))
        if str(scope.get("path", "")).startswith("/static/"):
            return "/static"
        return "(no route)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", [])]
                present = {k.lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        started_response = False

        async def tracked(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await with_headers(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            # The type only, and not re-raised: the server's traceback would print the
            # exception's message, which may quote a stored value.
            log.error("%s %s failed: %s", scope["method"], self._pattern(scope), type(exc).__name__)
            if not started_response:
                await tracked(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                    }
                )
                await tracked({"type": "http.response.body", "body": b"Internal error."})
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.0f ms", scope["method"], self._pattern(scope), status, elapsed)


def create_app(registry: str | Path, secret_key: str | None = None) -> Starlette:
    """The app over ``registry`` (its users table is created if missing)."""
    path = Path(registry)
    ensure_users_table(path)
    if not list_users(path):
        log.warning("no users yet: add one with `netoutcomes user add %s NAME --role admin`", path)
    routes: list[Route | Mount] = [
        Route(r.path, guarded(r.permission, r.endpoint), methods=list(r.methods)) for r in ROUTES
    ]
    routes.append(
        Mount("/static", StaticFiles(packages=[("netoutcomes.interfaces.web", "static")]))
    )
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(Headers, routes=routes),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key or secrets.token_urlsafe(32),
                session_cookie="netoutcomes_session",
                max_age=SESSION_SECONDS,
                same_site="strict",
            ),
        ],
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.state.access = RegistryAccess(path)
    app.state.access.snapshot()  # the first page needs no wait
    app.state.throttle = LoginThrottle()
    app.state.templates = Environment(
        loader=PackageLoader("netoutcomes.interfaces.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    return HTMLResponse("<!doctype html><title>Not found</title><p>Not found.</p>", status)
