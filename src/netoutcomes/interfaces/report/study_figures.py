"""The study's figures: what to draw from a ``StudyResult`` (the drawing is
``netoutcomes.figures``). Every number comes from the result."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from matplotlib.figure import Figure

from netoutcomes.figures import (
    FlowBox,
    FlowStep,
    ForestItem,
    KMPanel,
    KMSeries,
    ProportionPanel,
    consort_figure,
    forest_figure,
    format_p,
    kaplan_meier_figure,
    proportions_figure,
)
from netoutcomes.figures.style import colour, wrap
from netoutcomes.interfaces.report.labels import value_label
from netoutcomes.study.cohorts import primary_method
from netoutcomes.study.results import ORIGIN_LABELS, Curve, StudyResult
from netoutcomes.study.tables import Table

DELAYED_ENTRY_NOTE = (
    "Number at risk counts patients from their study entry (delayed entry at the first "
    "therapy), so it rises in the first years after diagnosis."
)


@dataclass(frozen=True)
class Rendered:
    name: str
    caption: str
    svg: str
    png: bytes


def render(name: str, caption: str, fig: Figure) -> Rendered:
    svg = io.StringIO()
    fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=200, bbox_inches="tight")
    return Rendered(name, caption, svg.getvalue(), png.getvalue())


def flow_steps(result: StudyResult) -> list[FlowStep]:
    """CONSORT 2010 wording; rule counts overlap (a patient failing two rules counts twice)."""
    f = result.screening.flow
    label = f.reason_labels
    failed = [(f"  {label.get(r, r)}", n) for r, n in f.excluded_by_reason.items() if n]
    missing = [(f"  {label.get(r, r)}", n) for r, n in f.cannot_assess_by_reason.items() if n]
    excluded = FlowBox(
        "Excluded",
        f.excluded + f.cannot_assess,
        [("Not meeting inclusion criteria", f.excluded), *failed]
        + [("Eligibility could not be assessed (missing data)", f.cannot_assess), *missing],
        note="A patient failing several criteria is counted under each.",
    )
    agent = result.protocol.entry.agent_name
    return [
        FlowStep(FlowBox("Assessed for eligibility", f.screened), excluded),
        FlowStep(
            FlowBox("Enrolled", f.enrolled),
            FlowBox(f"Did not receive {agent}", f.enrolled - f.treated),
        ),
        FlowStep(
            FlowBox(f"Received {agent}", f.treated),
            FlowBox("Excluded from analysis: no follow-up recorded", f.treated - f.analysed),
        ),
        FlowStep(FlowBox("Analysed", f.analysed)),
    ]


def series(curve: Curve, dashed: bool = False, label: str | None = None) -> KMSeries:
    return KMSeries(
        label=label or curve.cohort_label,
        time=curve.time,
        surv=curve.surv,
        lower=curve.lower,
        upper=curve.upper,
        censor_time=curve.censor_time,
        censor_surv=curve.censor_surv,
        median=curve.median,
        at_risk={r.time: r.at_risk for r in curve.risk_table},
        end=curve.follow_up_end if math.isfinite(curve.follow_up_end) else None,
        dashed=dashed,
    )


def _cell(table: Table | None, row: str, column: str) -> float | None:
    if table is None:
        return None
    try:
        v = table.cell(row, column)
    except KeyError:
        return None
    return float(v) if isinstance(v, int | float) else None


def _ci(estimate: float, lo: float, hi: float, decimals: int) -> str:
    sep = " to " if min(lo, hi) < 0 else "–"
    return f"{estimate:.{decimals}f} (95% CI {lo:.{decimals}f}{sep}{hi:.{decimals}f})".replace(
        "-", "−"
    )


def km_panels(result: StudyResult, origin: str) -> list[KMPanel]:
    """One panel per comparison from this origin (nested cohort vs its containing
    cohort; disjoint group vs group), or one panel of every cohort if none."""
    protocol = result.protocol
    method = primary_method(origin, protocol.survival.delayed_entry)  # type: ignore[arg-type]
    curves = {c.cohort: c for c in result.curves if c.origin == origin and c.method == method}
    order = [c.id for c in protocol.cohorts]

    def colours(*ids: str) -> list[str]:
        return [colour(order.index(i)) for i in ids]

    panels: list[KMPanel] = []
    nested = result.tables.get(f"nested_{origin}")
    last = max(protocol.survival.landmarks_years)
    k = f"{last:g}y"
    for n in protocol.comparisons.nested:
        if n.cohort in curves and n.reference in curves:
            row = f"{n.cohort}_vs_{n.reference}"
            d = [_cell(nested, row, f"diff_{k}{s}") for s in ("", "_lower", "_upper")]
            note = None
            if d[0] is not None and d[1] is not None and d[2] is not None:
                note = f"Difference at {last:g} years:\n{_ci(d[0], d[1], d[2], 1)} points"
            panels.append(
                KMPanel(
                    [series(curves[n.cohort]), series(curves[n.reference])],
                    title=f"{curves[n.cohort].cohort_label} within "
                    f"{curves[n.reference].cohort_label}",
                    annotation=note,
                    colours=colours(n.cohort, n.reference),
                )
            )
    disjoint = result.tables.get("disjoint")
    for c in protocol.comparisons.disjoint:
        if c.origin != origin or c.group not in curves or c.versus not in curves:
            continue
        row = f"{c.group}_vs_{c.versus}_{c.origin}"
        hr = [_cell(disjoint, row, x) for x in ("hr", "hr_lower", "hr_upper")]
        p, p_adj = _cell(disjoint, row, "logrank_p"), _cell(disjoint, row, "logrank_p_adjusted")
        note = None
        if hr[0] is not None and hr[1] is not None and hr[2] is not None:
            note = f"HR {_ci(hr[0], hr[1], hr[2], 2)}"
            if p is not None:
                note += f"\nlog-rank p {_p(p)}" + (f"\nadjusted p {_p(p_adj)}" if p_adj else "")
        if note is None and disjoint is not None:  # not tested: say why on the panel
            why = next((r.get("note") for r in disjoint.rows if r[disjoint.key] == row), None)
            note = wrap(str(why), 48) if why else None
        panels.append(
            KMPanel(
                [series(curves[c.group]), series(curves[c.versus])],
                title=f"{curves[c.group].cohort_label} vs {curves[c.versus].cohort_label}",
                annotation=note,
                colours=colours(c.group, c.versus),
            )
        )
    if not panels and curves:
        ids = [i for i in order if i in curves]
        panels.append(KMPanel([series(curves[i]) for i in ids], colours=colours(*ids)))
    return panels


def _grid_step(result: StudyResult) -> float | None:
    """The x ticks where the study counted patients at risk (its risk-table grid)."""
    times = sorted({r.time for c in result.curves for r in c.risk_table})
    return float(times[1] - times[0]) if len(times) > 1 else None


def _risk_note(result: StudyResult, delayed: bool) -> str | None:
    """The figure's footnote: delayed entry, and how far the at-risk counts go when the
    study counted them only up to its last landmark (the axis runs to the end of
    follow-up, so the last ticks have no count)."""
    notes = [DELAYED_ENTRY_NOTE] if delayed else []
    times = [r.time for c in result.curves for r in c.risk_table]
    ends = [c.follow_up_end for c in result.curves if math.isfinite(c.follow_up_end)]
    if times and ends and max(ends) > max(times):
        notes.append(f"Numbers at risk are given up to {max(times):g} years.")
    return " ".join(notes) or None


def _p(p: float | None) -> str:
    text = format_p(p)
    return text if text.startswith("<") else f"= {text}"


def forest_items(result: StudyResult) -> list[ForestItem]:
    disjoint = result.tables.get("disjoint")
    items = []
    for r in result.forest:
        n = [_cell(disjoint, r.comparison, c) for c in ("n_group", "n_versus")]
        e = [_cell(disjoint, r.comparison, c) for c in ("events_group", "events_versus")]
        items.append(
            ForestItem(
                r.label, r.hr, r.lower, r.upper, r.p,
                n=" / ".join(f"{x:.0f}" for x in n if x is not None),
                events=" / ".join(f"{x:.0f}" for x in e if x is not None),
            )
        )  # fmt: skip
    return items


def response_panels(result: StudyResult) -> list[ProportionPanel]:
    panels = []
    for outcome in result.protocol.outcomes:
        table = result.tables.get(f"response_{outcome.id}")
        if table is None:
            continue
        values = [
            [_cell(table, c, x) or 0.0 for c in outcome.categories]
            for x in ("percent", "ci_lower", "ci_upper")
        ]
        panels.append(
            ProportionPanel(outcome.label, [value_label(c) for c in outcome.categories], *values)
        )
    return panels


def study_figures(result: StudyResult) -> list[Rendered]:
    flow = result.screening.flow
    figures = [
        render(
            "consort",
            f"Patient flow (CONSORT 2010): {flow.analysed} of {flow.screened} patients analysed.",
            consort_figure(flow_steps(result)),
        )
    ]
    if result.protocol.outcomes and result.tables.get(f"response_{result.protocol.outcomes[0].id}"):
        figures.append(
            render(
                "response",
                "Best response, % of analysed patients with exact (Clopper-Pearson) 95% CI.",
                proportions_figure(response_panels(result)),
            )
        )
    spec = result.protocol.survival
    for origin in spec.origins:
        panels = km_panels(result, origin)
        if not panels:
            continue
        delayed = origin == "diagnosis" and spec.delayed_entry
        caption = f"Kaplan-Meier survival from {ORIGIN_LABELS[origin]}"
        caption += ", delayed entry at the first therapy" if delayed else ""
        caption += "; one panel per comparison, ticks mark censored patients."
        fig = kaplan_meier_figure(
            panels, size="page", xlabel=f"Years from {ORIGIN_LABELS[origin]}",
            tick_step=_grid_step(result),
            footnote=_risk_note(result, delayed),
        )  # fmt: skip
        figures.append(
            render(f"km_{origin}", caption + (" " + DELAYED_ENTRY_NOTE if delayed else ""), fig)
        )
    first = result.protocol.cohorts[0].id if result.protocol.cohorts else None
    pair = {c.method: c for c in result.curves if c.origin == "diagnosis" and c.cohort == first}
    if {"delayed_entry", "naive"} <= set(pair):
        d, n = pair["delayed_entry"], pair["naive"]
        fig = kaplan_meier_figure(
            [series(d, label=f"{d.cohort_label}, delayed entry"),
             series(n, dashed=True, label=f"{n.cohort_label}, naive (immortal time)")],
            size="column", xlabel="Years from histological diagnosis", tick_step=_grid_step(result),
            footnote=_risk_note(result, True),
        )  # fmt: skip
        figures.append(
            render(
                "km_naive_gap",
                "Survival from diagnosis with and without delayed entry: the naive curve counts "
                "the years before the first therapy as time at risk (immortal-time bias).",
                fig,
            )
        )
    items = forest_items(result)
    if items:
        fig = forest_figure(
            items, size="page", favours=("favours the first group", "favours the second")
        )
        figures.append(
            render(
                "forest",
                "Hazard ratios (Cox proportional hazards, Efron ties) with 95% CI; n and "
                "events as first / second group.",
                fig,
            )
        )
    return figures
