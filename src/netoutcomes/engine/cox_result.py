"""A Cox fit as every backend returns it: ``EngineCox``, with cox.zph and the baseline hazard.

Everything here works from tables the size of the event times: the fit's per-time
sums (``CoxFit.sums``) and, per event time, the Kaplan-Meier transform R's
``cox.zph`` uses.  So the memory oracle and the engines (DuckDB, Spark) share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from netoutcomes.survival.cox_zph import ZphTest, cox_zph, exit_time_ranks
from netoutcomes.survival.model_spec import CoxSpec

if TYPE_CHECKING:  # survival.cox imports scipy.stats (~1 s): not on a Kaplan-Meier run
    from netoutcomes.survival.cox import CoxCurve, CoxFit

FloatArray = NDArray[np.float64]
ZphTransform = Literal["km", "rank", "identity", "log"]


@dataclass(frozen=True)
class CoxConcordance:
    """R's ``concordance(fit)``: the value and its standard error, and the pair counts."""

    concordance: float
    std_err: float  # NaN where not computed (see docs/engine.md)
    concordant: float
    discordant: float
    tied_x: float
    tied_y: float


@dataclass(frozen=True)
class RobustCoefficients:
    """Per coefficient, from the robust SE: what R's summary shows with cluster/robust."""

    z: FloatArray
    p: FloatArray
    lower: FloatArray  # interval of exp(coef)
    upper: FloatArray


@dataclass(frozen=True)
class EngineCox:
    """A Cox fit with what R's ``summary(coxph)``, ``concordance`` and ``cox.zph`` report.

    ``terms``/``term_columns``: the model terms with at least one estimated (not NA)
    column, and each term's columns numbered among the estimated columns only (what
    ``cox.zph`` tests).  ``km_at_events``: ``1 - KM(t-)`` of all rows (unweighted,
    delayed entry honoured) at each row of ``fit.sums`` (R's cox.zph km transform).
    """

    fit: CoxFit
    concordance: CoxConcordance
    n_dropped: int
    terms: list[str]
    term_columns: list[list[int]]
    stratum_labels: list[str]  # index = fit.sums.stratum
    km_at_events: FloatArray
    # R's rank(times) of every row's exit time (censored included, ties averaged) at
    # each row of fit.sums: cox.zph's rank transform.
    rank_at_events: FloatArray
    # With cluster/robust: the robust (sandwich) variance over the estimated columns
    # (R's fit$var) and R's robust score test (fit$rscore: the score at beta = 0 against
    # the clusters' score residuals at beta = 0).  None: not passed by the backend.
    robust_var: FloatArray | None = None
    robust_score: float | None = None

    def robust_coefficients(self, conf_level: float = 0.95) -> RobustCoefficients | None:
        """R's ``summary(coxph)`` columns with a robust variance: z = coef / robust se,
        its two-sided p and the interval of exp(coef) from the robust se.  None
        without cluster/robust."""
        robust_se = self.fit.robust_se
        if robust_se is None:
            return None
        from scipy import stats  # deferred: CLI start-up (see the module's imports)

        coef = self.fit.coef
        with np.errstate(divide="ignore", invalid="ignore"):
            z = coef / robust_se
        q = float(stats.norm.ppf(0.5 + conf_level / 2.0))
        with np.errstate(over="ignore"):  # an infinite coefficient's limit: inf, as R
            lower, upper = np.exp(coef - q * robust_se), np.exp(coef + q * robust_se)
        return RobustCoefficients(z, 2.0 * stats.norm.sf(np.abs(z)), lower, upper)

    def robust_wald(self) -> float | None:
        """R's Wald test with the robust variance (``fit$wald.test`` of a robust fit):
        ``b' V_robust^-1 b`` over the estimated coefficients.  None when not computed."""
        if self.robust_var is None:
            return None
        b = self.fit.coef[~np.isnan(self.fit.coef)]
        return r_wald_quadratic(self.robust_var, b)

    def zph(self, transform: ZphTransform = "km") -> ZphTest:
        """R's ``cox.zph(fit, transform)``: one score test per term and GLOBAL."""
        sums = self.fit.sums
        if transform == "km":
            g = self.km_at_events
        elif transform == "identity":
            g = sums.time.copy()
        elif transform == "log":
            with np.errstate(divide="ignore"):  # a time 0 gives -inf, and NaN tests, as R
                g = np.log(sums.time)
        elif transform == "rank":
            g = self.rank_at_events
        else:
            raise ValueError(f"unknown transform {transform!r}; use km, rank, identity or log")
        return cox_zph(sums, self.fit.ties, self.terms, self.term_columns, transformed=g)

    def baseline_hazard(self, pattern: FloatArray | None = None) -> CoxCurve:
        """R's ``basehaz(fit, centered)``: at the covariate means, or at ``pattern``."""
        from netoutcomes.survival.cox import baseline_hazard  # deferred: start-up, above

        return baseline_hazard(self.fit, pattern)


def r_wald_quadratic(matrix: FloatArray, b: FloatArray) -> float:
    """``b' M^- b`` as R's ``coxph.wtest``: the columns ``cholesky2`` finds singular
    (``toler.chol``) are left out, so a singular ``M`` (one cluster, say) gives R's
    number, not an error."""
    from netoutcomes.survival.cox import singular_columns  # deferred: start-up, above

    dropped = set(singular_columns(matrix))
    keep = [i for i in range(b.size) if i not in dropped]
    if not keep:
        return 0.0
    sub = np.asarray(matrix, dtype=np.float64)[np.ix_(keep, keep)]
    return float(b[keep] @ np.linalg.solve(sub, b[keep]))


def ranks_from_counts(exit_time: FloatArray, exit_count: FloatArray, at: FloatArray) -> FloatArray:
    """R's ``rank(times)`` at ``at`` from counts of rows per exit time (any order,
    repeats allowed: one row per (exit time, event) is fine)."""
    grid, where = np.unique(exit_time, return_inverse=True)
    count = np.bincount(where, weights=exit_count, minlength=grid.size).astype(np.float64)
    return exit_time_ranks(grid, count, at)


def zph_terms(spec: CoxSpec, coef: FloatArray) -> tuple[list[str], list[list[int]]]:
    """The terms cox.zph tests and their columns among the estimated ones.

    R's cox.zph tests a term on its columns with a coefficient (not NA: aliased
    columns are left out) and leaves out a term with none; the fit's sums are over
    the estimated columns only, so the column numbers shift."""
    kept = [int(i) for i in np.flatnonzero(~np.isnan(coef))]
    position = {column: k for k, column in enumerate(kept)}
    names: list[str] = []
    columns: list[list[int]] = []
    for term in spec.terms:
        cols = [position[j] for j, c in enumerate(spec.columns) if c.term == term and j in position]
        if cols:
            names.append(term)
            columns.append(cols)
    return names, columns


def km_transform_from_counts(
    exit_time: FloatArray,
    exit_event: FloatArray,
    exit_count: FloatArray,
    entry_time: FloatArray | None,
    entry_count: FloatArray | None,
    at: FloatArray,
) -> FloatArray:
    """``1 - KM(t-)`` at ``at`` from counts: rows per (exit time, event) and per entry time.

    The Kaplan-Meier of all rows, unweighted (``survival.cox_zph.km_transform`` on
    the rows): at risk at t are the exits at or after t minus the entries at or after t.
    """
    grid = np.unique(exit_time)
    where = np.searchsorted(grid, exit_time)
    exits = np.bincount(where, weights=exit_count, minlength=grid.size)
    deaths = np.bincount(where, weights=exit_count * exit_event, minlength=grid.size)
    n_risk = np.cumsum(exits[::-1])[::-1]
    if entry_time is not None and entry_count is not None:
        after = np.searchsorted(np.sort(entry_time), grid, side="left")
        order = np.argsort(entry_time)
        tail = np.concatenate([np.cumsum(entry_count[order][::-1])[::-1], [0.0]])
        n_risk = n_risk - tail[after]
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(deaths > 0, 1.0 - deaths / n_risk, 1.0)
    surv = np.cumprod(factor)
    before = np.searchsorted(grid, at, side="left")
    return np.asarray(1.0 - np.concatenate([[1.0], surv])[before], dtype=np.float64)
