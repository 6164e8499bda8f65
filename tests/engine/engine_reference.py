"""Where the R reference answers live (the same files tests/conftest.py reads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load_reference(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "r" / f"{name}.json").read_text())
