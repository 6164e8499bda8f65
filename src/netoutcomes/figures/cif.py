"""Cumulative incidence (competing risks) figures: one panel per cause, groups as colours,
with the number at risk under each panel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from netoutcomes.figures.km import KMPanel, KMSeries, kaplan_meier_figure
from netoutcomes.figures.style import Size
from netoutcomes.survival.cif import CauseCurve, CompetingRisks, cif_at


def cause_series(label: str, curve: CauseCurve) -> KMSeries:
    """One cause's Aalen-Johansen curve from (0, 0), with R's at-risk counts."""

    def at_risk(t: float) -> int:
        return int(round(float(cif_at(curve, np.array([t])).n_risk[0])))

    return KMSeries(
        label=label,
        time=[0.0, *curve.time.tolist()],
        surv=[0.0, *curve.cif.tolist()],
        lower=[0.0, *np.nan_to_num(curve.lower, nan=0.0).tolist()],
        upper=[0.0, *np.nan_to_num(curve.upper, nan=0.0).tolist()],
        at_risk=at_risk,
    )


def cumulative_incidence_figure(
    groups: Sequence[CompetingRisks],
    *,
    cause_labels: Mapping[int, str] | None = None,
    ci: bool = False,
    risk_table: bool = True,
    size: Size = "column",
    xlabel: str = "Years",
    title: str | None = None,
) -> Figure:
    """The cumulative incidence of each cause (one panel per cause), every group a curve.

    ``groups`` is what ``survival.cif.cif_by_group`` returns; ``cause_labels`` names
    the cause codes (default "Cause 1", ...).
    """
    if not groups:
        raise ValueError("cumulative_incidence_figure needs at least one group")
    names = dict(cause_labels or {})
    causes = [c.cause for c in groups[0].causes]
    panels = [
        KMPanel(
            [cause_series(g.label, g.cause(code)) for g in groups],
            title=names.get(code, f"Cause {code}"),
        )
        for code in causes
    ]
    return kaplan_meier_figure(
        panels, risk_table=risk_table, ci=ci, censor_marks=False, size=size,
        xlabel=xlabel, title=title, ylabel="Cumulative incidence (%)",
    )  # fmt: skip
