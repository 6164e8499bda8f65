"""Cox risk-set sums computed by the engine: one aggregate query per Newton step.

``cox_sums_function`` runs one preparatory query (rows kept and dropped,
events, factor levels, covariate means: R's ``coxph`` centres covariates on
their means) and builds one Ibis expression whose parameters are the
coefficients.  ``sums_at(beta)`` runs that expression: per (stratum, exit
time) the sums of ``r = w exp(x'beta)``, ``r x`` and ``r x x'`` over all exits
and over the events, UNION ALL per (stratum, entry time) the same sums over
entries.  numpy finishes on the small result: the risk set at ``t`` is every
row with exit >= t minus every row with entry >= t (a reverse cumulative sum),
kept at the times with events: ``survival.cox.CoxTimeSums``, exactly what
``survival.cox.cox_time_sums`` builds from arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from netoutcomes.engine.backends import Source
from netoutcomes.engine.tallies import (
    as_columns,
    check_columns,
    fail_on_bad_values,
    level_sort_key,
    missing_flag,
    stratum_label,
    used_columns,
)
from netoutcomes.errors import InputError
from netoutcomes.survival.cox import (
    CoxTimeSums,
    Ties,
    centred,
    cox_model_data,
    fit_cox,
    r_timefix,
)
from netoutcomes.survival.design import factor_levels

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from netoutcomes.survival.cox import NewtonResult

FloatArray = np.ndarray
_T, _E, _W, _A, _KIND = "__time", "__event", "__weight", "__entry", "__kind"


@dataclass(frozen=True)
class CoxSums:
    """What a Cox fit on the engine needs: ``sums_at(beta)`` runs one query per call.

    ``terms`` are the design columns as R names them (``age``, ``sexmale``);
    ``means`` the weighted means the covariates are centred on (R's
    ``fit$means``); ``stratum_labels`` index ``CoxTimeSums.stratum``.
    """

    terms: list[str]
    means: FloatArray
    n: int
    nevent: int
    n_dropped: int
    stratum_labels: list[str]
    sums_at: Callable[[FloatArray], CoxTimeSums]

    @property
    def p(self) -> int:
        return len(self.terms)


@dataclass(frozen=True)
class _Covariate:
    name: str  # the design column (``age``, ``sexmale``)
    column: str
    level: str | None  # None for a numeric column


def _column(result: pa.Table, name: str) -> np.ndarray:
    return np.asarray(result.column(name).to_numpy(zero_copy_only=False))


def _design_columns(covariates: Sequence[str], levels: dict[str, list[Any]]) -> list[_Covariate]:
    out: list[_Covariate] = []
    for c in covariates:
        if c in levels:
            out.extend(_Covariate(f"{c}{lv}", c, str(lv)) for lv in levels[c][1:])
        else:
            out.append(_Covariate(c, c, None))
    return out


def _x_value(table: ir.Table, cov: _Covariate) -> ir.FloatingValue:

    col = table[cov.column]
    if cov.level is None:
        return col.cast("float64")
    # A boolean cast, not ifelse(.., 1.0, 0.0): Spark would type those literals DECIMAL.
    return (col.cast("string") == cov.level).cast("float64")


def _prepare(
    source: Source,
    time: str,
    event: str,
    entry: str | None,
    covariates: Sequence[str],
    strata: Sequence[str],
    weights: str | None,
) -> _Prepared:
    """One query: rows kept and dropped, events, factor levels, covariate means; validates."""
    import ibis

    table = source.table
    assert table is not None
    used = used_columns(time, event, entry, covariates, strata, weights)
    check_columns(source, used)
    miss = missing_flag(table, used)
    factors = [c for c in [*covariates, *strata] if not table[c].type().is_numeric()]
    factors += [c for c in strata if c not in factors]
    f64, i64 = "float64", "int64"
    ev = table[event].cast(f64)
    tm = table[time].cast(f64)
    ok = ~miss
    zero_i = ibis.literal(0, i64)
    # Means as survival.cox.centred: weighted, but unweighted for (start, stop] data.
    w = table[weights].cast(f64) if weights and not entry else None
    numeric = [c for c in covariates if c not in factors]
    mean_sums: dict[str, Any] = {"__sw": w.sum() if w is not None else table.count().cast(f64)}
    for c in numeric:
        x = table[c].cast(f64)
        mean_sums[f"__sx_{c}"] = (x * w).sum() if w is not None else x.sum()
        mean_sums[f"__other_{c}"] = (~x.isin([-1.0, 0.0, 1.0])).cast(i64).sum()
    summary = table.group_by([miss.name("__missing"), *factors]).aggregate(
        **mean_sums,
        n=table.count(),
        nevent=ev.sum(),
        bad_event=(ok & ~ev.isin([0.0, 1.0])).cast(i64).sum(),
        bad_time=(ok & (tm < 0)).cast(i64).sum(),
        bad_entry=(ok & (table[entry].cast(f64) >= tm)).cast(i64).sum() if entry else zero_i,
        bad_weight=(ok & (table[weights].cast(f64) < 0)).cast(i64).sum() if weights else zero_i,
    )
    result = summary.to_pyarrow()
    fail_on_bad_values(source.name, result, time, event, entry, weights)
    missing = _column(result, "__missing").astype(bool)
    n_dropped = int(_column(result, "n")[missing].sum())
    kept = result.filter(~missing)
    if kept.num_rows == 0:
        raise InputError(f"{source.name}: no rows left after dropping {n_dropped} rows")
    levels: dict[str, list[Any]] = {}
    for c in factors:
        values = [v for v in kept.column(c).to_pylist() if v is not None]
        if c in strata:
            levels[c] = sorted(set(values), key=level_sort_key)
        else:
            levels[c] = factor_levels(np.array(values, dtype=object))
            if len(levels[c]) < 2:
                raise InputError(
                    f"singular design: covariate {c} has only one value in the rows used"
                )
    n = int(_column(kept, "n").sum())
    nevent = int(round(float(_column(kept, "nevent").sum())))
    total_w = float(_column(kept, "__sw").sum())
    # R's coxph does not centre a column whose values are all -1, 0 or 1.
    means = {
        c: float(_column(kept, f"__sx_{c}").sum()) / total_w
        if _column(kept, f"__other_{c}").sum()
        else 0.0
        for c in numeric
    }
    return _Prepared(table.filter(ok), levels, n, nevent, n_dropped, means)


@dataclass(frozen=True)
class _Prepared:
    rows: ir.Table  # the rows kept
    levels: dict[str, list[Any]]  # factor and strata levels in R's order
    n: int
    nevent: int
    n_dropped: int
    numeric_means: dict[str, float]  # indicator columns (0/1) are never centred


def _model_rows(
    rows: ir.Table,
    time: str,
    event: str,
    entry: str | None,
    design: list[_Covariate],
    means: FloatArray,
    strata: Sequence[str],
    weights: str | None,
) -> ir.Table:
    """The rows as the Newton steps read them: strata, times, event, weight, centred x."""
    f64 = "float64"
    cols: dict[str, Any] = {s: rows[s] for s in strata}
    cols[_T] = rows[time].cast(f64)
    cols[_E] = rows[event].cast(f64)
    if weights:  # without weights there is no weight column (w = 1 is implied)
        cols[_W] = rows[weights].cast(f64)
    if entry:
        cols[_A] = rows[entry].cast(f64)
    for j, c in enumerate(design):
        cols[f"__x{j}"] = _x_value(rows, c) - float(means[j])
    return rows.select(**cols)


def _event_totals_expr(t: ir.Table, p: int, strata: Sequence[str]) -> ir.Table:
    """Per (stratum, event time): count, sum w, sum w x of the events (do not depend on beta)."""
    ev = t.filter(t[_E] == 1.0)
    n = ev.count().cast("float64")
    if _W in ev.columns:
        aggs: dict[str, Any] = {"n": n, "w": ev[_W].sum()}
        aggs.update({f"wx{j}": (ev[_W] * ev[f"__x{j}"]).sum() for j in range(p)})
    else:
        aggs = {"n": n, "w": n}
        aggs.update({f"wx{j}": ev[f"__x{j}"].sum() for j in range(p)})
    return ev.group_by([*strata, _T]).aggregate(**aggs)


def _risk_sums_expr(
    t: ir.Table, p: int, strata: Sequence[str], entry: bool
) -> tuple[ir.Table, list[Any]]:
    """The per-step aggregate as one Ibis expression with the coefficients as parameters.

    Sums of r, r x, r x x' (r = w exp(x'beta)).  Exits are grouped by (strata,
    time, event) so the same sums give the risk set (all exits) and the tied
    events (the event = 1 group); entries are grouped by (strata, entry time)
    with ``__kind`` = -1 and subtracted in numpy.
    """
    import ibis

    f64 = "float64"
    beta = [ibis.param(f64) for _ in range(p)]
    pairs = [(j, k) for j in range(p) for k in range(j, p)]
    xs = [t[f"__x{j}"] for j in range(p)]
    lp = xs[0] * beta[0]
    for j in range(1, p):
        lp = lp + xs[j] * beta[j]
    # r in a projection of its own, so the engine computes exp() once per row.
    t = t.mutate(__r=t[_W] * lp.exp() if _W in t.columns else lp.exp())
    r = t["__r"]
    xs = [t[f"__x{j}"] for j in range(p)]
    aggs: dict[str, Any] = {"r": r.sum()}
    aggs.update({f"rx{j}": (r * xs[j]).sum() for j in range(p)})
    aggs.update({f"rxx{j}_{k}": (r * xs[j] * xs[k]).sum() for j, k in pairs})
    exits = t.group_by([*strata, _T, t[_E].name(_KIND)]).aggregate(**aggs)
    if not entry:
        return exits, beta
    entries = t.group_by([*strata, t[_A].name(_T)]).aggregate(
        **{_KIND: ibis.literal(-1.0, f64)}, **aggs
    )
    return exits.union(entries.select(exits.columns), distinct=False), beta


@dataclass(frozen=True)
class _Binned:
    """Rows of an engine result binned per stratum onto that stratum's sorted distinct times."""

    strata: list[int]
    grids: list[np.ndarray]
    bins: list[np.ndarray]  # per stratum: the grid index of each of its rows
    rows: list[np.ndarray]  # per stratum: which result rows


@dataclass(frozen=True)
class _TimeFix:
    """R's aeqSurv on the distinct exit and entry times: ``raw`` sorted, ``fixed`` tied."""

    raw: np.ndarray
    fixed: np.ndarray

    def __call__(self, time: np.ndarray) -> np.ndarray:
        return np.asarray(self.fixed[np.searchsorted(self.raw, time)], dtype=np.float64)


def _bin(result: pa.Table, strata: Sequence[str], labels: list[str], fix: _TimeFix) -> _Binned:
    if strata:
        index = {lab: i for i, lab in enumerate(labels)}
        columns = [result.column(s).to_pylist() for s in strata]
        code = np.fromiter(
            (index[stratum_label(strata, vals)] for vals in zip(*columns, strict=True)),
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
    m = np.empty((result.num_rows, p, p))
    for j in range(p):
        for k in range(j, p):
            m[:, j, k] = m[:, k, j] = _column(result, f"{prefix}{j}_{k}")
    return m


def _event_totals(
    result: pa.Table, strata: Sequence[str], labels: list[str], p: int, fix: _TimeFix
) -> dict[int, dict[str, np.ndarray]]:
    """Per stratum with events: event times and the beta-free event sums."""
    binned = _bin(result, strata, labels, fix)
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


def _finish(
    result: pa.Table,
    strata: Sequence[str],
    labels: list[str],
    p: int,
    events: dict[int, dict[str, np.ndarray]],
    fix: _TimeFix,
) -> CoxTimeSums:
    """Risk sums at the event times: reverse cumulative sums of exits minus entries."""
    binned = _bin(result, strata, labels, fix)
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


def _memory_sums(
    source: Source,
    time: str,
    event: str,
    entry: str | None,
    covariates: Sequence[str],
    strata: Sequence[str],
    weights: str | None,
) -> CoxSums:
    from netoutcomes.engine.source import survival_data

    assert source.path is not None
    if len(strata) > 1:
        raise InputError("the memory backend takes at most one strata column")
    extra = used_columns(covariates, strata, weights)
    data = survival_data(source.path, time, event, entry, extra=extra)
    w = None if weights is None else np.asarray(data.columns[weights], dtype=np.float64)
    model = cox_model_data(
        data.time, data.event, data.entry, data.columns, covariates,
        strata_column=strata[0] if strata else None, weights=w,
    )  # fmt: skip
    d = model.data
    xc, means = centred(d.x, d.weights, counting=d.entry is not None)
    from netoutcomes.survival.cox import CoxData

    fitdata = CoxData(xc, d.time, d.event, d.entry, d.weights, d.strata)
    return CoxSums(
        terms=model.design.column_names,
        means=means,
        n=int(d.time.size),
        nevent=int(d.event.sum()),
        n_dropped=data.n_dropped + model.design.n_dropped,
        stratum_labels=[stratum_label(strata, (v,)) for v in model.stratum_labels],
        sums_at=fitdata.sums_at,
    )


def cox_sums_function(
    source: Source,
    time: str,
    event: str,
    covariates: Sequence[str],
    entry: str | None = None,
    strata: str | Sequence[str] | None = None,
    weights: str | None = None,
) -> CoxSums:
    """Prepare the Cox sums of ``source``: ``result.sums_at(beta)`` is one engine query.

    Factor (text) covariates are coded as treatment contrasts against the first
    level in R's order, named ``<column><level>``; covariates are centred on
    their (weighted) means as R's ``coxph`` does, so feed ``result.sums_at`` to
    ``survival.cox.fit_cox`` and the coefficients are R's.
    """
    strata_cols = list(as_columns(strata))
    if not covariates:
        raise InputError("no covariates: give at least one column")
    if source.backend == "memory":
        return _memory_sums(source, time, event, entry, covariates, strata_cols, weights)
    prep = _prepare(source, time, event, entry, covariates, strata_cols, weights)
    rows, levels, n, nevent, n_dropped = prep.rows, prep.levels, prep.n, prep.nevent, prep.n_dropped
    if nevent == 0:
        raise InputError("no events: every row is censored, a Cox model cannot be fitted")
    design = _design_columns(covariates, levels)
    means = np.array([prep.numeric_means.get(c.name, 0.0) if c.level is None else 0.0
                      for c in design])  # fmt: skip
    # Materialised once (a DuckDB temp table, a persisted Spark DataFrame): every
    # Newton step then scans these few float columns instead of decoding the file.
    model_rows = _model_rows(rows, time, event, entry, design, means, strata_cols, weights)
    model_rows = model_rows.cache()
    p = len(design)
    expr, beta = _risk_sums_expr(model_rows, p, strata_cols, entry is not None)
    if strata_cols:
        from itertools import product

        combos = product(*(levels[s] for s in strata_cols))
        labels = [stratum_label(strata_cols, combo) for combo in combos]
    else:
        labels = []
    events_result = _event_totals_expr(model_rows, p, strata_cols).to_pyarrow()
    # Set by the first step: its result holds every distinct exit and entry time, the grid
    # on which R (and survival.cox.cox_model_data) ties times within rounding error.
    fixed: dict[str, Any] = {}

    def sums_at(b: FloatArray) -> CoxTimeSums:
        values = np.asarray(b, dtype=np.float64).reshape(-1)
        params = {param: float(v) for param, v in zip(beta, values, strict=True)}
        result = expr.to_pyarrow(params=params)
        if not fixed:
            raw = np.unique(_column(result, _T).astype(np.float64))
            fix = _TimeFix(raw, r_timefix(raw, None)[0])
            fixed["fix"] = fix
            fixed["events"] = _event_totals(events_result, strata_cols, labels, p, fix)
        return _finish(result, strata_cols, labels, p, fixed["events"], fixed["fix"])

    return CoxSums(
        terms=[c.name for c in design],
        means=means,
        n=n,
        nevent=nevent,
        n_dropped=n_dropped,
        stratum_labels=labels,
        sums_at=sums_at,
    )


def engine_cox_fit(
    source: Source,
    time: str,
    event: str,
    covariates: Sequence[str],
    entry: str | None = None,
    strata: str | Sequence[str] | None = None,
    weights: str | None = None,
    ties: Ties = "efron",
) -> tuple[CoxSums, NewtonResult]:
    """Fit a Cox model on the engine: Newton-Raphson in numpy, one query per step."""
    sums = cox_sums_function(source, time, event, covariates, entry, strata, weights)
    return sums, fit_cox(sums.sums_at, sums.p, ties, names=sums.terms)
