"""Harrell's concordance of a Cox model as R's survival 3.x reports it (``fit$concordance``).

``coxph`` calls ``concordancefit(y, linear.predictors, strata, weights,
reverse = TRUE, timefix = FALSE)`` with ``timewt = "n"``: for every event at
time t, compare the subject who had it with every other row at risk at t in the
same stratum (``entry < t <= exit``; a row censored at t is at risk, rows with
an event at the same t are tied on time and not compared).  The pair is
concordant when the one with the event has the larger risk score, discordant
when it has the smaller, tied on x when equal; each pair weighs ``w_i * w_j``.
concordance = (concordant + tied_x / 2) / (concordant + discordant + tied_x).

The rows are sorted once by (stratum, time) and copied into that order
(the sweeps then read them contiguously); the risk score is replaced by its dense
rank; a compiled Fenwick-tree sweep over the ranks (``survival.fenwick``) counts
each event's partners, O(n log n) in one pass.  Without case weights it counts
in integers (exact); with them it sums float64 weights.  The first, loop-per-row
version is kept in tests/survival/concordance_reference.py to check this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Concordance:
    concordant: float
    discordant: float
    tied_x: float
    tied_y: float

    @property
    def concordance(self) -> float:
        total = self.concordant + self.discordant + self.tied_x
        return (self.concordant + self.tied_x / 2.0) / total if total > 0 else float("nan")


@dataclass(frozen=True)
class SortedRows:
    """The rows in (stratum, time) order: ``order[k]`` is the input row at position k;
    ``bounds[s]:bounds[s + 1]`` the positions of stratum s; ``rank`` the dense rank of
    the score; ``weight`` float64 case weights or int8 ones (then the sweeps count);
    ``entry`` empty without delayed entry, else with ``entry_order`` (positions by
    stratum, then entry time)."""

    order: IntArray
    bounds: IntArray
    time: FloatArray
    event: NDArray[np.bool_]
    rank: NDArray[np.int32]
    n_ranks: int
    weight: NDArray[Any]
    entry: FloatArray
    entry_order: IntArray

    @property
    def weighted(self) -> bool:
        return bool(self.weight.dtype == np.float64)

    def new_tree(self) -> tuple[NDArray[Any], NDArray[Any]]:
        """A zeroed Fenwick tree over the ranks and its point weights: int32 counts
        (exact, half the cache of int64) without weights below 2**31 rows."""
        if self.weighted:
            kind: Any = np.float64
        else:
            kind = np.int32 if self.time.size < 2**31 - 1 else np.int64
        return np.zeros(self.n_ranks + 1, kind), np.zeros(self.n_ranks, kind)


def _stratum_codes(strata: NDArray[Any], n: int) -> tuple[IntArray, int]:
    """Codes 0..k-1 of the strata (small non-negative integers are used as they are)."""
    values = np.asarray(strata).reshape(-1)
    if values.dtype.kind in "iu" and n > 0 and values.min() >= 0 and values.max() <= 2 * n:
        return values.astype(np.int64, copy=False), int(values.max()) + 1
    uniques, codes = np.unique(values, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), int(uniques.size)


def sort_rows(
    time: FloatArray,
    event: NDArray[np.bool_],
    risk_score: FloatArray,
    entry: FloatArray | None = None,
    strata: NDArray[Any] | None = None,
    weights: FloatArray | None = None,
) -> SortedRows:
    """The rows in the order the sweeps read them (see ``SortedRows``).

    Raises ValueError if a row has ``entry >= time``: ``Surv(start, stop, event)``
    needs ``start < stop`` (``cox.r_timefix`` reports such rows to the user first)."""
    from netoutcomes.survival import fenwick  # numba: only when counting (start-up time)

    time = np.asarray(time, dtype=np.float64)
    n = time.size
    if entry is not None:
        entry = np.asarray(entry, dtype=np.float64)
        if np.any(entry >= time):
            raise ValueError("concordance needs entry < time in every row")
    # Within a time (and stratum) the sweeps need no order: the default (unstable,
    # SIMD) argsort is twice as fast as a stable one.
    order = np.argsort(time)
    if strata is None:
        bounds = np.array([0, n], dtype=np.int64)
    else:
        stratum, n_strata = _stratum_codes(strata, n)
        order, bounds = fenwick.stable_order_by_code(order, stratum, n_strata)
        del stratum
    sorted_time = time[order]
    score = np.asarray(risk_score, dtype=np.float64)[order]
    rank, n_ranks = fenwick.dense_ranks(score, np.argsort(score))
    del score
    weight = np.ones(n, np.int8) if weights is None else np.asarray(weights, np.float64)[order]
    sorted_entry, entry_order = np.zeros(0), np.zeros(0, dtype=np.int64)
    if entry is not None:
        sorted_entry = entry[order]
        entry_order = np.argsort(sorted_entry)
        if bounds.size > 2:  # by stratum first: the strata are runs of positions
            entry_order, _ = fenwick.stable_order_by_code(
                entry_order, np.repeat(np.arange(bounds.size - 1), np.diff(bounds)), bounds.size - 1
            )
    return SortedRows(
        order=order,
        bounds=bounds,
        time=sorted_time,
        event=np.asarray(event, dtype=bool)[order],
        rank=rank,
        n_ranks=int(n_ranks),
        weight=weight,
        entry=sorted_entry,
        entry_order=entry_order,
    )


def count_pairs(rows: SortedRows, per_row: bool = False) -> tuple[Concordance, FloatArray]:
    """The concordance counts, and with ``per_row`` each row's ``C_j - D_j`` and
    ``C_j + D_j + T_j`` (as a (2, n) array in the rows' order; else an empty one):
    the weight of the partners it is concordant, discordant and tied on the score
    with, over the pairs it belongs to as the event and as a row at risk."""
    from netoutcomes.survival import fenwick  # numba: only when counting (start-up time)

    tree, point = rows.new_tree()
    totals = np.zeros(4, np.float64 if rows.weighted else np.int64)
    sums = np.zeros((2, rows.time.size if per_row else 0))
    sweep_args = (rows.bounds, rows.time, rows.event, rows.rank, rows.weight, rows.entry,
                  rows.entry_order)  # fmt: skip
    fenwick.event_sweep(*sweep_args, tree, point, totals, sums[0], sums[1])
    if per_row:  # the same tree, refilled with the events
        tree[:], point[:] = 0, 0
        fenwick.comparator_sweep(*sweep_args, tree, point, sums[0], sums[1])
    concordant, discordant, tied_x, tied_y2 = (float(v) for v in totals)
    return Concordance(concordant, discordant, tied_x, tied_y2 / 2.0), sums


def concordance(
    time: FloatArray,
    event: NDArray[np.bool_],
    risk_score: FloatArray,
    entry: FloatArray | None = None,
    strata: NDArray[np.int64] | None = None,
    weights: FloatArray | None = None,
) -> Concordance:
    """Concordance counts of ``risk_score`` (larger = shorter survival) against the outcome.

    Raises ValueError if a row has ``entry >= time``: ``Surv(start, stop, event)``
    needs ``start < stop`` (``cox.r_timefix`` reports such rows to the user first).
    """
    rows = sort_rows(time, event, risk_score, entry, strata, weights)
    return count_pairs(rows)[0]
