"""R's concordance of a Cox fit with its standard error (``fit$concordance["std"]``).

R's ``concordancefit`` gives each row its influence: the weight of the partners it
is concordant, discordant and tied on the score with, over every comparable pair
it belongs to (as the row with the event, and as a row at risk at somebody else's
event).  With ``npair = C + D + T`` and Somers' ``d = (C - D) / npair``::

    dfbeta_j = w_j ((C_j - D_j) / npair - d (C_j + D_j + T_j) / npair)
    std = sqrt(sum_j dfbeta_j^2 / 4)

Both halves are weighted range-rank queries (``survival.concordance``'s wavelet
matrix): an event against the rows at risk at its time (the kernel's own query,
whose sums are also the concordance counts), and a row against the events at
whose times it was at risk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from netoutcomes.engine.cox_result import CoxConcordance
from netoutcomes.survival.concordance import _range_rank_weights

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Positions = NDArray[np.integer[Any]]  # int32 below 2**31 items, else int64


def _codes(values: FloatArray) -> IntArray:
    return np.unique(values, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _key_starts(sorted_key: IntArray, n_keys: int) -> Positions | None:
    """``starts[k]`` = number of items with key < k (so ``searchsorted(sorted_key, k)``
    for any k), by counting, when the key space is small enough; else None.  A gather
    per query instead of a binary search per query over random addresses."""
    if n_keys > 4 * sorted_key.size + 1024:
        return None
    # int32 positions below 2**31 items: the kernel then uses them without a copy.
    small = sorted_key.size < 2**31 - 1
    starts: Positions = np.zeros(n_keys + 1, dtype=np.int32 if small else np.int64)
    np.cumsum(np.bincount(sorted_key, minlength=n_keys), out=starts[1:], dtype=starts.dtype)
    return starts


def _position(
    sorted_key: IntArray, starts: Positions | None, key: IntArray, side: str = "left"
) -> Positions:
    """``np.searchsorted(sorted_key, key, side)``, from ``starts`` when there are any."""
    if starts is None:
        return np.searchsorted(sorted_key, key, side="right" if side == "right" else "left")
    return starts[key + 1] if side == "right" else starts[key]


def _as_event(
    stratum: IntArray, exit_code: IntArray, entry_code: IntArray | None, event: NDArray[np.bool_],
    rank: IntArray, w: FloatArray | None, keys: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """Per event: weight of the rows at risk at its time (other events at that time
    left out) with a smaller, equal and larger score (``w`` None: counts)."""
    n = rank.size
    deaths = np.flatnonzero(event)
    item_key = stratum * keys + 2 * exit_code + (~event)
    item_rank: IntArray = rank
    item_w: NDArray[Any] | None = w
    if entry_code is not None:
        item_key = np.concatenate((item_key, stratum * keys + 2 * entry_code + 1))
        item_rank = np.concatenate((rank, rank))
        item_w = (np.concatenate((np.ones(n, np.int8), np.full(n, -1, np.int8))) if w is None
                  else np.concatenate((w, -w)))  # fmt: skip
    order = np.argsort(item_key, kind="stable")
    sorted_key = item_key[order]
    starts = _key_starts(sorted_key, (int(stratum.max(initial=0)) + 1) * keys)
    query = stratum[deaths] * keys + 2 * exit_code[deaths] + 1
    lo = _position(sorted_key, starts, query)
    hi = _position(sorted_key, starts, (stratum[deaths] + 1) * keys)
    got = _range_rank_weights(item_rank[order], None if item_w is None else item_w[order],
                              lo, hi, rank[deaths])  # fmt: skip
    below, equal = np.zeros(n), np.zeros(n)
    above = np.zeros(n)
    below[deaths], equal[deaths] = got.below, got.equal
    above[deaths] = got.total - got.below - got.equal
    return below, equal, above


def _as_comparator(
    stratum: IntArray, exit_code: IntArray, entry_code: IntArray | None, event: NDArray[np.bool_],
    rank: IntArray, w: FloatArray | None, keys: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """Per row: weight of the events at whose time it was at risk (its own time
    only if it was censored then) with a smaller, equal and larger score."""
    deaths = np.flatnonzero(event)
    death_key = stratum[deaths] * keys + exit_code[deaths]
    order = np.argsort(death_key, kind="stable")
    sorted_key = death_key[order]
    starts = _key_starts(sorted_key, (int(stratum.max(initial=0)) + 1) * keys)
    # Row-sized temporaries freed as soon as used (this query is the counting's
    # memory peak), and lo / hi in place.
    base = stratum * keys
    lo = (
        _position(sorted_key, starts, base)
        if entry_code is None
        else _position(sorted_key, starts, base + entry_code, side="right")
    )
    base += exit_code  # the row's own exit key
    hi = _position(sorted_key, starts, base)
    censored_hi = _position(sorted_key, starts, base, side="right")
    del base
    np.copyto(hi, censored_hi, where=~event)  # a censored row is at risk at its own time
    del censored_hi
    np.maximum(hi, lo, out=hi)
    got = _range_rank_weights(rank[deaths][order], None if w is None else w[deaths][order],
                              lo, hi, rank)  # fmt: skip
    return got.below, got.equal, got.total - got.below - got.equal


def concordance_with_se(
    time: FloatArray,
    event: NDArray[np.bool_],
    score: FloatArray,
    entry: FloatArray | None = None,
    strata: IntArray | None = None,
    weights: FloatArray | None = None,
    cluster: NDArray[np.int64] | None = None,
) -> CoxConcordance:
    """R's ``fit$concordance`` of ``score`` (the linear predictor): value, std and counts.

    With ``cluster`` (codes), the rows' influences are summed per cluster first, as
    R's coxph does for a model with ``cluster()``."""
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=bool)
    n = time.size
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    stratum = np.zeros(n, np.int64) if strata is None else _codes(np.asarray(strata, float))
    rank = _codes(np.asarray(score, dtype=np.float64))
    all_codes = _codes(time if entry is None else np.concatenate((time, entry)))
    exit_code = all_codes[:n]
    entry_code = None if entry is None else all_codes[n:]
    keys = 2 * (int(all_codes.max(initial=0)) + 1)
    # Without weights the kernels count (integers, exact, and no weights to carry).
    w_or_none = None if weights is None else w
    ev_below, ev_equal, ev_above = _as_event(stratum, exit_code, entry_code, event, rank,
                                             w_or_none, keys)  # fmt: skip
    cp_below, cp_equal, cp_above = _as_comparator(stratum, exit_code, entry_code, event, rank,
                                                  w_or_none, keys // 2)  # fmt: skip
    concordant = ev_below + cp_above  # the event has the larger score
    discordant = ev_above + cp_below
    tied = ev_equal + cp_equal
    # The totals, as survival.concordance counts them (each comparable pair once, on
    # the side of its event), from the same per-event query.
    total_c, total_d, total_t = (float(np.dot(w, ev_below)), float(np.dot(w, ev_above)),
                                 float(np.dot(w, ev_equal)))  # fmt: skip
    npair = total_c + total_d + total_t
    std = float("nan")
    if npair > 0:
        somers = (total_c - total_d) / npair
        dfbeta: FloatArray = w * (
            (concordant - discordant) / npair - somers * (concordant + discordant + tied) / npair
        )
        if cluster is not None:
            dfbeta = np.bincount(_codes(np.asarray(cluster, float)), weights=dfbeta).astype(float)
        std = float(np.sqrt(np.sum(dfbeta**2) / 4.0))
    value = (total_c + total_t / 2.0) / npair if npair > 0 else float("nan")
    return CoxConcordance(value, std, total_c, total_d, total_t, _tied_time_pairs(
        stratum, exit_code, event, w))  # fmt: skip


def _tied_time_pairs(
    stratum: IntArray, exit_code: IntArray, event: NDArray[np.bool_], w: FloatArray
) -> float:
    """Pairs of events at the same time in the same stratum: sum over pairs of w_a w_b."""
    deaths = np.flatnonzero(event)
    _, group = np.unique(stratum[deaths] * (int(exit_code.max(initial=0)) + 1)
                         + exit_code[deaths], return_inverse=True)  # fmt: skip
    group = group.reshape(-1)
    group_w = np.bincount(group, weights=w[deaths])
    group_w2 = np.bincount(group, weights=w[deaths] ** 2)
    return float(np.sum(group_w * group_w - group_w2)) / 2.0
