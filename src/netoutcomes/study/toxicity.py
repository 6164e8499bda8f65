"""Toxicity (protocol ``toxicity:``): worst CTCAE grade per patient by category, the
rate of grade >= threshold by cohort, and the therapy each patient received.

Counted adverse events are treatment-emergent: onset on or after the patient's
first entry therapy and, with a data cut-off, not after it.  A patient's worst
grade in a category is the highest grade of its events whose term is in the
category; a patient without such an event has none ("no event"), and counts
in the denominator: rates are of all analysed patients of the cohort, with
exact (Clopper-Pearson) 95% intervals, as the responses.

Exposure: the entry agent's administrations from the first therapy up to the
data cut-off; cycles per patient and cumulative administered activity (GBq,
sum of ``activity_mbq`` / 1000; a patient with an administration of unknown
activity is left out of the activity summary, and the table says how many
patients it summarises).
"""

from __future__ import annotations

import datetime as dt

from netoutcomes.study import statistics as st
from netoutcomes.study.cohorts import members
from netoutcomes.study.protocol import Toxicity
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.response import add_proportion, proportion_table
from netoutcomes.study.results import StudyResult
from netoutcomes.study.rounding import pct
from netoutcomes.study.tables import Table

# In the response section (the report and results.json show its tables after the
# responses); a section of its own needs the report's heading first.
SECTION = "response"
GRADES = (1, 2, 3, 4, 5)
MBQ_PER_GBQ = 1000.0


def worst_grades(
    toxicity: Toxicity, patient: PatientRecord, start: dt.date, cutoff: dt.date | None
) -> dict[str, int]:
    """category id -> the patient's worst grade among treatment-emergent events (0: none)."""
    events = [
        e
        for e in patient.adverse_events
        if e.onset >= start and (cutoff is None or e.onset <= cutoff)
    ]
    return {
        category: max((e.grade for e in events if e.term in terms), default=0)
        for category, terms in toxicity.category_terms().items()
    }


def worst_grade_table(
    toxicity: Toxicity, labels: dict[str, str], worst: list[dict[str, int]]
) -> Table:
    threshold = toxicity.grade_threshold
    table = Table(
        id="toxicity_worst_grade",
        title="Worst adverse-event grade per patient (CTCAE v5.0), all analysed",
        columns=["category", "total", "no_event", *[f"grade_{g}" for g in GRADES]]
        + ["n_at_threshold", "percent", "ci_lower", "ci_upper"],
        labels={
            "category": "Category",
            "total": "Patients",
            "no_event": "No event",
            **{f"grade_{g}": f"Grade {g}" for g in GRADES},
            "n_at_threshold": f"Grade >= {threshold}",
            "percent": f"Grade >= {threshold} (%)",
            "ci_lower": "95% CI lower (%)",
            "ci_upper": "95% CI upper (%)",
        },
        note=(
            "Each patient counted once per category, at the worst grade of the events that "
            "began on or after the first therapy. Exact (Clopper-Pearson) 95% confidence "
            "intervals; denominator: all analysed."
        ),
    )
    total = len(worst)
    for category, label in labels.items():
        grades = [w[category] for w in worst]
        severe = sum(g >= threshold for g in grades)
        prop = st.proportion(severe, total)
        table.row_labels[category] = label
        table.add(
            category=category,
            total=total,
            no_event=grades.count(0),
            **{f"grade_{g}": grades.count(g) for g in GRADES},
            n_at_threshold=severe,
            percent=pct(prop.estimate),
            ci_lower=pct(prop.lower),
            ci_upper=pct(prop.upper),
        )
    return table


def exposure(
    protocol_agent: str, patient: PatientRecord, cutoff: dt.date | None
) -> tuple[int, float | None]:
    """(cycles, cumulative GBq or None when an activity is unknown) of the entry agent."""
    given = [
        t
        for t in patient.therapies
        if t.agent == protocol_agent and t.date is not None and (cutoff is None or t.date <= cutoff)
    ]
    activities = [t.activity_mbq for t in given]
    known = all(a is not None for a in activities)
    gbq = sum(a for a in activities if a is not None) / MBQ_PER_GBQ if known else None
    return len(given), gbq


def exposure_table(result: StudyResult, analysed: list[PatientRecord]) -> Table:
    protocol = result.protocol
    cutoff = protocol.survival.data_cutoff
    agent = protocol.entry.agent_name
    table = Table(
        id="toxicity_exposure",
        title=f"{agent} received per patient, by cohort",
        columns=[
            "cohort",
            "n",
            "cycles_median",
            "cycles_min",
            "cycles_max",
            "n_activity",
            "gbq_median",
            "gbq_min",
            "gbq_max",
        ],
        labels={
            "cohort": "Cohort",
            "n": "Patients",
            "cycles_median": "Cycles, median",
            "cycles_min": "Cycles, min",
            "cycles_max": "Cycles, max",
            "n_activity": "Patients with every activity recorded",
            "gbq_median": "Cumulative activity (GBq), median",
            "gbq_min": "Cumulative activity (GBq), min",
            "gbq_max": "Cumulative activity (GBq), max",
        },
        note=(
            f"Administrations of {agent} from the first therapy"
            + (f" up to the data cut-off ({cutoff})" if cutoff else "")
            + "; cumulative activity is the sum of the administered activities."
        ),
    )
    for cohort in protocol.cohorts:
        patients = members(cohort, analysed)
        given = [exposure(protocol.entry.agent, p, cutoff) for p in patients]
        cycles = st.median_range([float(c) for c, _ in given])
        activity = st.median_range([g for _, g in given if g is not None])
        table.row_labels[cohort.id] = cohort.label
        table.add(
            cohort=cohort.id,
            n=len(patients),
            cycles_median=cycles.median,
            cycles_min=cycles.minimum,
            cycles_max=cycles.maximum,
            n_activity=sum(g is not None for _, g in given),
            gbq_median=round(activity.median, 2),
            gbq_min=round(activity.minimum, 2),
            gbq_max=round(activity.maximum, 2),
        )
    return table


def toxicity_tables(
    result: StudyResult, analysed: list[PatientRecord], entry_dates: dict[str, dt.date]
) -> None:
    """The worst-grade table, grade >= threshold by cohort, and the exposure table."""
    toxicity = result.protocol.toxicity
    if toxicity is None:
        return
    cutoff = result.protocol.survival.data_cutoff
    labels = toxicity.labels()
    worst = {
        p.patient_id: worst_grades(toxicity, p, entry_dates[p.patient_id], cutoff) for p in analysed
    }
    result.add_table(SECTION, worst_grade_table(toxicity, labels, list(worst.values())))
    threshold = toxicity.grade_threshold
    by_cohort = proportion_table(
        "toxicity_by_cohort",
        f"Patients with a grade >= {threshold} adverse event, by cohort and category",
        "Exact (Clopper-Pearson) 95% confidence intervals; denominator: the cohort's "
        "analysed patients.",
    )
    by_cohort.labels["category"] = "Cohort: category"
    for cohort in result.protocol.cohorts:
        patients = members(cohort, analysed)
        for category, label in labels.items():
            severe = sum(worst[p.patient_id][category] >= threshold for p in patients)
            key = f"{cohort.id}.{category}"
            add_proportion(by_cohort, key, severe, len(patients), f"{cohort.label}: {label}")
    result.add_table(SECTION, by_cohort)
    result.add_table(SECTION, exposure_table(result, analysed))
