"""Cox on the engine (DuckDB, Spark): the reader's rules as SQL, then aggregate passes.

1. One check query, grouped by (row kept?, strata, factor columns): counts, the
   reader's checks (numbers, times >= 0, event codes, entry < exit, weights >= 0)
   and the sums for the covariate means.  The small result is typed by
   ``engine.source``'s rules (the typing of a column depends only on its distinct
   values), so strata labels, factor levels and the 0/1 or 1/2 event coding are
   the memory path's.  When a check fails, the rows are read and the memory
   path's reader names the first bad row (the error path only).
2. The model rows (strata, times, event, weight, cluster, centred design columns)
   are materialised once (``Table.cache()``); each Newton step is one aggregate
   query (``engine.cox_passes``).  Aliased columns are found at beta = 0 as R does.
3. After the fit: robust/cluster variance as one join + GROUP BY (``engine.cox_after``)
   and R's robust score test as one more (with one step query at beta = 0), the
   Kaplan-Meier and rank counts for cox.zph, and the concordance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from netoutcomes.engine.backends import Backend
from netoutcomes.engine.cox_after import (
    concordance_on_engine,
    km_and_ranks_on_engine,
    robust_score_on_engine,
    robust_variance_matrix_on_engine,
)
from netoutcomes.engine.cox_memory import numeric_columns, spec_survival_data
from netoutcomes.engine.cox_passes import (
    A,
    C,
    E,
    StratumCodes,
    T,
    TimeFix,
    W,
    column,
    event_totals,
    event_totals_expr,
    finish,
    risk_sums_expr,
)
from netoutcomes.engine.cox_result import CoxConcordance, EngineCox, zph_terms
from netoutcomes.engine.inputs import Described, engine_columns, engine_table
from netoutcomes.engine.source import typed_columns
from netoutcomes.errors import InputError
from netoutcomes.survival.cox import (
    CoxFit,
    CoxTimeSums,
    _with_aliased,
    cox_summary,
    fit_cox,
    partial_likelihood_step,
    r_timefix,
    singular_columns,
)
from netoutcomes.survival.groups import crossed_level_labels
from netoutcomes.survival.model_spec import CoxSpec, design_columns_values, level_number

if TYPE_CHECKING:
    import ibis.expr.types as ir

_MISSING_TEXT = ["", "NA", "NaN", "nan"]  # engine.source's missing cells
_TRUE_TEXT = ["TRUE", "true", "True", "T"]
_FALSE_TEXT = ["FALSE", "false", "False", "F"]
_MISS, _N = "__missing", "__n"


def _strip(col: Any) -> Any:
    """The text without surrounding white space, as the memory reader's ``str.strip``.

    On Spark, Ibis compiles ``strip()`` to a TRIM whose character list holds a form
    feed that Spark SQL reads as the letter ``f``: a cell ``f`` became empty (a
    missing value) and its rows were dropped from the fit. A regular expression
    trims the same on every engine; DuckDB keeps its (faster) TRIM.
    """
    try:
        backend = col._find_backend().name
    except Exception:  # an unbound expression: no backend to ask
        backend = ""
    if backend == "pyspark":
        return col.re_replace(r"^\s+|\s+$", "")
    return col.strip()


@dataclass(frozen=True)
class _Columns:
    """Typed Ibis expressions over the source table."""

    number: dict[str, Any]  # float64 value (NULL where the text is not a number)
    missing: Any  # a used column is missing in this row


def _typed(table: ir.Table, used: list[str]) -> _Columns:
    number: dict[str, Any] = {}
    missing: Any = None
    for c in used:
        col = table[c]
        kind = col.type()
        if kind.is_string():
            text = _strip(col)
            miss = col.isnull() | text.isin(_MISSING_TEXT)
            number[c] = text.try_cast("float64")
        else:
            number[c] = col.cast("float64")
            miss = col.isnull()
            if kind.is_floating():
                miss = miss | col.isnan()
        missing = miss if missing is None else missing | miss
    return _Columns(number, missing)


def _event_value(table: ir.Table, name: str) -> Any:
    import ibis

    col = table[name]
    if not col.type().is_string():
        return col.cast("float64")
    text = _strip(col)
    return ibis.cases(
        (text.isin(_TRUE_TEXT), 1.0), (text.isin(_FALSE_TEXT), 0.0), else_=text.try_cast("float64")
    )


def _numeric_product(spec_column: Any, number: dict[str, Any], one: Any) -> Any:
    """The product of a design column's numeric parts (``one``, a column of 1.0, if none)."""
    value: Any = None
    for name, level in spec_column.parts:
        if level is None:
            value = number[name] if value is None else value * number[name]
    return one if value is None else value


def _indicator(
    table: ir.Table, name: str, level: str, numeric: bool, number: dict[str, Any]
) -> Any:
    """``column == level`` as 0/1: as a number for a numeric column (model_spec's rule)."""
    import ibis

    if numeric:
        target = level_number(level)
        if target is None:
            return ibis.literal(0.0, "float64")
        return (number[name] == target).cast("float64")
    col = table[name]
    text = _strip(col) if col.type().is_string() else col.cast("string")
    return (text == level).cast("float64")


def _one(column_expr: Any) -> Any:
    """1.0 as a column expression (an aggregate of a bare literal is not a column)."""
    import ibis

    return ibis.ifelse(column_expr.isnull(), 1.0, 1.0).cast("float64")


@dataclass(frozen=True)
class _Checked:
    n: int
    nevent: int
    event_is_two: bool  # R's 1/2 coding: 2 = event
    means: np.ndarray  # what R's coxph centres on (weighted; 0 for -1/0/1 columns)
    plain_means: np.ndarray  # unweighted column means (R's means for an aliased fit)
    codes: StratumCodes
    labels: list[str]
    factor_numeric: dict[str, bool]
    n_dropped: int


def _reader_error(
    described: Described, spec: CoxSpec, backend: Backend, master: str | None
) -> InputError:
    """The memory path's error for the first bad row: read the rows and let it word it."""
    raw, _, _ = engine_columns(described, spec.used_columns, backend, master, "rows")
    try:
        spec_survival_data(described, spec, raw)
    except InputError as exc:
        return exc
    return InputError(f"{described.name}: a value the reader refuses (no row found)")


def _check(
    described: Described, spec: CoxSpec, table: ir.Table, cols: _Columns, raise_error: Any
) -> _Checked:
    """Query 1: counts, checks and sums for the means, grouped by strata and factor columns."""

    i64 = "int64"
    numbers = [c for c in numeric_columns(spec) if c not in (spec.time, spec.event)]
    factors = list(dict.fromkeys(n for c in spec.columns for n, lv in c.parts if lv is not None))
    keys = list(dict.fromkeys([*spec.strata, *factors]))
    kept = ~cols.missing
    ev = _event_value(table, spec.event)
    tm = cols.number[spec.time]

    def bad_number(name: str) -> Any:
        x = cols.number[name]
        return x.isnull() | x.isinf()

    bad = bad_number(spec.time) | (tm < 0) | ev.isnull()
    for name in numbers:
        bad = bad | bad_number(name)
    if spec.entry:
        bad = bad | bad_number(spec.entry) | (cols.number[spec.entry] >= tm)
    if spec.weights:
        bad = bad | bad_number(spec.weights) | (cols.number[spec.weights] < 0)
    # Means as survival.cox.centred: weighted, but unweighted for (start, stop] data.
    one = _one(tm)
    w = cols.number[spec.weights] if spec.weights and not spec.entry else one

    def count(flag: Any) -> Any:
        return (kept & flag).cast(i64).sum()

    aggs: dict[str, Any] = {
        _N: table.count(),
        "bad": count(bad),
        "e1": count(ev == 1.0),
        "e2": count(ev == 2.0),
        "not01": count(~ev.isin([0.0, 1.0])),
        "not12": count(~ev.isin([1.0, 2.0])),
        "sw": w.sum(),
    }
    for j, sc in enumerate(spec.columns):
        prod = _numeric_product(sc, cols.number, one)
        aggs[f"sp{j}"] = prod.sum()
        aggs[f"swp{j}"] = (w * prod).sum()
        aggs[f"other{j}"] = (~prod.isin([-1.0, 0.0, 1.0])).cast(i64).sum()
    result = table.group_by([cols.missing.name(_MISS), *keys]).aggregate(**aggs).to_pyarrow()
    missing = column(result, _MISS).astype(bool)
    good = result.filter(~missing)
    n = int(column(good, _N).sum()) if good.num_rows else 0
    e1, e2 = int(column(good, "e1").sum()), int(column(good, "e2").sum())
    not01, not12 = int(column(good, "not01").sum()), int(column(good, "not12").sum())
    event_is_two = not12 == 0 and e2 > 0
    if n == 0 or int(column(good, "bad").sum()) or (not01 and not event_is_two):
        raise raise_error()
    counts = column(good, _N).astype(np.float64)
    typed = typed_columns(
        described.path or __import__("pathlib").Path(described.name),
        described.file_format,
        {k: good.column(k) for k in keys},
        keys,
        counts,
    ).values if keys else {}  # fmt: skip
    # Per group: the design columns' level indicators (numeric parts taken as 1).
    on_keys = {k: typed[k] for k in keys}
    for name in numbers:
        on_keys.setdefault(name, np.ones(good.num_rows))
    on_keys.setdefault(_N, np.ones(good.num_rows))  # so the design has one row per group
    indicator = design_columns_values(spec.columns, on_keys)
    p = len(spec.columns)
    sums = {key: np.array([float(np.dot(indicator[:, j], column(good, f"{key}{j}")))
                           for j in range(p)]) for key in ("sp", "swp", "other")}  # fmt: skip
    total_w = float(column(good, "sw").sum())
    means = np.where(sums["other"] > 0, sums["swp"] / total_w, 0.0)
    codes: StratumCodes = {}
    labels: list[str] = []
    if spec.strata:
        labels, per_row = crossed_level_labels([(c, typed[c]) for c in spec.strata])
        raw = [good.column(c).to_pylist() for c in spec.strata]
        for i, vals in enumerate(zip(*raw, strict=True)):
            codes[tuple(vals)] = int(per_row[i])
    return _Checked(
        n=n,
        nevent=e2 if event_is_two else e1,
        event_is_two=event_is_two,
        means=means,
        plain_means=sums["sp"] / n,
        codes=codes,
        labels=labels,
        factor_numeric={k: typed[k].dtype == np.float64 for k in factors},
        n_dropped=int(column(result, _N)[missing].sum()),
    )


def _model_rows(spec: CoxSpec, table: ir.Table, cols: _Columns, checked: _Checked) -> ir.Table:
    """The kept rows as the passes read them: strata, times, 0/1 event, weight, cluster, x."""
    ev = _event_value(table, spec.event)
    out: dict[str, Any] = {s: table[s] for s in spec.strata}
    out[T] = cols.number[spec.time]
    out[E] = (ev == (2.0 if checked.event_is_two else 1.0)).cast("float64")
    if spec.weights:  # without weights there is no weight column (w = 1 is implied)
        out[W] = cols.number[spec.weights]
    if spec.entry:
        out[A] = cols.number[spec.entry]
    if spec.cluster:
        out[C] = table[spec.cluster]
    for j, sc in enumerate(spec.columns):
        x = _numeric_product(sc, cols.number, _one(out[T]))
        for name, level in sc.parts:
            if level is not None:
                x = x * _indicator(table, name, level, checked.factor_numeric[name], cols.number)
        out[f"__x{j}"] = x - float(checked.means[j])
    return table.filter(~cols.missing).select(**out)


class _Steps:
    """``sums_at(beta)``: one aggregate query per call, the last result kept."""

    def __init__(self, rows: ir.Table, x_cols: list[str], spec: CoxSpec, codes: StratumCodes):
        strata = list(spec.strata)
        self.expr, self.beta = risk_sums_expr(rows, x_cols, strata, spec.entry is not None)
        self.events_result = event_totals_expr(rows, x_cols, strata).to_pyarrow()
        self.strata, self.codes, self.p = strata, codes, len(x_cols)
        self.fix: TimeFix | None = None
        self.events: Any = None
        self.last: tuple[bytes, CoxTimeSums, Any] | None = None

    def __call__(self, b: np.ndarray) -> CoxTimeSums:
        values = np.asarray(b, dtype=np.float64).reshape(-1)
        if self.last is not None and self.last[0] == values.tobytes():
            return self.last[1]
        params = {param: float(v) for param, v in zip(self.beta, values, strict=True)}
        result = self.expr.to_pyarrow(params=params)
        if self.fix is None:
            # The first step's result holds every distinct exit and entry time: the grid
            # on which R (and the memory path) tie times within rounding error.
            raw = np.unique(column(result, T).astype(np.float64))
            self.fix = TimeFix(raw, r_timefix(raw, None)[0])
            self.events = event_totals(self.events_result, self.strata, self.codes, self.p,
                                       self.fix)  # fmt: skip
        sums = finish(result, self.strata, self.codes, self.p, self.events, self.fix)
        self.last = (values.tobytes(), sums, result)
        return sums


def engine_cox(
    described: Described,
    spec: CoxSpec,
    backend: Backend,
    spark_master: str | None,
    conf_level: float,
) -> EngineCox:
    """``engine.analysis.cox_on`` on DuckDB or Spark (see the module docstring)."""
    if not spec.columns:
        raise InputError("no covariates: give at least one column")
    used = spec.used_columns
    described.check_columns(used)
    table = engine_table(described, backend, spark_master).select(*used)
    cols = _typed(table, used)
    checked = _check(described, spec, table, cols,
                     lambda: _reader_error(described, spec, backend, spark_master))  # fmt: skip
    if checked.nevent == 0:
        raise InputError(
            f"{described.name}: no events: every row is censored, a Cox model cannot be fitted"
        )
    rows = _model_rows(spec, table, cols, checked).cache()
    names = [c.name for c in spec.columns]
    all_x = [f"__x{j}" for j in range(len(names))]
    zero = np.zeros(len(names))
    steps = _Steps(rows, all_x, spec, checked.codes)
    _, _, info0 = partial_likelihood_step(steps(zero), zero, spec.ties)
    aliased = singular_columns(info0)
    kept = [j for j in range(len(names)) if j not in aliased] if len(aliased) < len(names) else []
    kept = kept or list(range(len(names)))  # all aliased: fit_cox raises R's error
    if len(kept) < len(names):  # R refits without the aliased columns
        steps = _Steps(rows, [all_x[j] for j in kept], spec, checked.codes)
    kept_names = [names[j] for j in kept]
    try:
        newton = fit_cox(steps, len(kept), spec.ties, names=kept_names)
    except InputError as exc:
        raise InputError(f"{described.name}: {exc}") from None
    sums = steps(newton.coef)
    assert steps.fix is not None and steps.last is not None
    kept_x = [all_x[j] for j in kept]
    robust_se: np.ndarray | None = None
    robust_var: np.ndarray | None = None
    robust_score: float | None = None
    if spec.cluster or spec.robust:
        robust_var = robust_variance_matrix_on_engine(
            rows, kept_x, spec, newton.coef, newton.var, sums, steps.last[2], checked.codes,
            steps.fix,
        )  # fmt: skip
        robust_se = np.asarray(np.sqrt(np.diag(robust_var)), dtype=np.float64)
        # The per-time sums at beta = 0 (a new step query: moves steps.last, so last).
        sums0 = steps(np.zeros(len(kept)))
        assert steps.last is not None
        robust_score = robust_score_on_engine(
            rows, kept_x, spec, sums0, steps.last[2], checked.codes, steps.fix
        )
    km_at_events, rank_at_events = km_and_ranks_on_engine(rows, spec, steps.fix, sums.time)
    conc = concordance_on_engine(rows, kept_x, spec, newton.coef,
                                 checked.codes, steps.fix)  # fmt: skip
    fit: CoxFit = cox_summary(
        kept_names, newton, spec.ties, n=checked.n, nevent=checked.nevent,
        means=checked.means[kept], sums=sums, robust_se=robust_se,
        concordance=conc.concordance, conf_level=conf_level,
    )  # fmt: skip
    if len(kept) < len(names):
        fit = _with_aliased(fit, aliased, names, checked.plain_means[None, :])
    terms, term_columns = zph_terms(spec, fit.coef)
    return EngineCox(
        fit=fit,
        concordance=conc,
        n_dropped=checked.n_dropped,
        terms=terms,
        term_columns=term_columns,
        stratum_labels=checked.labels,
        km_at_events=km_at_events,
        rank_at_events=rank_at_events,
        robust_var=robust_var,
        robust_score=robust_score,
    )


__all__ = ["CoxConcordance", "engine_cox"]
