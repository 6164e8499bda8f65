"""The SYNTHETIC cohort's follow-up after therapy: tumour assessments, progressions,
biomarkers and adverse events (``study.synthetic_cohort`` builds the rest).

Deterministic, like the rest of the cohort: patient ``k`` (0-based) gets its
lot from slots ``(a * k) mod 50`` with ``a`` prime to 50, so that each feature
is spread over every site and grade.  The figures each feature is calibrated
to, and their sources, are in docs/study.md ("The synthetic cohort"):

* RECIST 1.1 assessments 90 days after the first therapy, then every 182 days
  up to progression, death, the data cut-off or ten readings; the best response
  stays the one ``recist_target`` chose (5 PR, 30 SD, 15 PD);
* a progression (registry row and PD reading) for every patient whose series
  reaches its progression time before death;
* chromogranin A for everyone and urinary 5-HIAA for small-bowel patients: a
  baseline 20 days before the first therapy and a value at each assessment;
  18 of 50 fall by >= 50% (Nwosu 2008: 36.7% of those measured);
* grade 3-4 platelet count decreased in 4 of 50 (8%) and neutrophil count
  decreased in 8 of 50 (16%) (Ezziddin 2013: 7.6% and 15.3% of cycles), plus
  grade 1-2 anaemia, nausea and a few renal and hepatic events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

N = 50  # treated patients (synthetic_cohort.N_TREATED)
FIRST_READING_DAYS = 90
READING_EVERY_DAYS = 182
MAX_READINGS = 10

Add = Callable[..., None]  # Tables.add(table, **row)


@dataclass(frozen=True)
class FollowupPlan:
    """What happens to treated patient ``k`` after its first therapy."""

    progression_days: int | None  # days after the first therapy; None: never progresses
    biochemical_responder: bool


def progression_days(k: int, recist: str) -> int | None:
    """PD patients progress at the first reading; the others at 0.8-5.7 years."""
    if recist == "PD":
        return 0
    slot = (13 * k) % N
    return round((0.8 + 0.1 * slot) * 365.25)


def plan(k: int, recist: str) -> FollowupPlan:
    return FollowupPlan(progression_days(k, recist), (3 * k) % N < 18)


def reading_days(death_days: int | None, cutoff_days: int, first: int) -> list[int]:
    """Days of the scheduled RECIST readings before death and the cut-off."""
    days = [first + READING_EVERY_DAYS * j for j in range(MAX_READINGS)]
    last = cutoff_days if death_days is None else min(cutoff_days, death_days - 14)
    return [d for d in days if d <= last]


def progression_reading(
    progression: int | None, death_days: int | None, cutoff_days: int, first: int
) -> int | None:
    """The day of the reading that finds the progression (None: never found)."""
    if progression is None:
        return None
    found = [d for d in reading_days(death_days, cutoff_days, first) if d >= progression]
    return found[0] if found else None


def add_recist_series(
    add: Add,
    pid: str,
    entry: dt.date,
    recist: str,
    progression: int | None,
    death_days: int | None,
    cutoff_days: int,
    first: int = FIRST_READING_DAYS,
) -> list[int]:
    """The serial readings (ids from A10); returns the reading days up to the PD one.

    The first reading (and a PR's confirmation) are written by
    ``synthetic_cohort``; this adds the later ones and the progression."""
    steady = "PR" if recist == "PR" else "SD"
    pd_day = None
    done = []
    for n, day in enumerate(reading_days(death_days, cutoff_days, first)):
        done.append(day)
        if progression is not None and day >= progression:
            pd_day = day
        if day == first:  # written by synthetic_cohort
            if recist == "PD":
                break
            continue
        result = "PD" if pd_day is not None else steady
        _reading(add, pid, 10 + n, entry + dt.timedelta(days=day), "recist", recist=result)
        if pd_day is not None:
            break
    if pd_day is not None:
        add(
            "progressions",
            patient_id=pid,
            progression_id=f"{pid}-P2",
            date=(entry + dt.timedelta(days=pd_day)).isoformat(),
            basis="recist",
        )
    return done


def _reading(
    add: Add,
    pid: str,
    n: int,
    day: dt.date,
    kind: str,
    recist: str = "",
    marker: str = "",
    value: float | None = None,
    unit: str = "",
) -> None:
    add(
        "assessments",
        patient_id=pid,
        assessment_id=f"{pid}-A{n}",
        date=day.isoformat(),
        kind=kind,
        symptomatic_response="",
        recist_response=recist,
        biomarker=marker,
        value="" if value is None else value,
        unit=unit,
    )


# marker -> (unit, baseline of patient k)
MARKERS: dict[str, tuple[str, Callable[[int], float]]] = {
    "chromogranin_a": ("ug/L", lambda k: 400.0 + 35.0 * ((7 * k) % N)),
    "5hiaa_urine": ("mg/24h", lambda k: 40.0 + 3.0 * ((11 * k) % N)),
}


def add_biomarkers(
    add: Add,
    pid: str,
    k: int,
    entry: dt.date,
    small_bowel: bool,
    responder: bool,
    days: list[int],
) -> None:
    """A baseline 20 days before therapy and one value per reading day (ids from A40).

    A responder's marker is 40% of baseline at every later value (a 60% fall); a
    non-responder's 80% (a 20% fall)."""
    n = 40
    for marker, (unit, baseline_of) in MARKERS.items():
        if marker == "5hiaa_urine" and not small_bowel:
            continue
        baseline = baseline_of(k)
        nadir = 0.4 if responder else 0.8
        values = [(-20, baseline)] + [(day, baseline * nadir) for day in days]
        for day, value in values:
            when = entry + dt.timedelta(days=day)
            value = round(value, 1)
            _reading(add, pid, n, when, "biomarker", marker=marker, value=value, unit=unit)
            n += 1


# (term, grade, days after the first therapy, attribution); chosen by slots
THROMBOCYTOPENIA_SLOTS = 4  # grade 3-4 platelet count decreased in 4 of 50
NEUTROPENIA_SLOTS = 8  # grade 3-4 neutrophil count decreased in 8 of 50


def adverse_events(k: int, site: str) -> list[tuple[str, int, int, str]]:
    """The adverse events of treated patient ``k`` (days from the first therapy)."""
    events: list[tuple[str, int, int, str]] = []
    slot = (19 * k) % N
    if slot < THROMBOCYTOPENIA_SLOTS:
        events.append(("platelet_count_decreased", 4 if slot == 0 else 3, 35, "probable"))
    elif slot < 14:
        events.append(("platelet_count_decreased", 1 + slot % 2, 35, "probable"))
    slot = (23 * k) % N
    if slot < NEUTROPENIA_SLOTS:
        events.append(("neutrophil_count_decreased", 4 if slot < 2 else 3, 42, "probable"))
    slot = (29 * k) % N
    if slot < 15:
        events.append(("anemia", 1 + slot % 2, 49, "possible"))
    if (31 * k) % N < 20:
        events.append(("nausea", 1, 1, "definite"))
    if (37 * k) % N < 3:
        events.append(("creatinine_increased", 1, 60, "unlikely"))
    if site in ("small_bowel", "pancreas") and (41 * k) % N < 4:
        events.append(("alanine_aminotransferase_increased", 1, 60, "unlikely"))
    return events


def add_adverse_events(
    add: Add,
    pid: str,
    entry: dt.date,
    therapy_id: str,
    events: list[tuple[str, int, int, str]],
) -> None:
    for n, (term, grade, days, attribution) in enumerate(events, 1):
        add(
            "adverse_events",
            patient_id=pid,
            ae_id=f"{pid}-E{n}",
            term=term,
            grade=grade,
            onset_date=(entry + dt.timedelta(days=days)).isoformat(),
            therapy_id=therapy_id,
            attribution=attribution,
        )
