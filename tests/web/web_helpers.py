"""Helpers shared by the web tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from netoutcomes.registry.users import Role

PASSWORDS = {role.value: f"{role.value}-pass-2026" for role in Role}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def user_name(role: str) -> str:
    return role.replace("_", "-")


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login(client: TestClient, role: str, password: str | None = None) -> int:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "name": user_name(role),
            "password": password or PASSWORDS[role],
        },
        follow_redirects=False,
    )
    return response.status_code
