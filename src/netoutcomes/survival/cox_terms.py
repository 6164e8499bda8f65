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


def _sub_step_sums(sums: CoxTimeSums, ties: Ties) -> tuple[FloatArray, ...]:
    """Per time, sums over Efron's sub-steps m = 0..d-1 of ``log d2``, ``1/d2``, ``g/d2``,
    ``1/d2^2``, ``g/d2^2``, ``g^2/d2^2``: ``g = 1 - m/d`` the weight the tied events keep
    in the sub-step, ``d2 = r_risk - (m/d) r_event`` its risk-set sum.  Breslow: one
    sub-step (m = 0).

    One compiled loop over the times and their sub-steps (``survival.efron_kernel``):
    there is one sub-step per event, so numpy's flat layout cost ~0.2 s per Newton
    step at 1e7 rows; the loop keeps nothing per event.
    """
    # Deferred for CLI start-up: the kernel imports numba (~0.2 s), which only a Cox
    # fit needs; importing this module (e.g. for its result types) must not load it.
    from netoutcomes.survival.efron_kernel import sub_step_sums

    return sub_step_sums(sums.n_event, sums.r_event, sums.r_risk, ties == "breslow")


def time_terms(sums: CoxTimeSums, ties: Ties) -> TimeTerms:
    """Per-time pieces of the partial likelihood, Efron's sub-steps as in R's coxfit6.

    With d tied events, Efron's approximation has d sub-steps m = 0..d-1 in
    which the tied events count with weight g = 1 - m/d in the risk set; each
    sub-step carries the mean weight of the tied events (R: ``wtave``).

    Vectorised over all sub-steps of all times at once: the risk-set sums of a
    sub-step are ``non-event part + g * event part``, so every per-time result is
    a combination of the per-time sums over the sub-steps of a few scalars
    (``_sub_step_sums``).  Splitting off the non-event part (rather than
    expanding ``risk - f * event``) keeps every weight non-negative, so no large
    terms cancel when the whole risk set dies at one time.
    """
    k, p = sums.rx_risk.shape
    d_steps = np.ones(k) if ties == "breslow" else sums.n_event
    wtave = sums.w_event / d_steps
    if k == 0:
        empty = np.zeros(0)
        return TimeTerms(
            empty, np.zeros((0, p)), np.zeros((0, p, p)), empty, np.zeros((0, p)), empty,
            np.zeros((0, p)), np.zeros((0, p)),
        )  # fmt: skip
    s_log, s_inv, s_g_inv, s_inv2, s_g_inv2, s_gg_inv2 = _sub_step_sums(sums, ties)

    rest_x = sums.rx_risk - sums.rx_event  # risk set without the tied events
    rest_xx = sums.rxx_risk - sums.rxx_event
    ev_x, ev_xx = sums.rx_event, sums.rxx_event

    def col(v: FloatArray) -> FloatArray:
        return v[:, None]

    # sum over sub-steps of a / d2 and a / d2^2 (a = rest_x + g ev_x), and of g a / d2^2
    mean_sum = rest_x * col(s_inv) + ev_x * col(s_g_inv)
    mean_sum2 = rest_x * col(s_inv2) + ev_x * col(s_g_inv2)
    g_mean_sum2 = rest_x * col(s_g_inv2) + ev_x * col(s_gg_inv2)
    # sum over sub-steps of c / d2 - a a' / d2^2 (c = rest_xx + g ev_xx).  The a a' / d2^2
    # products are formed from a / d2-sized factors (scaled by sqrt(sum 1 / d2^2)), as
    # R's coxfit6 divides before it multiplies: a risk score near exp(350) (a coefficient
    # running away on separated data) would overflow a a' before the division.
    second = rest_xx * s_inv[:, None, None] + ev_xx * s_g_inv[:, None, None]
    scale = col(np.sqrt(s_inv2))
    with np.errstate(invalid="ignore", divide="ignore"):
        g_ratio = np.where(s_inv2 > 0, s_g_inv2 / s_inv2, 0.0)[:, None, None]
        gg_ratio = np.where(s_inv2 > 0, s_gg_inv2 / s_inv2, 0.0)[:, None, None]
    rest_s, ev_s = rest_x * scale, ev_x * scale
    cross = rest_s[:, :, None] * ev_s[:, None, :]
    outer = (
        rest_s[:, :, None] * rest_s[:, None, :]
        + (cross + cross.transpose(0, 2, 1)) * g_ratio
        + ev_s[:, :, None] * ev_s[:, None, :] * gg_ratio
    )
    w = wtave
    return TimeTerms(
        loglik=-w * s_log,
        score=sums.wx_event - col(w) * mean_sum,
        information=w[:, None, None] * (second - outer),
        hazard=w * s_inv,
        xhaz=col(w) * mean_sum2,
        hazard_ev=w * s_g_inv,
        xhaz_ev=col(w) * g_mean_sum2,
        mean_ev=mean_sum / col(d_steps),
    )


def partial_likelihood_step(
    sums: CoxTimeSums, beta: FloatArray, ties: Ties
) -> tuple[float, FloatArray, FloatArray]:
    """Log partial likelihood, score vector and information matrix at ``beta``, from the sums."""
    terms = time_terms(sums, ties)
    beta = np.asarray(beta, dtype=np.float64)
    loglik = float(terms.loglik.sum() + (sums.wx_event @ beta).sum())
    return loglik, terms.score.sum(axis=0), terms.information.sum(axis=0)


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
