"""One survival curve per group, of the kind asked for (R's ``stype``, ``ctype``,
``start.time``), with its median, RMST and landmark values: the kernels
(``survival.hazard.survival_curve``, ``survival.km``) put together per group, as
``survival.curves.km_by_group`` does for the default Kaplan-Meier curve."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netoutcomes.survival.curves import GroupCurve
from netoutcomes.survival.groups import ALL, GroupedTables
from netoutcomes.survival.hazard import HazardType, SurvivalType, survival_curve
from netoutcomes.survival.km import (
    ConfType,
    median_survival,
    restricted_mean,
    survival_at,
)


def group_curves(
    tables: GroupedTables,
    stype: SurvivalType,
    ctype: HazardType,
    conf_type: ConfType,
    conf_level: float,
    start: float | None = None,
    times: Sequence[float] | None = None,
    tau: float | None = None,
) -> list[GroupCurve]:
    """Curves per group in R's order; ``tau`` defaults to the largest exit time of all
    groups (R's ``rmean = "common"``), so the groups' RMSTs are comparable."""
    if tables.strata != [ALL]:
        raise ValueError("group_curves takes tables grouped without strata")
    curves = {
        g: survival_curve(tables.tables[(ALL, g)], stype, ctype, conf_type, conf_level, start)
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
