"""The first, loop-per-row implementation of ``netoutcomes.survival.concordance``, kept verbatim
as the independent reference for the vectorised one (test_concordance_fast.py).

Harrell's concordance of a Cox model as R's survival 3.x reports it (``fit$concordance``).

``coxph`` calls ``concordancefit(y, linear.predictors, strata, weights,
reverse = TRUE, timefix = FALSE)`` with ``timewt = "n"``: for every event at
time t, compare the subject who had it with every other row at risk at t in the
same stratum (``entry < t <= exit``; a row censored at t is at risk, rows with
an event at the same t are tied on time and not compared).  The pair is
concordant when the one with the event has the larger risk score, discordant
when it has the smaller, tied on x when equal; each pair weighs ``w_i * w_j``.
concordance = (concordant + tied_x / 2) / (concordant + discordant + tied_x).

The sweep keeps the risk set in a Fenwick tree over the ranks of the risk
score, so the work is O(n log n) plus a Python loop over event times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


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


class _Fenwick:
    def __init__(self, size: int) -> None:
        self.tree = np.zeros(size + 1)

    def add(self, index: int, value: float) -> None:
        i = index + 1
        tree = self.tree
        while i < tree.size:
            tree[i] += value
            i += i & (-i)

    def prefix(self, index: int) -> float:
        """Sum over ranks < index."""
        i = index
        total = 0.0
        tree = self.tree
        while i > 0:
            total += tree[i]
            i -= i & (-i)
        return total


def concordance(
    time: FloatArray,
    event: NDArray[np.bool_],
    risk_score: FloatArray,
    entry: FloatArray | None = None,
    strata: NDArray[np.int64] | None = None,
    weights: FloatArray | None = None,
) -> Concordance:
    """Concordance counts of ``risk_score`` (larger = shorter survival) against the outcome."""
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=bool)
    n = time.size
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    strata_arr = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata)
    ranks_unique, rank = np.unique(np.asarray(risk_score, dtype=np.float64), return_inverse=True)
    n_ranks = ranks_unique.size
    conc = disc = tied_x = tied_y = 0.0
    for s in np.unique(strata_arr):
        rows = np.flatnonzero(strata_arr == s)
        tree = _Fenwick(n_ranks)
        by_exit = rows[np.argsort(-time[rows], kind="stable")]
        by_entry = rows[np.argsort(-entry[rows], kind="stable")] if entry is not None else rows[:0]
        ev_times = np.unique(time[rows][event[rows]])[::-1]
        i_exit = i_entry = 0
        total_in = 0.0
        for t in ev_times:
            # Add rows whose exit is >= t; remove rows whose entry is >= t.
            while i_exit < by_exit.size and time[by_exit[i_exit]] >= t:
                j = by_exit[i_exit]
                tree.add(int(rank[j]), w[j])
                total_in += w[j]
                i_exit += 1
            while entry is not None and i_entry < by_entry.size and entry[by_entry[i_entry]] >= t:
                j = by_entry[i_entry]
                if time[j] >= t:  # only rows already added
                    tree.add(int(rank[j]), -w[j])
                    total_in -= w[j]
                i_entry += 1
            deaths = rows[(time[rows] == t) & event[rows]]
            # Compare each death with all at risk, then take out the death-death pairs.
            for i in deaths:
                ri = int(rank[i])
                below = tree.prefix(ri)
                same = tree.prefix(ri + 1) - below
                above = total_in - below - same
                conc += w[i] * below
                disc += w[i] * above
                tied_x += w[i] * (same - w[i])
            if deaths.size > 1:
                dw = w[deaths]
                dr = rank[deaths]
                pair_w = np.outer(dw, dw)
                np.fill_diagonal(pair_w, 0.0)
                gt = dr[:, None] > dr[None, :]
                eq = dr[:, None] == dr[None, :]
                conc -= float(pair_w[gt].sum())
                disc -= float(pair_w[gt.T].sum())
                tied_x -= float(pair_w[eq].sum())
                tied_y += float(pair_w.sum()) / 2.0
    return Concordance(conc, disc, tied_x, tied_y)
