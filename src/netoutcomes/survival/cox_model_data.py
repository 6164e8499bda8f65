"""Named columns coded into what a Cox fit needs: the design (factors as treatment
contrasts), strata and cluster codes, rows with a missing value dropped, times
tied as R ties them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netoutcomes.errors import InputError
from netoutcomes.survival.cox_sums import CoxData, FloatArray, IntArray
from netoutcomes.survival.design import Design, design_matrix, missing_mask
from netoutcomes.survival.timefix import r_timefix


@dataclass(frozen=True)
class CoxModelData:
    """What a Cox fit needs, coded from named columns: arrays, design and labels."""

    data: CoxData
    design: Design
    cluster: IntArray | None
    stratum_labels: list[str]


def integer_codes(values: np.ndarray) -> tuple[IntArray, list[str]]:
    """Codes 0..k-1 of the distinct values (sorted), and the values as text."""
    text = np.asarray([str(v) for v in values], dtype=object)
    levels, codes = np.unique(text, return_inverse=True)
    return codes.astype(np.int64), [str(v) for v in levels]


def cox_model_data(
    time: FloatArray,
    event: NDArray[np.bool_],
    entry: FloatArray | None,
    columns: Mapping[str, np.ndarray],
    covariates: Sequence[str],
    strata_column: str | Sequence[str] | None = None,
    cluster_column: str | None = None,
    weights: FloatArray | None = None,
) -> CoxModelData:
    """Code the covariates (factors as treatment contrasts) and the strata and cluster
    columns; rows with a missing covariate are dropped (``design.n_dropped``); times
    equal up to rounding error are tied (``r_timefix``).  Several strata columns are
    crossed: one stratum per combination present (R's ``strata(a, b)``, or
    ``strata(a) + strata(b)``)."""
    strata_columns = (
        [strata_column] if isinstance(strata_column, str) else list(strata_column or [])
    )
    design = design_matrix(columns, covariates)
    keep = design.keep
    for name, values in columns.items():
        if name in covariates:
            continue
        if name in strata_columns or name == cluster_column:
            keep = keep & ~missing_mask(np.asarray(values))
    if not keep.all():
        design = design_matrix(columns, covariates, also_required=keep)
        keep = design.keep
    for term, cols in zip(design.term_names, design.term_columns, strict=True):
        if not cols:
            raise InputError(
                f"singular design: covariate {term} has only one value in the rows used"
            )
    strata = None
    labels: list[str] = []
    if strata_columns:
        parts = [[str(v) for v in np.asarray(columns[c])[keep]] for c in strata_columns]
        crossed = np.array([", ".join(p) for p in zip(*parts, strict=True)], dtype=object)
        strata, labels = integer_codes(crossed)
    cluster = None
    if cluster_column is not None:
        cluster, _ = integer_codes(np.asarray(columns[cluster_column])[keep])
    fixed_time, fixed_entry = r_timefix(
        np.asarray(time, dtype=np.float64)[keep],
        None if entry is None else np.asarray(entry, dtype=np.float64)[keep],
    )
    data = CoxData(
        x=design.x,
        time=fixed_time,
        event=np.asarray(event, dtype=bool)[keep],
        entry=fixed_entry,
        weights=None if weights is None else np.asarray(weights, dtype=np.float64)[keep],
        strata=strata,
    )
    return CoxModelData(data=data, design=design, cluster=cluster, stratum_labels=labels)
