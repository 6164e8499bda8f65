"""Every statistic the study uses, in one place.

The study asks for Kaplan-Meier curves, log-rank tests, Cox fits, RMST and
survival differences, p-value adjustment and exact binomial intervals only
through this module, so that switching them to the public API
(``netoutcomes.api``, issue 9) is a change here and nowhere else.  Today the
calls go to the survival kernels directly (each equal to R, tested in
``tests/survival``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netoutcomes.survival.cif import CauseAtTimes, aalen_johansen, cif_at
from netoutcomes.survival.counts import CountTable, count_table
from netoutcomes.survival.cox import CoxData, CoxFit, cox_ph
from netoutcomes.survival.cox_zph import cox_zph
from netoutcomes.survival.gray import gray_test
from netoutcomes.survival.groups import grouped_count_tables
from netoutcomes.survival.km import (
    KaplanMeier,
    Median,
    SurvivalAtTimes,
    kaplan_meier,
    median_survival,
    survival_at,
)
from netoutcomes.survival.logrank import logrank
from netoutcomes.survival.multiplicity import adjust_bh, adjust_holm
from netoutcomes.survival.proportions import Proportion, clopper_pearson
from netoutcomes.survival.twosample import Difference, rmst_difference, survival_difference

CONF_LEVEL = 0.95

__all__ = [
    "CONF_LEVEL",
    "CauseAtTimes",
    "CoxFit",
    "CountTable",
    "Difference",
    "KaplanMeier",
    "Median",
    "MedianRange",
    "Proportion",
    "SurvivalAtTimes",
    "TwoGroupTest",
    "adjust_p",
    "counts",
    "cox_fit",
    "cox_zph_p",
    "cumulative_incidence_at",
    "follow_up_median",
    "gray_p",
    "km",
    "median",
    "median_range",
    "proportion",
    "rmst_diff",
    "survival_diff",
    "survival_at_times",
    "two_group_test",
]


def counts(time: np.ndarray, event: np.ndarray, entry: np.ndarray | None) -> CountTable:
    return count_table(time, event, entry)


def km(time: np.ndarray, event: np.ndarray, entry: np.ndarray | None) -> KaplanMeier:
    """Kaplan-Meier (Greenwood variance, log-transformed 95% intervals), as R's survfit."""
    return kaplan_meier(count_table(time, event, entry))


def km_of_counts(table: CountTable) -> KaplanMeier:
    return kaplan_meier(table)


def median(curve: KaplanMeier) -> Median:
    return median_survival(curve)


def survival_at_times(curve: KaplanMeier, times: list[float]) -> SurvivalAtTimes:
    return survival_at(curve, np.array(times, dtype=np.float64))


def follow_up_median(time: np.ndarray, event: np.ndarray, entry: np.ndarray | None) -> float:
    """Median follow-up by the reverse Kaplan-Meier method (death censors follow-up)."""
    return median_survival(kaplan_meier(count_table(time, ~event, entry))).median


def survival_diff(a: KaplanMeier, b: KaplanMeier, t: float) -> Difference:
    return survival_difference(a, b, t, CONF_LEVEL)


def rmst_diff(a: KaplanMeier, b: KaplanMeier, tau: float) -> Difference:
    return rmst_difference(a, b, tau, CONF_LEVEL)


def proportion(count: int, total: int) -> Proportion:
    """Exact (Clopper-Pearson) 95% interval, as R's binom.test."""
    return clopper_pearson(count, total, CONF_LEVEL)


@dataclass(frozen=True)
class MedianRange:
    median: float
    minimum: float
    maximum: float


def median_range(values: list[float]) -> MedianRange:
    """Median (mean of the two middle values when even, as R's median) and range; NaN if empty."""
    if not values:
        nan = float("nan")
        return MedianRange(nan, nan, nan)
    array = np.asarray(values, dtype=np.float64)
    return MedianRange(float(np.median(array)), float(array.min()), float(array.max()))


def adjust_p(p: np.ndarray, method: str) -> np.ndarray:
    """Holm or Benjamini-Hochberg adjusted p-values (R's p.adjust); 'none' returns p."""
    if method == "holm":
        return adjust_holm(p)
    if method == "bh":
        return adjust_bh(p)
    return np.asarray(p, dtype=np.float64)


@dataclass(frozen=True)
class TwoGroupTest:
    """Log-rank test and Cox hazard ratio of ``group`` against ``versus`` (unrounded)."""

    logrank_chisq: float
    logrank_p: float
    hr: float
    hr_lower: float
    hr_upper: float
    cox_p: float


def two_group_test(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray | None, in_group: np.ndarray
) -> TwoGroupTest:
    """Log-rank (R survdiff) and Cox PH with Efron ties and a group indicator (R coxph),
    both with delayed entry when ``entry`` is given."""
    label = np.where(in_group, "group", "versus")
    lr = logrank(grouped_count_tables(time, event, entry, group=("arm", label)))
    fit = cox_ph(CoxData(in_group.astype(np.float64)[:, None], time, event, entry), names=["group"])
    return TwoGroupTest(
        float(lr.chisq),
        float(lr.p),
        float(fit.hr[0]),
        float(fit.hr_lower[0]),
        float(fit.hr_upper[0]),
        float(fit.p[0]),
    )


def cumulative_incidence_at(
    time: np.ndarray, status: np.ndarray, causes: list[int], times: list[float]
) -> dict[int, CauseAtTimes]:
    """Aalen-Johansen cumulative incidence of each cause (status 0 censored, else the cause)
    at ``times``, with R's variance and log intervals (multi-state survfit)."""
    fit = aalen_johansen(time, status, causes=causes, conf_level=CONF_LEVEL)
    grid = np.array(times, dtype=np.float64)
    return {c.cause: cif_at(c, grid) for c in fit.causes}


def gray_p(time: np.ndarray, status: np.ndarray, in_group: np.ndarray, cause: int) -> float:
    """Gray's test of one cause between two groups (cmprsk::cuminc)."""
    (test,) = gray_test(time, status, in_group.astype(np.intp), causes=[cause])
    return float(test.p)


def cox_fit(
    x: np.ndarray,
    names: list[str],
    time: np.ndarray,
    event: np.ndarray,
    entry: np.ndarray | None,
    strata: np.ndarray | None,
) -> CoxFit:
    """Cox proportional hazards, Efron ties, as R's coxph (strata: integer codes)."""
    data = CoxData(x, time, event, entry, None, None if strata is None else strata.astype(np.int64))
    return cox_ph(data, names, conf_level=CONF_LEVEL)


def cox_zph_p(
    fit: CoxFit, time: np.ndarray, event: np.ndarray, entry: np.ndarray | None
) -> dict[str, float]:
    """R's cox.zph(fit) p-value per term and "GLOBAL" (Kaplan-Meier transform); aliased
    terms (coefficient NA) are left out, as R does."""
    kept = [t for t, c in zip(fit.terms, fit.coef, strict=True) if np.isfinite(c)]
    columns = [[j] for j in range(len(kept))]
    test = cox_zph(fit.sums, fit.ties, kept, columns, time, event, entry)
    return dict(zip(test.terms, (float(p) for p in test.p), strict=True))
