"""What a Cox model asks of the data, said once and evaluated wherever the data lives.

The API turns an R formula (``Surv(time, status) ~ age + factor(ph_ecog) +
sex:age + strata(inst) + cluster(id)``) or a covariate list into a
``CoxSpec``; the engine evaluates it as SQL expressions (DuckDB, Spark), and
``design_columns_values`` evaluates it on arrays in memory (the test oracle).

A design column is a product of parts; each part is a numeric column's value
or the indicator ``column == level`` (treatment contrasts, the reference level
left out).  So ``age`` is ``(("age", None),)``, ``sexmale`` is
``(("sex", "male"),)`` and ``sexmale:age`` is ``(("sex", "male"), ("age", None))``:
R's ``model.matrix`` columns, each computable row by row in any engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Ties = Literal["efron", "breslow"]


@dataclass(frozen=True)
class DesignColumn:
    """One column of the design matrix: the product of its parts."""

    name: str  # as R prints it: "age", "sexmale", "factor(ph_ecog)1", "sexmale:age"
    term: str  # the term it belongs to, as R labels it: "age", "sex", "sex:age"
    parts: tuple[tuple[str, str | None], ...]  # (column, None: its value | level: indicator)


@dataclass(frozen=True)
class CoxSpec:
    """A Cox model over named columns; nothing here knows where the rows are."""

    time: str  # exit time (``stop`` for counting-process data)
    event: str
    columns: tuple[DesignColumn, ...]
    entry: str | None = None  # ``start`` of (start, stop] data: delayed entry
    strata: tuple[str, ...] = ()  # crossed, as R's strata(a, b)
    cluster: str | None = None  # robust (sandwich) variance clustered on this column
    robust: bool = False  # robust variance with each row its own cluster
    weights: str | None = None  # case weights
    ties: Ties = "efron"
    reference: Mapping[str, str] = field(default_factory=dict)  # factor column -> reference level

    @property
    def terms(self) -> list[str]:
        """Term labels in order of first appearance (one per ``cox.zph`` test)."""
        return list(dict.fromkeys(c.term for c in self.columns))

    @property
    def used_columns(self) -> list[str]:
        """Every data column the model reads (a row missing any of them is dropped)."""
        names: list[str] = [self.time, self.event]
        if self.entry:
            names.append(self.entry)
        names += [col for c in self.columns for col, _ in c.parts]
        names += list(self.strata)
        if self.cluster:
            names.append(self.cluster)
        if self.weights:
            names.append(self.weights)
        return list(dict.fromkeys(names))


def design_columns_values(
    spec_columns: tuple[DesignColumn, ...], data: Mapping[str, np.ndarray]
) -> FloatArray:
    """The design matrix (n, p) of ``spec_columns`` on in-memory columns.

    A text column is compared as text (``str(value) == level``); a numeric
    column (float64) used as ``factor(x)`` is compared as a number when the level
    reads as one (``1``, ``1.0`` and ``1e0`` are the same level), as the engines
    compare it in SQL.
    """
    n = len(next(iter(data.values()))) if data else 0
    x = np.ones((n, len(spec_columns)), dtype=np.float64)
    for j, column in enumerate(spec_columns):
        for name, level in column.parts:
            values = np.asarray(data[name])
            if level is None:
                x[:, j] *= values.astype(np.float64)
            elif values.dtype == np.float64 and level_number(level) is not None:
                x[:, j] *= (values == level_number(level)).astype(np.float64)
            else:
                x[:, j] *= np.array([str(v) == level for v in values], dtype=np.float64)
    return x


def level_number(level: str) -> float | None:
    """The level as a number, if it reads as one (how a numeric column's level compares)."""
    try:
        return float(level)
    except ValueError:
        return None
