"""Test of proportional hazards, as R's ``cox.zph`` (survival 3.x, transform = "km").

survival 3.x tests each term by a score test in the expanded model with the
covariates ``x`` and ``x * g(t)``, evaluated at the fitted beta and zero for the
new coefficients.  ``g(t) = 1 - KM(t-)`` (left-continuous Kaplan-Meier of all
rows, unweighted, ignoring strata, with delayed entry), centred on its mean
over the event rows.  Because ``x g(t)`` is the same function of t for everybody
in a risk set, the score and information of the expanded model are the per-time
score ``U_t`` and information ``V_t`` of the Cox model weighted by ``g``:

    u2 = sum_t g_t U_t,   I = [[sum V_t, sum g_t V_t], [sum g_t V_t, sum g_t^2 V_t]]

so the test needs only the per-time sums at the fit (the same ``CoxTimeSums``).
A term with k columns (a factor) is tested with k degrees of freedom; GLOBAL
tests all columns at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from netoutcomes.survival.counts import count_table
from netoutcomes.survival.cox import CoxTimeSums, Ties, time_terms

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ZphTest:
    terms: list[str]  # model terms, then "GLOBAL"
    chisq: FloatArray
    df: NDArray[np.int64]
    p: FloatArray


def km_transform(
    time: FloatArray, event: NDArray[np.bool_], entry: FloatArray | None, at: FloatArray
) -> FloatArray:
    """``1 - KM(t-)`` at the times ``at``: the Kaplan-Meier of all rows, unweighted."""
    table = count_table(time, event, entry)
    n_risk = table.n_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(table.n_event > 0, 1.0 - table.n_event / n_risk, 1.0)
    surv = np.cumprod(factor)
    before = np.searchsorted(table.time, at, side="left")  # grid times strictly < t
    return 1.0 - np.concatenate([[1.0], surv])[before]


def cox_zph(
    sums: CoxTimeSums,
    ties: Ties,
    term_names: list[str],
    term_columns: list[list[int]],
    time: FloatArray,
    event: NDArray[np.bool_],
    entry: FloatArray | None = None,
) -> ZphTest:
    """R's ``cox.zph(fit)`` table from the per-time sums at the fitted coefficients.

    ``time``, ``event``, ``entry`` are the rows of the fit (for the KM transform).
    """
    terms = time_terms(sums, ties)
    g = km_transform(time, event, entry, sums.time)
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

    chisq = [score_test(cols) for cols in term_columns] + [score_test(list(range(p)))]
    df = np.array([len(cols) for cols in term_columns] + [p], dtype=np.int64)
    chisq_arr = np.array(chisq)
    return ZphTest(
        terms=list(term_names) + ["GLOBAL"],
        chisq=chisq_arr,
        df=df,
        p=stats.chi2.sf(chisq_arr, df),
    )
