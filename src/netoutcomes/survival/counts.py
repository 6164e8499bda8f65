"""The count table: the sufficient statistics of Kaplan-Meier and the log-rank family.

Every estimator in this package works from one small table per stratum: for
each distinct time, the (weighted) number of events, of censorings and of
delayed entries at that time.  The number at risk follows from these by a
reverse cumulative sum, so any SQL engine can produce the table with one
GROUP BY over exits and one over entries (see ``netoutcomes.engine``); this
module builds the same table from in-memory arrays and is the oracle the
engines are tested against.

Conventions (R's ``survival``): a subject with entry time ``a`` and exit time
``b`` is at risk on the interval ``(a, b]``.  So a subject entering at ``t`` is
*not* at risk for an event at ``t``, and a subject censored at ``t`` *is* at
risk for an event at ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CountTable:
    """Per distinct time of one stratum, sorted by time ascending.

    ``time`` holds every distinct exit time (event or censoring) and every
    distinct entry time.  ``n_risk`` is derived: those with exit >= t minus
    those with entry >= t.
    """

    time: FloatArray
    n_event: FloatArray
    n_censor: FloatArray
    n_enter: FloatArray
    n: int  # number of rows (subjects or intervals) in the stratum, unweighted

    @property
    def n_risk(self) -> FloatArray:
        exits = self.n_event + self.n_censor
        at_or_after_exit = np.cumsum(exits[::-1])[::-1]
        at_or_after_entry = np.cumsum(self.n_enter[::-1])[::-1]
        return at_or_after_exit - at_or_after_entry

    @property
    def exit_rows(self) -> NDArray[np.bool_]:
        """Rows where somebody leaves the risk set (the rows R's survfit prints)."""
        return (self.n_event + self.n_censor) > 0


def count_table(
    time: FloatArray,
    event: NDArray[np.bool_] | FloatArray,
    entry: FloatArray | None = None,
    weights: FloatArray | None = None,
) -> CountTable:
    """Build the count table of one stratum from arrays (no missing values allowed)."""
    time = np.asarray(time, dtype=np.float64)
    w = np.ones_like(time) if weights is None else np.asarray(weights, dtype=np.float64)
    return exits_and_entries_table(time, event, w, entry, None if entry is None else w, time.size)


def exits_and_entries_table(
    exit_time: FloatArray,
    exit_event: NDArray[np.bool_] | FloatArray,
    exit_weights: FloatArray,
    entry_time: FloatArray | None,
    entry_weights: FloatArray | None,
    n: int,
) -> CountTable:
    """The count table of one stratum from its exits and its entries counted apart.

    An engine's two GROUP BYs give them so (``engine.count_queries``): one element
    per (exit time, event) or per entry time, weighted by how many rows (or how
    much case weight) it stands for.  ``n``: the stratum's number of rows."""
    time = np.asarray(exit_time, dtype=np.float64)
    ev = np.asarray(exit_event, dtype=np.float64)
    w = np.asarray(exit_weights, dtype=np.float64)
    entry = None if entry_time is None else np.asarray(entry_time, dtype=np.float64)
    grid = np.unique(time if entry is None else np.concatenate([time, entry]))
    idx = np.searchsorted(grid, time)
    # bincount with weights returns float64; numpy's stubs say int, hence the casts.
    n_event = np.bincount(idx, weights=w * ev, minlength=grid.size).astype(np.float64)
    n_censor = np.bincount(idx, weights=w * (1.0 - ev), minlength=grid.size).astype(np.float64)
    n_enter: FloatArray
    if entry is None:
        n_enter = np.zeros(grid.size)
    else:
        assert entry_weights is not None
        eidx = np.searchsorted(grid, entry)
        ew = np.asarray(entry_weights, dtype=np.float64)
        n_enter = np.bincount(eidx, weights=ew, minlength=grid.size).astype(np.float64)
    return CountTable(grid, n_event, n_censor, n_enter, int(n))
