"""Design matrix for regression models, coded as R's ``model.matrix`` codes it.

- A numeric column (float dtype) enters as it is: one term, one column.
- A text column (object or str dtype) is a factor: treatment contrasts against
  the first level in sorted order, one column per other level, named
  ``<column><level>`` (``sexmale``, ``celltypesmallcell``).  The whole factor is
  one *term* with k - 1 degrees of freedom (what ``cox.zph`` tests per term).
- Rows with a missing value (NaN or None) in any used column are dropped and
  counted, as R's ``na.omit`` does.  Factor levels are taken from the rows kept.

Level order: R sorts character levels with the locale's collation, which in
the usual English locales ignores case first; we sort by ``(casefold, text)``,
which gives the same order for the ordinary level names of clinical data.
"""

from __future__ import annotations

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


def factor_levels(values: np.ndarray) -> list[str]:
    return sorted({str(v) for v in values}, key=lambda s: (s.casefold(), s))


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
