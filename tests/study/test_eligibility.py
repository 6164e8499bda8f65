"""Each eligibility rule on hand-built patients: pass, fail, and missing data."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from netoutcomes.study.eligibility import (
    RuleStatus,
    Verdict,
    check_avidity,
    check_histology,
    check_progression,
    check_stage,
    screen,
    screen_patient,
)
from netoutcomes.study.protocol import (
    HistologyRule,
    ProgressionOnTreatmentRule,
    ScanAvidityRule,
    StageRule,
    load_protocol,
)
from netoutcomes.study.records import (
    Histology,
    Lesion,
    PatientRecord,
    Scan,
    Therapy,
    Treatment,
)

PROTOCOLS = Path(__file__).parents[2] / "protocols"
D = dt.date
INDEX = D(2010, 3, 1)

STAGE = StageRule(kind="stage", id="stage_iv", stages=["IV"])
PROGRESSION = ProgressionOnTreatmentRule(
    kind="progression_on_treatment",
    id="pd",
    treatment_kinds=["somatostatin_analogue"],
    lookback_days=365,
)
AVIDITY = ScanAvidityRule(
    kind="scan_avidity",
    id="avid",
    modality="i123_mibg",
    lookback_days=180,
    min_lesion_size_mm=10,
    min_uptake_grade=3,
)


def good_patient(pid: str = "P1") -> PatientRecord:
    """Meets every rule of the MIBG protocol, first therapy on INDEX."""
    return PatientRecord(
        patient_id=pid,
        stage="IV",
        diagnosis_date=D(2006, 5, 1),
        histology=Histology("small_bowel", "G1", "well", 1.5),
        treatments=(Treatment("somatostatin_analogue", D(2008, 1, 1)),),
        progressions=(D(2009, 11, 1),),
        scans=(Scan("S1", "i123_mibg", D(2010, 1, 15), (Lesion(25, 4), Lesion(12, 3))),),
        therapies=(Therapy("i131_mibg", INDEX), Therapy("i131_mibg", D(2010, 9, 1))),
        last_contact=D(2017, 1, 1),
        vital_status="alive",
    )


def test_stage_rule() -> None:
    p = good_patient()
    assert check_stage(STAGE, p).status is RuleStatus.PASSED
    assert check_stage(STAGE, replace(p, stage="III")).status is RuleStatus.FAILED
    assert check_stage(STAGE, replace(p, stage=None)).status is RuleStatus.CANNOT_ASSESS


def test_progression_rule_pass_fail_missing() -> None:
    p = good_patient()
    assert check_progression(PROGRESSION, p, INDEX).status is RuleStatus.PASSED
    # progression 400 days before index: outside the 365-day look-back
    old = replace(p, progressions=(INDEX - dt.timedelta(days=400),))
    assert check_progression(PROGRESSION, old, INDEX).status is RuleStatus.FAILED
    # progression before the treatment started is not progression *on* treatment
    before = replace(p, treatments=(Treatment("somatostatin_analogue", D(2009, 12, 1)),))
    assert check_progression(PROGRESSION, before, INDEX).status is RuleStatus.FAILED
    # a treatment of another kind does not count
    other = replace(p, treatments=(Treatment("chemotherapy", D(2008, 1, 1)),))
    assert check_progression(PROGRESSION, other, INDEX).status is RuleStatus.FAILED
    # on the boundary: exactly 365 days before index counts
    edge = replace(p, progressions=(INDEX - dt.timedelta(days=365),))
    assert check_progression(PROGRESSION, edge, INDEX).status is RuleStatus.PASSED
    # missing: an undated progression, no records at all, no index date
    undated = replace(p, progressions=(None,))
    assert check_progression(PROGRESSION, undated, INDEX).status is RuleStatus.CANNOT_ASSESS
    empty = replace(p, treatments=(), progressions=())
    assert check_progression(PROGRESSION, empty, INDEX).status is RuleStatus.CANNOT_ASSESS
    assert check_progression(PROGRESSION, p, None).status is RuleStatus.CANNOT_ASSESS


def test_avidity_rule_pass_fail_missing() -> None:
    p = good_patient()
    assert check_avidity(AVIDITY, p, INDEX).status is RuleStatus.PASSED

    def with_lesions(*lesions: Lesion) -> PatientRecord:
        return replace(p, scans=(Scan("S1", "i123_mibg", D(2010, 1, 15), lesions),))

    # a lesion > 10 mm with uptake 2 (equal to liver) fails
    failed = check_avidity(AVIDITY, with_lesions(Lesion(25, 4), Lesion(15, 2)), INDEX)
    assert failed.status is RuleStatus.FAILED and "1 lesion" in failed.detail
    # a small lesion (<= 10 mm) with low uptake does not matter
    small = with_lesions(Lesion(25, 4), Lesion(10, 0))
    assert check_avidity(AVIDITY, small, INDEX).status is RuleStatus.PASSED
    # missing size or uptake of a lesion: cannot assess
    no_grade = with_lesions(Lesion(25, 4), Lesion(15, None))
    assert check_avidity(AVIDITY, no_grade, INDEX).status is RuleStatus.CANNOT_ASSESS
    no_size = with_lesions(Lesion(25, 4), Lesion(None, 1))
    assert check_avidity(AVIDITY, no_size, INDEX).status is RuleStatus.CANNOT_ASSESS
    # a failing lesion decides even if another lesion is unreadable
    both = with_lesions(Lesion(15, 1), Lesion(None, None))
    assert check_avidity(AVIDITY, both, INDEX).status is RuleStatus.FAILED
    # no scan of that modality within the look-back: cannot assess
    other = replace(p, scans=(Scan("S2", "ga68_dotatate", D(2010, 1, 15), (Lesion(25, 4),)),))
    assert check_avidity(AVIDITY, other, INDEX).status is RuleStatus.CANNOT_ASSESS
    stale = replace(p, scans=(Scan("S1", "i123_mibg", D(2009, 1, 1), (Lesion(25, 4),)),))
    assert check_avidity(AVIDITY, stale, INDEX).status is RuleStatus.CANNOT_ASSESS
    # the latest scan in the look-back is the qualifying one
    two = replace(
        p,
        scans=(
            Scan("OLD", "i123_mibg", D(2009, 10, 1), (Lesion(25, 1),)),
            Scan("NEW", "i123_mibg", D(2010, 2, 1), (Lesion(25, 3),)),
        ),
    )
    assert check_avidity(AVIDITY, two, INDEX).status is RuleStatus.PASSED


def test_histology_rule() -> None:
    rule = HistologyRule(kind="histology", id="h", differentiations=["well"], ki67_max=20)
    p = good_patient()
    assert check_histology(rule, p).status is RuleStatus.PASSED
    nec = replace(p, histology=Histology("small_bowel", "NEC", "poorly", 60))
    assert check_histology(rule, nec).status is RuleStatus.FAILED
    unknown = replace(p, histology=Histology("small_bowel", "G1", "well", None))
    assert check_histology(rule, unknown).status is RuleStatus.CANNOT_ASSESS


def test_patient_failing_two_rules_shows_both_and_missing_is_never_eligible() -> None:
    protocol = load_protocol(PROTOCOLS / "mibg-net.yaml")
    p = good_patient()
    assert screen_patient(protocol, p).verdict is Verdict.ELIGIBLE
    two = replace(p, stage="III", progressions=(D(2005, 1, 1),))
    verdict = screen_patient(protocol, two)
    assert verdict.verdict is Verdict.INELIGIBLE
    assert {r.rule_id for r in verdict.reasons} == {"stage_iv", "progression_on_soc"}
    missing = replace(p, stage=None)
    assert screen_patient(protocol, missing).verdict is Verdict.CANNOT_ASSESS
    # a failure outranks missing data, and both are reported
    mixed = replace(p, stage=None, progressions=(D(2005, 1, 1),))
    v = screen_patient(protocol, mixed)
    assert v.verdict is Verdict.INELIGIBLE and len(v.reasons) == 2


def test_enrolment_window_and_flow() -> None:
    protocol = load_protocol(PROTOCOLS / "mibg-net.yaml")
    late_day = D(2015, 1, 1)
    late = replace(
        good_patient("LATE"),
        therapies=(Therapy("i131_mibg", late_day),),
        progressions=(D(2014, 10, 1),),
        scans=(Scan("S", "i123_mibg", D(2014, 12, 1), (Lesion(20, 4),)),),
    )
    untreated = replace(good_patient("SCREENED"), therapies=())  # index = scan date
    no_follow_up = replace(good_patient("NOFU"), last_contact=None, vital_status=None)
    patients = [good_patient("A"), good_patient("B"), late, untreated, no_follow_up]
    result = screen(protocol, patients)
    f = result.flow
    assert f.screened == 5
    assert f.excluded == 1 and f.excluded_by_reason == {"enrolment_window": 1}
    assert f.enrolled == 4  # A, B, SCREENED (eligible on the scan), NOFU
    assert f.treated == 3
    assert f.analysed == 2
    assert result.analysed_ids == ["A", "B"]


@pytest.mark.parametrize("name", ["mibg-net", "lu177-pnet"])
def test_bundled_protocols_load(name: str) -> None:
    protocol = load_protocol(PROTOCOLS / f"{name}.yaml")
    assert protocol.short_name == name
