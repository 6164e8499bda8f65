"""What the study needs to know about one patient, gathered from the registry.

The study layer works on these plain records; ``netoutcomes.study.load`` builds
them from the registry's tables.  Missing values stay ``None`` so that a rule
can say "cannot assess" instead of guessing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Lesion:
    size_mm: float | None
    uptake_grade: int | None


@dataclass(frozen=True)
class Scan:
    scan_id: str
    modality: str
    date: dt.date | None
    lesions: tuple[Lesion, ...]


@dataclass(frozen=True)
class Treatment:
    kind: str
    start: dt.date | None


@dataclass(frozen=True)
class Therapy:
    agent: str
    date: dt.date | None
    activity_mbq: float | None = None  # administered activity


@dataclass(frozen=True)
class Assessment:
    kind: str  # e.g. symptomatic, recist
    date: dt.date | None
    result: str


@dataclass(frozen=True)
class BiomarkerValue:
    marker: str  # e.g. chromogranin_a, 5hiaa_urine
    date: dt.date | None
    value: float | None
    unit: str | None


@dataclass(frozen=True)
class AdverseEvent:
    term: str  # CTCAE v5.0 term code, e.g. platelet_count_decreased
    grade: int  # 1-5
    onset: dt.date


@dataclass(frozen=True)
class Histology:
    site: str | None  # site category, e.g. small_bowel, pancreas
    grade: str | None  # G1, G2, G3, NEC, ...
    differentiation: str | None  # well, poorly, mixed
    ki67: float | None


@dataclass(frozen=True)
class PatientRecord:
    patient_id: str
    stage: str | None
    diagnosis_date: dt.date | None
    histology: Histology
    treatments: tuple[Treatment, ...] = ()
    progressions: tuple[dt.date | None, ...] = ()
    scans: tuple[Scan, ...] = ()
    therapies: tuple[Therapy, ...] = ()
    assessments: tuple[Assessment, ...] = ()
    last_contact: dt.date | None = None
    death_date: dt.date | None = None
    vital_status: str | None = None  # alive / dead
    birth_year: int | None = None  # the registry holds no full birth date
    biomarkers: tuple[BiomarkerValue, ...] = ()
    adverse_events: tuple[AdverseEvent, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    def first_therapy(self, agent: str) -> dt.date | None:
        """Date of the first therapy with ``agent`` (None if never given)."""
        dates = [t.date for t in self.therapies if t.agent == agent and t.date is not None]
        return min(dates) if dates else None
