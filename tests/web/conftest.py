"""A SYNTHETIC demo registry with one user per role, copied fresh for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from web_helpers import PASSWORDS, login

from netoutcomes.interfaces.web.app import create_app
from netoutcomes.registry.users import add_user
from netoutcomes.study.run import build_demo_registry


@pytest.fixture(scope="session")
def _template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("web-template")
    registry = build_demo_registry(folder / "registry.duckdb")
    for role, password in PASSWORDS.items():
        add_user(registry, role.replace("_", "-"), role, password, by="test setup")
    return folder


def copy_registry(template: Path, folder: Path) -> Path:
    """The registry file (and its audit head file beside it), a private copy."""
    target = folder / "site"
    shutil.copytree(template, target)
    return target / "registry.duckdb"


@pytest.fixture
def registry(_template_dir: Path, tmp_path: Path) -> Path:
    return copy_registry(_template_dir, tmp_path)


def clients_of(registry: Path):
    app = create_app(registry, secret_key="test-secret")
    clients: list[TestClient] = []

    def make(role: str | None) -> TestClient:
        client = TestClient(app, base_url="http://127.0.0.1")
        clients.append(client)
        if role is not None:
            assert login(client, role) == 303
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client_for(registry: Path):
    """client_for(role) -> a TestClient signed in as that role (None: not signed in)."""
    yield from clients_of(registry)


@pytest.fixture(scope="module")
def shared_client_for(_template_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """As client_for, over one registry for the whole module (for tests that only read)."""
    yield from clients_of(copy_registry(_template_dir, tmp_path_factory.mktemp("shared")))
