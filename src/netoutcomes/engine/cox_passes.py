"""The Cox passes the engines run: per-step risk sums and the beta-free event sums.

``risk_sums_expr`` is one Ibis expression with the coefficients as parameters:
per (stratum, exit time, event) the sums of ``r = w exp(x'beta)``, ``r x`` and
``r x x'``, UNION ALL per (stratum, entry time) the same sums over entries.
``finish`` turns its small result into ``survival.cox.CoxTimeSums`` in numpy:
the risk set at ``t`` is every row with exit >= t minus every row with entry >= t
(a reverse cumulative sum), kept at the times with events, exactly what
``survival.cox.cox_time_sums`` builds from arrays.  The model rows they read
have columns ``T`` (exit), ``E`` (0/1), optional ``W`` (weight) and ``A`` (entry),
the strata columns and ``__x{j}`` (centred design columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from netoutcomes.survival.cox import CoxTimeSums

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

T, E, W, A, C, KIND = "__time", "__event", "__weight", "__entry", "__cluster", "__kind"
_T, _E, _W, _A, _KIND = T, E, W, A, KIND
StratumCodes = dict[tuple[Any, ...], int]  # raw strata values -> stratum index


def column(result: pa.Table, name: str) -> np.ndarray:
    return np.asarray(result.column(name).to_numpy(zero_copy_only=False))


_column = column


def event_totals_expr(t: ir.Table, x_cols: Sequence[str], strata: Sequence[str]) -> ir.Table:
    """Per (stratum, event time): count, sum w, sum w x of the events (do not depend on beta)."""
    p = len(x_cols)
    ev = t.filter(t[_E] == 1.0)
    n = ev.count().cast("float64")
    if _W in ev.columns:
        aggs: dict[str, Any] = {"n": n, "w": ev[_W].sum()}
        aggs.update({f"wx{j}": (ev[_W] * ev[x_cols[j]]).sum() for j in range(p)})
    else:
        aggs = {"n": n, "w": n}
        aggs.update({f"wx{j}": ev[x_cols[j]].sum() for j in range(p)})
    return ev.group_by([*strata, _T]).aggregate(**aggs)


def column_spreads(t: ir.Table, x_cols: Sequence[str]) -> tuple[float, np.ndarray]:
    """``sum(w)`` and ``sum(w |x|)`` of each centred design column over the model rows,
    one aggregate: R's column scale (``survival.cox_newton.column_scale``)."""
    w = t[_W] if _W in t.columns else None
    aggs: dict[str, Any] = {"w": t.count().cast("float64") if w is None else w.sum()}
    for j, c in enumerate(x_cols):
        aggs[f"s{j}"] = t[c].abs().sum() if w is None else (w * t[c].abs()).sum()
    result = t.aggregate(**aggs).to_pyarrow()
    spreads = np.array([float(column(result, f"s{j}")[0]) for j in range(len(x_cols))])
    return float(column(result, "w")[0]), spreads


def risk_sums_expr(
    t: ir.Table,
    x_cols: Sequence[str],
    strata: Sequence[str],
    entry: bool,
    count: bool = False,
    known: Sequence[tuple[int, int]] = (),
) -> tuple[ir.Table, list[Any]]:
    """The per-step aggregate as one Ibis expression with the coefficients as parameters.

    Sums of r, r x, r x x' (r = w exp(x'beta)).  Exits are grouped by (strata,
    time, event) so the same sums give the risk set (all exits) and the tied
    events (the event = 1 group); entries are grouped by (strata, entry time)
    with ``__kind`` = -1 and subtracted in numpy.  ``count``: also the number of
    rows (``n``), so that the result at beta = 0 holds the event totals
    (``event_totals_at_zero``).  ``known``: pairs (j, k) whose ``r x_j x_k`` is not
    summed, because it is known: ``r x_j`` for j == k (a 0/1 column: x x = x), 0
    otherwise (two levels of one factor: never both 1); ``finish`` fills them in.
    Each sum left out is ~1/8 of a step's CPU (measured at 1e7 rows).
    """
    import ibis

    f64 = "float64"
    p = len(x_cols)
    beta = [ibis.param(f64) for _ in range(p)]
    pairs = [(j, k) for j in range(p) for k in range(j, p) if (j, k) not in set(known)]
    xs = [t[x_cols[j]] for j in range(p)]
    lp = xs[0] * beta[0]
    for j in range(1, p):
        lp = lp + xs[j] * beta[j]
    # r in a projection of its own, so the engine computes exp() once per row.
    t = t.mutate(__r=t[_W] * lp.exp() if _W in t.columns else lp.exp())
    r = t["__r"]
    xs = [t[x_cols[j]] for j in range(p)]
    aggs: dict[str, Any] = {"r": r.sum()}
    if count:
        aggs["n"] = t.count().cast(f64)
    aggs.update({f"rx{j}": (r * xs[j]).sum() for j in range(p)})
    aggs.update({f"rxx{j}_{k}": (r * xs[j] * xs[k]).sum() for j, k in pairs})
    exits = t.group_by([*strata, _T, t[_E].name(_KIND)]).aggregate(**aggs)
    if not entry:
        return exits, beta
    entries = t.group_by([*strata, t[_A].name(_T)]).aggregate(
        **{_KIND: ibis.literal(-1, t[_E].type())}, **aggs
    )
    return exits.union(entries.select(exits.columns), distinct=False), beta


# DuckDB aggregates with a perfect hash (an array indexed by the keys' values, no
# hashing) only when the group keys' value ranges fit in this many bits (its default
# is 12).  The steps' keys, an integer time over some thousands of days and the 0/1
# event, need ~15: a step then costs about 2/3 of the CPU (0.30 s against 0.44 s at
# 1e7 rows, measured).  At most 2^18 slots of ~10 sums: ~45 MB per thread; raised for
# the step queries only.
_PERFECT_HASH_BITS = 18


def run_step(expr: ir.Table, params: dict[Any, float]) -> pa.Table:
    """``expr.to_pyarrow(params=params)``, on DuckDB with the perfect hash allowed."""
    backend = expr._find_backend()
    if getattr(backend, "name", "") != "duckdb":
        return expr.to_pyarrow(params=params)
    con = backend.con
    setting = "perfect_ht_threshold"
    before = int(con.execute(f"SELECT current_setting('{setting}')").fetchall()[0][0])
    con.execute(f"SET {setting} = {max(before, _PERFECT_HASH_BITS)}")
    try:
        return expr.to_pyarrow(params=params)
    finally:
        con.execute(f"SET {setting} = {before}")


def return_freed_memory(table: ir.Table) -> None:
    """On DuckDB: let its allocator give freed memory back to the system.

    Without background threads, the memory of a dropped table (the model rows, ~300 MB
    at 1e7 rows) stays in the process after ``release()``, under the concordance's
    peak; with them it is returned within ~1 s (measured).  An instance-wide setting."""
    backend = table._find_backend()
    if getattr(backend, "name", "") == "duckdb":
        backend.con.execute("SET allocator_background_threads = true")


@dataclass(frozen=True)
class _Binned:
    """Rows of an engine result binned per stratum onto that stratum's sorted distinct times."""

    strata: list[int]
    grids: list[np.ndarray]
    bins: list[np.ndarray]  # per stratum: the grid index of each of its rows
    rows: list[np.ndarray]  # per stratum: which result rows


@dataclass(frozen=True)
class TimeFix:
    """R's aeqSurv on the distinct exit and entry times: ``raw`` sorted, ``fixed`` tied."""

    raw: np.ndarray
    fixed: np.ndarray

    def __call__(self, time: np.ndarray) -> np.ndarray:
        return np.asarray(self.fixed[np.searchsorted(self.raw, time)], dtype=np.float64)


def _bin(result: pa.Table, strata: Sequence[str], codes: StratumCodes, fix: TimeFix) -> _Binned:
    if strata:
        columns = [result.column(s).to_pylist() for s in strata]
        code = np.fromiter(
            (codes[tuple(vals)] for vals in zip(*columns, strict=True)),
            dtype=np.int64,
            count=result.num_rows,
        )
    else:
        code = np.zeros(result.num_rows, dtype=np.int64)
    time = fix(_column(result, _T).astype(np.float64))
    out = _Binned([], [], [], [])
    for s in np.unique(code):
        rows = np.flatnonzero(code == s)
        grid, inverse = np.unique(time[rows], return_inverse=True)
        out.strata.append(int(s))
        out.grids.append(grid)
        out.bins.append(inverse)
        out.rows.append(rows)
    return out


def _sum_into(bins: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Sum rows of ``values`` (any trailing shape) into ``k`` bins."""
    flat = values.reshape(values.shape[0], -1)
    out = np.stack(
        [np.bincount(bins, weights=flat[:, i], minlength=k) for i in range(flat.shape[1])],
        axis=1,
    )
    return out.reshape((k,) + values.shape[1:])


def _vector(result: pa.Table, prefix: str, p: int) -> np.ndarray:
    return np.stack([_column(result, f"{prefix}{j}") for j in range(p)], axis=1).astype(float)


def _matrix(result: pa.Table, prefix: str, p: int) -> np.ndarray:
    """The (rows, p, p) sums; a pair ``risk_sums_expr`` left out as known is the
    column's own ``rx`` on the diagonal (x x = x for 0/1), else 0."""
    m = np.empty((result.num_rows, p, p))
    for j in range(p):
        for k in range(j, p):
            name = f"{prefix}{j}_{k}"
            if name in result.column_names:
                m[:, j, k] = m[:, k, j] = _column(result, name)
            else:
                m[:, j, k] = m[:, k, j] = _column(result, f"rx{j}") if j == k else 0.0
    return m


def event_totals_at_zero(step0: pa.Table, strata: Sequence[str], p: int) -> pa.Table:
    """``event_totals_expr``'s result read off a step at beta = 0 made with ``count``.

    At beta = 0, ``r = w exp(0) = w`` exactly (``exp(0) = 1``; without weights
    ``r = 1``), so the event = 1 groups' ``r`` and ``r x`` are the events' ``sum w``
    and ``sum w x``: the separate events query (a scan of every row) is not needed.
    """
    import pyarrow.compute as pc

    events = step0.filter(pc.equal(step0.column(_KIND), 1))
    names = [*strata, _T, "n", "r", *(f"rx{j}" for j in range(p))]
    return events.select(names).rename_columns(
        [*strata, _T, "n", "w", *(f"wx{j}" for j in range(p))]
    )


def event_totals(
    result: pa.Table, strata: Sequence[str], codes: StratumCodes, p: int, fix: TimeFix
) -> dict[int, dict[str, np.ndarray]]:
    """Per stratum with events: event times and the beta-free event sums."""
    binned = _bin(result, strata, codes, fix)
    n, w, wx = (_column(result, "n").astype(float), _column(result, "w").astype(float),
                _vector(result, "wx", p))  # fmt: skip
    out: dict[int, dict[str, np.ndarray]] = {}
    for s, grid, bins, rows in zip(binned.strata, binned.grids, binned.bins, binned.rows,
                                   strict=True):  # fmt: skip
        k = grid.size
        out[s] = {"time": grid, "n_event": _sum_into(bins, n[rows], k),
                  "w_event": _sum_into(bins, w[rows], k),
                  "wx_event": _sum_into(bins, wx[rows], k)}  # fmt: skip
    return out


def finish(
    result: pa.Table,
    strata: Sequence[str],
    codes: StratumCodes,
    p: int,
    events: dict[int, dict[str, np.ndarray]],
    fix: TimeFix,
) -> CoxTimeSums:
    """Risk sums at the event times: reverse cumulative sums of exits minus entries."""
    binned = _bin(result, strata, codes, fix)
    kind = _column(result, _KIND).astype(np.float64)
    sign = np.where(kind < 0, -1.0, 1.0)
    is_event = kind == 1.0
    sums = {
        "r": _column(result, "r").astype(float),
        "rx": _vector(result, "rx", p),
        "rxx": _matrix(result, "rxx", p),
    }
    parts: list[dict[str, np.ndarray]] = []
    for s, grid, bins, rows in zip(binned.strata, binned.grids, binned.bins, binned.rows,
                                   strict=True):  # fmt: skip
        if s not in events:
            continue  # a stratum without events adds nothing to the partial likelihood
        ev = events[s]
        at = np.searchsorted(grid, ev["time"])
        part = {"stratum": np.full(ev["time"].size, s, dtype=np.int64), **ev}
        ev_rows = is_event[rows]
        for name, values in sums.items():
            v = values[rows]
            signed = v * sign[rows].reshape((-1,) + (1,) * (v.ndim - 1))
            total = _sum_into(bins, signed, grid.size)
            part[f"{name}_risk"] = np.cumsum(total[::-1], axis=0)[::-1][at]
            part[f"{name}_event"] = _sum_into(bins[ev_rows], v[ev_rows], grid.size)[at]
        parts.append(part)
    return CoxTimeSums(**{key: np.concatenate([d[key] for d in parts]) for key in parts[0]})
