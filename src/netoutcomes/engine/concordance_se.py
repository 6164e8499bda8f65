"""R's concordance of a Cox fit with its standard error (``fit$concordance["std"]``).

R's ``concordancefit`` gives each row its influence: the weight of the partners it
is concordant, discordant and tied on the score with, over every comparable pair
it belongs to (as the row with the event, and as a row at risk at somebody else's
event).  With ``npair = C + D + T`` and Somers' ``d = (C - D) / npair``::

    dfbeta_j = w_j ((C_j - D_j) / npair - d (C_j + D_j + T_j) / npair)
    std = sqrt(sum_j dfbeta_j^2 / 4)

Both halves are Fenwick-tree sweeps over the rows sorted by (stratum, time)
(``survival.concordance`` / ``survival.fenwick``): an event against the rows at
risk at its time (the sweep whose sums are also the concordance counts), and a
row against the events at whose times it was at risk.  Without case weights they
count in integers, so the per-row sums are exact.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from netoutcomes.engine.cox_result import CoxConcordance
from netoutcomes.survival.concordance import SortedRows, TimeCodes, count_pairs, sort_rows

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def concordance_with_se(
    time: FloatArray,
    event: NDArray[np.bool_],
    score: FloatArray,
    entry: FloatArray | None = None,
    strata: IntArray | None = None,
    weights: FloatArray | None = None,
    cluster: NDArray[np.int64] | None = None,
    time_codes: TimeCodes | None = None,
) -> CoxConcordance:
    """R's ``fit$concordance`` of ``score`` (the linear predictor): value, std and counts.

    With ``cluster`` (codes), the rows' influences are summed per cluster first, as
    R's coxph does for a model with ``cluster()``.  ``time_codes``: see
    ``survival.concordance.TimeCodes`` (the rows are then ordered by counting)."""
    return concordance_of_sorted(
        sort_rows(time, event, score, entry, strata, weights, cluster, time_codes)
    )


def concordance_of_sorted(rows: SortedRows) -> CoxConcordance:
    """``concordance_with_se`` of rows already sorted by ``survival.concordance.sort_rows``."""
    from netoutcomes.survival import fenwick  # numba: only when counting (start-up time)

    counts, per_row = count_pairs(rows, per_row=True)
    total_c, total_d, total_t = counts.concordant, counts.discordant, counts.tied_x
    npair = total_c + total_d + total_t
    std = float("nan")
    if npair > 0:
        somers = (total_c - total_d) / npair
        squares = fenwick.influence_squares(per_row[0], per_row[1], rows.weight, npair, somers,
                                            rows.cluster, rows.n_clusters)  # fmt: skip
        std = float(np.sqrt(squares / 4.0))
    value = (total_c + total_t / 2.0) / npair if npair > 0 else float("nan")
    return CoxConcordance(value, std, total_c, total_d, total_t, counts.tied_y)
