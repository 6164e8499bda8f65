"""The per-(stratum, event time) sums a Cox Newton step needs, from in-memory arrays.

For each (stratum, distinct event time): sums over the tied events and over the
risk set of ``r = w exp(x'beta)``, ``r x`` and ``r x x'`` (``CoxTimeSums``).
``cox_time_sums`` builds them from arrays (sorted times and reverse cumulative
sums); the engine builds the same table with one aggregate query per step
(``engine.cox_passes``).  A row with entry ``a`` and exit ``t`` is at risk on
``(a, t]``, as in R's ``survival``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class CoxTimeSums:
    """One row per (stratum, distinct time with at least one event), sorted by stratum then time.

    w = case weight, r = w * exp(x @ beta). Risk set at t: rows with entry < t <= exit
    in that stratum.
    """

    stratum: IntArray  # (k,)
    time: FloatArray  # (k,)
    n_event: FloatArray  # (k,) unweighted number of tied events (Efron's d)
    w_event: FloatArray  # (k,) sum of w over the events
    wx_event: FloatArray  # (k, p) sum of w * x over the events
    r_event: FloatArray  # (k,)  sum of r over the events
    rx_event: FloatArray  # (k, p)
    rxx_event: FloatArray  # (k, p, p)
    r_risk: FloatArray  # (k,)  sum of r over the risk set
    rx_risk: FloatArray  # (k, p)
    rxx_risk: FloatArray  # (k, p, p)

    def of_columns(self, kept: list[int]) -> CoxTimeSums:
        """The same sums over the covariates ``kept`` only (r unchanged: it is
        w * exp(x @ beta) of every column)."""
        block = np.ix_(range(self.time.size), kept, kept)
        return replace(
            self,
            wx_event=self.wx_event[:, kept],
            rx_event=self.rx_event[:, kept],
            rxx_event=self.rxx_event[block],
            rx_risk=self.rx_risk[:, kept],
            rxx_risk=self.rxx_risk[block],
        )


def _reverse_cumsum(a: FloatArray) -> FloatArray:
    return np.cumsum(a[::-1], axis=0)[::-1]


def _binned_sum(bins: IntArray, values: FloatArray, k: int) -> FloatArray:
    """Sum of ``values`` rows (any trailing shape) into ``k`` bins."""
    # explicit width: reshape(0, -1) is ambiguous when no row falls in any bin
    flat = values.reshape(values.shape[0], int(np.prod(values.shape[1:])))
    out = np.empty((k, flat.shape[1]))
    for j in range(flat.shape[1]):
        out[:, j] = np.bincount(bins, weights=flat[:, j], minlength=k)
    return out.reshape((k,) + values.shape[1:])


def _binned_products(bins: IntArray, r: FloatArray, x: FloatArray, k: int) -> FloatArray:
    """Sum of ``r x x'`` into ``k`` bins, one column pair at a time (never n x p x p)."""
    p = x.shape[1]
    out = np.empty((k, p, p))
    for i in range(p):
        rxi = r * x[:, i]
        for j in range(i + 1):
            out[:, i, j] = out[:, j, i] = np.bincount(bins, weights=rxi * x[:, j], minlength=k)
    return out


def _stratum_sums(
    x: FloatArray,
    time: FloatArray,
    event: NDArray[np.bool_],
    entry: FloatArray | None,
    w: FloatArray,
    r: FloatArray,
) -> dict[str, np.ndarray]:
    """The sums of one stratum (arrays restricted to its rows)."""
    times = np.unique(time[event])
    k = times.size
    rx = r[:, None] * x
    # A row is in the risk set of every event time <= its exit ...
    exit_bin = np.searchsorted(times, time, side="right") - 1
    at_exit = exit_bin >= 0
    # ... except those <= its entry.
    if entry is not None:
        entry_bin = np.searchsorted(times, entry, side="right") - 1
        at_entry = entry_bin >= 0
    ev_bin = np.searchsorted(times, time[event])

    def risk_sum(values: FloatArray) -> FloatArray:
        acc = _binned_sum(exit_bin[at_exit], values[at_exit], k)
        if entry is not None:
            acc -= _binned_sum(entry_bin[at_entry], values[at_entry], k)
        return _reverse_cumsum(acc)

    def risk_products() -> FloatArray:
        acc = _binned_products(exit_bin[at_exit], r[at_exit], x[at_exit], k)
        if entry is not None:
            acc -= _binned_products(entry_bin[at_entry], r[at_entry], x[at_entry], k)
        return _reverse_cumsum(acc)

    def event_sum(values: FloatArray) -> FloatArray:
        return _binned_sum(ev_bin, values[event], k)

    return {
        "time": times,
        "n_event": event_sum(np.ones(time.size)),
        "w_event": event_sum(w),
        "wx_event": event_sum(w[:, None] * x),
        "r_event": event_sum(r),
        "rx_event": event_sum(rx),
        "rxx_event": _binned_products(ev_bin, r[event], x[event], k),
        "r_risk": risk_sum(r),
        "rx_risk": risk_sum(rx),
        "rxx_risk": risk_products(),
    }


def cox_time_sums(
    x: FloatArray,
    time: FloatArray,
    event: NDArray[np.bool_],
    entry: FloatArray | None,
    weights: FloatArray | None,
    strata: IntArray | None,
    beta: FloatArray,
) -> CoxTimeSums:
    """The per-(stratum, event time) sums at ``beta``, from in-memory arrays.

    Each row is binned to the event times of its stratum: its exit adds it to
    every event time ``<= exit`` (a reverse cumulative sum over the bins), its
    entry removes it from every event time ``<= entry``.
    """
    time = np.asarray(time, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(time.size, -1)
    n, p = x.shape
    event = np.asarray(event, dtype=bool)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    strata_arr = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata, np.int64)
    r = w * np.exp(x @ np.asarray(beta, dtype=np.float64))
    ent = None if entry is None else np.asarray(entry, dtype=np.float64)

    parts: list[dict[str, np.ndarray]] = []
    for s in np.unique(strata_arr[event]):
        rows = strata_arr == s
        part = _stratum_sums(
            x[rows], time[rows], event[rows], None if ent is None else ent[rows], w[rows], r[rows]
        )
        part["stratum"] = np.full(part["time"].size, s, dtype=np.int64)
        parts.append(part)
    if not parts:
        part = _stratum_sums(x[:0], time[:0], event[:0], None, w[:0], r[:0])
        part["stratum"] = np.zeros(0, dtype=np.int64)
        parts.append(part)
    return CoxTimeSums(**{key: np.concatenate([d[key] for d in parts]) for key in parts[0]})


@dataclass(frozen=True)
class CoxData:
    """The arrays a Cox model is fitted to (no missing values)."""

    x: FloatArray  # (n, p)
    time: FloatArray
    event: NDArray[np.bool_]
    entry: FloatArray | None = None
    weights: FloatArray | None = None
    strata: IntArray | None = None

    def sums_at(self, beta: FloatArray) -> CoxTimeSums:
        return cox_time_sums(
            self.x, self.time, self.event, self.entry, self.weights, self.strata, beta
        )
