"""Cox proportional hazards by partial likelihood, as R's ``coxph`` computes it.

The Newton step is organised around per-time sums (``CoxTimeSums``): for each
(stratum, distinct event time), sums over the tied events and over the risk
set of ``r = w exp(x'beta)``, ``r x`` and ``r x x'``.  ``cox_time_sums`` builds
them from in-memory arrays (sorted times and reverse cumulative sums); an
engine may build the same table with one aggregate query per step.  Everything
in ``partial_likelihood_step`` uses only that table, so both give the same fit.

Conventions (R's ``survival``): a row with entry ``a`` and exit ``t`` is at risk
on ``(a, t]``; ties by Efron (R's default) or Breslow; Newton-Raphson from
beta = 0 with step halving, converged when ``|1 - loglik_old / loglik_new| <=
eps`` (``coxph.control``: eps = 1e-9, iter.max = 20), as in R's ``coxfit6.c``
and ``agfit4.c``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from netoutcomes.errors import InputError
from netoutcomes.survival.concordance import concordance
from netoutcomes.survival.design import Design, design_matrix, missing_mask
from netoutcomes.survival.timefix import r_timefix  # kept importable as survival.cox.r_timefix

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Ties = Literal["efron", "breslow"]

EPS = 1e-9  # coxph.control(eps)
ITER_MAX = 20  # coxph.control(iter.max)
TOLER_CHOL = float(np.finfo(float).eps) ** 0.75  # coxph.control(toler.chol)
TOLER_INF = EPS**0.5  # coxph.control(toler.inf)


@dataclass(frozen=True)
class CoxTimeSums:
    """One row per (stratum, distinct time with at least one event), sorted by stratum then time.

    w = case weight, r = w * exp(x @ beta). Risk set at t: rows with entry < t <= exit
    in that stratum.
    """

    stratum: IntArray  # (k,)
    time: FloatArray  # (k,)
    n_event: FloatArray  # (k,) unweighted number of tied events (Efron's d)
    w_event: FloatArray  # (k,) sum of w over the events
    wx_event: FloatArray  # (k, p) sum of w * x over the events
    r_event: FloatArray  # (k,)  sum of r over the events
    rx_event: FloatArray  # (k, p)
    rxx_event: FloatArray  # (k, p, p)
    r_risk: FloatArray  # (k,)  sum of r over the risk set
    rx_risk: FloatArray  # (k, p)
    rxx_risk: FloatArray  # (k, p, p)


def _reverse_cumsum(a: FloatArray) -> FloatArray:
    return np.cumsum(a[::-1], axis=0)[::-1]


def _binned_sum(bins: IntArray, values: FloatArray, k: int) -> FloatArray:
    """Sum of ``values`` rows (any trailing shape) into ``k`` bins."""
    # explicit width: reshape(0, -1) is ambiguous when no row falls in any bin
    flat = values.reshape(values.shape[0], int(np.prod(values.shape[1:])))
    out = np.empty((k, flat.shape[1]))
    for j in range(flat.shape[1]):
        out[:, j] = np.bincount(bins, weights=flat[:, j], minlength=k)
    return out.reshape((k,) + values.shape[1:])


def _binned_products(bins: IntArray, r: FloatArray, x: FloatArray, k: int) -> FloatArray:
    """Sum of ``r x x'`` into ``k`` bins, one column pair at a time (never n x p x p)."""
    p = x.shape[1]
    out = np.empty((k, p, p))
    for i in range(p):
        rxi = r * x[:, i]
        for j in range(i + 1):
            out[:, i, j] = out[:, j, i] = np.bincount(bins, weights=rxi * x[:, j], minlength=k)
    return out


def _stratum_sums(
    x: FloatArray,
    time: FloatArray,
    event: NDArray[np.bool_],
    entry: FloatArray | None,
    w: FloatArray,
    r: FloatArray,
) -> dict[str, np.ndarray]:
    """The sums of one stratum (arrays restricted to its rows)."""
    times = np.unique(time[event])
    k = times.size
    rx = r[:, None] * x
    # A row is in the risk set of every event time <= its exit ...
    exit_bin = np.searchsorted(times, time, side="right") - 1
    at_exit = exit_bin >= 0
    # ... except those <= its entry.
    if entry is not None:
        entry_bin = np.searchsorted(times, entry, side="right") - 1
        at_entry = entry_bin >= 0
    ev_bin = np.searchsorted(times, time[event])

    def risk_sum(values: FloatArray) -> FloatArray:
        acc = _binned_sum(exit_bin[at_exit], values[at_exit], k)
        if entry is not None:
            acc -= _binned_sum(entry_bin[at_entry], values[at_entry], k)
        return _reverse_cumsum(acc)

    def risk_products() -> FloatArray:
        acc = _binned_products(exit_bin[at_exit], r[at_exit], x[at_exit], k)
        if entry is not None:
            acc -= _binned_products(entry_bin[at_entry], r[at_entry], x[at_entry], k)
        return _reverse_cumsum(acc)

    def event_sum(values: FloatArray) -> FloatArray:
        return _binned_sum(ev_bin, values[event], k)

    return {
        "time": times,
        "n_event": event_sum(np.ones(time.size)),
        "w_event": event_sum(w),
        "wx_event": event_sum(w[:, None] * x),
        "r_event": event_sum(r),
        "rx_event": event_sum(rx),
        "rxx_event": _binned_products(ev_bin, r[event], x[event], k),
        "r_risk": risk_sum(r),
        "rx_risk": risk_sum(rx),
        "rxx_risk": risk_products(),
    }


def cox_time_sums(
    x: FloatArray,
    time: FloatArray,
    event: NDArray[np.bool_],
    entry: FloatArray | None,
    weights: FloatArray | None,
    strata: IntArray | None,
    beta: FloatArray,
) -> CoxTimeSums:
    """The per-(stratum, event time) sums at ``beta``, from in-memory arrays.

    Each row is binned to the event times of its stratum: its exit adds it to
    every event time ``<= exit`` (a reverse cumulative sum over the bins), its
    entry removes it from every event time ``<= entry``.
    """
    time = np.asarray(time, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(time.size, -1)
    n, p = x.shape
    event = np.asarray(event, dtype=bool)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    strata_arr = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata, np.int64)
    r = w * np.exp(x @ np.asarray(beta, dtype=np.float64))
    ent = None if entry is None else np.asarray(entry, dtype=np.float64)

    parts: list[dict[str, np.ndarray]] = []
    for s in np.unique(strata_arr[event]):
        rows = strata_arr == s
        part = _stratum_sums(
            x[rows], time[rows], event[rows], None if ent is None else ent[rows], w[rows], r[rows]
        )
        part["stratum"] = np.full(part["time"].size, s, dtype=np.int64)
        parts.append(part)
    if not parts:
        part = _stratum_sums(x[:0], time[:0], event[:0], None, w[:0], r[:0])
        part["stratum"] = np.zeros(0, dtype=np.int64)
        parts.append(part)
    return CoxTimeSums(**{key: np.concatenate([d[key] for d in parts]) for key in parts[0]})


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


@dataclass(frozen=True)
class NewtonResult:
    coef: FloatArray
    var: FloatArray  # inverse information at coef
    loglik_null: float  # at beta = 0
    loglik: float
    score_test: float  # u(0)' I(0)^-1 u(0)
    score_at_fit: FloatArray
    iterations: int
    converged: bool
    warnings: tuple[str, ...] = ()  # what R's coxph warns about (the fit is still R's)


def _newton_step(info: FloatArray, u: FloatArray) -> FloatArray:
    return np.asarray(np.linalg.solve(info, u))


def singular_columns(info: FloatArray) -> list[int]:
    """Columns R's ``cholesky2`` would drop: a pivot below ``toler.chol`` times the largest
    diagonal element, working through the columns in order (so the later of two
    collinear columns is the one named)."""
    a = np.array(info, dtype=np.float64)
    n = a.shape[0]
    diag_max = float(np.max(np.diag(a))) if n else 0.0
    eps = TOLER_CHOL * diag_max if diag_max > 0 else TOLER_CHOL
    bad: list[int] = []
    for i in range(n):
        pivot = a[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            bad.append(i)
            a[i, :] = 0.0
            a[:, i] = 0.0
            continue
        for j in range(i + 1, n):
            factor = a[j, i] / pivot
            a[j, j:] -= factor * a[i, j:]
            a[j:, j] = a[j, j:]
    return bad


def fit_cox(
    sums_at: Callable[[FloatArray], CoxTimeSums],
    p: int,
    ties: Ties = "efron",
    eps: float = EPS,
    iter_max: int = ITER_MAX,
    names: list[str] | None = None,
) -> NewtonResult:
    """Newton-Raphson on the partial likelihood from beta = 0, as R's coxfit6/agfit4.

    ``sums_at(beta)`` returns the per-time sums at ``beta``.  A step that lowers
    the log-likelihood is halved (towards the last accepted point); convergence
    needs ``|1 - loglik_old / loglik_new| <= eps`` on a step that was not halved.
    Raises InputError for a singular information matrix (naming the columns).  A
    coefficient running to infinity (monotone likelihood) or no convergence in
    ``iter_max`` steps gives R's answer (the last step) with a warning, as R does.
    """
    names = names or [f"x{i + 1}" for i in range(p)]
    beta = np.zeros(p)
    loglik0, u, info = partial_likelihood_step(sums_at(beta), beta, ties)
    bad = singular_columns(info)
    if bad:
        which = ", ".join(names[i] for i in bad)
        raise InputError(
            f"singular design: covariate {which} is constant or a linear combination "
            "of the others (in the rows used, within strata)"
        )
    step = _newton_step(info, u)
    score_test = float(u @ step)
    best = loglik0
    newbeta = beta + step
    halving = False
    converged = False
    newlk = loglik0
    iteration = 0
    for iteration in range(1, iter_max + 1):
        newlk, u, info = partial_likelihood_step(sums_at(newbeta), newbeta, ties)
        if not np.isfinite(newlk):
            newlk = -np.inf
        if np.isfinite(newlk) and abs(1.0 - best / newlk) <= eps and not halving:
            converged = True
            break
        if iteration == iter_max:
            break
        if newlk < best:
            halving = True
            newbeta = (newbeta + beta) / 2.0
        else:
            halving = False
            best = newlk
            beta = newbeta
            newbeta = newbeta + _newton_step(info, u)
    if not np.all(np.isfinite(newbeta)) or not np.isfinite(newlk):
        raise InputError("the Cox fit failed: numeric overflow (a coefficient ran to infinity)")
    var: FloatArray = np.asarray(np.linalg.inv(info), dtype=np.float64)
    coef = newbeta
    # R's coxph.fit: "Loglik converged before variable ...; coefficient may be infinite."
    infs = np.abs(u @ var)
    infinite = (infs > eps) & (infs > TOLER_INF * np.abs(coef))
    warnings: list[str] = []
    if converged and np.any(infinite):
        which = ", ".join(names[i] for i in np.flatnonzero(infinite))
        warnings.append(
            f"monotone likelihood: the coefficient of {which} may be infinite "
            "(the log-likelihood converged before it did; e.g. no events in one group); "
            "its hazard ratio and interval are meaningless"
        )
    if not converged:
        warnings.append(
            f"the Cox fit did not converge in {iter_max} iterations; these are the "
            "values of the last one (a coefficient may be infinite)"
        )
    return NewtonResult(
        coef=coef,
        var=var,
        loglik_null=loglik0,
        loglik=newlk,
        score_test=score_test,
        score_at_fit=u,
        iterations=iteration,
        converged=converged,
        warnings=tuple(warnings),
    )


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


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox model with the numbers R's ``summary(coxph)`` reports."""

    terms: list[str]  # coefficient names (sexmale, age)
    coef: FloatArray
    se: FloatArray
    robust_se: FloatArray | None
    hr: FloatArray
    hr_lower: FloatArray
    hr_upper: FloatArray
    z: FloatArray
    p: FloatArray
    loglik_null: float
    loglik: float
    lrt: float
    wald: float
    score: float
    df: int
    n: int
    nevent: int
    concordance: float
    var: FloatArray
    iterations: int
    ties: Ties
    means: FloatArray  # covariate means the fit centred on (R's fit$means)
    sums: CoxTimeSums  # per-time sums at coef, covariates centred on ``means``
    warnings: tuple[str, ...] = ()  # R's warnings: infinite coefficient, no convergence

    @property
    def lrt_p(self) -> float:
        from netoutcomes.survival.chisq import chi2_upper_tail  # lazy: scipy, start-up

        return float(chi2_upper_tail(self.lrt, self.df))

    @property
    def wald_p(self) -> float:
        from netoutcomes.survival.chisq import chi2_upper_tail  # lazy: see lrt_p

        return float(chi2_upper_tail(self.wald, self.df))

    @property
    def score_p(self) -> float:
        from netoutcomes.survival.chisq import chi2_upper_tail  # lazy: see lrt_p

        return float(chi2_upper_tail(self.score, self.df))


@dataclass(frozen=True)
class CoxData:
    """The arrays a Cox model is fitted to (no missing values)."""

    x: FloatArray  # (n, p)
    time: FloatArray
    event: NDArray[np.bool_]
    entry: FloatArray | None = None
    weights: FloatArray | None = None
    strata: IntArray | None = None

    def sums_at(self, beta: FloatArray) -> CoxTimeSums:
        return cox_time_sums(
            self.x, self.time, self.event, self.entry, self.weights, self.strata, beta
        )


def centred(
    x: FloatArray, weights: FloatArray | None, counting: bool
) -> tuple[FloatArray, FloatArray]:
    """Covariates minus the means R's coxph centres on (``fit$means``, the point R's
    ``survfit(fit)`` and ``basehaz(fit)`` describe).  As R (``nocenter = c(-1, 0, 1)``):
    a column whose values are all -1, 0 or 1 is not centred; other columns are centred
    on their weighted mean (coxfit6), or on their unweighted mean for (start, stop] data
    (agreg.fit uses colMeans)."""
    if x.shape[0] == 0:
        return x, np.zeros(x.shape[1])
    w = np.ones(x.shape[0]) if weights is None or counting else weights
    means = (w @ x) / w.sum()
    zero_one = np.all(np.isin(x, (-1.0, 0.0, 1.0)), axis=0)
    means = np.where(zero_one, 0.0, means)
    return x - means, means


def check_events(data: CoxData) -> None:
    """No events at all is an error.  A stratum without events is allowed: as in R it
    adds nothing to the partial likelihood (its rows still count in n)."""
    if not np.any(data.event):
        raise InputError("no events: every row is censored, a Cox model cannot be fitted")


def aliased_columns(data: CoxData, ties: Ties = "efron") -> list[int]:
    """Columns R's ``coxph`` reports as NA: constant, or a linear combination of earlier
    columns, in the rows used (within strata), by R's pivot rule at beta = 0."""
    x = np.asarray(data.x, dtype=np.float64).reshape(len(data.time), -1)
    xc, _ = centred(x, data.weights, counting=data.entry is not None)
    fitdata = CoxData(xc, data.time, data.event, data.entry, data.weights, data.strata)
    beta = np.zeros(x.shape[1])
    _, _, info = partial_likelihood_step(fitdata.sums_at(beta), beta, ties)
    return singular_columns(info)


def _with_aliased(fit: CoxFit, aliased: list[int], names: list[str], x: FloatArray) -> CoxFit:
    """The fit without the aliased columns, reported as R does: coefficient, hazard
    ratio, limits and p NA; se and robust se 0 (R's ``vcov`` and ``fit$var``)."""
    p = len(names)
    kept = [i for i in range(p) if i not in aliased]

    def spread(values: FloatArray, fill: float) -> FloatArray:
        out = np.full(p, fill)
        out[kept] = values
        return out

    var = np.zeros((p, p))
    var[np.ix_(kept, kept)] = fit.var
    which = ", ".join(names[i] for i in aliased)
    warning = (
        f"singular design: covariate {which} is constant or a linear combination of the "
        "others (in the rows used, within strata); its coefficient is NA, as in R"
    )
    return CoxFit(
        terms=list(names),
        coef=spread(fit.coef, np.nan),
        se=spread(fit.se, 0.0),
        robust_se=None if fit.robust_se is None else spread(fit.robust_se, 0.0),
        hr=spread(fit.hr, np.nan),
        hr_lower=spread(fit.hr_lower, np.nan),
        hr_upper=spread(fit.hr_upper, np.nan),
        z=spread(fit.z, np.nan),
        p=spread(fit.p, np.nan),
        loglik_null=fit.loglik_null,
        loglik=fit.loglik,
        lrt=fit.lrt,
        wald=fit.wald,
        score=fit.score,
        df=fit.df,
        n=fit.n,
        nevent=fit.nevent,
        concordance=fit.concordance,
        var=var,
        iterations=fit.iterations,
        ties=fit.ties,
        means=np.average(x, axis=0),
        sums=fit.sums,  # of the columns kept
        warnings=(warning, *fit.warnings),
    )


def cox_ph(
    data: CoxData,
    names: list[str],
    ties: Ties = "efron",
    cluster: NDArray[np.int64] | None = None,
    robust: bool = False,
    conf_level: float = 0.95,
) -> CoxFit:
    """Fit a Cox model to in-memory arrays and compute R's summary numbers.

    ``cluster`` (integer codes) or ``robust=True`` (each row its own cluster) adds
    the sandwich standard error ``robust_se`` from the dfbeta residuals; ``se``,
    ``p``, the confidence limits and the Wald test stay model-based.  Aliased
    columns (``aliased_columns``) are left out of the fit and reported as R reports
    them, with a warning; InputError if no column is left.
    """
    check_events(data)
    x = np.asarray(data.x, dtype=np.float64).reshape(len(data.time), -1)
    if x.shape[1] == 0:
        raise InputError("no covariates: give at least one column in --covariates")
    aliased = aliased_columns(data, ties)
    if aliased and len(aliased) < x.shape[1]:
        kept = [i for i in range(x.shape[1]) if i not in aliased]
        reduced = CoxData(x[:, kept], data.time, data.event, data.entry, data.weights, data.strata)
        fit = cox_ph(reduced, [names[i] for i in kept], ties, cluster, robust, conf_level)
        return _with_aliased(fit, aliased, names, x)
    xc, means = centred(x, data.weights, counting=data.entry is not None)
    fitdata = CoxData(xc, data.time, data.event, data.entry, data.weights, data.strata)
    newton = fit_cox(fitdata.sums_at, x.shape[1], ties, names=names)
    coef = newton.coef
    robust_se = None
    sums = fitdata.sums_at(coef)
    if cluster is not None or robust:
        resid = score_residuals(
            xc, data.time, data.event, data.entry, data.strata, coef, sums, ties
        )
        if data.weights is not None:
            resid = resid * data.weights[:, None]
        dfbeta = resid @ newton.var
        if cluster is not None:
            _, groups = np.unique(cluster, return_inverse=True)
            summed = np.zeros((groups.max() + 1, dfbeta.shape[1]))
            np.add.at(summed, groups, dfbeta)
            dfbeta = summed
        robust_se = np.sqrt(np.diag(dfbeta.T @ dfbeta))
    conc = concordance(
        data.time, data.event, xc @ coef, data.entry, data.strata, data.weights
    ).concordance
    return cox_summary(
        names,
        newton,
        ties,
        n=int(data.time.size),
        nevent=int(np.sum(data.event)),
        means=means,
        sums=sums,
        robust_se=robust_se,
        concordance=float(conc),
        conf_level=conf_level,
    )


def cox_summary(
    names: list[str],
    newton: NewtonResult,
    ties: Ties,
    *,
    n: int,
    nevent: int,
    means: FloatArray,
    sums: CoxTimeSums,
    robust_se: FloatArray | None = None,
    concordance: float = float("nan"),
    conf_level: float = 0.95,
) -> CoxFit:
    """R's ``summary(coxph)`` numbers (HR and limits, Wald z and p, LRT, Wald and
    score tests) from a Newton fit: one place for ``cox_ph`` and the engine's
    ``engine.analysis.cox_on``."""
    # lazy, for CLI start-up: scipy.special (scipy.stats, used before, cost ~0.5 s)
    from netoutcomes.survival.chisq import normal_quantile, normal_upper_tail

    coef = newton.coef
    se = np.sqrt(np.diag(newton.var))
    z = coef / se
    q = normal_quantile(0.5 + conf_level / 2.0)
    with np.errstate(over="ignore"):  # an infinite coefficient's limit: inf, as R
        hr_lower, hr_upper = np.exp(coef - q * se), np.exp(coef + q * se)
    return CoxFit(
        terms=list(names),
        coef=coef,
        se=se,
        robust_se=robust_se,
        hr=np.exp(coef),
        hr_lower=hr_lower,
        hr_upper=hr_upper,
        z=z,
        p=2.0 * normal_upper_tail(np.abs(z)),
        loglik_null=newton.loglik_null,
        loglik=newton.loglik,
        lrt=2.0 * (newton.loglik - newton.loglik_null),
        wald=float(coef @ np.linalg.solve(newton.var, coef)),
        score=newton.score_test,
        df=int(coef.size),
        n=n,
        nevent=nevent,
        concordance=concordance,
        var=newton.var,
        iterations=newton.iterations,
        ties=ties,
        means=means,
        sums=sums,
        warnings=newton.warnings,
    )


@dataclass(frozen=True)
class CoxModelData:
    """What a Cox fit needs, coded from named columns: arrays, design and labels."""

    data: CoxData
    design: Design
    cluster: IntArray | None
    stratum_labels: list[str]


def integer_codes(values: np.ndarray) -> tuple[IntArray, list[str]]:
    """Codes 0..k-1 of the distinct values (sorted), and the values as text."""
    text = np.asarray([str(v) for v in values], dtype=object)
    levels, codes = np.unique(text, return_inverse=True)
    return codes.astype(np.int64), [str(v) for v in levels]


def cox_model_data(
    time: FloatArray,
    event: NDArray[np.bool_],
    entry: FloatArray | None,
    columns: Mapping[str, np.ndarray],
    covariates: Sequence[str],
    strata_column: str | Sequence[str] | None = None,
    cluster_column: str | None = None,
    weights: FloatArray | None = None,
) -> CoxModelData:
    """Code the covariates (factors as treatment contrasts) and the strata and cluster
    columns; rows with a missing covariate are dropped (``design.n_dropped``); times
    equal up to rounding error are tied (``r_timefix``).  Several strata columns are
    crossed: one stratum per combination present (R's ``strata(a, b)``, or
    ``strata(a) + strata(b)``)."""
    strata_columns = (
        [strata_column] if isinstance(strata_column, str) else list(strata_column or [])
    )
    design = design_matrix(columns, covariates)
    keep = design.keep
    for name, values in columns.items():
        if name in covariates:
            continue
        if name in strata_columns or name == cluster_column:
            keep = keep & ~missing_mask(np.asarray(values))
    if not keep.all():
        design = design_matrix(columns, covariates, also_required=keep)
        keep = design.keep
    for term, cols in zip(design.term_names, design.term_columns, strict=True):
        if not cols:
            raise InputError(
                f"singular design: covariate {term} has only one value in the rows used"
            )
    strata = None
    labels: list[str] = []
    if strata_columns:
        parts = [[str(v) for v in np.asarray(columns[c])[keep]] for c in strata_columns]
        crossed = np.array([", ".join(p) for p in zip(*parts, strict=True)], dtype=object)
        strata, labels = integer_codes(crossed)
    cluster = None
    if cluster_column is not None:
        cluster, _ = integer_codes(np.asarray(columns[cluster_column])[keep])
    fixed_time, fixed_entry = r_timefix(
        np.asarray(time, dtype=np.float64)[keep],
        None if entry is None else np.asarray(entry, dtype=np.float64)[keep],
    )
    data = CoxData(
        x=design.x,
        time=fixed_time,
        event=np.asarray(event, dtype=bool)[keep],
        entry=fixed_entry,
        weights=None if weights is None else np.asarray(weights, dtype=np.float64)[keep],
        strata=strata,
    )
    return CoxModelData(data=data, design=design, cluster=cluster, stratum_labels=labels)


@dataclass(frozen=True)
class CoxCurve:
    """Cumulative hazard and survival per stratum at the event times, for one covariate
    pattern (R's ``survfit(fit, newdata)`` rows with an event; S = exp(-H), R's stype 2)."""

    stratum: IntArray
    time: FloatArray
    cumhaz: FloatArray
    surv: FloatArray


def baseline_hazard(fit: CoxFit, pattern: FloatArray | None = None) -> CoxCurve:
    """Cumulative hazard of the fit for a covariate ``pattern`` (default: the means, as R's
    ``basehaz(fit)`` / ``survfit(fit)``).  Breslow's estimator for a Breslow fit and the
    Efron-type estimator (R's ctype 2) for an Efron fit, from the per-time sums."""
    terms = time_terms(fit.sums, fit.ties)
    cumhaz = np.zeros(fit.sums.time.size)
    for s in np.unique(fit.sums.stratum):
        sel = fit.sums.stratum == s
        cumhaz[sel] = np.cumsum(terms.hazard[sel])
    if pattern is not None:
        coef = np.nan_to_num(fit.coef, nan=0.0)  # an aliased (NA) coefficient counts 0, as R
        shift = (np.asarray(pattern, dtype=np.float64) - fit.means) @ coef
        cumhaz = cumhaz * np.exp(shift)
    return CoxCurve(fit.sums.stratum, fit.sums.time, cumhaz, np.exp(-cumhaz))
