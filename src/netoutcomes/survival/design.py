"""Design matrix for regression models, coded as R's ``model.matrix`` codes it.

- A numeric column (float dtype) enters as it is: one term, one column.
- A text column (object or str dtype) is a factor: treatment contrasts against
  the first level in sorted order, one column per other level, named
  ``<column><level>`` (``sexmale``, ``celltypesmallcell``).  The whole factor is
  one *term* with k - 1 degrees of freedom (what ``cox.zph`` tests per term).
- Rows with a missing value (NaN or None) in any used column are dropped and
  counted, as R's ``na.omit`` does.  Factor levels are taken from the rows kept.

Level order: R sorts character levels with its collation, which (R built with
ICU, as Debian's) is the Unicode root collation: spaces, then punctuation, then
symbols, digits, letters; letters compare without case and accents first, then
unaccented before accented, then lowercase before uppercase.  ``level_sort_key``
reproduces that for the characters level names are made of (no ICU needed).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Design:
    """The coded covariates of the rows kept."""

    x: FloatArray  # (n_kept, p)
    column_names: list[str]  # p names as R prints them (sexmale, age)
    term_names: list[str]  # one per term (sex, age)
    term_columns: list[list[int]]  # for each term, its columns in x
    keep: BoolArray  # (n_rows,) rows used
    n_dropped: int


def is_numeric(values: np.ndarray) -> bool:
    return np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_


def missing_mask(values: np.ndarray) -> BoolArray:
    if is_numeric(values):
        return np.isnan(values.astype(np.float64))
    return np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values])


# ICU root collation order of the common ASCII punctuation and symbols.
_PUNCTUATION = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"


def _primary(ch: str) -> tuple[int, str]:
    base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    base = base.casefold() or ch
    if base.isspace():
        return (0, base)
    if base in _PUNCTUATION:
        return (1, chr(_PUNCTUATION.index(base) + 32))
    if base.isdigit():
        return (3, base)
    if base.isalpha():
        return (4, base)
    return (2, base)


def level_sort_key(
    text: str,
) -> tuple[tuple[tuple[int, str], ...], tuple[bool, ...], tuple[bool, ...]]:
    """Sort key that orders level names as R's ``sort`` / ``factor`` does (ICU root)."""
    primary = tuple(_primary(c) for c in text)
    accents = tuple(unicodedata.normalize("NFD", c) != c for c in text)
    upper = tuple(c.isupper() for c in text)
    return primary, accents, upper


def factor_levels(values: np.ndarray) -> list[str]:
    """The distinct values as text, in R's level order (first = reference level)."""
    return sorted({str(v) for v in values}, key=level_sort_key)


def design_matrix(
    columns: Mapping[str, np.ndarray],
    covariates: Sequence[str],
    also_required: BoolArray | None = None,
) -> Design:
    """Code ``covariates`` (names in ``columns``) into a design matrix.

    ``also_required`` marks rows that are usable on other grounds (time,
    event, strata...); a row is kept when it is usable and none of the
    covariates is missing.
    """
    n = len(next(iter(columns.values()))) if columns else 0
    keep = np.ones(n, dtype=bool) if also_required is None else also_required.copy()
    for name in covariates:
        keep &= ~missing_mask(np.asarray(columns[name]))

    blocks: list[FloatArray] = []
    column_names: list[str] = []
    term_columns: list[list[int]] = []
    for name in covariates:
        values = np.asarray(columns[name])[keep]
        start = len(column_names)
        if is_numeric(values):
            blocks.append(values.astype(np.float64)[:, None])
            column_names.append(name)
        else:
            text = np.array([str(v) for v in values], dtype=object)
            levels = factor_levels(text)
            for level in levels[1:]:
                blocks.append((text == level).astype(np.float64)[:, None])
                column_names.append(f"{name}{level}")
        term_columns.append(list(range(start, len(column_names))))
    n_kept = int(keep.sum())
    x = np.hstack(blocks) if blocks else np.zeros((n_kept, 0))
    return Design(
        x=x,
        column_names=column_names,
        term_names=list(covariates),
        term_columns=term_columns,
        keep=keep,
        n_dropped=int(n - n_kept),
    )
