"""Harrell's concordance of a Cox model as R's survival 3.x reports it (``fit$concordance``).

``coxph`` calls ``concordancefit(y, linear.predictors, strata, weights,
reverse = TRUE, timefix = FALSE)`` with ``timewt = "n"``: for every event at
time t, compare the subject who had it with every other row at risk at t in the
same stratum (``entry < t <= exit``; a row censored at t is at risk, rows with
an event at the same t are tied on time and not compared).  The pair is
concordant when the one with the event has the larger risk score, discordant
when it has the smaller, tied on x when equal; each pair weighs ``w_i * w_j``.
concordance = (concordant + tied_x / 2) / (concordant + discordant + tied_x).

The rows are sorted once by (stratum, time) and copied into that order (the
sweeps then read them contiguously): by counting on integer time codes when the
caller has them (the engine's time fix looks them up), else by an argsort.  The
risk score is replaced by its dense rank (through a hash table when it takes few
values, else by sorting it).  A compiled Fenwick-tree sweep over the ranks
(``survival.fenwick``) counts each event's partners, O(n log n) in one pass.
Without case weights it counts in integers (exact); with them it sums float64
weights.  The first, loop-per-row
version is kept in tests/survival/concordance_reference.py to check this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Up to this many distinct scores, ranked through a hash table (2**21 slots of 12
# bytes: ~25 MB at most); beyond, by sorting the rows' scores.
HASHED_RANKS = 1 << 20
# A Fenwick tree larger than this (bytes: 2 MiB, past the caches) is kept over blocks
# of TREE_BLOCK ranks (a power of two: the kernels find a block by shifting).
BLOCKED_FROM_BYTES = 1 << 21
TREE_BLOCK = 16


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
class TimeCodes:
    """Integer codes of the exit (and entry) times, in the order of the times (a
    larger time never has a smaller code): the rows are then put in time order by a
    counting sort instead of a comparison sort (e.g. the index of each time among
    the distinct times, which the engine's time fix already looks up)."""

    exit: NDArray[np.integer[Any]]
    entry: NDArray[np.integer[Any]] | None
    n_codes: int


class CodeLookup:
    """The index of each value among sorted ``distinct`` values (that hold it), as
    ``np.searchsorted(distinct, values)``: through a table indexed by the value when
    the distinct values are integers spanning fewer than ``4 * distinct.size + 2**16``
    (times in days: one read per row instead of a binary search; the table, one int32
    per integer of the span, is then at most ~16 bytes per distinct value + 256 KiB)."""

    def __init__(self, distinct: FloatArray) -> None:
        self.distinct = distinct
        self.table: NDArray[np.int32] | None = None
        integral = distinct.size > 0 and bool(np.all(np.isfinite(distinct)))
        integral = integral and bool(np.all(distinct == np.round(distinct)))
        if integral and distinct[-1] - distinct[0] < 4 * distinct.size + (1 << 16):
            self.low = float(distinct[0])
            self.table = np.full(int(distinct[-1] - distinct[0]) + 1, -1, np.int32)
            self.table[(distinct - distinct[0]).astype(np.int64)] = np.arange(
                distinct.size, dtype=np.int32
            )

    def __call__(self, values: FloatArray, out: NDArray[np.integer[Any]]) -> None:
        from netoutcomes.survival import fenwick  # numba: only when counting (start-up time)

        if self.table is None or not fenwick.codes_by_table(values, self.table, self.low, out):
            out[:] = np.searchsorted(self.distinct, values)


@dataclass(frozen=True)
class SortedRows:
    """The rows in (stratum, time) order: ``bounds[s]:bounds[s + 1]`` are the positions
    of stratum s; ``rank`` the dense rank of the score; ``weight`` float64 case
    weights or int8 ones (then the sweeps count); ``entry`` empty without delayed
    entry, else with ``entry_order`` (positions by stratum, then entry time);
    ``cluster`` the rows' cluster codes (0..n_clusters-1; empty and 0 without)."""

    bounds: IntArray
    time: FloatArray
    event: NDArray[np.bool_]
    rank: NDArray[np.int32]
    n_ranks: int
    weight: NDArray[Any]
    entry: FloatArray
    entry_order: NDArray[np.integer[Any]]
    cluster: NDArray[np.integer[Any]]
    n_clusters: int

    @property
    def weighted(self) -> bool:
        return bool(self.weight.dtype == np.float64)

    def new_tree(self) -> tuple[NDArray[Any], NDArray[Any], int]:
        """A zeroed Fenwick tree over the ranks, its point weights, and log2 of the
        ranks per node of the tree (the sweeps' ``shift``): int32 counts
        (exact, half the cache of int64) without weights below 2**30 rows.  Past
        the caches (a tree of more than 2 MiB), a tree over blocks of ``TREE_BLOCK``
        ranks (a query adds the ranks of its own block from the point weights, which
        lie together): fewer cache misses per step (at 1e7 distinct scores 2.95 s ->
        2.2 s for both sweeps; at 3e5 the plain tree is faster)."""
        large = self.n_ranks * np.dtype(self.sum_type).itemsize > BLOCKED_FROM_BYTES
        shift = (TREE_BLOCK - 1).bit_length() if large else 0
        blocks = (self.n_ranks + (1 << shift) - 1) >> shift
        tree = np.zeros(blocks + 1, self.sum_type)  # tree[0] and one node per block
        return tree, np.zeros(self.n_ranks, self.sum_type), shift

    @property
    def sum_type(self) -> Any:
        """The type of a row's sums: float64 with weights, else an integer wide
        enough for twice the rows (a row's partners as event and as comparator)."""
        if self.weighted:
            return np.float64
        return np.int32 if self.time.size < 2**30 else np.int64


def position_type(n: int) -> Any:
    """The integer type of the rows' positions: int32 (half the memory of int64) below
    2**31 - 1 rows."""
    return np.int32 if n < 2**31 - 1 else np.int64


def hash_bits(most: int) -> int:
    """log2 of the slots of the scores' hash table for at most ``most`` distinct
    values: the smallest power of two of at least ``2 most`` slots (at most half
    full: short probes), and 2 slots at least."""
    return (2 * most - 1).bit_length()


def _small_codes(values: NDArray[Any], n: int) -> tuple[NDArray[Any], int]:
    """Codes 0..k-1 of ``values`` and k: non-negative integers up to ``2 n`` are used
    as they are (no copy, no sort), others recoded by ``np.unique``."""
    values = np.asarray(values).reshape(-1)
    if values.dtype.kind in "iu" and n > 0 and values.min() >= 0 and values.max() <= 2 * n:
        return values, int(values.max()) + 1
    uniques, codes = np.unique(values, return_inverse=True)
    return codes.reshape(-1), int(uniques.size)


Codes = tuple[NDArray[Any], int]  # codes 0..k-1 and k


def _time_order(
    time: FloatArray, codes: Codes | None, stratum: Codes | None, index: Any
) -> tuple[NDArray[Any], IntArray]:
    """Positions of the rows by (stratum, time) and the strata's bounds: with
    ``codes``, a counting sort on them (the caller checks that they were in the
    times' order), else an argsort (the default, unstable, SIMD one: ties need no
    order, and it is twice as fast as a stable sort); then a stable counting sort on
    the strata."""
    from netoutcomes.survival import fenwick  # numba: only when counting (start-up time)

    if codes is not None:
        order, _ = fenwick.stable_order_by_code(np.arange(time.size, dtype=index), *codes)
    else:
        order = np.argsort(time).astype(index)
    bounds = np.array([0, time.size], dtype=np.int64)
    if stratum is not None:
        order, bounds = fenwick.stable_order_by_code(order, *stratum)
    return order, bounds


def sort_rows(
    time: FloatArray,
    event: NDArray[np.bool_],
    risk_score: FloatArray,
    entry: FloatArray | None = None,
    strata: NDArray[Any] | None = None,
    weights: FloatArray | None = None,
    cluster: NDArray[Any] | None = None,
    time_codes: TimeCodes | None = None,
) -> SortedRows:
    """The rows in the order the sweeps read them (see ``SortedRows``); the inputs are
    only read.  The temporaries are made and dropped one after the other (the
    counting's peak memory at 1e7 rows).

    Raises ValueError if a row has ``entry >= time``: ``Surv(start, stop, event)``
    needs ``start < stop`` (``cox.r_timefix`` reports such rows to the user first)."""
    from netoutcomes.survival import fenwick  # numba: only when counting (start-up time)

    time = np.asarray(time, dtype=np.float64)
    n = time.size
    if entry is not None:
        entry = np.asarray(entry, dtype=np.float64)
        if np.any(entry >= time):
            raise ValueError("concordance needs entry < time in every row")
    index = position_type(n)
    score = np.ascontiguousarray(risk_score, dtype=np.float64)
    # Hashing first (one pass when the score takes few values), else an argsort.
    most = min(n, HASHED_RANKS)
    rank, n_ranks = fenwick.dense_ranks_hashed(score, score.view(np.uint64), most, hash_bits(most))
    if n_ranks < 0:
        rank, n_ranks = fenwick.dense_ranks(score, np.argsort(score))
    stratum = None if strata is None else _small_codes(strata, n)
    event = np.asarray(event, dtype=bool)
    # By counting on the time codes if they were in the times' order (checked while
    # gathering), else by sorting the times.
    by_code: list[Codes | None] = []
    if time_codes is not None:
        by_code.append((time_codes.exit, time_codes.n_codes))
    for codes in [*by_code, None]:
        order, bounds = _time_order(time, codes, stratum, index)
        sorted_time, sorted_rank, sorted_event, in_order = fenwick.gather_sorted(
            order, bounds, time, rank, event
        )
        if in_order:
            break
    del stratum, rank
    cluster_code, n_clusters = (
        (np.zeros(0, np.int64), 0) if cluster is None else _small_codes(cluster, n)
    )
    sorted_entry, entry_order = np.zeros(0), np.zeros(0, dtype=index)
    if entry is not None:
        sorted_entry = entry[order]
        entry_codes = None
        if time_codes is not None and time_codes.entry is not None:
            entry_codes = (time_codes.entry[order], time_codes.n_codes)
        entry_order = _entry_order(sorted_entry, bounds, entry_codes, index)
    return SortedRows(
        bounds=bounds,
        time=sorted_time,
        event=sorted_event,
        rank=sorted_rank,
        n_ranks=int(n_ranks),
        weight=np.ones(n, np.int8) if weights is None else np.asarray(weights, np.float64)[order],
        entry=sorted_entry,
        entry_order=entry_order,
        cluster=cluster_code[order] if cluster is not None else cluster_code,
        n_clusters=n_clusters,
    )


def _entry_order(
    sorted_entry: FloatArray, bounds: IntArray, entry_codes: Codes | None, index: Any
) -> NDArray[Any]:
    """Positions of the (sorted) rows by stratum, then entry time: by counting on
    ``entry_codes`` (in the sorted rows' order) if they are in the entry times' order,
    else by sorting; one stratum needs no counting pass over the strata."""
    from netoutcomes.survival import fenwick  # numba: only when counting (start-up time)

    # The strata are runs of positions.
    n_strata = bounds.size - 1
    in_stratum = None
    if n_strata > 1:
        in_stratum = (np.repeat(np.arange(n_strata), np.diff(bounds)), n_strata)
    for codes in ([] if entry_codes is None else [entry_codes]) + [None]:
        entry_order, _ = _time_order(sorted_entry, codes, in_stratum, index)
        if codes is None or fenwick.sorted_within(sorted_entry, entry_order, bounds):
            break
    return entry_order


def count_pairs(rows: SortedRows, per_row: bool = False) -> tuple[Concordance, NDArray[Any]]:
    """The concordance counts, and with ``per_row`` each row's ``C_j - D_j`` and
    ``C_j + D_j + T_j`` (as a (2, n) array in the rows' order; else an empty one):
    the weight of the partners it is concordant, discordant and tied on the score
    with, over the pairs it belongs to as the event and as a row at risk."""
    from netoutcomes.survival import fenwick  # numba: only when counting (start-up time)

    tree, point, shift = rows.new_tree()
    totals = np.zeros(4, np.float64 if rows.weighted else np.int64)
    sums = np.zeros((2, rows.time.size if per_row else 0), rows.sum_type)
    sweep_args = (rows.bounds, rows.time, rows.event, rows.rank, rows.weight, rows.entry,
                  rows.entry_order)  # fmt: skip
    fenwick.event_sweep(*sweep_args, tree, point, shift, totals, sums[0], sums[1])
    if per_row:  # the same tree, refilled with the events
        tree[:], point[:] = 0, 0
        fenwick.comparator_sweep(*sweep_args, tree, point, shift, sums[0], sums[1])
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
