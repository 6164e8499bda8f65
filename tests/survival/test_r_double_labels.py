"""survival.groups.r_double_text against R's as.character on 400 doubles (fixture made by
tests/fixtures/more/double_labels.R): how R labels groups of a numeric column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netoutcomes.survival.groups import level_labels, r_double_text

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


def test_without_a_column_every_row_is_in_the_one_group_all() -> None:
    # module docstring of survival.groups: without a grouping column the one label is "all"
    labels, codes = level_labels(None, np.array([3.0, 1.0, 2.0]))
    assert labels == ["all"]
    assert codes.tolist() == [0, 0, 0]
    labels, codes = level_labels(None, None)  # no rows given: no row codes
    assert labels == ["all"]
    assert codes.size == 0


def test_an_infinite_group_value_is_the_last_level_as_r() -> None:
    # R: levels(factor(c(1, Inf, 1, -Inf))) is "-Inf" "1" "Inf"; the rows' codes follow.
    # (R 4.2.2: read.csv reads inf and -inf as Inf and -Inf, and survfit's strata are
    # "g=-Inf" "g=1" "g=Inf"; until 2 December we wrote "inf".)
    labels, codes = level_labels("x", np.array([1.0, np.inf, 1.0, -np.inf]))
    assert labels == ["x=-Inf", "x=1", "x=Inf"]
    assert codes.tolist() == [1, 2, 1, 0]


def test_a_text_column_of_mixed_python_types_is_labelled_as_r_text() -> None:
    # An object column holding both str and int (a frame read from JSON or Excel): R's c()
    # makes it character, levels(factor(c("b", 1, "a", 1))) is "1" "a" "b".
    labels, codes = level_labels("x", np.array(["b", 1, "a", 1], dtype=object))
    assert labels == ["x=1", "x=a", "x=b"]
    assert codes.tolist() == [2, 0, 1, 0]


@pytest.mark.parametrize(
    ("big", "expected"),
    [
        # R: read.csv(text = "x\n100000\n2147483647") is integer: levels "100000" "2147483647"
        (2147483647.0, ["x=100000", "x=2147483647"]),
        # one above .Machine$integer.max: the column is double, levels "1e+05" "2147483648"
        (2147483648.0, ["x=1e+05", "x=2147483648"]),
        (2147483649.0, ["x=1e+05", "x=2147483649"]),
    ],
)
def test_the_integer_limit_decides_how_the_whole_column_prints(big: float, expected) -> None:
    labels, codes = level_labels("x", np.array([big, 100000.0]))
    assert labels == expected
    assert codes.tolist() == [1, 0]
