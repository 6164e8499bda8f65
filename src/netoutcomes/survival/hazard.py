"""Survival curves from the cumulative hazard, and curves conditional on a start time.

As R's ``survfit(..., stype=, ctype=, start.time=)`` (survival 3.5), on one count table:

- ``ctype`` (the cumulative hazard): ``"nelson-aalen"`` (R's ``ctype = 1``),
  ``H = sum d / n`` with variance ``sum d / n^2``; ``"fleming-harrington"`` (R's
  ``ctype = 2``), the Fleming-Harrington correction for ties: d tied deaths at n at
  risk add ``sum_{j<d} 1 / (n - j)`` with variance ``sum_{j<d} 1 / (n - j)^2``
  (as if the deaths came one at a time).
- ``stype`` (the survival curve): ``"kaplan-meier"`` (R's ``stype = 1``: the product
  limit with Greenwood's SE of log S) or ``"exp-hazard"`` (R's ``stype = 2``:
  ``S = exp(-H)``, whose SE of log S is the SE of H).  With ``stype = 2, ctype = 1``
  this is the Nelson-Aalen (Breslow) estimate; with ``ctype = 2`` the
  Fleming-Harrington one.
- ``start``: R's ``start.time``: rows that leave before it are dropped (R keeps the
  rows with exit time >= start), so the curve is conditional on surviving to
  ``start``; its median, quantiles, RMST and ``survival_at`` read it from ``start``.

Intervals are R's ``survfit_confint`` on whichever S and SE of log S the curve has.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from netoutcomes.survival.counts import CountTable, FloatArray
from netoutcomes.survival.km import (
    ConfType,
    KaplanMeier,
    confidence_interval,
    kaplan_meier,
)

HazardType = Literal["nelson-aalen", "fleming-harrington"]
SurvivalType = Literal["kaplan-meier", "exp-hazard"]
HAZARD_TYPES: tuple[HazardType, ...] = ("nelson-aalen", "fleming-harrington")
SURVIVAL_TYPES: tuple[SurvivalType, ...] = ("kaplan-meier", "exp-hazard")


@dataclass(frozen=True)
class CumulativeHazard:
    """R's ``fit$cumhaz`` and ``fit$std.chaz`` at the curve's exit times."""

    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    cumhaz: FloatArray
    std_err: FloatArray
    ctype: HazardType


def _tied_deaths(n_event: FloatArray) -> FloatArray:
    """The number of deaths per time; ctype 2 needs whole deaths (unit weights)."""
    deaths = np.rint(n_event)
    if not np.allclose(deaths, n_event, rtol=0.0, atol=1e-9):
        raise ValueError(
            "the Fleming-Harrington hazard needs whole numbers of deaths (no case weights)"
        )
    return deaths


def cumulative_hazard(table: CountTable, ctype: HazardType = "nelson-aalen") -> CumulativeHazard:
    """The cumulative hazard and its standard error, as R's ``survfit(..., ctype=)``."""
    if ctype not in HAZARD_TYPES:
        raise ValueError(f"unknown ctype {ctype!r}; use one of {', '.join(HAZARD_TYPES)}")
    rows = table.exit_rows
    n_risk, n_event = table.n_risk[rows], table.n_event[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        if ctype == "nelson-aalen":
            step = np.where(n_event > 0, n_event / n_risk, 0.0)
            step_var = np.where(n_event > 0, n_event / n_risk**2, 0.0)
        else:
            deaths = _tied_deaths(n_event)
            # one term per tied death: 1 / (n - j), j = 0 .. d - 1
            per_death = np.repeat(np.arange(deaths.size), deaths.astype(np.intp))
            j = np.arange(per_death.size) - np.repeat(
                np.cumsum(deaths) - deaths, deaths.astype(np.intp)
            )
            share = 1.0 / (n_risk[per_death] - j)
            step = np.bincount(per_death, weights=share, minlength=deaths.size)
            step_var = np.bincount(per_death, weights=share**2, minlength=deaths.size)
    return CumulativeHazard(
        time=table.time[rows],
        n_risk=n_risk,
        n_event=n_event,
        cumhaz=np.cumsum(step),
        std_err=np.sqrt(np.cumsum(step_var)),
        ctype=ctype,
    )


def conditional_table(table: CountTable, start: float) -> CountTable:
    """The table of the rows with exit time >= ``start`` (R's ``start.time``).

    Dropping a row that exits before ``start`` changes nobody's risk set at or after
    ``start`` (its entry is before its exit), so its exits are removed and every entry
    kept.  ``n`` is the number of rows kept (weighted when the table is)."""
    before = table.time < start
    kept = np.where(before, 0.0, table.n_event + table.n_censor)
    return CountTable(
        time=table.time,
        n_event=np.where(before, 0.0, table.n_event),
        n_censor=np.where(before, 0.0, table.n_censor),
        n_enter=table.n_enter,
        n=int(round(float(kept.sum()))),
    )


def survival_curve(
    table: CountTable,
    stype: SurvivalType = "kaplan-meier",
    ctype: HazardType = "nelson-aalen",
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
    start: float | None = None,
) -> KaplanMeier:
    """R's ``survfit(Surv(...) ~ 1, stype=, ctype=, conf.type=, conf.int=, start.time=)``.

    The result is a :class:`~netoutcomes.survival.km.KaplanMeier` (so ``median_survival``,
    ``quantiles``, ``survival_at`` and ``restricted_mean`` read it as R's ``print``,
    ``quantile`` and ``summary`` read such a fit): ``surv`` the product limit or
    ``exp(-cumhaz)``, ``std_err_cumhaz`` R's ``std.err`` (Greenwood's SE of log S, or the
    SE of the cumulative hazard for ``exp-hazard``), ``cumhaz`` and ``std_chaz`` of the
    chosen ``ctype``, ``origin`` = ``start``.
    """
    if stype not in SURVIVAL_TYPES:
        raise ValueError(f"unknown stype {stype!r}; use one of {', '.join(SURVIVAL_TYPES)}")
    if start is not None:
        table = conditional_table(table, start)
    km = kaplan_meier(table, conf_type, conf_level)
    hazard = cumulative_hazard(table, ctype)
    if stype == "kaplan-meier":
        return replace(km, cumhaz=hazard.cumhaz, std_chaz=hazard.std_err, origin=start)
    surv = np.exp(-hazard.cumhaz)
    lower, upper = confidence_interval(surv, hazard.std_err, conf_type, conf_level)
    return replace(
        km,
        surv=surv,
        std_err_cumhaz=hazard.std_err,
        lower=lower,
        upper=upper,
        cumhaz=hazard.cumhaz,
        std_chaz=hazard.std_err,
        origin=start,
    )
