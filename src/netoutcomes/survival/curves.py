"""Kaplan-Meier summaries for every group: what `netoutcomes stats km` reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from netoutcomes.survival.groups import ALL, GroupedTables
from netoutcomes.survival.km import (
    ConfType,
    KaplanMeier,
    Median,
    RestrictedMean,
    SurvivalAtTimes,
    kaplan_meier,
    median_survival,
    restricted_mean,
    survival_at,
)

if TYPE_CHECKING:
    from netoutcomes.survival.twosample import Difference


@dataclass(frozen=True)
class GroupCurve:
    """One group's curve with its median, RMST and (optionally) landmark values."""

    label: str
    km: KaplanMeier
    median: Median
    rmst: RestrictedMean
    at_times: SurvivalAtTimes | None


def km_by_group(
    tables: GroupedTables,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
    times: Sequence[float] | None = None,
    tau: float | None = None,
) -> list[GroupCurve]:
    """Curves per group in R's order (strata of ``tables`` must be just "all").

    ``tau`` defaults to the largest exit time over all groups (R's
    ``print(fit, rmean = "common")``), so groups' RMSTs are comparable.
    """
    if tables.strata != [ALL]:
        raise ValueError("km_by_group takes tables grouped without strata")
    curves = {
        g: kaplan_meier(tables.tables[(ALL, g)], conf_type, conf_level)
        for g in tables.groups
        if (ALL, g) in tables.tables
    }
    if tau is None:
        tau = max(float(km.time.max()) for km in curves.values() if km.time.size)
    at = None if times is None else np.asarray(times, dtype=np.float64)
    return [
        GroupCurve(
            label=g,
            km=km,
            median=median_survival(km),
            rmst=restricted_mean(km, tau),
            at_times=None if at is None else survival_at(km, at),
        )
        for g, km in curves.items()
    ]


@dataclass(frozen=True)
class TwoGroupDifferences:
    """First group minus second: survival at each landmark time, and RMST up to tau."""

    group_a: str
    group_b: str
    at_times: list[tuple[float, Difference]]
    rmst: Difference
    tau: float


def two_group_differences(
    curves: Sequence[GroupCurve], times: Sequence[float] | None, conf_level: float = 0.95
) -> TwoGroupDifferences | None:
    """Differences between exactly two groups (None otherwise), at the curves' RMST tau."""
    if len(curves) != 2:
        return None
    # Deferred: twosample imports scipy.special (~0.15 s), which `stats km` with one
    # group or more than two never needs.
    from netoutcomes.survival.twosample import rmst_difference, survival_difference

    a, b = curves
    tau = a.rmst.tau
    return TwoGroupDifferences(
        group_a=a.label,
        group_b=b.label,
        at_times=[(t, survival_difference(a.km, b.km, t, conf_level)) for t in times or []],
        rmst=rmst_difference(a.km, b.km, tau, conf_level),
        tau=tau,
    )
