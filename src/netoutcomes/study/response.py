"""Best response to the entry therapy, per outcome of the protocol."""

from __future__ import annotations

import datetime as dt

from netoutcomes.study import statistics as st
from netoutcomes.study.protocol import ResponseOutcome
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.rounding import pct
from netoutcomes.study.tables import Table

NOT_ASSESSED = "not_assessed"


def best_response(outcome: ResponseOutcome, patient: PatientRecord, start: dt.date) -> str | None:
    """Best category recorded from the first therapy until the first worst-category
    reading (for RECIST: until progression); categories not on the scale are ignored."""
    rank = {c: i for i, c in enumerate(outcome.categories)}
    readings = sorted(
        (a.date, a.result)
        for a in patient.assessments
        if a.kind == outcome.assessment
        and a.date is not None
        and a.date >= start
        and a.result in rank
    )
    best: str | None = None
    for _, result in readings:
        if best is None or rank[result] < rank[best]:
            best = result
        if rank[result] == len(outcome.categories) - 1:
            break
    return best


PROPORTION_NOTE = "Exact (Clopper-Pearson) 95% confidence intervals; denominator: all analysed."


def proportion_table(table_id: str, title: str, note: str = PROPORTION_NOTE) -> Table:
    """A table of counts, each with its percentage of all analysed and exact interval."""
    return Table(
        id=table_id,
        title=title,
        columns=["category", "n", "total", "percent", "ci_lower", "ci_upper"],
        labels={
            "category": "Best response",
            "n": "n",
            "total": "of",
            "percent": "%",
            "ci_lower": "95% CI lower (%)",
            "ci_upper": "95% CI upper (%)",
        },
        note=note,
    )


def add_proportion(table: Table, key: str, count: int, total: int, label: str) -> None:
    table.row_labels[key] = label
    prop = st.proportion(count, total)
    table.add(
        category=key,
        n=count,
        total=total,
        percent=pct(prop.estimate),
        ci_lower=pct(prop.lower),
        ci_upper=pct(prop.upper),
    )


def response_table(
    outcome: ResponseOutcome, patients: list[PatientRecord], entry_dates: dict[str, dt.date]
) -> Table:
    table = proportion_table(f"response_{outcome.id}", outcome.label)
    best = [best_response(outcome, p, entry_dates[p.patient_id]) for p in patients]
    total = len(patients)

    def add(key: str, count: int, label: str) -> None:
        add_proportion(table, key, count, total, label)

    for category in outcome.categories:
        add(category, sum(b == category for b in best), category)
    add(NOT_ASSESSED, sum(b is None for b in best), "Not assessed")
    if outcome.objective:
        label = f"{outcome.objective_label} ({' + '.join(outcome.objective)})"
        add("objective_response", sum(b in outcome.objective for b in best), label)
    if outcome.control:
        label = f"{outcome.control_label} ({' + '.join(outcome.control)})"
        add("disease_control", sum(b in outcome.control for b in best), label)
    if total and best.count(None) == total:
        table.note += " Nobody was assessed: no response is reported."
    return table
