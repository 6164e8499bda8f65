from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from netoutcomes.registry.chain import head_path
from netoutcomes.registry.importing import import_sources
from netoutcomes.registry.store import create_registry

CLINIC = Path(__file__).parent / "data" / "clinic"


@pytest.fixture
def clinic_dir(tmp_path: Path) -> Path:
    """A writable copy of the small valid clinic (3 patients, every table)."""
    target = tmp_path / "clinic"
    shutil.copytree(CLINIC, target)
    return target


@pytest.fixture
def empty_registry(tmp_path: Path) -> Path:
    return create_registry(tmp_path / "registry.duckdb")


@pytest.fixture(scope="session")
def _clinic_registry_bytes(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    path = create_registry(tmp_path_factory.mktemp("clinic") / "registry.duckdb")
    import_sources(path, [CLINIC], user="tester")
    return path.read_bytes(), head_path(path).read_bytes()


@pytest.fixture
def clinic_registry(tmp_path: Path, _clinic_registry_bytes: tuple[bytes, bytes]) -> Path:
    """A registry holding the clinic folder, imported by user 'tester', with its audit head."""
    path = tmp_path / "registry.duckdb"
    path.write_bytes(_clinic_registry_bytes[0])
    head_path(path).write_bytes(_clinic_registry_bytes[1])
    return path


@pytest.fixture
def clinic_source() -> Path:
    """The checked-in valid clinic folder (read-only)."""
    return CLINIC
