"""Screening: a verdict per patient with every reason, and the CONSORT flow.

The index date of a patient is the first therapy with the protocol's entry agent
or, for a patient who was screened but not treated, the first scan of a
modality that an avidity rule asks for.  Every look-back is counted back from
it.  The enrolment window applies to the index date.

A rule answers ``passed``, ``failed`` or ``cannot_assess``.  Missing data is
never a pass: a patient is eligible only if every rule passed, ineligible if
any rule failed (all failures are listed), otherwise cannot be assessed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from netoutcomes.study.protocol import (
    EligibilityRule,
    HistologyFilter,
    HistologyRule,
    ProgressionOnTreatmentRule,
    Protocol,
    ScanAvidityRule,
    StageRule,
)
from netoutcomes.study.records import Histology, PatientRecord

WINDOW_RULE_ID = "enrolment_window"


class RuleStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    CANNOT_ASSESS = "cannot_assess"


class Verdict(StrEnum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    CANNOT_ASSESS = "cannot_assess"


@dataclass(frozen=True)
class RuleOutcome:
    rule_id: str
    label: str
    status: RuleStatus
    detail: str


@dataclass(frozen=True)
class PatientVerdict:
    patient_id: str
    verdict: Verdict
    index_date: dt.date | None
    entry_date: dt.date | None  # first therapy with the entry agent
    outcomes: tuple[RuleOutcome, ...]

    @property
    def reasons(self) -> list[RuleOutcome]:
        """Every rule that did not pass."""
        return [o for o in self.outcomes if o.status is not RuleStatus.PASSED]


@dataclass(frozen=True)
class ConsortFlow:
    screened: int
    excluded: int
    excluded_by_reason: dict[str, int]  # rule id -> patients failing it (may overlap)
    cannot_assess: int
    cannot_assess_by_reason: dict[str, int]
    enrolled: int
    treated: int
    analysed: int
    reason_labels: dict[str, str]


@dataclass(frozen=True)
class Screening:
    verdicts: list[PatientVerdict]
    flow: ConsortFlow
    treated_ids: list[str]
    analysed_ids: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The flow and every verdict with its reasons (JSON-ready)."""
        return {
            "flow": self.flow.__dict__,
            "verdicts": [
                {
                    "patient_id": v.patient_id,
                    "verdict": v.verdict.value,
                    "index_date": v.index_date.isoformat() if v.index_date else None,
                    "reasons": [
                        {"rule": o.rule_id, "status": o.status.value, "detail": o.detail}
                        for o in v.reasons
                    ],
                }
                for v in self.verdicts
            ],
        }


# --- the building blocks ---------------------------------------------------------


def _outcome(rule_id: str, label: str, status: RuleStatus, detail: str) -> RuleOutcome:
    return RuleOutcome(rule_id, label, status, detail)


def check_stage(rule: StageRule, patient: PatientRecord) -> RuleOutcome:
    label = rule.label or rule.id
    if patient.stage is None:
        return _outcome(rule.id, label, RuleStatus.CANNOT_ASSESS, "stage not recorded")
    if patient.stage in rule.stages:
        return _outcome(rule.id, label, RuleStatus.PASSED, f"stage {patient.stage}")
    return _outcome(
        rule.id, label, RuleStatus.FAILED, f"stage {patient.stage} not in {rule.stages}"
    )


def check_progression(
    rule: ProgressionOnTreatmentRule, patient: PatientRecord, index: dt.date | None
) -> RuleOutcome:
    label = rule.label or rule.id
    if index is None:
        return _outcome(rule.id, label, RuleStatus.CANNOT_ASSESS, "no index date")
    earliest = index - dt.timedelta(days=rule.lookback_days)
    starts = [t.start for t in patient.treatments if t.kind in rule.treatment_kinds]
    dated_starts = [s for s in starts if s is not None and s <= index]
    for progression in patient.progressions:
        if progression is None or not earliest <= progression <= index:
            continue
        if any(s <= progression for s in dated_starts):
            return _outcome(
                rule.id, label, RuleStatus.PASSED, f"progression on {progression.isoformat()}"
            )
    undated = any(p is None for p in patient.progressions) or any(s is None for s in starts)
    if undated:
        return _outcome(
            rule.id, label, RuleStatus.CANNOT_ASSESS, "a progression or treatment has no date"
        )
    if not starts and not patient.progressions:
        return _outcome(
            rule.id, label, RuleStatus.CANNOT_ASSESS, "no treatment or progression recorded"
        )
    if not dated_starts:
        detail = f"no {'/'.join(rule.treatment_kinds)} treatment started before the index date"
    else:
        detail = f"no progression on treatment in the {rule.lookback_days} days before index"
    return _outcome(rule.id, label, RuleStatus.FAILED, detail)


def check_avidity(
    rule: ScanAvidityRule, patient: PatientRecord, index: dt.date | None
) -> RuleOutcome:
    label = rule.label or rule.id
    if index is None:
        return _outcome(rule.id, label, RuleStatus.CANNOT_ASSESS, "no index date")
    earliest = index - dt.timedelta(days=rule.lookback_days)
    candidates = [
        s
        for s in patient.scans
        if s.modality == rule.modality and s.date is not None and earliest <= s.date <= index
    ]
    if not candidates:
        return _outcome(
            rule.id,
            label,
            RuleStatus.CANNOT_ASSESS,
            f"no {rule.modality} scan in the {rule.lookback_days} days before index",
        )
    scan = max(candidates, key=lambda s: s.date or dt.date.min)
    if not scan.lesions:
        return _outcome(
            rule.id, label, RuleStatus.CANNOT_ASSESS, f"scan {scan.scan_id} has no lesions read"
        )
    low = unknown = large = 0
    for lesion in scan.lesions:
        if lesion.size_mm is None:
            unknown += 1
        elif lesion.size_mm > rule.min_lesion_size_mm:
            large += 1
            if lesion.uptake_grade is None:
                unknown += 1
            elif lesion.uptake_grade < rule.min_uptake_grade:
                low += 1
    if low:
        return _outcome(
            rule.id,
            label,
            RuleStatus.FAILED,
            f"{low} lesion(s) > {rule.min_lesion_size_mm:g} mm with uptake below "
            f"{rule.min_uptake_grade} on scan {scan.scan_id}",
        )
    if unknown:
        return _outcome(
            rule.id,
            label,
            RuleStatus.CANNOT_ASSESS,
            f"{unknown} lesion(s) without size or uptake grade on scan {scan.scan_id}",
        )
    if large == 0:
        return _outcome(
            rule.id,
            label,
            RuleStatus.CANNOT_ASSESS,
            f"no lesion > {rule.min_lesion_size_mm:g} mm on scan {scan.scan_id}",
        )
    return _outcome(
        rule.id, label, RuleStatus.PASSED, f"{large} lesion(s) avid on scan {scan.scan_id}"
    )


def histology_matches(
    histology: Histology,
    *,
    sites: list[str] | None = None,
    exclude_sites: list[str] | None = None,
    grades: list[str] | None = None,
    exclude_grades: list[str] | None = None,
    differentiations: list[str] | None = None,
    exclude_differentiations: list[str] | None = None,
    ki67_min: float | None = None,
    ki67_max: float | None = None,
) -> bool | None:
    """True/False when the filters decide, None when a value they need is missing."""
    checks: list[tuple[object, bool]] = []  # (value, matches) for each filter given
    if sites is not None:
        checks.append((histology.site, histology.site in sites))
    if exclude_sites is not None:
        checks.append((histology.site, histology.site not in exclude_sites))
    if grades is not None:
        checks.append((histology.grade, histology.grade in grades))
    if exclude_grades is not None:
        checks.append((histology.grade, histology.grade not in exclude_grades))
    if differentiations is not None:
        checks.append((histology.differentiation, histology.differentiation in differentiations))
    if exclude_differentiations is not None:
        checks.append(
            (
                histology.differentiation,
                histology.differentiation not in exclude_differentiations,
            )
        )
    if ki67_min is not None:
        checks.append((histology.ki67, histology.ki67 is not None and histology.ki67 >= ki67_min))
    if ki67_max is not None:
        checks.append((histology.ki67, histology.ki67 is not None and histology.ki67 <= ki67_max))
    if any(value is not None and not ok for value, ok in checks):
        return False
    if any(value is None for value, _ in checks):
        return None
    return True


HISTOLOGY_FILTERS = (
    "sites",
    "exclude_sites",
    "grades",
    "exclude_grades",
    "differentiations",
    "exclude_differentiations",
    "ki67_min",
    "ki67_max",
)


def matches_filters(histology: Histology, filters: HistologyFilter) -> bool | None:
    """``histology_matches`` with the filter fields of a histology rule or a cohort."""
    return histology_matches(histology, **{f: getattr(filters, f) for f in HISTOLOGY_FILTERS})


def check_histology(rule: HistologyRule, patient: PatientRecord) -> RuleOutcome:
    label = rule.label or rule.id
    match = matches_filters(patient.histology, rule)
    h = patient.histology
    described = f"site {h.site}, grade {h.grade}, {h.differentiation}, Ki-67 {h.ki67}"
    if match is None:
        return _outcome(rule.id, label, RuleStatus.CANNOT_ASSESS, f"missing histology: {described}")
    status = RuleStatus.PASSED if match else RuleStatus.FAILED
    return _outcome(rule.id, label, status, described)


def check_rule(rule: EligibilityRule, patient: PatientRecord, index: dt.date | None) -> RuleOutcome:
    match rule:
        case StageRule():
            return check_stage(rule, patient)
        case ProgressionOnTreatmentRule():
            return check_progression(rule, patient, index)
        case ScanAvidityRule():
            return check_avidity(rule, patient, index)
        case HistologyRule():
            return check_histology(rule, patient)
    raise AssertionError(f"unknown rule {rule!r}")


# --- verdicts and flow -----------------------------------------------------------


def index_date(protocol: Protocol, patient: PatientRecord) -> dt.date | None:
    entry = patient.first_therapy(protocol.entry.agent)
    if entry is not None:
        return entry
    modalities = {r.modality for r in protocol.eligibility if isinstance(r, ScanAvidityRule)}
    scan_dates = [s.date for s in patient.scans if s.modality in modalities and s.date]
    return min(scan_dates) if scan_dates else None


def check_window(protocol: Protocol, index: dt.date | None) -> RuleOutcome:
    e = protocol.entry
    label = f"Index date in the enrolment window {e.window_start} to {e.window_end}"
    if index is None:
        # Not missing data: the registry holds every therapy and scan, and this
        # patient was never a candidate (no therapy, no screening scan).
        return _outcome(
            WINDOW_RULE_ID, label, RuleStatus.FAILED, f"no {e.agent} therapy and no screening scan"
        )
    if e.window_start <= index <= e.window_end:
        return _outcome(WINDOW_RULE_ID, label, RuleStatus.PASSED, f"index {index.isoformat()}")
    return _outcome(
        WINDOW_RULE_ID, label, RuleStatus.FAILED, f"index {index.isoformat()} outside the window"
    )


def screen_patient(protocol: Protocol, patient: PatientRecord) -> PatientVerdict:
    index = index_date(protocol, patient)
    outcomes = [check_window(protocol, index)]
    outcomes += [check_rule(rule, patient, index) for rule in protocol.eligibility]
    statuses = {o.status for o in outcomes}
    if RuleStatus.FAILED in statuses:
        verdict = Verdict.INELIGIBLE
    elif RuleStatus.CANNOT_ASSESS in statuses:
        verdict = Verdict.CANNOT_ASSESS
    else:
        verdict = Verdict.ELIGIBLE
    return PatientVerdict(
        patient.patient_id,
        verdict,
        index,
        patient.first_therapy(protocol.entry.agent),
        tuple(outcomes),
    )


def has_follow_up(patient: PatientRecord) -> bool:
    return patient.death_date is not None or patient.last_contact is not None


def screen(protocol: Protocol, patients: list[PatientRecord]) -> Screening:
    """Verdicts for every patient and the CONSORT flow."""
    verdicts = [screen_patient(protocol, p) for p in patients]
    by_id = {p.patient_id: p for p in patients}
    excluded = Counter[str]()
    unassessable = Counter[str]()
    labels: dict[str, str] = {}
    for v in verdicts:
        for o in v.reasons:
            labels[o.rule_id] = o.label
            if v.verdict is Verdict.INELIGIBLE and o.status is RuleStatus.FAILED:
                excluded[o.rule_id] += 1
            elif v.verdict is Verdict.CANNOT_ASSESS:
                unassessable[o.rule_id] += 1
    enrolled = [v for v in verdicts if v.verdict is Verdict.ELIGIBLE]
    treated = [v.patient_id for v in enrolled if v.entry_date is not None]
    analysed = [pid for pid in treated if has_follow_up(by_id[pid])]
    flow = ConsortFlow(
        screened=len(verdicts),
        excluded=sum(v.verdict is Verdict.INELIGIBLE for v in verdicts),
        excluded_by_reason=dict(excluded),
        cannot_assess=sum(v.verdict is Verdict.CANNOT_ASSESS for v in verdicts),
        cannot_assess_by_reason=dict(unassessable),
        enrolled=len(enrolled),
        treated=len(treated),
        analysed=len(analysed),
        reason_labels=labels,
    )
    return Screening(verdicts, flow, treated, analysed)
