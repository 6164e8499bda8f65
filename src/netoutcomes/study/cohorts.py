"""Who is in a cohort, and their survival times from an origin (years = days / 365.25)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from netoutcomes.study.eligibility import matches_filters
from netoutcomes.study.protocol import Cohort, Origin
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.results import Method

DAYS_PER_YEAR = 365.25


def years(start: dt.date, end: dt.date) -> float:
    return (end - start).days / DAYS_PER_YEAR


def in_cohort(cohort: Cohort, patient: PatientRecord) -> bool:
    """Missing histology that a filter needs leaves the patient out of the cohort."""
    return matches_filters(patient.histology, cohort) is True


def members(cohort: Cohort, patients: list[PatientRecord]) -> list[PatientRecord]:
    return [p for p in patients if in_cohort(cohort, p)]


def primary_method(origin: Origin, delayed_entry: bool) -> Method:
    """The analysis a comparison uses: delayed entry from diagnosis unless switched off."""
    if origin == "first_therapy":
        return "from_origin"
    return "delayed_entry" if delayed_entry else "naive"


@dataclass(frozen=True)
class SurvivalData:
    ids: list[str]
    time: np.ndarray
    event: np.ndarray
    entry: np.ndarray | None
    dropped: list[str]  # patients without the dates this origin needs


def survival_data(
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
    origin: Origin,
    method: Method,
    cutoff: dt.date | None,
) -> SurvivalData:
    """Times from the origin to death (event) or last contact (censored).

    Delayed entry: from diagnosis a patient is at risk only from the first
    therapy (the entry), so the years before it are not immortal time."""
    ids, time, event, entry, dropped = [], [], [], [], []
    for p in patients:
        therapy = entry_dates[p.patient_id]
        start = p.diagnosis_date if origin == "diagnosis" else therapy
        exit_date = p.death_date or p.last_contact
        if start is None or exit_date is None:
            dropped.append(p.patient_id)
            continue
        died = p.death_date is not None
        if cutoff is not None and exit_date > cutoff:
            exit_date, died = cutoff, False
        t = years(start, exit_date)
        e = years(start, therapy) if method == "delayed_entry" else 0.0
        if t <= e:
            dropped.append(p.patient_id)
            continue
        ids.append(p.patient_id)
        time.append(t)
        event.append(died)
        entry.append(e)
    return SurvivalData(
        ids,
        np.array(time, dtype=np.float64),
        np.array(event, dtype=bool),
        np.array(entry, dtype=np.float64) if method == "delayed_entry" else None,
        dropped,
    )
