"""Compiled (numba) kernels of the Cox concordance: Fenwick-tree sweeps over rows sorted by time.

Only ``survival.concordance`` and ``engine.concordance_se`` import this module, inside
the functions that count (``import numba`` costs ~0.15 s and, with the kernels
loaded, ~200 MB of resident memory; the ``--help`` and ``stats km`` paths never pay
it).

The rows come in sorted by (stratum, time): ``bounds[s]:bounds[s + 1]`` are the rows
of stratum ``s``, by time ascending.  ``rank`` is the dense rank of the risk score
(equal scores, equal rank).  ``weight`` is float64 case weights, or an int8 array of
ones for unweighted data: then ``tree``/``point`` are integer arrays and every count
is exact.  ``entry`` is empty without delayed entry, else the rows' entry times with
``entry_order``: the rows' positions sorted by (stratum, entry).

A row j is at risk at an event of row i (the pair is compared) when they share a
stratum, ``entry_j < t_i <= time_j``, and j is not an event at ``t_i`` (which also
leaves i out of its own comparisons).

- ``event_sweep`` (time descending): per event, the weight of the rows at risk at
  its time with a smaller, equal and larger score.  At each distinct time the
  censored rows are added to the tree, the rows entering at or after it taken out,
  the events queried, then added.
- ``comparator_sweep`` (time ascending): per row, the weight of the events at whose
  times it was at risk, by score: the events before its exit (up to and including
  its exit time if it was censored), less those up to its entry time.

``tree`` is a Fenwick tree over blocks of ``2**shift`` ranks, one node per block
(``tree[0]`` stays 0: the kernels read it as the zero of its type); ``point[r]`` the
weight at rank r alone.  Both must come in zeroed and are left dirty.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

# Every kernel is typed by its arguments at the first call and cached on disk.
_jit = njit(cache=True)
Array = Any


@_jit
def stable_order_by_code(order: Array, code: Array, n_codes: int) -> tuple[Array, Array]:
    """``order`` stably regrouped by ``code[order]`` (a counting sort) and the groups' starts."""
    starts = np.zeros(n_codes + 1, np.int64)
    for k in range(order.size):
        starts[code[order[k]] + 1] += 1
    for c in range(n_codes):
        starts[c + 1] += starts[c]
    fill = starts.copy()  # fill[c]: where the next row of code c goes
    out = np.empty_like(order)
    for k in range(order.size):
        c = code[order[k]]
        out[fill[c]] = order[k]
        fill[c] += 1
    return out, starts


@_jit
def gather_sorted(
    order: Array, bounds: Array, time: Array, rank: Array, event: Array
) -> tuple[Array, Array, Array, bool]:  # fmt: skip
    """``time[order]``, ``rank[order]``, ``event[order]`` in one pass, and whether the
    times come out non-decreasing within each ``bounds[s]:bounds[s + 1]``."""
    n = order.size
    out_time, out_rank, out_event = np.empty(n), np.empty(n, rank.dtype), np.empty(n, np.bool_)
    in_order = True
    for s in range(bounds.size - 1):
        for k in range(bounds[s], bounds[s + 1]):
            j = order[k]
            out_time[k], out_rank[k], out_event[k] = time[j], rank[j], event[j]
            if k > bounds[s] and out_time[k] < out_time[k - 1]:
                in_order = False
    return out_time, out_rank, out_event, in_order


@_jit
def sorted_within(values: Array, order: Array, bounds: Array) -> bool:
    """Whether ``values[order]`` is non-decreasing within each ``bounds[s]:bounds[s + 1]``."""
    for s in range(bounds.size - 1):
        for k in range(bounds[s] + 1, bounds[s + 1]):
            if values[order[k]] < values[order[k - 1]]:
                return False
    return True


@_jit
def influence_squares(
    per_row_a: Array, per_row_b: Array, weight: Array, npair: float, somers: float,
    cluster: Array, n_clusters: int,
) -> float:  # fmt: skip
    """``sum_j dfbeta_j^2`` with ``dfbeta_j = w_j (a_j / npair - somers b_j / npair)``,
    the ``dfbeta`` summed per cluster first when ``cluster`` (codes) is not empty.
    Compensated (Neumaier) sums: no row-sized temporary, and no worse than numpy's
    pairwise sum."""
    by_cluster = np.zeros(n_clusters)
    total, compensation = 0.0, 0.0
    for j in range(per_row_a.size):
        dfbeta = weight[j] * (per_row_a[j] / npair - somers * per_row_b[j] / npair)
        if cluster.size > 0:
            by_cluster[cluster[j]] += dfbeta
            continue
        square = dfbeta * dfbeta
        updated = total + square
        if abs(total) >= square:
            compensation += (total - updated) + square
        else:
            compensation += (square - updated) + total
        total = updated
    if cluster.size > 0:
        return float(np.sum(by_cluster * by_cluster))
    return total + compensation


@_jit
def codes_by_table(values: Array, table: Array, low: float, out: Array) -> bool:
    """``out[j] = table[values[j] - low]`` for integer-valued ``values`` inside the
    table; False (``out`` partly written) as soon as a value is not: not an integer,
    outside the table, or at an empty entry (-1)."""
    high = low + table.size - 1
    for j in range(values.size):
        v = values[j]
        if not low <= v <= high:
            return False
        k = int(v - low)
        if k + low != v or table[k] < 0:
            return False
        out[j] = table[k]
    return True


@_jit
def dense_ranks_hashed(
    values: Array, value_bits: Array, most: int, log_size: int
) -> tuple[Array, int]:
    """``dense_ranks`` without sorting the rows when there are at most ``most``
    distinct values (a risk score from a few discrete covariates): each value gets
    an id in an open-addressing hash table of ``2**log_size`` slots (more than
    ``most``; the caller sizes it) of its bits (``value_bits``: ``values`` viewed as
    uint64), and only the distinct values are sorted.  Returns ``n_ranks`` -1 (and
    no ranks) beyond ``most``."""
    size = 1 << log_size
    shift, mask = np.uint64(64 - log_size), size - 1
    slot_id = np.full(size, -1, np.int32)
    slot_bits = np.zeros(size, np.uint64)
    distinct = np.empty(most, np.float64)
    ids = np.empty(values.size, np.int32)
    n_ids = 0
    for j in range(values.size):
        v = values[j]
        bits = value_bits[j]
        if v == 0.0:  # -0.0 and 0.0: equal scores, one rank
            bits = np.uint64(0)
        h = np.int64((bits * np.uint64(0x9E3779B97F4A7C15)) >> shift)  # Fibonacci hashing
        while slot_id[h] >= 0 and slot_bits[h] != bits:
            h = (h + 1) & mask
        if slot_id[h] < 0:
            if n_ids == most:
                return ids[:0], -1
            slot_id[h], slot_bits[h] = n_ids, bits
            distinct[n_ids] = v
            n_ids += 1
        ids[j] = slot_id[h]
    rank_of_id = np.empty(n_ids, np.int32)
    by_value = np.argsort(distinct[:n_ids])
    for r in range(n_ids):
        rank_of_id[by_value[r]] = r
    for j in range(values.size):
        ids[j] = rank_of_id[ids[j]]
    return ids, n_ids


@_jit
def dense_ranks(values: Array, order: Array) -> tuple[Array, int]:
    """Rank of each value among the distinct values (``order`` sorts ``values``)."""
    rank = np.empty(values.size, np.int32)
    r = -1
    previous = np.nan  # unequal to the first value
    for k in range(order.size):
        j = order[k]
        if values[j] != previous:
            r += 1
            previous = values[j]
        rank[j] = r
    return rank, r + 1


@_jit
def _add(tree: Array, point: Array, shift: int, r: int, value: Any) -> None:
    point[r] += value
    i = (r >> shift) + 1
    while i < tree.size:
        tree[i] += value
        i += i & -i


@_jit
def _below(tree: Array, point: Array, shift: int, r: int) -> Any:
    """Weight of the ranks < r: the blocks before r's (the tree), then the ranks of
    its own block before it (``point``, contiguous)."""
    total = tree[0]
    block = r >> shift
    i = block
    while i > 0:
        total += tree[i]
        i -= i & -i
    for k in range(block << shift, r):
        total += point[k]
    return total


@_jit
def _clear(tree: Array, point: Array, shift: int, rank: Array, start: int, stop: int) -> None:
    """Zero what the rows ``start:stop`` put in the tree (the nodes on their paths)."""
    for m in range(start, stop):
        r = rank[m]
        point[r] = 0
        i = (r >> shift) + 1
        while i < tree.size:
            tree[i] = 0
            i += i & -i


@_jit
def event_sweep(
    bounds: Array, time: Array, event: Array, rank: Array, weight: Array, entry: Array,
    entry_order: Array, tree: Array, point: Array, shift: int, totals: Array,
    per_row_a: Array, per_row_b: Array,
) -> None:  # fmt: skip
    """Per event i at risk-set weight ``below``, ``equal``, ``above`` (scores smaller,
    equal, larger than its own): ``totals += (sum w_i below, sum w_i above,
    sum w_i equal, twice the tied-on-time pair weight)``; with ``per_row_a`` not
    empty, ``per_row_a[i] = below - above`` and ``per_row_b[i] = below + equal + above``."""
    with_entry = entry.size > 0
    per_row = per_row_a.size > 0
    for s in range(bounds.size - 1):
        start, stop = bounds[s], bounds[s + 1]
        if s > 0:
            _clear(tree, point, shift, rank, bounds[s - 1], start)
        at_risk = tree[0]
        next_entry = stop - 1  # entry_order's rows of this stratum, entry descending
        k = stop - 1
        while k >= start:
            t = time[k]
            first = k
            while first > start and time[first - 1] == t:
                first -= 1
            any_event = False
            for m in range(first, k + 1):
                if event[m]:
                    any_event = True
                else:
                    _add(tree, point, shift, rank[m], weight[m])
                    at_risk += weight[m]
            if any_event:
                # Rows entering at or after t exit after t: they are in the tree.
                while with_entry and next_entry >= start and entry[entry_order[next_entry]] >= t:
                    j = entry_order[next_entry]
                    _add(tree, point, shift, rank[j], -weight[j])
                    at_risk -= weight[j]
                    next_entry -= 1
                tied_w = weight[first] * 0
                tied_w2 = weight[first] * 0
                for m in range(first, k + 1):
                    if event[m]:
                        r = rank[m]
                        below = _below(tree, point, shift, r)
                        equal = point[r]
                        above = at_risk - below - equal
                        w = weight[m]
                        totals[0] += w * below
                        totals[1] += w * above
                        totals[2] += w * equal
                        tied_w += w
                        tied_w2 += w * w
                        if per_row:
                            per_row_a[m] = below - above
                            per_row_b[m] = below + equal + above
                totals[3] += tied_w * tied_w - tied_w2
                for m in range(first, k + 1):
                    if event[m]:
                        _add(tree, point, shift, rank[m], weight[m])
                        at_risk += weight[m]
            k = first - 1


@_jit
def _add_query(
    tree: Array, point: Array, shift: int, rank: Array, j: int, events_in: Any, sign: int,
    per_row_a: Array, per_row_b: Array,
) -> None:  # fmt: skip
    """Row j against the events in the tree: ``sign`` * ((larger score) - (smaller))
    into ``per_row_a[j]``, ``sign`` * (all) into ``per_row_b[j]``."""
    r = rank[j]
    below = _below(tree, point, shift, r)
    above = events_in - below - point[r]
    per_row_a[j] += sign * (above - below)
    per_row_b[j] += sign * events_in


@_jit
def comparator_sweep(
    bounds: Array, time: Array, event: Array, rank: Array, weight: Array, entry: Array,
    entry_order: Array, tree: Array, point: Array, shift: int, per_row_a: Array,
    per_row_b: Array,
) -> None:  # fmt: skip
    """Per row j, over the events i at whose times it was at risk: ``per_row_a[j] +=
    (weight of those with a larger score) - (smaller)``, ``per_row_b[j] +=`` their
    weight.  The tree holds the events, by time ascending."""
    with_entry = entry.size > 0
    for s in range(bounds.size - 1):
        start, stop = bounds[s], bounds[s + 1]
        if s > 0:
            _clear(tree, point, shift, rank, bounds[s - 1], start)
        events_in = tree[0]
        next_entry = start  # entry_order's rows of this stratum, entry ascending
        k = start
        while k < stop:
            t = time[k]
            last = k
            while last + 1 < stop and time[last + 1] == t:
                last += 1
            # The tree holds the events before t: for a row entering before t (and at
            # or after the previous time), exactly the events it was not at risk at.
            while with_entry and next_entry < stop and entry[entry_order[next_entry]] < t:
                _add_query(tree, point, shift, rank, entry_order[next_entry], events_in, -1,
                           per_row_a, per_row_b)  # fmt: skip
                next_entry += 1
            for m in range(k, last + 1):
                if event[m]:  # at risk at the events before its own time
                    _add_query(tree, point, shift, rank, m, events_in, 1, per_row_a, per_row_b)
            for m in range(k, last + 1):
                if event[m]:
                    _add(tree, point, shift, rank[m], weight[m])
                    events_in += weight[m]
            for m in range(k, last + 1):
                if not event[m]:  # censored at t: at risk at the events at t too
                    _add_query(tree, point, shift, rank, m, events_in, 1, per_row_a, per_row_b)
            k = last + 1
