"""Numbers as a statistician reads them, for ``repr`` and the CLI's tables.

- ``p_value``: R's ``format.pval``: ``p < 2e-16`` below machine precision,
  otherwise a few significant digits (``0.00111``), never ``1.1e-03`` for p > 1e-4.
- ``number``: significant digits without exponent for ordinary magnitudes
  (``789100`` not ``7.891e+05``); an exponent only below 1e-4 or at 1e15 and up.
- ``count``: an integer when the value is whole (weighted counts keep decimals).
- ``interval``: ``0.08 to 0.31`` (a hyphen reads as a minus sign next to negative limits).
"""

from __future__ import annotations

import math

EPS = 2.220446049250313e-16  # R's .Machine$double.eps: format.pval's floor


def number(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits, plain notation where it reads well."""
    if x is None or not math.isfinite(x):
        return "NA" if x is None or math.isnan(x) else ("Inf" if x > 0 else "-Inf")
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude < -4 or magnitude >= 15:
        return f"{x:.{digits - 1}e}"
    decimals = max(0, digits - 1 - magnitude)
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def count(x: float) -> str:
    """A count: ``112`` (not ``112.0`` or ``1.12e+02``); a weighted count keeps 4 digits."""
    if x is None or not math.isfinite(x):
        return "NA"
    return str(int(round(x))) if float(x).is_integer() else number(x)


def p_value(p: float, digits: int = 3) -> str:
    """R's ``format.pval(p, digits)``: ``< 2e-16`` below double precision."""
    if p is None or not math.isfinite(p):
        return "NA"
    if p < EPS:
        return "< 2e-16"
    return number(p, digits)


def p_equals(p: float, digits: int = 3) -> str:
    """``p = 0.00111`` or ``p < 2e-16``, for a sentence."""
    text = p_value(p, digits)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def interval(lower: float, upper: float, digits: int = 3) -> str:
    """A confidence interval: ``0.08 to 0.31``."""
    return f"{number(lower, digits)} to {number(upper, digits)}"
