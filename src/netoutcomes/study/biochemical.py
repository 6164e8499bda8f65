"""Best biochemical response (protocol ``biochemical:``), e.g. chromogranin A or 5-HIAA.

Baseline: the last value of the marker within ``baseline_lookback_days`` before the
first therapy (up to its day).  Best response: the largest fall from baseline to a
later value in the same unit (up to the data cut-off).  A fall of at least
``response_fall_percent`` (default 50%) is a response.  A patient without a
baseline or without a later value is not evaluable.  Percentages are of all
analysed patients, with exact (Clopper-Pearson) intervals, as the other responses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from netoutcomes.study.protocol import BiochemicalResponse
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.response import PROPORTION_NOTE, add_proportion, proportion_table
from netoutcomes.study.results import StudyResult

ROWS = {
    "response": "Response",
    "no_response": "No response",
    "not_evaluable": "Not evaluable (no baseline or no later value)",
}


@dataclass(frozen=True)
class BestChange:
    """Baseline and the best (most negative) percentage change, or why there is none."""

    baseline: float | None
    change_percent: float | None  # (best - baseline) / baseline * 100


def best_change(
    spec: BiochemicalResponse, patient: PatientRecord, start: dt.date, cutoff: dt.date | None
) -> BestChange:
    values = sorted(
        (b.date, b.value, b.unit)
        for b in patient.biomarkers
        if b.marker == spec.biomarker and b.date is not None and b.value is not None
    )
    earliest = start - dt.timedelta(days=spec.baseline_lookback_days)
    before = [(d, v, u) for d, v, u in values if earliest <= d <= start]
    if not before or before[-1][1] is None or before[-1][1] <= 0:
        return BestChange(None, None)
    _, baseline, unit = before[-1]
    later = [v for d, v, u in values if d > start and u == unit and (cutoff is None or d <= cutoff)]
    if not later:
        return BestChange(baseline, None)
    best = min(v for v in later if v is not None)
    return BestChange(baseline, 100.0 * (best - baseline) / baseline)


def biochemical_tables(
    result: StudyResult, patients: list[PatientRecord], entry_dates: dict[str, dt.date]
) -> None:
    cutoff = result.protocol.survival.data_cutoff
    for spec in result.protocol.biochemical:
        label = spec.label or f"Best biochemical response ({spec.biomarker})"
        note = (
            f"Response: a fall of at least {spec.response_fall_percent:g}% from the baseline "
            f"(the last value within {spec.baseline_lookback_days} days before the first "
            "therapy) to a later value in the same unit. "
        )
        table = result.add_table(
            "response", proportion_table(f"biochemical_{spec.id}", label, note + PROPORTION_NOTE)
        )
        changes = [best_change(spec, p, entry_dates[p.patient_id], cutoff) for p in patients]
        counts = {
            "response": sum(
                c.change_percent is not None and c.change_percent <= -spec.response_fall_percent
                for c in changes
            ),
            "no_response": sum(
                c.change_percent is not None and c.change_percent > -spec.response_fall_percent
                for c in changes
            ),
            "not_evaluable": sum(c.change_percent is None for c in changes),
        }
        total = len(patients)
        for key, n in counts.items():
            add_proportion(table, key, n, total, ROWS[key])
        if total and counts["not_evaluable"] == total:
            table.note += " No patient was evaluable: no response is reported."
