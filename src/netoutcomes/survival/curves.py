"""Kaplan-Meier summaries for every group: what `netoutcomes stats km` reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
