"""Cox on the engine (DuckDB, Spark): the reader's rules as SQL, then aggregate passes.

1. One check query (``engine.cox_check.check``): counts, the reader's checks and the
   sums for the covariate means, grouped by strata and factor columns.
2. The model rows (strata, times, event, weight, cluster, centred design columns)
   are materialised once (``Table.cache()``, ``engine.cox_check.model_rows``); each
   Newton step is one aggregate query (``engine.cox_passes``); the step at beta = 0
   also gives the events' totals.  Aliased columns are found at beta = 0 as R
   does, when the first fit finds the information matrix singular there.
3. After the fit: robust/cluster variance as one join + GROUP BY (``engine.cox_after``)
   and R's robust score test as one more (with the step at beta = 0 the fit
   started from), the Kaplan-Meier and rank counts for cox.zph, and the concordance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from netoutcomes.engine.backends import Backend
from netoutcomes.engine.cox_after import (
    concordance_on_engine,
    km_and_ranks_on_engine,
    robust_score_on_engine,
    robust_variance_matrix_on_engine,
)

# ``_check``: the name benchmarks/run.py's cox_split times.
from netoutcomes.engine.cox_check import check as _check
from netoutcomes.engine.cox_check import model_rows, reader_error, typed
from netoutcomes.engine.cox_passes import (
    StratumCodes,
    T,
    TimeFix,
    column,
    column_spreads,
    event_totals,
    event_totals_at_zero,
    event_totals_expr,
    finish,
    return_freed_memory,
    risk_sums_expr,
    run_step,
)
from netoutcomes.engine.cox_result import CoxConcordance, EngineCox, zph_terms
from netoutcomes.engine.inputs import Described, engine_table
from netoutcomes.errors import InputError
from netoutcomes.survival.cox import (
    CoxFit,
    CoxTimeSums,
    _with_aliased,
    column_scale,
    cox_summary,
    fit_cox,
    partial_likelihood_step,
    r_timefix,
    singular_columns,
)
from netoutcomes.survival.model_spec import CoxSpec, DesignColumn

if TYPE_CHECKING:
    import ibis.expr.types as ir


class _Steps:
    """``sums_at(beta)``: one aggregate query per call, the last result kept.

    The step at beta = 0 also counts rows, so its result holds the events' totals
    (``cox_passes.event_totals_at_zero``); it is kept for the robust score test."""

    def __init__(self, rows: ir.Table, kept: list[int], spec: CoxSpec, codes: StratumCodes):
        strata = list(spec.strata)
        entry = spec.entry is not None
        x_cols = [f"__x{j}" for j in kept]
        known = _known_products([spec.columns[j] for j in kept])
        self.expr, self.beta = risk_sums_expr(rows, x_cols, strata, entry, known=known)
        self.expr0, self.beta0 = risk_sums_expr(rows, x_cols, strata, entry, True, known)
        self.rows, self.x_cols = rows, x_cols
        self.strata, self.codes, self.p = strata, codes, len(x_cols)
        self.fix: TimeFix | None = None
        self.events: Any = None
        self.last: tuple[bytes, CoxTimeSums, Any] | None = None
        self.zero: tuple[CoxTimeSums, Any] | None = None

    def __call__(self, b: np.ndarray) -> CoxTimeSums:
        values = np.asarray(b, dtype=np.float64).reshape(-1)
        if self.last is not None and self.last[0] == values.tobytes():
            return self.last[1]
        at_zero = not values.any()
        if at_zero and self.zero is not None:
            sums, result = self.zero
        else:
            expr, beta = (self.expr0, self.beta0) if at_zero else (self.expr, self.beta)
            params = {param: float(v) for param, v in zip(beta, values, strict=True)}
            result = run_step(expr, params)
            sums = self._finish(result, at_zero)
            if at_zero:
                self.zero = (sums, result)
        self.last = (values.tobytes(), sums, result)
        return sums

    def _finish(self, result: Any, at_zero: bool) -> CoxTimeSums:
        if self.fix is None:
            # The first step's result holds every distinct exit and entry time: the grid
            # on which R (and the memory path) tie times within rounding error.
            raw = np.unique(column(result, T).astype(np.float64))
            self.fix = TimeFix(raw, r_timefix(raw, None)[0])
        if self.events is None:
            totals = (
                event_totals_at_zero(result, self.strata, self.p)
                if at_zero
                else event_totals_expr(self.rows, self.x_cols, self.strata).to_pyarrow()
            )
            self.events = event_totals(totals, self.strata, self.codes, self.p, self.fix)
        return finish(result, self.strata, self.codes, self.p, self.events, self.fix)

    def at_zero(self) -> tuple[CoxTimeSums, Any]:
        """The per-time sums at beta = 0 and the step's result (queried once)."""
        if self.zero is None:
            self(np.zeros(self.p))
        assert self.zero is not None
        return self.zero


def _known_products(columns: list[DesignColumn]) -> list[tuple[int, int]]:
    """Pairs of model columns whose product is known without a sum (``risk_sums_expr``):
    a column of factor levels only is 0/1 and not centred (its values are in
    {-1, 0, 1}, ``cox_check``), so x x = x; two such columns that need different
    levels of one factor are never both 1, so their product is 0."""
    levels = [dict(c.parts) if all(lv is not None for _, lv in c.parts) else None
              for c in columns]  # fmt: skip
    known: list[tuple[int, int]] = []
    for j, a in enumerate(levels):
        for k in range(j, len(levels)):
            b = levels[k]
            if a is None or b is None:
                continue
            if j == k or any(name in b and b[name] != lv for name, lv in a.items()):
                known.append((j, k))
    return known


def _aliased(steps: _Steps, ties: Any, scale: np.ndarray) -> list[int]:
    """R's aliased columns: singular in the information matrix at beta = 0 (of the
    columns scaled by ``scale``, as R)."""
    zero = np.zeros(steps.p)
    return list(singular_columns(partial_likelihood_step(steps(zero), zero, ties)[2], scale))


def _scale(rows: ir.Table, x_cols: list[str], zero_one: np.ndarray) -> np.ndarray:
    """R's column scale: one aggregate over the model rows, none when every column is a
    -1/0/1 column (scale 1)."""
    if np.all(zero_one):
        return np.ones(len(x_cols))
    total, spreads = column_spreads(rows, x_cols)
    return column_scale(total, spreads, zero_one)


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
    return_freed_memory(table)
    cols = typed(table, used)
    checked = _check(described, spec, table, cols,
                     lambda: reader_error(described, spec, backend, spark_master))  # fmt: skip
    if checked.nevent == 0:
        raise InputError(
            f"{described.name}: no events: every row is censored, a Cox model cannot be fitted"
        )
    rows = model_rows(spec, table, cols, checked).cache()
    names = [c.name for c in spec.columns]
    all_x = [f"__x{j}" for j in range(len(names))]
    kept = list(range(len(names)))
    steps = _Steps(rows, kept, spec, checked.codes)
    aliased: list[int] = []
    scale = _scale(rows, all_x, checked.zero_one)
    try:
        newton = fit_cox(steps, len(names), spec.ties, names=names, scale=scale)
    except InputError as exc:
        # fit_cox refuses a singular information matrix at beta = 0 before any other
        # step; R drops those (aliased) columns and refits, unless all are aliased.
        aliased = _aliased(steps, spec.ties, scale)
        if not aliased or len(aliased) == len(names):
            raise InputError(f"{described.name}: {exc}") from None
        kept = [j for j in range(len(names)) if j not in aliased]
        steps = _Steps(rows, kept, spec, checked.codes)
        try:
            newton = fit_cox(
                steps, len(kept), spec.ties, names=[names[j] for j in kept], scale=scale[kept]
            )
        except InputError as exc2:
            raise InputError(f"{described.name}: {exc2}") from None
    kept_names = [names[j] for j in kept]
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
        sums0, step0 = steps.at_zero()  # the Newton steps started there: no new query
        robust_score = robust_score_on_engine(
            rows, kept_x, spec, sums0, step0, checked.codes, steps.fix
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
