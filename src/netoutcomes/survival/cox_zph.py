"""Test of proportional hazards, as R's ``cox.zph`` (survival 3.x; transform "km" by default).

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
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from netoutcomes.survival.counts import count_table

if TYPE_CHECKING:  # survival.cox: deferred to the test itself (start-up, below)
    from netoutcomes.survival.cox import CoxTimeSums, Ties

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


def rank_transform(time: FloatArray, at: FloatArray) -> FloatArray:
    """R's ``rank(times)`` at the times ``at``: the rank of every row's exit time
    (censored rows included, ties averaged), as cox.zph's ``transform = "rank"``."""
    grid, count = np.unique(time, return_counts=True)
    return exit_time_ranks(grid, count.astype(np.float64), at)


def exit_time_ranks(grid: FloatArray, count: FloatArray, at: FloatArray) -> FloatArray:
    """Average ranks from counts: ``count[i]`` rows exit at the distinct time ``grid[i]``
    (ascending); the rank of time ``t`` is (rows before t) + (rows at t + 1) / 2."""
    before = np.cumsum(count) - count
    where = np.searchsorted(grid, at)
    return np.asarray((before + (count + 1.0) / 2.0)[where], dtype=np.float64)


def cox_zph(
    sums: CoxTimeSums,
    ties: Ties,
    term_names: list[str],
    term_columns: list[list[int]],
    time: FloatArray | None = None,
    event: NDArray[np.bool_] | None = None,
    entry: FloatArray | None = None,
    *,
    transformed: FloatArray | None = None,
) -> ZphTest:
    """R's ``cox.zph(fit)`` table from the per-time sums at the fitted coefficients.

    ``time``, ``event``, ``entry`` are the rows of the fit (for the KM transform,
    R's default); or ``transformed`` gives ``g(t)`` ready-made, one value per row of
    ``sums`` (``rank_transform``, ``log``, identity, or a KM computed elsewhere).
    """
    # Deferred for CLI start-up: scipy (and, through time_terms, numba) costs time to
    # import and a Kaplan-Meier run imports this module (through engine.cox_result)
    # without testing anything.
    from netoutcomes.survival.chisq import chi2_upper_tail
    from netoutcomes.survival.cox import time_terms

    if transformed is None:
        if time is None or event is None:
            raise ValueError("cox_zph: give the rows (time, event) or transformed=")
        g = km_transform(time, event, entry, sums.time)
    else:
        g = np.asarray(transformed, dtype=np.float64)
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

    chisq = [score_test(cols) for cols in term_columns] + [score_test(list(range(p)))]
    df = np.array([len(cols) for cols in term_columns] + [p], dtype=np.int64)
    chisq_arr = np.array(chisq)
    return ZphTest(
        terms=list(term_names) + ["GLOBAL"],
        chisq=chisq_arr,
        df=df,
        p=chi2_upper_tail(chisq_arr, df),
    )
