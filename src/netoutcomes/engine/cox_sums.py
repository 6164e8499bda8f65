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
from netoutcomes.survival.cox import CoxTimeSums, Ties, centred, cox_model_data, fit_cox
from netoutcomes.survival.design import factor_levels

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from netoutcomes.survival.cox import NewtonResult

FloatArray = np.ndarray
_T, _E, _W = "__time", "__event", "__weight"


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
    import ibis

    col = table[cov.column]
    if cov.level is None:
        return col.cast("float64")
    return ibis.ifelse(col.cast("string") == cov.level, 1.0, 0.0)


def _prepare(
    source: Source,
    time: str,
    event: str,
    entry: str | None,
    covariates: Sequence[str],
    strata: Sequence[str],
    weights: str | None,
) -> tuple[ir.Table, dict[str, list[Any]], int, int, int]:
    """Rows kept (as an Ibis table), factor levels, n, n events, n dropped; validates values."""
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
    summary = table.group_by([miss.name("__missing"), *factors]).aggregate(
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
    return table.filter(ok), levels, n, nevent, n_dropped


def _means(rows: ir.Table, design: list[_Covariate], w: ir.FloatingValue | None) -> FloatArray:
    """The centring of ``survival.cox.centred``: the (weighted, if ``w``) mean, except 0
    for a column whose values are all -1, 0 or 1 (R's coxph does not centre those)."""
    sums: dict[str, Any] = {}
    for j, c in enumerate(design):
        x = _x_value(rows, c)
        sums[f"m{j}"] = (x * w).sum() if w is not None else x.sum()
        sums[f"other{j}"] = (~x.isin([-1.0, 0.0, 1.0])).cast("int64").sum()
    sums["total"] = w.sum() if w is not None else rows.count().cast("float64")
    result = rows.aggregate(**sums).to_pyarrow()

    def value(name: str) -> float:
        return float(result.column(name)[0].as_py())

    total = value("total")
    return np.array(
        [value(f"m{j}") / total if value(f"other{j}") else 0.0 for j in range(len(design))]
    )


def _sums_expr(
    rows: ir.Table,
    time: str,
    event: str,
    entry: str | None,
    design: list[_Covariate],
    means: FloatArray,
    strata: Sequence[str],
    weights: str | None,
) -> tuple[ir.Table, list[Any]]:
    """The per-step aggregate as one Ibis expression with the coefficients as parameters."""
    import ibis

    f64 = "float64"
    p = len(design)
    beta = [ibis.param(f64) for _ in range(p)]
    x = [_x_value(rows, c) - float(means[j]) for j, c in enumerate(design)]
    w = rows[weights].cast(f64) if weights else ibis.literal(1.0, f64)
    lp = sum((x[j] * beta[j] for j in range(1, p)), x[0] * beta[0]) if p else ibis.literal(0.0)
    base: dict[str, Any] = {s: rows[s] for s in strata}
    base[_T] = rows[time].cast(f64)
    base[_E] = rows[event].cast(f64)
    base[_W] = w
    base["__r"] = w * lp.exp()
    for j in range(p):
        base[f"__x{j}"] = x[j]
    t = rows.select(**base)
    r, ev = t["__r"], t[_E]
    xs = [t[f"__x{j}"] for j in range(p)]
    pairs = [(j, k) for j in range(p) for k in range(j, p)]

    def risk_sums(table: ir.Table, rr: ir.FloatingValue) -> dict[str, Any]:
        xx = [table[f"__x{j}"] for j in range(p)]
        out: dict[str, Any] = {"r": rr.sum()}
        out.update({f"rx{j}": (rr * xx[j]).sum() for j in range(p)})
        out.update({f"rxx{j}_{k}": (rr * xx[j] * xx[k]).sum() for j, k in pairs})
        return out

    zero = ibis.literal(0.0, f64)
    event_names = ["n_event", "w_event", "r_event"]
    event_names += [f"wx_event{j}" for j in range(p)] + [f"rx_event{j}" for j in range(p)]
    event_names += [f"rxx_event{j}_{k}" for j, k in pairs]
    exit_aggs = risk_sums(t, r)
    exit_aggs.update(
        {"n_event": ev.sum(), "w_event": (t[_W] * ev).sum(), "r_event": (r * ev).sum()}
    )
    exit_aggs.update({f"wx_event{j}": (t[_W] * ev * xs[j]).sum() for j in range(p)})
    exit_aggs.update({f"rx_event{j}": (r * ev * xs[j]).sum() for j in range(p)})
    exit_aggs.update({f"rxx_event{j}_{k}": (r * ev * xs[j] * xs[k]).sum() for j, k in pairs})
    exits = t.group_by([*strata, _T]).aggregate(sign=ibis.literal(1.0, f64), **exit_aggs)
    if not entry:
        return exits, beta
    te = rows.select(**{**base, _T: rows[entry].cast(f64)})
    entry_aggs = risk_sums(te, te["__r"])
    entries = te.group_by([*strata, _T]).aggregate(
        sign=ibis.literal(-1.0, f64), **entry_aggs, **{name: zero for name in event_names}
    )
    return exits.union(entries.select(exits.columns), distinct=False), beta


def _finish(
    result: pa.Table, strata: Sequence[str], stratum_labels: list[str], p: int
) -> CoxTimeSums:
    """Reverse cumulative sums per stratum of the exit-minus-entry sums, at event times."""
    n_rows = result.num_rows
    if strata:
        index = {lab: i for i, lab in enumerate(stratum_labels)}
        columns = [result.column(s).to_pylist() for s in strata]
        code = np.fromiter(
            (index[stratum_label(strata, vals)] for vals in zip(*columns, strict=True)),
            dtype=np.int64,
            count=n_rows,
        )
    else:
        code = np.zeros(n_rows, dtype=np.int64)
    time = _column(result, _T).astype(np.float64)
    sign = _column(result, "sign").astype(np.float64)
    pairs = [(j, k) for j in range(p) for k in range(j, p)]

    def matrix(prefix: str) -> np.ndarray:
        m = np.empty((n_rows, p, p))
        for j, k in pairs:
            m[:, j, k] = m[:, k, j] = _column(result, f"{prefix}{j}_{k}")
        return m

    def vector(prefix: str) -> np.ndarray:
        return np.stack([_column(result, f"{prefix}{j}") for j in range(p)], axis=1).reshape(
            n_rows, p
        )

    risk = {"r_risk": _column(result, "r") * sign, "rx_risk": vector("rx") * sign[:, None]}
    risk["rxx_risk"] = matrix("rxx") * sign[:, None, None]
    events = {
        "n_event": _column(result, "n_event").astype(np.float64),
        "w_event": _column(result, "w_event").astype(np.float64),
        "wx_event": vector("wx_event"),
        "r_event": _column(result, "r_event").astype(np.float64),
        "rx_event": vector("rx_event"),
        "rxx_event": matrix("rxx_event"),
    }
    order = np.lexsort((time, code))
    code, time = code[order], time[order]
    parts: list[dict[str, np.ndarray]] = []
    for s in np.unique(code):
        lo, hi = np.searchsorted(code, [s, s + 1])
        grid, inverse = np.unique(time[lo:hi], return_inverse=True)

        def merged(values: np.ndarray, lo: int = lo, hi: int = hi, inv=inverse, k=grid.size):
            v = values[order][lo:hi]
            out = np.zeros((k,) + v.shape[1:])
            np.add.at(out, inv, v)
            return out

        n_event = merged(events["n_event"])
        at_events = n_event > 0
        part = {"time": grid[at_events], "stratum": np.full(int(at_events.sum()), s)}
        for name, values in risk.items():
            part[name] = np.cumsum(merged(values)[::-1], axis=0)[::-1][at_events]
        for name, values in events.items():
            part[name] = merged(values)[at_events]
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
    rows, levels, n, nevent, n_dropped = _prepare(
        source, time, event, entry, covariates, strata_cols, weights
    )
    if nevent == 0:
        raise InputError("no events: every row is censored, a Cox model cannot be fitted")
    design = _design_columns(covariates, levels)
    # As survival.cox.centred: weighted means, but unweighted for (start, stop] data.
    w = rows[weights].cast("float64") if weights and not entry else None
    means = _means(rows, design, w)
    expr, beta = _sums_expr(rows, time, event, entry, design, means, strata_cols, weights)
    if strata_cols:
        from itertools import product

        combos = product(*(levels[s] for s in strata_cols))
        labels = [stratum_label(strata_cols, combo) for combo in combos]
    else:
        labels = []

    def sums_at(b: FloatArray) -> CoxTimeSums:
        values = np.asarray(b, dtype=np.float64).reshape(-1)
        params = {param: float(v) for param, v in zip(beta, values, strict=True)}
        return _finish(expr.to_pyarrow(params=params), strata_cols, labels, len(design))

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
