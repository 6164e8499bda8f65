"""Harrell's concordance of a Cox model as R's survival 3.x reports it (``fit$concordance``).

``coxph`` calls ``concordancefit(y, linear.predictors, strata, weights,
reverse = TRUE, timefix = FALSE)`` with ``timewt = "n"``: for every event at
time t, compare the subject who had it with every other row at risk at t in the
same stratum (``entry < t <= exit``; a row censored at t is at risk, rows with
an event at the same t are tied on time and not compared).  The pair is
concordant when the one with the event has the larger risk score, discordant
when it has the smaller, tied on x when equal; each pair weighs ``w_i * w_j``.
concordance = (concordant + tied_x / 2) / (concordant + discordant + tied_x).

Vectorised, without a Python loop per row or per event: an event at t is
compared with the rows of its stratum that exit after t or are censored at t,
minus those that enter at or after t (the other events at t are thereby left
out, and so is the event itself).  With one item per exit (weight w) and one per
entry (weight -w), sorted by (stratum, time), that is one contiguous range of
items per event, and the counts are the weight of the items of that range with a
smaller / equal risk score: a weighted range-rank query, answered for all events
at once by a wavelet matrix over the ranks of the risk score (one level per bit
of the rank, O((n + events) log n) numpy work in all).  The first, loop-per-row
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
class _RangeWeights:
    """Per query: weight of the rows in its range with rank below / equal to its rank, and all."""

    below: FloatArray
    equal: FloatArray
    total: FloatArray


def _range_rank_weights(
    rank: IntArray,
    weight: NDArray[Any] | None,
    lo: NDArray[np.integer[Any]],
    hi: NDArray[np.integer[Any]],
    query_rank: IntArray,
) -> _RangeWeights:
    """For each query q, sums of ``weight[j]`` over ``lo[q] <= j < hi[q]`` with ``rank[j] <
    query_rank[q]`` and with ``rank[j] == query_rank[q]``, and the plain range sum.

    ``weight`` None counts rows (weight 1); an integer ``weight`` (e.g. +1 for an exit,
    -1 for an entry) is summed in integers; both are exact.

    A wavelet matrix built level by level (highest bit first) while the queries
    descend it, so nothing but the current level is held in memory.  At each level
    the rows are stably partitioned by the bit (zeros first); a query whose rank
    has the bit set collects the weight of the zero rows of its range (same higher
    bits, smaller at this bit) and follows the ones, else it follows the zeros.
    After the last bit the range holds exactly the rows of equal rank.  Positions
    and ranks are int32 below 2**31 rows (half the memory traffic of int64), and
    without weights the zero rows' weight is their count, so only the ranks move.
    """
    n = rank.size
    index = np.int32 if n < 2**31 - 1 else np.int64
    # Buffers reused at every level: fresh arrays per level cost more in page faults
    # than the arithmetic.
    zeros_before: NDArray[np.integer[Any]] = np.zeros(n + 1, dtype=index)
    is_zero, is_one = np.empty(n, dtype=bool), np.empty(n, dtype=bool)
    bits = np.empty(n, dtype=index)
    cur_rank, next_rank = rank.astype(index), np.empty(n, dtype=index)
    # No copies when the caller's arrays are already of the index type: they are
    # only read (every level makes new lo_at / hi_at).
    lo_at: NDArray[np.integer[Any]] = lo.astype(index, copy=False)
    hi_at: NDArray[np.integer[Any]] = hi.astype(index, copy=False)
    query_rank = query_rank.astype(index, copy=False)
    weighted = weight is not None
    if weight is not None:
        exact_int = weight.dtype.kind in "iub"
        acc = np.int64 if exact_int else np.float64
        cur_w = weight.astype(acc)
        next_w, zero_w = np.empty(n, dtype=acc), np.empty(n, dtype=acc)
        zero_w_before = np.zeros(n + 1, dtype=acc)
        np.cumsum(cur_w, out=zero_w_before[1:])
        total = zero_w_before[hi_at] - zero_w_before[lo_at]
        below = np.zeros(query_rank.size, dtype=acc)
    else:
        total = (hi_at - lo_at).astype(np.int64)
        below = np.zeros(query_rank.size, dtype=np.int64)
    # Every bit of the queries' ranks too: a query may rank above every row (the
    # comparator query of concordance_se asks with ranks that no event has).
    top = max(int(rank.max(initial=0)), int(query_rank.max(initial=0)))
    n_bits = max(1, top.bit_length())
    for bit in range(n_bits - 1, -1, -1):
        mask = index(1 << bit)
        np.bitwise_and(cur_rank, mask, out=bits)
        np.equal(bits, 0, out=is_zero)
        np.cumsum(is_zero, out=zeros_before[1:], dtype=index)
        n_zero = int(zeros_before[-1])
        q_one = np.bitwise_and(query_rank, mask) != 0
        lo_zero, hi_zero = zeros_before[lo_at], zeros_before[hi_at]
        if weighted:
            np.multiply(cur_w, is_zero, out=zero_w)
            np.cumsum(zero_w, out=zero_w_before[1:])
            below += np.where(q_one, zero_w_before[hi_at] - zero_w_before[lo_at], 0)
        else:
            below += np.where(q_one, hi_zero - lo_zero, 0)
        lo_at = np.where(q_one, lo_at - lo_zero + n_zero, lo_zero).astype(index, copy=False)
        hi_at = np.where(q_one, hi_at - hi_zero + n_zero, hi_zero).astype(index, copy=False)
        np.invert(is_zero, out=is_one)
        if bit > 0:  # the last level's ranks are not read again
            np.compress(is_zero, cur_rank, out=next_rank[:n_zero])
            np.compress(is_one, cur_rank, out=next_rank[n_zero:])
            cur_rank, next_rank = next_rank, cur_rank
        if weighted:
            np.compress(is_zero, cur_w, out=next_w[:n_zero])
            np.compress(is_one, cur_w, out=next_w[n_zero:])
            cur_w, next_w = next_w, cur_w
    if weighted:
        cum_final = zero_w_before  # reused: the last level's zero weights are not needed
        np.cumsum(cur_w, out=cum_final[1:])
        equal = cum_final[hi_at] - cum_final[lo_at]
    else:
        equal = (hi_at - lo_at).astype(np.int64)
    as_float = np.float64
    return _RangeWeights(below.astype(as_float), equal.astype(as_float), total.astype(as_float))


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
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=bool)
    n = time.size
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    _, stratum = np.unique(
        np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata), return_inverse=True
    )
    stratum = stratum.reshape(-1).astype(np.int64)
    _, rank = np.unique(np.asarray(risk_score, dtype=np.float64), return_inverse=True)
    rank = rank.reshape(-1).astype(np.int64)
    deaths = np.flatnonzero(event)
    if deaths.size == 0:
        return Concordance(0.0, 0.0, 0.0, 0.0)
    # Integer codes of all times (exits and entries together) so that keys compare as the times.
    ent = None if entry is None else np.asarray(entry, dtype=np.float64)
    if ent is not None and np.any(ent >= time):
        raise ValueError("concordance needs entry < time in every row")
    all_times = time if ent is None else np.concatenate((time, ent))
    _, codes = np.unique(all_times, return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64)
    keys_per_stratum = 2 * (int(codes.max()) + 1)
    # One item per row keyed 2 * exit + censored, weight w; with entries, one more item per
    # row keyed 2 * entry + 1, weight -w.  The rows compared with an event at t in stratum s
    # are then the items of s with key >= 2 * t + 1: exit after t, censored at t, minus
    # entry at or after t (with entry < exit such a row exits after t, so it is counted
    # once and taken out once).  Sorted by (stratum, key), that is one contiguous range.
    item_key = stratum * keys_per_stratum + 2 * codes[:n] + (~event)
    # Without weights the items are counted (+1 an exit, -1 an entry), in integers.
    item_rank = rank
    item_w: NDArray[Any] | None = None if weights is None else w
    if ent is not None:
        item_key = np.concatenate((item_key, stratum * keys_per_stratum + 2 * codes[n:] + 1))
        item_rank = np.concatenate((rank, rank))
        item_w = (
            np.concatenate((np.ones(n, np.int8), np.full(n, -1, np.int8)))
            if weights is None
            else np.concatenate((w, -w))
        )
    by_key = np.argsort(item_key)
    sorted_key = item_key[by_key]
    stratum_end = np.cumsum(np.bincount(stratum)) * (1 if ent is None else 2)
    query_key = stratum[deaths] * keys_per_stratum + 2 * codes[deaths] + 1
    by_query = np.argsort(query_key)  # sorted queries make searchsorted and the gathers faster
    deaths, query_key = deaths[by_query], query_key[by_query]
    lo = np.searchsorted(sorted_key, query_key, side="left")
    hi = stratum_end[stratum[deaths]]
    counts = _range_rank_weights(
        item_rank[by_key], None if item_w is None else item_w[by_key], lo, hi, rank[deaths]
    )
    below, equal, total = counts.below, counts.equal, counts.total
    above = total - below - equal
    wd = w[deaths]
    # Pairs of events at the same time in the same stratum: sum over pairs of w_a * w_b.
    _, group = np.unique(query_key, return_inverse=True)
    group = group.reshape(-1)
    group_w = np.bincount(group, weights=wd)
    group_w2 = np.bincount(group, weights=wd * wd)
    tied_y = float(np.sum(group_w * group_w - group_w2)) / 2.0
    return Concordance(
        float(np.dot(wd, below)),
        float(np.dot(wd, above)),
        float(np.dot(wd, equal)),
        tied_y,
    )
