"""survival.groups.r_double_text against R's as.character on 400 doubles (fixture made by
tests/fixtures/more/double_labels.R): how R labels groups of a numeric column."""

from __future__ import annotations

import json
from pathlib import Path

from netoutcomes.survival.groups import r_double_text

REFERENCE = Path(__file__).parent.parent / "fixtures" / "more" / "r" / "double_labels.json"


def test_doubles_print_as_r_prints_them() -> None:
    ref = json.loads(REFERENCE.read_text())
    assert len(ref["value"]) > 350
    wrong = [
        (text, r, r_double_text(float(text)))
        for text, r in zip(ref["value"], ref["r"], strict=True)
        if r_double_text(float(text)) != r
    ]
    assert not wrong, wrong[:5]
