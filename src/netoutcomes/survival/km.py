"""Kaplan-Meier, Nelson-Aalen, Greenwood and pointwise confidence intervals, as R's ``survfit``.

Everything here works on one :class:`~netoutcomes.survival.counts.CountTable`
(one stratum) and follows R's ``survival`` (3.5) to the digit:

- rows are the distinct *exit* times (event or censoring), as ``survfit`` prints
  them; entry times alone do not make a row;
- ``std_err_cumhaz`` is R's ``fit$std.err``: Greenwood's standard error of
  ``log S``, ``sqrt(cumsum(d / (n (n - d))))``; it is ``inf`` from the time the
  curve drops to 0 (n == d), as in R;
- intervals use R's ``survfit_confint``: ``log`` (default) and ``log-log`` are
  undefined (NaN) where S = 0, ``log-log`` also where S = 1; ``plain`` is
  clipped to [0, 1]; ``log`` has its upper limit clipped at 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

from netoutcomes.survival.counts import CountTable, FloatArray

ConfType = Literal["log", "log-log", "plain"]
CONF_TYPES: tuple[ConfType, ...] = ("log", "log-log", "plain")


@dataclass(frozen=True)
class KaplanMeier:
    """One stratum's curve at its distinct exit times (R's ``survfit`` rows)."""

    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    n_censor: FloatArray
    surv: FloatArray
    std_err_cumhaz: FloatArray
    lower: FloatArray
    upper: FloatArray
    cumhaz: FloatArray
    n: int
    conf_type: ConfType
    conf_level: float
    # R's fit$std.chaz: the standard error of ``cumhaz`` (sqrt(sum d / n^2) for
    # Nelson-Aalen); None where the curve was built without it
    std_chaz: FloatArray | None = None
    # R's start.time: the curve is conditional on surviving to it (survival.hazard.
    # conditional_table); None for R's default origin min(0, first time)
    origin: float | None = None

    @property
    def events(self) -> float:
        return float(self.n_event.sum())


def normal_quantile(p: float) -> float:
    """R's ``qnorm(p)``, bit for bit: both are Wichura's AS241
    (tests/survival/test_km_quantile.py).  Not scipy's ``ndtri``: it differs from R by up
    to a few ulp, and importing it costs ~0.1 s of ``stats km``'s start-up."""
    return NormalDist().inv_cdf(p)


def z_value(conf_level: float) -> float:
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    return normal_quantile(1.0 - (1.0 - conf_level) / 2.0)


def confidence_interval(
    surv: FloatArray, se_log: FloatArray, conf_type: ConfType, conf_level: float
) -> tuple[FloatArray, FloatArray]:
    """Pointwise interval of S from the standard error of log S (R's ``survfit_confint``)."""
    z = z_value(conf_level)
    p = np.asarray(surv, dtype=np.float64)
    se = np.asarray(se_log, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            half = se * p * z
            return np.maximum(p - half, 0.0), np.minimum(p + half, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            half = z * se
            return np.exp(np.log(xx) - half), np.minimum(np.exp(np.log(xx) + half), 1.0)
        if conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            half = z * se / np.log(xx)
            loglog = np.log(-np.log(xx))
            return np.exp(-np.exp(loglog - half)), np.exp(-np.exp(loglog + half))
    raise ValueError(f"unknown conf_type {conf_type!r}; use one of {', '.join(CONF_TYPES)}")


def greenwood_terms(n_risk: FloatArray, n_event: FloatArray) -> FloatArray:
    """d / (n (n - d)) per time, as R adds it: inf where everybody at risk dies (S drops to 0).

    No special case where n < d: that happens only by rounding (delayed entry with
    fractional weights, n = 1.9 - 0.9 < d = 1), and there R's term is the formula's huge
    negative number, so its std.err is NaN, not inf.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = n_event / (n_risk * (n_risk - n_event))
    return np.where(n_event == 0, 0.0, terms)


def kaplan_meier(
    table: CountTable, conf_type: ConfType = "log", conf_level: float = 0.95
) -> KaplanMeier:
    """Kaplan-Meier curve, Greenwood SE of log S, Nelson-Aalen hazard and intervals."""
    rows = table.exit_rows
    n_risk = table.n_risk[rows]
    n_event = table.n_event[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n_event > 0, n_event / n_risk, 0.0)
        hazard_var = np.where(n_event > 0, n_event / n_risk**2, 0.0)
    surv = np.asarray(np.cumprod(1.0 - hazard), dtype=np.float64)
    with np.errstate(invalid="ignore"):  # NaN where n < d by rounding, as R
        se_log = np.sqrt(np.cumsum(greenwood_terms(n_risk, n_event)))
    lower, upper = confidence_interval(surv, se_log, conf_type, conf_level)
    return KaplanMeier(
        time=table.time[rows],
        n_risk=n_risk,
        n_event=n_event,
        n_censor=table.n_censor[rows],
        surv=surv,
        std_err_cumhaz=se_log,
        lower=lower,
        upper=upper,
        cumhaz=np.cumsum(hazard),
        n=table.n,
        conf_type=conf_type,
        conf_level=conf_level,
        std_chaz=np.sqrt(np.cumsum(hazard_var)),
    )


@dataclass(frozen=True)
class _CurveFromStart:
    """The curve with R's ``survfit0`` row prepended: S = 1 at the start time."""

    time: FloatArray
    n_risk: FloatArray
    surv: FloatArray
    std_err_cumhaz: FloatArray
    lower: FloatArray
    upper: FloatArray


def start_time(km: KaplanMeier) -> float:
    """The curve's origin: R's ``start.time`` when given, else R's default ``min(0, time)``."""
    if km.origin is not None:
        return km.origin
    return float(min(0.0, km.time.min())) if km.time.size else 0.0


def _from_start(km: KaplanMeier) -> _CurveFromStart:
    t0 = start_time(km)
    if km.time.size and km.time[0] == t0:
        return _CurveFromStart(km.time, km.n_risk, km.surv, km.std_err_cumhaz, km.lower, km.upper)

    def prepend(x: FloatArray, value: float) -> FloatArray:
        return np.concatenate([[value], x])

    first_risk = float(km.n_risk[0]) if km.n_risk.size else 0.0
    return _CurveFromStart(
        prepend(km.time, t0),
        prepend(km.n_risk, first_risk),
        prepend(km.surv, 1.0),
        prepend(km.std_err_cumhaz, 0.0),
        prepend(km.lower, 1.0),
        prepend(km.upper, 1.0),
    )


@dataclass(frozen=True)
class SurvivalAtTimes:
    """R's ``summary(fit, times=, extend=TRUE)``: ``std_err`` is the SE of S itself."""

    time: FloatArray
    n_risk: FloatArray
    surv: FloatArray
    std_err: FloatArray
    lower: FloatArray
    upper: FloatArray


def survival_at(km: KaplanMeier, times: FloatArray) -> SurvivalAtTimes:
    """S, its SE and interval at each time (the last value at or before it) and n at risk.

    As R: ``n_risk`` is the number at risk at the first curve time at or after
    ``t`` (0 beyond the last time); times before the first row read the
    prepended start row (S = 1).
    """
    times = np.sort(np.asarray(times, dtype=np.float64))
    curve = _from_start(km)
    at_or_before = np.maximum(np.searchsorted(curve.time, times, side="right") - 1, 0)
    first_at_or_after = np.searchsorted(curve.time, times, side="left")
    n_risk = np.concatenate([curve.n_risk, [0.0]])[first_at_or_after]
    surv = curve.surv[at_or_before]
    with np.errstate(invalid="ignore"):
        std_err = curve.std_err_cumhaz[at_or_before] * surv
    return SurvivalAtTimes(
        time=times,
        n_risk=n_risk,
        surv=surv,
        std_err=std_err,
        lower=curve.lower[at_or_before],
        upper=curve.upper[at_or_before],
    )


_TOLERANCE = float(np.sqrt(np.finfo(np.float64).eps))


def _first_below_half(y: FloatArray, x: FloatArray) -> float:
    """R's ``survmean`` ``minmin``: the first time a curve is below 0.5.

    If the curve sits at exactly 0.5 on a flat stretch, the midpoint of that
    stretch (its first time and the time the curve next drops); if it never
    drops below 0.5 afterwards, the first time.  NaN (R's NA) when never below.
    """
    keep = ~np.isnan(y) & (y < 0.5 + _TOLERANCE)
    if not keep.any():
        return float("nan")
    xs, ys = x[keep], y[keep]
    if abs(ys[0] - 0.5) < _TOLERANCE:
        lower_later = np.flatnonzero(ys < ys[0])
        if lower_later.size:
            return float((xs[0] + xs[lower_later[0]]) / 2.0)
    return float(xs[0])


@dataclass(frozen=True)
class Median:
    """Median survival with R's interval (where the lower / upper curves cross 0.5)."""

    median: float
    lower: float
    upper: float


def median_survival(km: KaplanMeier) -> Median:
    """Median and its interval exactly as R's ``print.survfit`` / ``summary(fit)$table``."""
    curve = _from_start(km)
    return Median(
        median=_first_below_half(curve.surv, curve.time),
        lower=_first_below_half(curve.lower, curve.time),
        upper=_first_below_half(curve.upper, curve.time),
    )


def _find_quantile(x: FloatArray, failure: FloatArray, p: float, smallest: float) -> float:
    """R's ``findq``: the time the cumulative failure curve reaches ``p`` (mid-flat rule).

    ``smallest`` is the smallest probability asked in the same call: R gives NA for
    all of them when the curve never reaches that one (otherwise a p a rounding error
    above the curve's end still takes the end-of-curve rule)."""
    # failure[0] is the 0 prepended at the origin, so there is always a finite value
    if np.nanmax(failure) < smallest:
        return float("nan")
    xmax = x[-1]
    # Keep the first occurrence of each value (R's duplicated(), NA counting as a value).
    seen: set[float | None] = set()
    first = np.zeros(failure.size, dtype=bool)
    for i, v in enumerate(failure):
        key = None if np.isnan(v) else float(v)
        if key not in seen:
            seen.add(key)
            first[i] = True
    x, y = x[first], failure[first]
    idx = np.arange(y.size)
    valid = ~np.isnan(y)

    def first_reaching(shifted: FloatArray) -> int | None:
        # approx(shifted, index, p, method="constant", f=1): the first index whose value >= p,
        # NA outside the range of the (non-NA) values (never empty: y[0] is the origin's 0).
        s, i = shifted[valid], idx[valid]
        if p < s.min() or p > s.max():
            return None
        return int(i[np.flatnonzero(s >= p)[0]])

    i1 = first_reaching(y + _TOLERANCE)
    i2 = first_reaching(y - _TOLERANCE)
    # R sets p = 0 to the first time, then overrides it with the end-of-curve rule:
    # a curve whose last distinct value is p gives the midpoint with the last time
    # (NA where p is not reached within the tolerance, e.g. p = 0 on a flat upper curve).
    # A NaN last value never takes it: abs(p - NaN) < tol is False.
    if abs(p - y[-1]) < _TOLERANCE:
        return float((x[i1] + xmax) / 2.0) if i1 is not None else float("nan")
    if p == 0:
        return float(x[0])
    if i1 is None or i2 is None:
        return float("nan")
    return float((x[i1] + x[i2]) / 2.0)


@dataclass(frozen=True)
class Quantile:
    probability: float
    time: float
    lower: float
    upper: float


def quantiles(km: KaplanMeier, probabilities: FloatArray) -> list[Quantile]:
    """Survival-time quantiles and their intervals as R's ``quantile.survfit``.

    ``probability`` p is the fraction that has failed (p = 0.5 is the median).  As R,
    the curve is read from time 0 (not ``min(0, time)``: R's ``quantile.survfit`` uses
    0 unless the fit has a ``start.time``), where the cumulative failure is 0.
    """
    x = np.concatenate([[0.0 if km.origin is None else km.origin], km.time])

    def failure(curve: FloatArray) -> FloatArray:
        return np.concatenate([[0.0], 1.0 - curve])

    probs = np.asarray(probabilities, dtype=np.float64)
    for p in probs:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {p}")
    smallest = float(np.min(probs, initial=np.inf))
    return [
        Quantile(
            probability=float(p),
            time=_find_quantile(x, failure(km.surv), float(p), smallest),
            lower=_find_quantile(x, failure(km.lower), float(p), smallest),
            upper=_find_quantile(x, failure(km.upper), float(p), smallest),
        )
        for p in probs
    ]


@dataclass(frozen=True)
class RestrictedMean:
    """Restricted mean survival time up to ``tau`` and its SE (R's ``rmean``)."""

    rmst: float
    se: float
    tau: float


def restricted_mean(km: KaplanMeier, tau: float) -> RestrictedMean:
    """Area under the curve from R's start time to ``tau``, SE as R's ``survmean``.

    Var = sum over event times t_i <= tau of (area from t_i to tau)^2 d/(n (n - d)),
    with the term taken as 0 where n == d (as R).
    """
    t0 = start_time(km)
    if tau < t0:
        raise ValueError(f"tau {tau} is before the start of the curve ({t0})")
    keep = km.time <= tau
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(
            km.n_risk - km.n_event == 0,
            0.0,
            km.n_event / (km.n_risk * (km.n_risk - km.n_event)),
        )
    # the curve's times up to tau, then tau: rectangle i spans (t_{i-1}, t_i] at the S of
    # t_{i-1} (1 before the first time); the S at tau itself multiplies nothing
    times = np.concatenate([km.time[keep], [tau]])
    widths = np.diff(np.concatenate([[t0], times]))
    rectangles = widths * np.concatenate([[1.0], km.surv[keep]])
    # area after each time i (from t_i to tau): sum of rectangles j > i
    area_after = np.cumsum(rectangles[::-1])[::-1] - rectangles
    # one variance term per curve time up to tau (none for tau itself)
    variance = float(np.sum(area_after[:-1] ** 2 * hh[keep]))
    return RestrictedMean(
        rmst=float(rectangles.sum() + t0), se=float(np.sqrt(variance)), tau=float(tau)
    )
