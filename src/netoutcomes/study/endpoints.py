"""Time-to-event endpoints declared in the protocol: progression-free survival.

PFS runs from the first entry therapy.  The event is the first progression
after it (a registry progression record, or a tumour assessment reading in the
progression categories) or death, whichever is first; without an event a
patient is censored at the last adequate tumour assessment (FDA/EMA), or at
the last contact when the protocol says ``censoring: last_contact``.  A data
cut-off ignores everything after it.  Dates on the therapy day are baseline,
not follow-up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from netoutcomes.study.cohorts import SurvivalData, members, years
from netoutcomes.study.comparisons import (
    TEST_COLUMNS,
    TEST_LABELS,
    adjusted_p_values,
    group_test,
)
from netoutcomes.study.protocol import ProgressionFreeSurvival
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.results import Curve, StudyResult
from netoutcomes.study.rounding import p_cell
from netoutcomes.study.survival_tables import km_note, km_summary, landmark_columns
from netoutcomes.study.tables import Table

PfsOutcome = Literal["progression", "death", "censored"]


@dataclass(frozen=True)
class PfsTime:
    """One patient's PFS: years from the first therapy, and how it ended."""

    time: float
    outcome: PfsOutcome

    @property
    def event(self) -> bool:
        return self.outcome != "censored"


def pfs_time(
    endpoint: ProgressionFreeSurvival,
    patient: PatientRecord,
    start: dt.date,
    cutoff: dt.date | None,
) -> PfsTime:
    def seen(d: dt.date | None) -> bool:
        return d is not None and d > start and (cutoff is None or d <= cutoff)

    readings = [a for a in patient.assessments if a.kind == endpoint.assessment and seen(a.date)]
    progressions = [a.date for a in readings if a.result in endpoint.progression_categories]
    if endpoint.recorded_progressions:
        progressions += [d for d in patient.progressions if seen(d)]
    adequate = [a.date for a in readings if a.result in endpoint.adequate_categories]
    last_adequate = max((d for d in adequate if d is not None), default=start)
    first_progression = min((d for d in progressions if d is not None), default=None)
    death = patient.death_date if seen(patient.death_date) else None
    events: list[tuple[dt.date, PfsOutcome]] = []
    if first_progression is not None:
        events.append((first_progression, "progression"))
    if death is not None:
        events.append((death, "death"))
    if events:
        # the earlier; a progression recorded on the day of death counts as a progression
        when, outcome = min(events, key=lambda e: (e[0], e[1] != "progression"))
        window = endpoint.event_window_days
        if window is None or (when - last_adequate).days <= window:
            return PfsTime(years(start, when), outcome)
        return PfsTime(years(start, last_adequate), "censored")
    if endpoint.censoring == "last_contact":
        last = patient.last_contact or start
        if cutoff is not None and last > cutoff:
            last = cutoff
        return PfsTime(years(start, max(last, start)), "censored")
    return PfsTime(years(start, last_adequate), "censored")


def pfs_data(
    endpoint: ProgressionFreeSurvival,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
    cutoff: dt.date | None,
) -> tuple[SurvivalData, list[PfsTime]]:
    times = [pfs_time(endpoint, p, entry_dates[p.patient_id], cutoff) for p in patients]
    data = SurvivalData(
        [p.patient_id for p in patients],
        np.array([t.time for t in times], dtype=np.float64),
        np.array([t.event for t in times], dtype=bool),
        None,
        [],
    )
    return data, times


def endpoint_tables(
    result: StudyResult, patients: list[PatientRecord], entry_dates: dict[str, dt.date]
) -> None:
    """Per endpoint: a Kaplan-Meier table by cohort, curves, and the disjoint comparisons
    of the protocol whose origin is the first therapy."""
    spec = result.protocol.survival
    for endpoint in result.protocol.endpoints:
        km_columns, km_labels = landmark_columns(endpoint.landmarks_years, "PFS")
        table = result.add_table(
            "survival",
            Table(
                id=f"pfs_{endpoint.id}",
                title=f"{endpoint.label} from first therapy",
                columns=["row", "cohort", *km_columns[:2], "progressions", "deaths"]
                + [*km_columns[2:], "followup_end", "note"],
                labels=km_labels
                | {
                    "row": "Row",
                    "cohort": "Cohort",
                    "events": "Events",
                    "progressions": "Progressions",
                    "deaths": "Deaths without progression",
                    "followup_end": "Follow-up ends (years)",
                    "note": "Note",
                },
                note=km_note(spec, "events")
                + f" Censored at the {endpoint.censoring.replace('_', ' ')}.",
            ),
        )
        curves: list[Curve] = []
        for cohort in result.protocol.cohorts:
            data, times = pfs_data(
                endpoint, members(cohort, patients), entry_dates, spec.data_cutoff
            )
            if data.time.size == 0:
                continue
            summary = km_summary(
                cohort,
                "first_therapy",
                "from_origin",
                data,
                endpoint.landmarks_years,
                spec,
                events_word="events",
            )
            if summary.small is not None:
                result.warn(f"{cohort.label}, {endpoint.label}: {summary.small}")
            row = f"{cohort.id}_{endpoint.id}"
            table.row_labels[row] = cohort.label
            table.add(
                row=row,
                cohort=cohort.label,
                progressions=sum(t.outcome == "progression" for t in times),
                deaths=sum(t.outcome == "death" for t in times),
                **summary.cells,
            )
            curves.append(summary.curve)
        result.endpoint_curves[endpoint.id] = curves
        endpoint_comparisons(result, endpoint, patients, entry_dates)


def endpoint_comparisons(
    result: StudyResult,
    endpoint: ProgressionFreeSurvival,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
) -> None:
    protocol = result.protocol
    spec = protocol.survival
    pairs = [c for c in protocol.comparisons.disjoint if c.origin == "first_therapy"]
    if not pairs:
        return
    table = result.add_table(
        "comparisons",
        Table(
            id=f"pfs_{endpoint.id}_disjoint",
            title=f"{endpoint.label}: disjoint groups (log-rank test, Cox hazard ratio)",
            columns=["comparison", "group", "versus", *TEST_COLUMNS, "note"],
            labels=TEST_LABELS
            | {"logrank_p_adjusted": f"Adjusted p ({protocol.comparisons.adjustment})"},
            note="Log-rank (R survdiff) and Cox PH (Efron ties); p adjusted over this "
            f"endpoint's comparisons. No test when a group has fewer than {spec.min_patients} "
            f"patients or {spec.min_events} events.",
        ),
    )
    rows: list[dict[str, Any]] = []
    unrounded: dict[int, float] = {}
    for c in pairs:
        key = f"{c.group}_vs_{c.versus}"
        group, versus = protocol.cohort(c.group), protocol.cohort(c.versus)
        table.row_labels[key] = f"{group.label} vs {versus.label}"
        row: dict[str, Any] = {"comparison": key, "group": group.label, "versus": versus.label}
        a, b = members(group, patients), members(versus, patients)
        if {p.patient_id for p in a} & {p.patient_id for p in b}:
            rows.append(row | {"note": "not disjoint"})
            continue
        pooled, _ = pfs_data(endpoint, a + b, entry_dates, spec.data_cutoff)
        in_group = np.arange(pooled.time.size) < len(a)  # pfs_data keeps every patient
        tested = group_test(pooled, in_group, row, spec, "events")
        row |= tested.cells
        if tested.test is None:
            rows.append(row | {"note": tested.note})
            result.warn(f"{endpoint.label}, {table.row_labels[key]}: {tested.note}")
            continue
        unrounded[len(rows)] = tested.test.logrank_p
        rows.append(row)
    for i, q in adjusted_p_values(unrounded, protocol.comparisons.adjustment).items():
        rows[i]["logrank_p_adjusted"] = p_cell(q)
    for r in rows:
        table.add(**r)
