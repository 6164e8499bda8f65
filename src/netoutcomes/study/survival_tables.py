"""Survival tables and curves: Kaplan-Meier per cohort, origin and analysis method."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from netoutcomes.study import statistics as st
from netoutcomes.study.cohorts import SurvivalData, members, survival_data
from netoutcomes.study.landmarks import follow_up_end, landmark_estimates, small_cohort_reason
from netoutcomes.study.protocol import Cohort, Origin, SurvivalSpec
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.results import (
    METHOD_LABELS,
    ORIGIN_LABELS,
    Curve,
    Method,
    RiskRow,
    StudyResult,
)
from netoutcomes.study.rounding import landmark_key, pct, yrs
from netoutcomes.study.tables import Table


def step_curve(km: st.KaplanMeier) -> tuple[list[float], ...]:
    time = [0.0, *km.time.tolist()]
    surv = [1.0, *km.surv.tolist()]
    lower = [1.0, *np.nan_to_num(km.lower, nan=0.0).tolist()]
    upper = [1.0, *np.nan_to_num(km.upper, nan=0.0).tolist()]
    censored = km.n_censor > 0
    return time, surv, lower, upper, km.time[censored].tolist(), km.surv[censored].tolist()


def risk_table(table: st.CountTable, grid: list[float]) -> list[RiskRow]:
    """At risk at t (entry < t <= exit, R's convention), events and censored up to t."""
    exits = table.n_event + table.n_censor
    rows = []
    for t in grid:
        from_t = table.time >= t
        upto = table.time <= t
        at_risk = exits[from_t].sum() - table.n_enter[from_t].sum()
        rows.append(
            RiskRow(
                t,
                int(round(at_risk)),
                int(round(table.n_event[upto].sum())),
                int(round(table.n_censor[upto].sum())),
            )
        )
    return rows


def follow_up_median(data: SurvivalData) -> float:
    """Median follow-up by the reverse Kaplan-Meier method (death censors follow-up)."""
    return st.follow_up_median(data.time, data.event, data.entry)


def grid_for(landmarks: list[float], horizon: float | None = None) -> list[float]:
    """Times of the at-risk table under a curve: every 1 or 2 years to the last landmark,
    or on to ``horizon`` (the end of follow-up, where the figure's axis ends) when later."""
    step = 2.0 if max(landmarks) > 4 else 1.0
    last = max(max(landmarks), horizon if horizon is not None and np.isfinite(horizon) else 0.0)
    return [float(t) for t in np.arange(0.0, last + 1e-9, step)]


def landmark_columns(landmarks: list[float], what: str) -> tuple[list[str], dict[str, str]]:
    """Median and landmark columns shared by every Kaplan-Meier table (``what``: 'Survival')."""
    columns = ["n", "events", "median", "median_lower", "median_upper"]
    labels = {
        "median": "Median (years)",
        "median_lower": "95% CI lower",
        "median_upper": "95% CI upper",
    }
    for t in landmarks:
        k = landmark_key(t)
        columns += [f"s_{k}", f"s_{k}_lower", f"s_{k}_upper", f"at_risk_{k}", f"s_{k}_note"]
        labels |= {
            f"s_{k}": f"{what} at {t:g} y (%)",
            f"s_{k}_lower": "95% CI lower",
            f"s_{k}_upper": "95% CI upper",
            f"at_risk_{k}": f"At risk at {t:g} y",
            f"s_{k}_note": f"{what} at {t:g} y: why not shown",
        }
    return columns, labels


def km_note(spec: SurvivalSpec, events: str) -> str:
    at_risk = f" or with fewer than {spec.min_at_risk} at risk" if spec.min_at_risk > 1 else ""
    return (
        "Kaplan-Meier; Greenwood variance, log-transformed 95% intervals; "
        "median interval where the confidence limits cross 0.5 (R survfit). "
        f"No estimate past a cohort's last follow-up time (R's extend = FALSE){at_risk}; "
        f"cohorts under {spec.min_patients} patients or {spec.min_events} {events} are flagged."
    )


@dataclass(frozen=True)
class KmSummary:
    cells: dict[str, Any]  # n, events, median and landmark cells, follow-up end, note
    curve: Curve
    small: str | None  # why the cohort is flagged, or None


def km_summary(
    cohort: Cohort,
    origin: Origin,
    method: Method,
    data: SurvivalData,
    landmarks: list[float],
    spec: SurvivalSpec,
    events_word: str = "deaths",
    horizon: float | None = None,
) -> KmSummary:
    """One cohort's Kaplan-Meier: its table cells (honesty rules applied) and its curve;
    ``horizon``: the at-risk table runs on to it (the end of follow-up of the figure)."""
    counts = st.counts(data.time, data.event, data.entry)
    km = st.km_of_counts(counts)
    med = st.median(km)
    end = follow_up_end(data.time)
    estimates = landmark_estimates(km, end, landmarks, spec.min_at_risk)
    n, events = int(data.time.size), int(data.event.sum())
    small = small_cohort_reason(n, events, spec, events_word)
    cells: dict[str, Any] = {
        "n": n,
        "events": events,
        "median": yrs(med.median),
        "median_lower": yrs(med.lower),
        "median_upper": yrs(med.upper),
        "followup_end": yrs(end),
        "note": small,
    }
    for est in estimates:
        k = landmark_key(est.time)
        cells |= {
            f"s_{k}": pct(est.surv),
            f"s_{k}_lower": pct(est.lower),
            f"s_{k}_upper": pct(est.upper),
            f"at_risk_{k}": est.at_risk,
            f"s_{k}_note": est.reason,
        }
    time, surv, lower, upper, c_time, c_surv = step_curve(km)
    curve = Curve(
        cohort=cohort.id,
        cohort_label=cohort.label,
        origin=origin,
        method=method,
        n=n,
        events=events,
        time=time,
        surv=surv,
        lower=lower,
        upper=upper,
        censor_time=c_time,
        censor_surv=c_surv,
        median=float(med.median),
        landmarks={landmark_key(e.time): e.surv for e in estimates},
        risk_table=risk_table(counts, grid_for(landmarks, horizon)),
        warning=small,
        follow_up_end=end,
    )
    return KmSummary(cells, curve, small)


def survival_tables(
    result: StudyResult,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
) -> None:
    spec = result.protocol.survival
    landmarks = spec.landmarks_years
    for origin in spec.origins:
        methods: list[Method] = (
            (["delayed_entry", "naive"] if spec.delayed_entry else ["naive"])
            if origin == "diagnosis"
            else ["from_origin"]
        )
        km_columns, km_labels = landmark_columns(landmarks, "Survival")
        columns = ["row", "cohort", "method", *km_columns[:5], "followup_median"]
        columns += [*km_columns[5:], "followup_end", "note"]
        labels = km_labels | {
            "row": "Row",
            "cohort": "Cohort",
            "method": "Analysis",
            "followup_median": "Median follow-up (years, reverse KM)",
            "followup_end": "Follow-up ends (years)",
            "note": "Note",
        }
        table = result.add_table(
            "survival",
            Table(
                id=f"survival_{origin}",
                title=f"Survival from {ORIGIN_LABELS[origin]}",
                columns=columns,
                labels=labels,
                note=km_note(spec, "deaths")
                + (
                    " With delayed entry a patient is at risk from the first therapy, so the "
                    "number at risk is 0 at diagnosis and rises as patients are treated."
                    if origin == "diagnosis" and spec.delayed_entry
                    else ""
                ),
            ),
        )
        # Every curve's at-risk table runs to the end of follow-up of the whole registry
        # for this origin, where the figures' shared x axis ends.
        everyone = survival_data(patients, entry_dates, origin, methods[0], spec.data_cutoff)
        horizon = follow_up_end(everyone.time) if everyone.time.size else None
        for cohort in result.protocol.cohorts:
            cohort_patients = members(cohort, patients)
            for method in methods:
                data = survival_data(cohort_patients, entry_dates, origin, method, spec.data_cutoff)
                if data.time.size == 0:
                    continue
                summary = km_summary(cohort, origin, method, data, landmarks, spec, horizon=horizon)
                if summary.small is not None:
                    result.warn(
                        f"{cohort.label}, survival from {ORIGIN_LABELS[origin]}: "
                        f"{summary.small}; estimates are imprecise"
                    )
                row = f"{cohort.id}_{method}"
                table.row_labels[row] = f"{cohort.label} ({METHOD_LABELS[method]})"
                table.add(
                    row=row,
                    cohort=cohort.label,
                    method=METHOD_LABELS[method],
                    followup_median=yrs(follow_up_median(data)),
                    **summary.cells,
                )
                result.curves.append(summary.curve)
        if origin == "diagnosis" and spec.delayed_entry:
            result.add_table("survival", immortal_time_gap(table, result, landmarks))


def immortal_time_gap(survival: Table, result: StudyResult, landmarks: list[float]) -> Table:
    """Naive minus delayed-entry survival at each landmark: the immortal-time bias."""
    columns = ["cohort_id", "cohort"]
    labels = {"cohort_id": "Row", "cohort": "Cohort"}
    for t in landmarks:
        k = landmark_key(t)
        columns += [f"delayed_{k}", f"naive_{k}", f"gap_{k}"]
        labels |= {
            f"delayed_{k}": f"Delayed entry {t:g} y (%)",
            f"naive_{k}": f"Naive {t:g} y (%)",
            f"gap_{k}": f"Gap {t:g} y (points)",
        }
    table = Table(
        id="immortal_time_gap",
        title="Survival from diagnosis: naive curve minus delayed-entry curve",
        columns=columns,
        labels=labels,
        note="The naive curve counts the years between diagnosis and therapy, which every "
        "treated patient had to survive, as time at risk (immortal-time bias).",
    )
    for cohort in result.protocol.cohorts:
        try:
            delayed = {c: survival.cell(f"{cohort.id}_delayed_entry", c) for c in survival.columns}
            naive = {c: survival.cell(f"{cohort.id}_naive", c) for c in survival.columns}
        except KeyError:
            continue
        values: dict[str, Any] = {}
        for t in landmarks:
            k = landmark_key(t)
            d, n = delayed[f"s_{k}"], naive[f"s_{k}"]
            gap = round(float(n) - float(d), 1) if d is not None and n is not None else None
            values |= {f"delayed_{k}": d, f"naive_{k}": n, f"gap_{k}": gap}
        table.add(cohort_id=cohort.id, cohort=cohort.label, **values)
        table.row_labels[cohort.id] = cohort.label
    return table
