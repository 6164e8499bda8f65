from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def load_reference(name: str) -> dict:
    """R's answers (../shared/reference, copied here so tests never need R)."""
    return json.loads((FIXTURES / "r" / f"{name}.json").read_text())


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
