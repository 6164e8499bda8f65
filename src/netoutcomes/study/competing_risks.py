"""Competing risks of a progression endpoint (PFS, duration of response).

The cumulative incidence of progression, with death without progression as the
competing event, and of that death (Aalen-Johansen, R's multi-state ``survfit``
variance and log intervals), by cohort at the endpoint's landmarks; Gray's test
(``cmprsk::cuminc``) for each disjoint comparison from the first therapy.
1 - Kaplan-Meier of progression alone (deaths censored) would overstate the
incidence of progression: deaths remove patients who can no longer progress.
The honesty rules of ``study.landmarks`` apply (none past the last follow-up).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from netoutcomes.study import statistics as st
from netoutcomes.study.cohorts import members
from netoutcomes.study.endpoint_times import PfsTime
from netoutcomes.study.endpoints import endpoint_data, endpoint_pairs, table_id
from netoutcomes.study.landmarks import follow_up_end, landmark_reason, small_cohort_reason
from netoutcomes.study.protocol import (
    DurationOfResponse,
    ProgressionFreeSurvival,
    TimeToNextTreatment,
)
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.results import StudyResult
from netoutcomes.study.rounding import landmark_key, p_cell, pct
from netoutcomes.study.tables import Table

PROGRESSION, DEATH = 1, 2
CAUSES = {PROGRESSION: "progression", DEATH: "death"}


def status_codes(times: list[PfsTime]) -> np.ndarray:
    """0 censored, 1 progression, 2 death without progression."""
    code = {"censored": 0, "progression": PROGRESSION, "death": DEATH}
    return np.array([code[t.outcome] for t in times], dtype=np.float64)


def competing_risk_tables(
    result: StudyResult, patients: list[PatientRecord], entry_dates: dict[str, dt.date]
) -> None:
    protocol = result.protocol
    for endpoint in protocol.endpoints:
        if isinstance(endpoint, TimeToNextTreatment) or not endpoint.competing_risks:
            continue
        incidence_table(result, endpoint, patients, entry_dates)
        gray_table(result, endpoint, patients, entry_dates)


def incidence_table(
    result: StudyResult,
    endpoint: ProgressionFreeSurvival | DurationOfResponse,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
) -> None:
    protocol = result.protocol
    spec = protocol.survival
    landmarks = endpoint.landmarks_years
    columns = ["row", "cohort", "n", "progressions", "deaths"]
    labels = {"row": "Row", "cohort": "Cohort", "deaths": "Deaths without progression"}
    for t in landmarks:
        k = landmark_key(t)
        for code, name in CAUSES.items():
            c = f"{name}_{k}"
            columns += [c, f"{c}_lower", f"{c}_upper"]
            labels |= {
                c: f"{name.capitalize()} by {t:g} y (%)"
                if code == PROGRESSION
                else f"Death without progression by {t:g} y (%)",
                f"{c}_lower": "95% CI lower",
                f"{c}_upper": "95% CI upper",
            }
        columns.append(f"cif_{k}_note")
        labels[f"cif_{k}_note"] = f"By {t:g} y: why not shown"
    columns += ["followup_end", "note"]
    labels |= {"followup_end": "Follow-up ends (years)", "note": "Note"}
    table = result.add_table(
        "survival",
        Table(
            id=f"{table_id(endpoint)}_cif",
            title=f"{endpoint.label}: cumulative incidence of progression and of death "
            "without progression (competing risks)",
            columns=columns,
            labels=labels,
            note="Aalen-Johansen; R's variance and log-transformed 95% intervals (survfit "
            "multi-state). Not shown past a cohort's last follow-up time.",
        ),
    )
    order = sorted(landmarks)
    for cohort in protocol.cohorts:
        data, times = endpoint_data(
            endpoint, members(cohort, patients), entry_dates, spec.data_cutoff, protocol.entry.agent
        )
        if data.time.size == 0:
            continue
        status = status_codes(times)
        at = st.cumulative_incidence_at(data.time, status, list(CAUSES), order)
        end = follow_up_end(data.time)
        n, events = int(data.time.size), int(data.event.sum())
        small = small_cohort_reason(n, events, spec, "events")
        cells: dict[str, Any] = {
            "n": n,
            "progressions": int((status == PROGRESSION).sum()),
            "deaths": int((status == DEATH).sum()),
            "followup_end": round(end, 2),
            "note": small,
        }
        for t in landmarks:
            k, i = landmark_key(t), order.index(t)
            reason = landmark_reason(t, end, int(at[PROGRESSION].n_risk[i]), spec.min_at_risk)
            cells[f"cif_{k}_note"] = reason
            for code, name in CAUSES.items():
                c, curve = f"{name}_{k}", at[code]
                shown = reason is None
                cells |= {
                    c: pct(float(curve.cif[i])) if shown else None,
                    f"{c}_lower": pct(float(curve.lower[i])) if shown else None,
                    f"{c}_upper": pct(float(curve.upper[i])) if shown else None,
                }
        row = f"{cohort.id}_{endpoint.id}"
        table.row_labels[row] = cohort.label
        table.add(row=row, cohort=cohort.label, **cells)


def gray_table(
    result: StudyResult,
    endpoint: ProgressionFreeSurvival | DurationOfResponse,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
) -> None:
    spec = result.protocol.survival
    pairs = endpoint_pairs(result, endpoint, patients, entry_dates)
    if not pairs:
        return
    table = result.add_table(
        "comparisons",
        Table(
            id=f"{table_id(endpoint)}_gray",
            title=f"{endpoint.label}: Gray's test of the cumulative incidences",
            columns=["comparison", "group", "versus", "n_group", "n_versus"]
            + ["progressions_group", "progressions_versus", "p_progression", "p_death", "note"],
            labels={
                "comparison": "Row",
                "group": "Group",
                "versus": "Versus",
                "p_progression": "Gray p, progression",
                "p_death": "Gray p, death without progression",
            },
            note="Gray's test (cmprsk::cuminc), unadjusted. No test when a group has fewer "
            f"than {spec.min_patients} patients or {spec.min_events} events.",
        ),
    )
    for pair in pairs:
        table.row_labels[pair.key] = pair.label
        status, in_group = status_codes(pair.times), pair.in_group
        row = pair.row | {
            "n_group": int(in_group.sum()),
            "n_versus": int((~in_group).sum()),
            "progressions_group": int((status[in_group] == PROGRESSION).sum()),
            "progressions_versus": int((status[~in_group] == PROGRESSION).sum()),
        }
        small = ["the groups overlap"] if pair.overlap else []
        for side, m in (("group", in_group), ("versus", ~in_group)):
            events = int((status[m] > 0).sum())
            if reason := small_cohort_reason(int(m.sum()), events, spec, "events"):
                small.append(f"{row[side]}: {reason}")
        if small:
            table.add(**row, note="not tested: " + "; ".join(small))
            continue
        time = pair.data.time
        table.add(
            **row,
            p_progression=p_cell(st.gray_p(time, status, in_group, PROGRESSION)),
            p_death=p_cell(st.gray_p(time, status, in_group, DEATH)),
        )
