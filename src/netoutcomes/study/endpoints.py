"""Time-to-event endpoints declared in the protocol (PFS, duration of response, time to
next treatment): a Kaplan-Meier table by cohort, curves and the disjoint comparisons.

Each patient's time comes from ``study.endpoint_times``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from netoutcomes.study.cohorts import SurvivalData, members
from netoutcomes.study.comparisons import (
    TEST_COLUMNS,
    TEST_LABELS,
    adjusted_p_values,
    group_test,
)
from netoutcomes.study.endpoint_times import PfsTime, endpoint_time
from netoutcomes.study.protocol import DurationOfResponse, Endpoint, TimeToNextTreatment
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.results import Curve, StudyResult
from netoutcomes.study.rounding import p_cell
from netoutcomes.study.survival_tables import km_note, km_summary, landmark_columns
from netoutcomes.study.tables import Table

# per kind: the first-event columns (outcome, column, header) and where time starts
FIRST_EVENTS: dict[str, list[tuple[str, str, str]]] = {
    "pfs": [
        ("progression", "progressions", "Progressions"),
        ("death", "deaths", "Deaths without progression"),
    ],
    "duration_of_response": [
        ("progression", "progressions", "Progressions"),
        ("death", "deaths", "Deaths without progression"),
    ],
    "time_to_next_treatment": [
        ("next_treatment", "next_treatments", "Next treatments"),
        ("death", "deaths", "Deaths before a next treatment"),
    ],
}
STARTS = {
    "pfs": "first therapy",
    "duration_of_response": "first response",
    "time_to_next_treatment": "first therapy",
}


def table_id(endpoint: Endpoint) -> str:
    return f"endpoint_{endpoint.id}"


def endpoint_data(
    endpoint: Endpoint,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
    cutoff: dt.date | None,
    entry_agent: str,
) -> tuple[SurvivalData, list[PfsTime]]:
    """The endpoint's times of the patients in its population (all but non-responders)."""
    ids, times = [], []
    for p in patients:
        t = endpoint_time(endpoint, p, entry_dates[p.patient_id], cutoff, entry_agent)
        if t is not None:
            ids.append(p.patient_id)
            times.append(t)
    data = SurvivalData(
        ids,
        np.array([t.time for t in times], dtype=np.float64),
        np.array([t.event for t in times], dtype=bool),
        None,
        sorted({p.patient_id for p in patients} - set(ids)),
    )
    return data, times


def _censoring(endpoint: Endpoint) -> str:
    if isinstance(endpoint, TimeToNextTreatment):
        return "last contact"
    return endpoint.censoring.replace("_", " ")


def endpoint_tables(
    result: StudyResult, patients: list[PatientRecord], entry_dates: dict[str, dt.date]
) -> None:
    """Per endpoint: a Kaplan-Meier table by cohort, curves, and the disjoint comparisons
    of the protocol whose origin is the first therapy."""
    protocol = result.protocol
    spec = protocol.survival
    for endpoint in protocol.endpoints:
        first_events = FIRST_EVENTS[endpoint.kind]
        km_columns, km_labels = landmark_columns(endpoint.landmarks_years, endpoint.label)
        population = " Responders only." if isinstance(endpoint, DurationOfResponse) else ""
        table = result.add_table(
            "survival",
            Table(
                id=table_id(endpoint),
                title=f"{endpoint.label} from {STARTS[endpoint.kind]}",
                columns=["row", "cohort", *km_columns[:2], *(c for _, c, _ in first_events)]
                + [*km_columns[2:], "followup_end", "note"],
                labels=km_labels
                | {c: header for _, c, header in first_events}
                | {
                    "row": "Row",
                    "cohort": "Cohort",
                    "events": "Events",
                    "followup_end": "Follow-up ends (years)",
                    "note": "Note",
                },
                note=km_note(spec, "events")
                + f" Censored at the {_censoring(endpoint)}.{population}",
            ),
        )
        curves: list[Curve] = []
        for cohort in protocol.cohorts:
            data, times = endpoint_data(
                endpoint,
                members(cohort, patients),
                entry_dates,
                spec.data_cutoff,
                protocol.entry.agent,
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
            counts = {c: sum(t.outcome == o for t in times) for o, c, _ in first_events}
            table.add(row=row, cohort=cohort.label, **counts, **summary.cells)
            curves.append(summary.curve)
        result.endpoint_curves[endpoint.id] = curves
        endpoint_comparisons(result, endpoint, patients, entry_dates)


@dataclass(frozen=True)
class EndpointPair:
    """One disjoint comparison of the protocol (from the first therapy) for an endpoint."""

    key: str  # row key, e.g. sb_vs_non_sb
    label: str  # how a reader names it
    row: dict[str, Any]  # comparison, group and versus cells
    data: SurvivalData  # both groups' times (empty when the groups overlap)
    times: list[PfsTime]
    in_group: np.ndarray  # True for ``group``
    overlap: bool  # the two cohorts share patients: no comparison


def endpoint_pairs(
    result: StudyResult,
    endpoint: Endpoint,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
) -> list[EndpointPair]:
    protocol = result.protocol
    out = []
    for c in protocol.comparisons.disjoint:
        if c.origin != "first_therapy":
            continue
        group, versus = protocol.cohort(c.group), protocol.cohort(c.versus)
        a, b = members(group, patients), members(versus, patients)
        ids_a = {p.patient_id for p in a}
        overlap = bool(ids_a & {p.patient_id for p in b})
        agent, cutoff = protocol.entry.agent, protocol.survival.data_cutoff
        data, times = endpoint_data(endpoint, [] if overlap else a + b, entry_dates, cutoff, agent)
        out.append(
            EndpointPair(
                key=f"{c.group}_vs_{c.versus}",
                label=f"{group.label} vs {versus.label}",
                row={
                    "comparison": f"{c.group}_vs_{c.versus}",
                    "group": group.label,
                    "versus": versus.label,
                },
                data=data,
                times=times,
                in_group=np.array([pid in ids_a for pid in data.ids], dtype=bool),
                overlap=overlap,
            )
        )
    return out


def endpoint_comparisons(
    result: StudyResult,
    endpoint: Endpoint,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
) -> None:
    protocol = result.protocol
    spec = protocol.survival
    pairs = endpoint_pairs(result, endpoint, patients, entry_dates)
    if not pairs:
        return
    table = result.add_table(
        "comparisons",
        Table(
            id=f"{table_id(endpoint)}_disjoint",
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
    for pair in pairs:
        table.row_labels[pair.key] = pair.label
        row = dict(pair.row)
        if pair.overlap:
            rows.append(row | {"note": "not disjoint"})
            continue
        tested = group_test(pair.data, pair.in_group, row, spec, "events")
        row |= tested.cells
        if tested.test is None:
            rows.append(row | {"note": tested.note})
            result.warn(f"{endpoint.label}, {pair.label}: {tested.note}")
            continue
        unrounded[len(rows)] = tested.test.logrank_p
        rows.append(row)
    for i, q in adjusted_p_values(unrounded, protocol.comparisons.adjustment).items():
        rows[i]["logrank_p_adjusted"] = p_cell(q)
    for r in rows:
        table.add(**r)
