"""Protocol errors name the file, the YAML line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from netoutcomes.errors import InputError
from netoutcomes.study.protocol import bundled_protocol_path, parse_protocol

PROTOCOLS = Path(__file__).parents[2] / "protocols"
TEXT = (PROTOCOLS / "mibg-net.yaml").read_text()


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_bad_value_names_line_and_field() -> None:
    bad = TEXT.replace("lookback_days: 365", "lookback_days: -3")
    with pytest.raises(InputError) as err:
        parse_protocol(bad, "p.yaml")
    msg = str(err.value)
    assert f"line {line_of(bad, 'lookback_days: -3')}" in msg
    assert "eligibility.1.lookback_days" in msg and "\n" not in msg


def test_unknown_field_and_bad_date() -> None:
    bad = TEXT.replace("min_uptake_grade: 3 ", "min_uptake_grad: 3 ")
    with pytest.raises(InputError, match="min_uptake_grad"):
        parse_protocol(bad, "p.yaml")
    bad_date = TEXT.replace("window_start: 2008-06-01", "window_start: June 2008")
    with pytest.raises(InputError) as err:
        parse_protocol(bad_date, "p.yaml")
    assert f"line {line_of(bad_date, 'June 2008')}" in str(err.value)
    assert "entry.window_start" in str(err.value)


def test_unknown_cohort_in_a_comparison_names_its_line() -> None:
    bad = TEXT.replace("{cohort: sb_g1, reference: sb}", "{cohort: sb_g1, reference: sbx}")
    with pytest.raises(InputError) as err:
        parse_protocol(bad, "p.yaml")
    msg = str(err.value)
    assert f"line {line_of(bad, 'reference: sbx')}" in msg
    assert "comparisons.nested.2.reference" in msg and "unknown cohort 'sbx'" in msg


def test_not_yaml() -> None:
    with pytest.raises(InputError, match=r"p.yaml: line 2: not valid YAML"):
        parse_protocol("name: x\n  - : [\n", "p.yaml")


def test_bundled_copy_matches_top_level() -> None:
    assert bundled_protocol_path("mibg-net").read_text() == TEXT
