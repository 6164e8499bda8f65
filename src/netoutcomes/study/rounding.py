"""How a computed number is stored in a table cell (what the tables and CSVs hold).

The unrounded value is used for every further computation (p-value adjustment,
differences); only the cell is rounded.
"""

from __future__ import annotations

import math


def pct(x: float) -> float:
    """A proportion as a percentage rounded to one decimal (what tables show)."""
    return round(100.0 * x, 1) if math.isfinite(x) else float("nan")


def yrs(x: float) -> float:
    """Years rounded to 0.01."""
    return round(x, 2) if math.isfinite(x) else float("nan")


def p_cell(p: float) -> float:
    """A p-value to 4 significant digits."""
    return float(f"{p:.4g}") if math.isfinite(p) else float("nan")


def landmark_key(t: float) -> str:
    return f"{t:g}y"
