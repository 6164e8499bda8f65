"""Per-time pieces of the Cox partial likelihood from the per-time sums (Efron or Breslow).

``time_terms`` turns a ``CoxTimeSums`` table into each event time's contribution to
the log-likelihood, score and information, and the hazard pieces the residuals
and curves need; ``partial_likelihood_step`` sums them for a Newton step.  Ties
as R's ``coxfit6.c`` / ``agfit4.c``: Efron (R's default) or Breslow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from netoutcomes.survival.cox_sums import CoxTimeSums, FloatArray, IntArray

Ties = Literal["efron", "breslow"]


@dataclass(frozen=True)
class TimeTerms:
    """Per event time: its contribution to loglik, score and information, and the
    quantities the residuals need.  ``hazard`` is the weighted hazard increment
    (sum over Efron's sub-steps of ``wtave / d2``), ``xhaz`` the matching sum of
    ``wtave / d2 * mean``; ``hazard_ev``/``xhaz_ev`` the same with the Efron
    factor ``1 - k/d`` that applies to the tied events themselves; ``mean_ev``
    the average over the sub-steps of the risk-set mean (what an event's own
    covariate is compared with)."""

    loglik: FloatArray  # (k,) without the w x'beta term
    score: FloatArray  # (k, p)
    information: FloatArray  # (k, p, p)
    hazard: FloatArray  # (k,)
    xhaz: FloatArray  # (k, p)
    hazard_ev: FloatArray  # (k,)
    xhaz_ev: FloatArray  # (k, p)
    mean_ev: FloatArray  # (k, p)


def time_terms(sums: CoxTimeSums, ties: Ties) -> TimeTerms:
    """Per-time pieces of the partial likelihood, Efron's sub-steps as in R's coxfit6.

    With d tied events, Efron's approximation has d sub-steps m = 0..d-1 in
    which the tied events count with weight g = 1 - m/d in the risk set; each
    sub-step carries the mean weight of the tied events (R: ``wtave``).

    The risk-set sums of a sub-step are ``non-event part + g * event part``, so
    every per-time result is a combination of the per-time sums over the
    sub-steps of six scalars: ``log d2``, ``1/d2``, ``g/d2``, ``1/d2^2``, ``g/d2^2``,
    ``g^2/d2^2`` (``d2 = r_risk - (m/d) r_event``).  Splitting off the non-event part
    (rather than expanding ``risk - f * event``) keeps every weight non-negative, so
    no large terms cancel when the whole risk set dies at one time.  The products
    ``a a' / d2^2`` (``a`` the risk set's ``r x`` in a sub-step) are formed from
    ``a / d2``-sized factors (scaled by ``sqrt(sum 1 / d2^2)``), as R's coxfit6
    divides before it multiplies: a risk score near exp(350) (a coefficient running
    away on separated data) would overflow ``a a'`` before the division.

    Computed by one compiled loop over the times and their sub-steps
    (``survival.efron_kernel``): there is one sub-step per event (7e6 at 1e7 rows,
    ~0.2 s per Newton step as numpy arrays) and, with untied times, one time per
    event (numpy's (times, p, p) temporaries took ~0.9 s per step at 1e6 times).
    """
    k, p = sums.rx_risk.shape
    if k == 0:
        empty = np.zeros(0)
        return TimeTerms(
            empty, np.zeros((0, p)), np.zeros((0, p, p)), empty, np.zeros((0, p)), empty,
            np.zeros((0, p)), np.zeros((0, p)),
        )  # fmt: skip
    # Deferred for CLI start-up: the kernel imports numba (~0.2 s), which only a Cox
    # fit needs; importing this module (e.g. for its result types) must not load it.
    from netoutcomes.survival.efron_kernel import time_terms_arrays

    return TimeTerms(*time_terms_arrays(sums, ties == "breslow"))


def partial_likelihood_step(
    sums: CoxTimeSums, beta: FloatArray, ties: Ties
) -> tuple[float, FloatArray, FloatArray]:
    """Log partial likelihood, score vector and information matrix at ``beta``, from the sums.

    The terms of ``time_terms``, summed over the times as the kernel goes (the same
    values as summing its arrays: in time order, as numpy sums over the first axis),
    so no (times, p, p) array is made: with untied times there is one per event.
    """
    from netoutcomes.survival.efron_kernel import step_totals  # deferred: see time_terms

    loglik_terms, score, information = step_totals(sums, ties == "breslow")
    beta = np.asarray(beta, dtype=np.float64)
    loglik = float(loglik_terms.sum() + (sums.wx_event @ beta).sum())
    return loglik, score, information


def score_residuals(
    x: FloatArray,
    time: FloatArray,
    event: NDArray[np.bool_],
    entry: FloatArray | None,
    strata: IntArray | None,
    beta: FloatArray,
    sums: CoxTimeSums,
    ties: Ties,
) -> FloatArray:
    """Per-row score residuals (unweighted, as R's ``residuals(fit, "score")``).

    Row i, at risk on (entry, exit], collects ``-exp(x_i'b) (x_i dH(t) - dXH(t))`` at
    every event time t in its interval; an event row is compared at its own time with
    Efron's average risk-set mean and carries the factor (1 - k/d) in the hazard.
    Summed with the case weights they give the score vector.
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(time), -1)
    n, p = x.shape
    event = np.asarray(event, dtype=bool)
    strata_arr = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata, np.int64)
    terms = time_terms(sums, ties)
    risk = np.exp(x @ beta)
    resid = np.zeros((n, p))
    for s in np.unique(sums.stratum):
        sel = sums.stratum == s
        times = sums.time[sel]
        cum_h = np.concatenate([[0.0], np.cumsum(terms.hazard[sel])])
        cum_xh = np.vstack([np.zeros((1, p)), np.cumsum(terms.xhaz[sel], axis=0)])
        rows = np.flatnonzero(strata_arr == s)
        hi = np.searchsorted(times, time[rows], side="right")
        lo = (
            np.zeros(rows.size, dtype=np.int64)
            if entry is None
            else np.searchsorted(times, entry[rows], side="right")
        )
        lo = np.minimum(lo, hi)
        h = cum_h[hi] - cum_h[lo]
        xh = cum_xh[hi] - cum_xh[lo]
        ev = event[rows]
        own = hi[ev] - 1  # index of the row's own event time
        h[ev] += -terms.hazard[sel][own] + terms.hazard_ev[sel][own]
        xh[ev] += -terms.xhaz[sel][own] + terms.xhaz_ev[sel][own]
        xr = x[rows]
        resid[rows] = -risk[rows][:, None] * (xr * h[:, None] - xh)
        resid[rows[ev]] += xr[ev] - terms.mean_ev[sel][own]
    return resid
