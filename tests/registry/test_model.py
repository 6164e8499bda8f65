"""One-row rules of the domain model, on cases worked by hand from WHO 2019 and DOMAIN.md."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from netoutcomes.registry.model import (
    TABLES,
    Assessment,
    Diagnosis,
    Followup,
    Patient,
    Therapy,
    WhoGrade,
    derive_who_grade,
    grade_from_ki67,
    grade_from_mitoses,
)


@pytest.mark.parametrize(
    ("ki67", "grade"),
    [(0.0, "G1"), (2.9, "G1"), (3.0, "G2"), (12.0, "G2"), (20.0, "G2"), (20.1, "G3"), (80, "G3")],
)
def test_ki67_thresholds_are_who_2019(ki67: float, grade: str) -> None:
    # WHO 2019: G1 < 3 %, G2 3-20 %, G3 > 20 %.
    assert grade_from_ki67(ki67) is WhoGrade(grade)


@pytest.mark.parametrize(
    ("mitoses", "grade"), [(0, "G1"), (1, "G1"), (2, "G2"), (20, "G2"), (21, "G3")]
)
def test_mitotic_thresholds_are_who_2019(mitoses: float, grade: str) -> None:
    # WHO 2019: G1 < 2, G2 2-20, G3 > 20 mitoses per 2 mm2.
    assert grade_from_mitoses(mitoses) is WhoGrade(grade)


def test_grade_is_the_higher_of_ki67_and_mitoses() -> None:
    assert derive_who_grade(1.0, 5) is WhoGrade.G2  # Ki-67 says G1, mitoses G2
    assert derive_who_grade(25.0, 1) is WhoGrade.G3  # Ki-67 says G3, mitoses G1
    assert derive_who_grade(None, 1) is WhoGrade.G1
    assert derive_who_grade(None, None) is None


def _diagnosis(**changes: object) -> Diagnosis:
    row = {"patient_id": "NET1", "diagnosis_date": "2010-01-01", "primary_site": "small_bowel"}
    return Diagnosis.model_validate(row | changes)


def test_contradicting_grade_is_flagged_and_agreeing_grade_is_not() -> None:
    assert _diagnosis(who_grade="G2", ki67_percent="8").grade_conflict() is None
    message = _diagnosis(who_grade="G1", ki67_percent="8").grade_conflict()
    assert message is not None and "gives G2" in message
    # The recorded grade wins for analysis; the derived one fills a gap.
    assert _diagnosis(ki67_percent="25").grade is WhoGrade.G3


def test_poorly_differentiated_tumour_is_not_graded_g1() -> None:
    with pytest.raises(ValidationError, match="not graded G1/G2"):
        _diagnosis(differentiation="poorly", who_grade="G1")


def test_topography_must_agree_with_primary_site() -> None:
    assert _diagnosis(icdo3_topography="C17.2").icdo3_topography == "C17.2"
    with pytest.raises(ValidationError, match="does not agree with primary_site"):
        _diagnosis(icdo3_topography="C25.0")


def test_lung_category_only_for_lung() -> None:
    with pytest.raises(ValidationError, match="only for primary_site lung"):
        _diagnosis(lung_category="typical")


def test_activity_in_mci_is_converted_to_mbq() -> None:
    # 1 mCi = 37 MBq: 200 mCi is 7400 MBq (7.4 GBq), a typical I-131 MIBG dose.
    row = {"patient_id": "NET1", "therapy_id": "T1", "agent": "i131_mibg", "date": "2010-01-01"}
    therapy = Therapy.model_validate(row | {"activity_mci": "200", "cycle": "1"})
    assert therapy.activity_mbq == 7400.0
    with pytest.raises(ValidationError, match="greater than 0"):
        Therapy.model_validate(row | {"activity_mbq": "-5", "cycle": "1"})


def test_assessment_kind_requires_its_fields() -> None:
    row = {"patient_id": "NET1", "assessment_id": "A1", "date": "2010-01-01"}
    with pytest.raises(ValidationError, match="requires biomarker, value, unit"):
        Assessment.model_validate(row | {"kind": "biomarker"})
    ok = Assessment.model_validate(row | {"kind": "recist", "recist_response": "PR"})
    assert ok.recist_response == "PR"


def test_death_must_agree_with_vital_status() -> None:
    row = {"patient_id": "NET1", "last_contact_date": "2012-01-01"}
    with pytest.raises(ValidationError, match="requires death_date"):
        Followup.model_validate(row | {"vital_status": "dead"})
    with pytest.raises(ValidationError, match="vital_status is alive"):
        Followup.model_validate(row | {"vital_status": "alive", "death_date": "2012-01-01"})
    with pytest.raises(ValidationError, match="after death_date"):
        Followup.model_validate(row | {"vital_status": "dead", "death_date": "2011-01-01"})


@pytest.mark.parametrize("bad_id", ["John Smith", "12345678", "Smith", "NET 001", ""])
def test_patient_id_must_look_pseudonymous(bad_id: str) -> None:
    row = {"patient_id": bad_id, "sex": "female", "birth_year": "1950", "site": "C1"}
    with pytest.raises(ValidationError):
        Patient.model_validate(row)


def test_every_child_table_names_an_earlier_parent() -> None:
    order = list(TABLES)
    for spec in TABLES.values():
        if spec.foreign_key is not None:
            assert order.index(spec.foreign_key.parent) < order.index(spec.name)
            assert set(spec.foreign_key.columns) <= set(spec.columns)


def test_m_category_must_agree_with_metastatic_sites() -> None:
    # AJCC 8th: M1a hepatic only, M1b extrahepatic only, M1c both.
    assert _diagnosis(stage="IV", m_category="M1c", metastatic_sites="liver; bone").m_category
    assert _diagnosis(stage="IV", m_category="M1b", metastatic_sites="bone").m_category
    with pytest.raises(ValidationError, match="which give M1c"):
        _diagnosis(stage="IV", m_category="M1a", metastatic_sites="liver;bone")
    with pytest.raises(ValidationError, match="require stage IV"):
        _diagnosis(stage="III", metastatic_sites="liver")


@pytest.mark.parametrize(
    ("category", "mitoses", "conflict"),
    [
        ("typical", 1, False),
        ("typical", 2, True),
        ("atypical", 0, False),  # focal necrosis alone makes it atypical
        ("atypical", 10, False),
        ("atypical", 11, True),
        ("LCNEC", 10, True),
        ("SCLC", 40, False),
    ],
)
def test_lung_category_is_checked_against_mitoses(
    category: str, mitoses: int, conflict: bool
) -> None:
    diagnosis = _diagnosis(primary_site="lung", lung_category=category, mitotic_count=str(mitoses))
    assert (diagnosis.grade_conflict() is not None) is conflict
