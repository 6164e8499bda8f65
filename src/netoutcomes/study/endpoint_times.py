"""Each patient's time for a time-to-event endpoint of the protocol (years).

- **PFS** from the first entry therapy: the first progression after it (a
  registry progression record, or a tumour assessment reading in the
  progression categories) or death, whichever is first; without an event,
  censored at the last adequate tumour assessment (FDA/EMA), or at the last
  contact with ``censoring: last_contact``.
- **Duration of response**, among responders only: the same from the first
  reading in the response categories.
- **Time to next treatment** from the first entry therapy: the start of the
  next treatment (or a therapy with another agent) or death; censored at the
  last contact.

A data cut-off ignores everything after it.  Dates on the start day are
baseline, not follow-up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from netoutcomes.study.cohorts import years
from netoutcomes.study.protocol import (
    DurationOfResponse,
    Endpoint,
    ProgressionFreeSurvival,
    TimeToNextTreatment,
)
from netoutcomes.study.records import PatientRecord

Outcome = Literal["progression", "next_treatment", "death", "censored"]


@dataclass(frozen=True)
class PfsTime:
    """One patient's time to event: years from the start, and how it ended."""

    time: float
    outcome: Outcome

    @property
    def event(self) -> bool:
        return self.outcome != "censored"


def pfs_time(
    endpoint: ProgressionFreeSurvival | DurationOfResponse,
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
    events: list[tuple[dt.date, Outcome]] = []
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
        return PfsTime(years(start, _last_contact(patient, start, cutoff)), "censored")
    return PfsTime(years(start, last_adequate), "censored")


def _last_contact(patient: PatientRecord, start: dt.date, cutoff: dt.date | None) -> dt.date:
    last = patient.last_contact or start
    if cutoff is not None and last > cutoff:
        last = cutoff
    return max(last, start)


def response_date(
    endpoint: DurationOfResponse, patient: PatientRecord, start: dt.date, cutoff: dt.date | None
) -> dt.date | None:
    """The first reading in the response categories after the start, or None."""
    dates = [
        a.date
        for a in patient.assessments
        if a.kind == endpoint.assessment
        and a.result in endpoint.response_categories
        and a.date is not None
        and a.date > start
        and (cutoff is None or a.date <= cutoff)
    ]
    return min(dates, default=None)


def next_treatment_time(
    endpoint: TimeToNextTreatment,
    patient: PatientRecord,
    start: dt.date,
    cutoff: dt.date | None,
    entry_agent: str,
) -> PfsTime:
    def seen(d: dt.date | None) -> bool:
        return d is not None and d > start and (cutoff is None or d <= cutoff)

    kinds = endpoint.treatment_kinds
    starts = [
        t.start for t in patient.treatments if seen(t.start) and (kinds is None or t.kind in kinds)
    ]
    if endpoint.other_agents:
        starts += [t.date for t in patient.therapies if t.agent != entry_agent and seen(t.date)]
    events: list[tuple[dt.date, Outcome]] = []
    first = min((d for d in starts if d is not None), default=None)
    if first is not None:
        events.append((first, "next_treatment"))
    if endpoint.death_is_event and seen(patient.death_date) and patient.death_date is not None:
        events.append((patient.death_date, "death"))
    if events:
        when, outcome = min(events, key=lambda e: (e[0], e[1] != "next_treatment"))
        return PfsTime(years(start, when), outcome)
    return PfsTime(years(start, _last_contact(patient, start, cutoff)), "censored")


def endpoint_time(
    endpoint: Endpoint,
    patient: PatientRecord,
    therapy: dt.date,
    cutoff: dt.date | None,
    entry_agent: str,
) -> PfsTime | None:
    """The patient's time for this endpoint, or None when not in its population
    (duration of response: a patient who never responded)."""
    if isinstance(endpoint, TimeToNextTreatment):
        return next_treatment_time(endpoint, patient, therapy, cutoff, entry_agent)
    if isinstance(endpoint, DurationOfResponse):
        responded = response_date(endpoint, patient, therapy, cutoff)
        if responded is None:
            return None
        return pfs_time(endpoint, patient, responded, cutoff)
    return pfs_time(endpoint, patient, therapy, cutoff)
