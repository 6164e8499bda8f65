"""What a Cox model's right-hand side columns hold: numbers or text, and which levels.

A ``CoxSpec`` names each factor's levels, so they are settled before the fit: the
engine groups the rows by the right-hand side's columns and the event (one GROUP BY:
as many rows as their distinct combinations, e.g. ~10^5 for age, Ki-67 and sex on
10^7 rows, never the rows themselves) and the reader's typing rules
(``engine.source.typed_columns``) type the distinct values, as they type the rows.
Combinations with a missing value in one of these columns are left out, as the fit
leaves those rows out.  (A level seen only in rows whose time is missing would get a
column the fit then reports as aliased (NA); R would not have that column.)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from netoutcomes.survival.design import missing_mask


def right_hand_columns(
    data: Any,
    event: str,
    columns: Sequence[str],
    backend: str,
    spark_master: str | None,
) -> dict[str, np.ndarray]:
    """``columns`` typed by the reader rules, one element per distinct combination."""
    from netoutcomes.engine.inputs import arrow_columns, describe, engine_columns
    from netoutcomes.engine.source import typed_columns

    described = describe(data)
    used = list(dict.fromkeys([event, *columns]))
    counts = None
    if backend == "memory":
        raw = arrow_columns(described, used)
    else:
        raw, _, counts = engine_columns(
            described,
            used,
            backend,  # type: ignore[arg-type]
            spark_master,
            "grouped",
        )
    path = described.path or Path(described.name)
    text_if_quoted = [c for c in columns if c != event]
    typed = typed_columns(path, described.file_format, raw, text_if_quoted, counts).values
    keep = np.ones(len(typed[used[0]]), dtype=bool)
    for name in used:
        keep &= ~missing_mask(np.asarray(typed[name]))
    return {name: np.asarray(typed[name])[keep] for name in columns}
