"""Every route x every role: allowed, or refused (403 / redirect to the login page).

The expected table is written here by hand, from the issue's rules (admin: users;
data_manager: enter, edit, import; analyst: screen, analyse, de-identified export;
viewer: reports and aggregate results only). A route the app has and this table
lacks fails the test: a new route cannot ship without its entry.
"""

from __future__ import annotations

import pytest
from starlette.routing import Route
from web_helpers import csrf_of

from netoutcomes.interfaces.web.app import ROUTES, create_app

A, D, N, V = "admin", "data_manager", "analyst", "viewer"
ALL = {A, D, N, V}
ROWS = {D, N}  # row-level patient data

# (method, path) -> roles allowed. A None role (not signed in) is allowed only on public routes.
EXPECTED: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): ALL,
    ("GET", "/"): ALL,
    ("GET", "/patients"): ROWS,
    ("GET", "/patients/{patient_id}"): ROWS,
    ("GET", "/records/{table}/new"): {D},
    ("POST", "/records/{table}/new"): {D},
    ("GET", "/records/{table}/edit"): {D},
    ("POST", "/records/{table}/edit"): {D},
    ("GET", "/screening"): ALL,
    ("GET", "/screening/verdicts"): ROWS,
    ("GET", "/analysis"): ALL,
    ("POST", "/analysis/run"): {N},
    ("GET", "/analysis/{run_id}/report"): ALL,
    ("GET", "/analysis/{run_id}/download"): ALL,
    ("GET", "/export"): {N},
    ("POST", "/export"): {N},
    ("GET", "/import"): {D},
    ("POST", "/import"): {D},
    ("POST", "/import/confirm"): {D},
    ("GET", "/audit"): {A, D},
    ("GET", "/users"): {A},
    ("POST", "/users"): {A},
    ("POST", "/users/{name}"): {A},
}

# Concrete URLs for the patterns (an existing record where the page needs one).
URLS = {
    "/patients/{patient_id}": "/patients/SYN-001",
    "/records/{table}/new": "/records/therapies/new?patient_id=SYN-001",
    "/records/{table}/edit": "/records/therapies/edit?therapy_id=SYN-001-R1",
    "/analysis/{run_id}/report": "/analysis/mibg-net-20260101T000000/report",
    "/analysis/{run_id}/download": "/analysis/mibg-net-20260101T000000/download",
    "/users/{name}": "/users/viewer",
}


def app_routes(registry) -> set[tuple[str, str]]:
    app = create_app(registry, secret_key="x")
    found = set()
    for route in app.routes:
        if isinstance(route, Route):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((method, route.path))
    return found


def test_every_route_has_an_expected_entry(registry) -> None:
    routes = app_routes(registry)
    assert routes == set(EXPECTED), (
        f"routes without an entry: {sorted(routes - set(EXPECTED))}; "
        f"entries without a route: {sorted(set(EXPECTED) - routes)}"
    )
    assert {(m, r.path) for r in ROUTES for m in r.methods} == routes


@pytest.mark.parametrize("role", [None, A, D, N, V])
def test_every_route_refuses_every_role_it_does_not_allow(shared_client_for, role) -> None:
    client = shared_client_for(role)
    token = csrf_of(client.get("/login").text) if role is None else None
    for (method, pattern), allowed in sorted(EXPECTED.items()):
        if pattern in ("/login", "/logout"):
            continue  # logging in and out change the session: tested in test_security
        url = URLS.get(pattern, pattern)
        if method == "GET":
            response = client.get(url, follow_redirects=False)
        else:
            # A valid CSRF token, so that a refusal here is the role's, not the token's.
            token = token or csrf_of(client.get("/").text)
            response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
        if allowed == "public":
            assert response.status_code == 200, (method, url)
            continue
        may = role is not None and role in allowed
        if may:
            assert response.status_code not in (401, 403), (role, method, url)
            assert not (response.status_code == 303 and "/login" in response.headers["location"])
        elif role is None and method == "GET":
            assert response.status_code == 303 and response.headers["location"] == "/login"
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)
