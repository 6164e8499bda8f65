"""Pydantic's validation errors in words: the rule, never a regular expression.

describe(error_item, value) -> "not an allowed value (allowed: female, male, ...;
                                did you mean 'female'?)"
"""

from __future__ import annotations

from typing import Any

from netoutcomes.registry.model import PATTERN_RULES
from netoutcomes.registry.sources import did_you_mean


def describe(item: Any, value: object = None) -> str:
    """One pydantic error item (``ValidationError.errors()``) as a rule in words."""
    kind = item.get("type")
    context = item.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        pattern = str(context.get("pattern", ""))
        return PATTERN_RULES.get(pattern, "not in the expected format (see the data dictionary)")
    if kind in ("missing", "string_type", "float_type", "int_type", "date_type") and value is None:
        return "required: the cell is empty"
    if kind == "enum":
        allowed = [
            a.strip().strip("'")
            for a in str(context.get("expected", "")).replace(" or ", ", ").split(",")
        ]
        allowed = [a for a in allowed if a]
        hint = did_you_mean(str(value), allowed, cutoff=0.75) if isinstance(value, str) else ""
        return f"not an allowed value (allowed: {', '.join(allowed)}){hint}"
    return str(item.get("msg", "invalid")).removeprefix("Value error, ")
