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

The fit is split by job: ``cox_sums`` (the per-time sums from arrays),
``cox_terms`` (Efron/Breslow terms, the Newton step's numbers, score residuals),
``cox_newton`` (Newton-Raphson), ``cox_fit`` (the result and R's summary numbers),
``cox_model_data`` (named columns coded for a fit).  This module fits arrays
(``cox_ph``) and gives the baseline hazard, and keeps every name importable from
``survival.cox`` as before (``__all__``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netoutcomes.errors import InputError
from netoutcomes.survival.concordance import concordance
from netoutcomes.survival.cox_fit import CoxFit, _with_aliased, cox_summary
from netoutcomes.survival.cox_model_data import CoxModelData, cox_model_data, integer_codes
from netoutcomes.survival.cox_newton import (
    EPS,
    ITER_MAX,
    TOLER_CHOL,
    TOLER_INF,
    NewtonResult,
    column_scale,
    fit_cox,
    singular_columns,
)
from netoutcomes.survival.cox_sums import CoxData, CoxTimeSums, FloatArray, IntArray, cox_time_sums
from netoutcomes.survival.cox_terms import (
    Ties,
    TimeTerms,
    partial_likelihood_step,
    score_residuals,
    time_terms,
)
from netoutcomes.survival.timefix import r_timefix

__all__ = [
    "EPS", "ITER_MAX", "TOLER_CHOL", "TOLER_INF",
    "CoxCurve", "CoxData", "CoxFit", "CoxModelData", "CoxTimeSums", "FloatArray", "IntArray",
    "NewtonResult", "Ties", "TimeTerms",
    "_with_aliased", "aliased_columns", "baseline_hazard", "centred", "check_events",
    "column_scale", "cox_model_data", "cox_ph", "cox_summary", "cox_time_sums", "fit_cox",
    "integer_codes", "partial_likelihood_step", "r_timefix", "scale_of", "score_residuals",
    "singular_columns", "time_terms",
]  # fmt: skip


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
    means = np.where(_zero_one(x), 0.0, means)
    return x - means, means


def _zero_one(x: FloatArray) -> NDArray[np.bool_]:
    """The columns of -1, 0 and 1 only: R's ``nocenter``, neither centred nor scaled."""
    return np.all(np.isin(x, (-1.0, 0.0, 1.0)), axis=0)


def scale_of(x: FloatArray, weights: FloatArray | None) -> FloatArray:
    """R's column scale (``cox_newton.column_scale``): weighted mean absolute deviation."""
    w = np.ones(x.shape[0]) if weights is None else weights
    spread = w @ np.abs(x - (w @ x) / w.sum())
    return column_scale(float(w.sum()), spread, _zero_one(x))


def check_events(data: CoxData) -> None:
    """No events at all is an error.  A stratum without events is allowed: as in R it
    adds nothing to the partial likelihood (its rows still count in n)."""
    if not np.any(data.event):
        raise InputError("no events: every row is censored, a Cox model cannot be fitted")


def aliased_columns(data: CoxData, scale: FloatArray, ties: Ties = "efron") -> list[int]:
    """Columns R's ``coxph`` reports as NA: constant, or a linear combination of earlier
    columns, in the rows used (within strata), by R's pivot rule at beta = 0 on the
    columns scaled by ``scale`` (``scale_of``)."""
    x = np.asarray(data.x, dtype=np.float64).reshape(len(data.time), -1)
    xc, _ = centred(x, data.weights, counting=data.entry is not None)
    fitdata = CoxData(xc, data.time, data.event, data.entry, data.weights, data.strata)
    beta = np.zeros(x.shape[1])
    _, _, info = partial_likelihood_step(fitdata.sums_at(beta), beta, ties)
    return singular_columns(info, scale)


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
    scale = scale_of(x, data.weights)
    aliased = aliased_columns(data, scale, ties)
    if aliased and len(aliased) < x.shape[1]:
        kept = [i for i in range(x.shape[1]) if i not in aliased]
        reduced = CoxData(x[:, kept], data.time, data.event, data.entry, data.weights, data.strata)
        fit = cox_ph(reduced, [names[i] for i in kept], ties, cluster, robust, conf_level)
        return _with_aliased(fit, aliased, names, x)
    xc, means = centred(x, data.weights, counting=data.entry is not None)
    fitdata = CoxData(xc, data.time, data.event, data.entry, data.weights, data.strata)
    newton = fit_cox(fitdata.sums_at, x.shape[1], ties, names=names, scale=scale)
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
