"""Gather the study's view of each patient from the registry's tables."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from netoutcomes.registry import model as m
from netoutcomes.registry.store import Registry, open_registry
from netoutcomes.study.records import (
    AdverseEvent,
    Assessment,
    BiomarkerValue,
    Histology,
    Lesion,
    PatientRecord,
    Scan,
    Therapy,
    Treatment,
)


def _assessment_result(a: m.Assessment) -> str | None:
    if a.kind is m.AssessmentKind.symptomatic and a.symptomatic_response is not None:
        return a.symptomatic_response.value
    if a.kind is m.AssessmentKind.recist and a.recist_response is not None:
        return a.recist_response.value
    return None


def _grade(d: m.Diagnosis) -> str | None:
    """The grade to analyse; a lung NET carries its WHO lung category instead."""
    if d.grade is not None:
        return d.grade.value
    return d.lung_category.value if d.lung_category is not None else None


def patient_records(registry: Registry) -> list[PatientRecord]:
    """One record per patient, in patient-id order."""
    diagnoses = {d.patient_id: d for d in registry.rows_of(m.Diagnosis)}
    followups = {f.patient_id: f for f in registry.rows_of(m.Followup)}
    treatments = defaultdict(list)
    for t in registry.rows_of(m.Treatment):
        treatments[t.patient_id].append(Treatment(t.kind.value, t.start_date))
    progressions = defaultdict(list)
    for p in registry.rows_of(m.Progression):
        progressions[p.patient_id].append(p.date)
    lesions = defaultdict(list)
    for lesion in registry.rows_of(m.Lesion):
        lesions[lesion.scan_id].append(Lesion(lesion.longest_diameter_mm, lesion.uptake_grade))
    scans = defaultdict(list)
    for s in registry.rows_of(m.Scan):
        scans[s.patient_id].append(
            Scan(s.scan_id, s.modality.value, s.date, tuple(lesions[s.scan_id]))
        )
    therapies = defaultdict(list)
    for th in registry.rows_of(m.Therapy):
        therapies[th.patient_id].append(Therapy(th.agent.value, th.date, th.activity_mbq))
    assessments = defaultdict(list)
    biomarkers = defaultdict(list)
    for a in registry.rows_of(m.Assessment):
        result = _assessment_result(a)
        if result is not None:
            assessments[a.patient_id].append(Assessment(a.kind.value, a.date, result))
        if a.kind is m.AssessmentKind.biomarker and a.biomarker is not None:
            biomarkers[a.patient_id].append(
                BiomarkerValue(a.biomarker.value, a.date, a.value, a.unit)
            )
    adverse_events = defaultdict(list)
    for ae in registry.rows_of(m.AdverseEvent):
        adverse_events[ae.patient_id].append(AdverseEvent(ae.term.value, ae.grade, ae.onset_date))

    records = []
    for patient in registry.rows_of(m.Patient):
        pid = patient.patient_id
        d = diagnoses.get(pid)
        f = followups.get(pid)
        histology = Histology(
            site=d.primary_site.value if d else None,
            grade=_grade(d) if d else None,
            differentiation=d.differentiation.value if d and d.differentiation else None,
            ki67=d.ki67_percent if d else None,
        )
        records.append(
            PatientRecord(
                patient_id=pid,
                stage=d.stage.value if d and d.stage else None,
                diagnosis_date=d.diagnosis_date if d else None,
                histology=histology,
                treatments=tuple(treatments[pid]),
                progressions=tuple(progressions[pid]),
                scans=tuple(scans[pid]),
                therapies=tuple(therapies[pid]),
                assessments=tuple(assessments[pid]),
                last_contact=f.last_contact_date if f else None,
                death_date=f.death_date if f else None,
                vital_status=f.vital_status.value if f else None,
                birth_year=patient.birth_year,
                biomarkers=tuple(biomarkers[pid]),
                adverse_events=tuple(adverse_events[pid]),
            )
        )
    return records


def load_patients(registry_path: str | Path) -> list[PatientRecord]:
    with open_registry(registry_path) as registry:
        return patient_records(registry)
