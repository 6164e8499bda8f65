"""A Cox fit as every backend returns it: ``EngineCox``, with cox.zph and the baseline hazard.

Everything here works from tables the size of the event times: the fit's per-time
sums (``CoxFit.sums``) and, per event time, the Kaplan-Meier transform R's
``cox.zph`` uses.  So the memory oracle and the engines (DuckDB, Spark) share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from netoutcomes.survival.cox import (
    CoxCurve,
    CoxFit,
    CoxTimeSums,
    Ties,
    baseline_hazard,
    time_terms,
)
from netoutcomes.survival.cox_zph import ZphTest
from netoutcomes.survival.model_spec import CoxSpec

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
            g = event_time_ranks(sums.time, sums.n_event)
        else:
            raise ValueError(f"unknown transform {transform!r}; use km, rank, identity or log")
        return zph_score_tests(sums, self.fit.ties, self.terms, self.term_columns, g)

    def baseline_hazard(self, pattern: FloatArray | None = None) -> CoxCurve:
        """R's ``basehaz(fit, centered)``: at the covariate means, or at ``pattern``."""
        return baseline_hazard(self.fit, pattern)


def event_time_ranks(time: FloatArray, n_event: FloatArray) -> FloatArray:
    """R's ``rank(times)`` over the event rows (ties averaged), at each per-time row.

    ``time``/``n_event`` are per (stratum, time): the ranks pool the strata, as R's
    cox.zph ranks the event times of all strata together."""
    grid, where = np.unique(time, return_inverse=True)
    d = np.bincount(where, weights=n_event, minlength=grid.size)
    before = np.cumsum(d) - d
    return np.asarray((before + (d + 1.0) / 2.0)[where], dtype=np.float64)


def zph_score_tests(
    sums: CoxTimeSums,
    ties: Ties,
    term_names: list[str],
    term_columns: list[list[int]],
    g: FloatArray,
) -> ZphTest:
    """The score tests of ``survival.cox_zph.cox_zph`` for any transform ``g`` of the
    event times (one value per row of ``sums``), centred on its mean over the events."""
    terms = time_terms(sums, ties)
    g = g - np.sum(sums.n_event * g) / np.sum(sums.n_event)
    p = sums.rx_risk.shape[1]
    v = terms.information
    imat = np.zeros((2 * p, 2 * p))
    imat[:p, :p] = v.sum(axis=0)
    imat[:p, p:] = imat[p:, :p] = np.einsum("k,kij->ij", g, v)
    imat[p:, p:] = np.einsum("k,kij->ij", g * g, v)
    u = np.concatenate([np.zeros(p), g @ terms.score])

    def score_test(columns: list[int]) -> float:
        kk = list(range(p)) + [p + j for j in columns]
        return float(u[kk] @ np.linalg.solve(imat[np.ix_(kk, kk)], u[kk]))

    chisq = np.array([score_test(cols) for cols in term_columns] + [score_test(list(range(p)))])
    df = np.array([len(cols) for cols in term_columns] + [p], dtype=np.int64)
    return ZphTest(list(term_names) + ["GLOBAL"], chisq, df, stats.chi2.sf(chisq, df))


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
