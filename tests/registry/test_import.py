"""Import: all or nothing, idempotent, audited; the catalogue of bad inputs and their messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from netoutcomes.registry.importing import ImportRejected, import_sources
from netoutcomes.registry.model import Patient, Therapy
from netoutcomes.registry.store import open_registry


def _count_rows(path: Path) -> dict[str, int]:
    with open_registry(path) as registry:
        return {t: registry.count(t) for t in ("patients", "lesions", "therapies", "followup")}


def test_import_stores_every_row_with_its_values(clinic_registry: Path) -> None:
    with open_registry(clinic_registry) as registry:
        patients = registry.rows_of(Patient)
        therapies = registry.rows_of(Therapy)
        assert [p.patient_id for p in patients] == ["NET001", "NET002", "NET003"]
        assert patients[1].birth_year == 1931
        assert [t.activity_mbq for t in therapies] == [7400.0, 7400.0, 11100.0]
        assert registry.count("lesions") == 4
        # One audit entry per inserted row (28 rows in the clinic folder), then the
        # checkpoint holding the digest of every table after the batch.
        audit = registry.audit()
        assert [e.action for e in audit] == ["insert"] * 28 + ["checkpoint"]
        assert audit[0].who == "tester" and len(audit[0].source_sha256) == 64


def test_reimport_changes_nothing_not_even_the_file(
    clinic_registry: Path, clinic_source: Path
) -> None:
    before = clinic_registry.read_bytes()
    report = import_sources(clinic_registry, [clinic_source], user="tester")
    assert report.batch_id is None and report.changed == 0
    assert report.counts["lesions"].unchanged == 4
    assert clinic_registry.read_bytes() == before


def test_changed_row_is_updated_with_old_and_new_values_audited(
    clinic_registry: Path, clinic_dir: Path
) -> None:
    followup = clinic_dir / "followup.csv"
    followup.write_text(
        followup.read_text().replace("NET001,2016-08-01,alive,,", "NET001,2017-02-03,alive,,")
    )
    report = import_sources(clinic_registry, [clinic_dir], user="editor")
    assert report.counts["followup"].updated == 1 and report.changed == 1
    with open_registry(clinic_registry) as registry:
        last = [e for e in registry.audit() if e.action != "checkpoint"][-1]
    assert (last.action, last.table_name, last.who) == ("update", "followup", "editor")
    assert json.loads(last.row_key) == {"patient_id": "NET001"}
    assert json.loads(last.old_values or "") == {"last_contact_date": "2016-08-01"}
    assert json.loads(last.new_values) == {"last_contact_date": "2017-02-03"}
    assert last.source_file.endswith("followup.csv")


def test_all_problems_are_reported_together_and_nothing_is_written(
    clinic_registry: Path, clinic_dir: Path
) -> None:
    (clinic_dir / "patients.csv").write_text(
        "patient_id,sex,birth_year,site\nNET004,F,1960,CTR1\nNET005,male,19x0,CTR1\n"
    )
    (clinic_dir / "lesions.csv").write_text(
        "scan_id,lesion_id,site,longest_diameter_mm,uptake_grade\nSC1,L9,liver,-3,4\n"
    )
    before = clinic_registry.read_bytes()
    with pytest.raises(ImportRejected) as caught:
        import_sources(clinic_registry, [clinic_dir], user="tester")
    found = [(p.row, p.column) for p in caught.value.problems]
    assert {(2, "sex"), (3, "birth_year"), (2, "longest_diameter_mm")} <= set(found)
    assert clinic_registry.read_bytes() == before


def test_grade_contradiction_is_a_warning_not_a_rejection(
    empty_registry: Path, clinic_dir: Path
) -> None:
    diagnoses = clinic_dir / "diagnoses.csv"
    # NET002 recorded G1 with Ki-67 8 %: WHO 2019 gives G2.
    diagnoses.write_text(diagnoses.read_text().replace("well,G2,8,3", "well,G1,8,3"))
    report = import_sources(empty_registry, [clinic_dir], user="tester")
    assert report.counts["diagnoses"].inserted == 3
    [warning] = report.warnings
    assert warning.row == 3 and warning.column == "who_grade"
    assert "contradicts Ki-67 8%" in warning.rule and "gives G2" in warning.rule


def test_activity_mci_column_is_accepted_and_converted(
    empty_registry: Path, clinic_dir: Path
) -> None:
    (clinic_dir / "therapies.csv").write_text(
        "patient_id,therapy_id,agent,date,activity_mci,cycle\n"
        "NET001,TH1,i131_mibg,2009-04-15,150,1\n"
    )
    import_sources(empty_registry, [clinic_dir], user="tester")
    with open_registry(empty_registry) as registry:
        [therapy] = registry.rows_of(Therapy)
    assert therapy.activity_mbq == 150 * 37


def _replace(old: str, new: str) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        assert old.encode() in data, old
        return data.replace(old.encode(), new.encode(), 1)

    return edit


def _append(line: str) -> Callable[[bytes], bytes]:
    return lambda data: data + line.encode()


# (case, file, edit, row, column, expected text in the message)
BAD_INPUTS: list[tuple[str, str, Callable[[bytes], bytes], int | None, str | None, str]] = [
    ("wrong type", "patients.csv", _replace("1950", "19x0"), 2, "birth_year", "valid integer"),
    (
        "unknown code",
        "patients.csv",
        _replace("female", "F"),
        2,
        "sex",
        "not an allowed value (allowed: female, male, other, unknown)",
    ),
    (
        "impossible date",
        "diagnoses.csv",
        _replace("2005-03-14", "2005-02-30"),
        2,
        "diagnosis_date",
        "valid date",
    ),
    (
        "date not ISO",
        "scans.csv",
        _replace("2009-03-01", "01/03/2009"),
        2,
        "date",
        "write dates as YYYY-MM-DD",
    ),
    (
        "infinite activity",
        "therapies.csv",
        _replace("11100,1", "inf,1"),
        4,
        "activity_mbq",
        "finite number",
    ),
    (
        "name as patient id",
        "patients.csv",
        _append("John Smith,male,1960,CTR1\n"),
        5,
        "patient_id",
        "starts with a letter, contains at least one digit",
    ),
    (
        "duplicate id",
        "patients.csv",
        _append("NET001,male,1960,CTR1\n"),
        5,
        "patient_id",
        "duplicate key NET001 in patients (first at",
    ),
    (
        "orphan row",
        "treatments.csv",
        _append("NET999,TR9,chemotherapy,2010-01-01,\n"),
        5,
        "patient_id",
        "orphan row: patient_id NET999 is not in patients",
    ),
    (
        "orphan lesion",
        "lesions.csv",
        _append("SC9,L1,liver,20,3\n"),
        6,
        "scan_id",
        "orphan row: scan_id SC9 is not in scans",
    ),
    (
        "truncated file",
        "patients.csv",
        lambda data: data[: data.rindex(b",1972")],
        4,
        None,
        "row has 2 cells but the header has 4 (truncated",
    ),
    (
        "unbalanced quote",
        "patients.csv",
        _append('NET004,male,"1960,CTR1\n'),
        5,
        None,
        "malformed CSV",
    ),
    (
        "wrong encoding",
        "patients.csv",
        lambda data: data.replace(b"CTR2", "Zürich".encode("latin-1")),
        4,
        None,
        "not UTF-8 text",
    ),
    ("empty file", "scans.csv", lambda data: b"", 1, None, "empty file: no header row"),
    ("binary file", "scans.csv", lambda data: b"\x00\x01PK\x00" * 10, None, None, "NUL bytes"),
    ("unknown column", "patients.csv", _replace("site", "centre"), 1, "centre", "unknown column"),
    (
        "missing column",
        "scans.csv",
        _replace("patient_id,scan_id,date,modality", "patient_id,scan_id,modality"),
        1,
        "date",
        "required column is missing",
    ),
    (
        "negative activity",
        "therapies.csv",
        _replace("7400,1", "-7400,1"),
        2,
        "activity_mbq",
        "greater than 0",
    ),
    (
        "zero lesion size",
        "lesions.csv",
        _replace("SC1,L1,liver,24,4", "SC1,L1,liver,0,4"),
        2,
        "longest_diameter_mm",
        "greater than 0",
    ),
    (
        "uptake grade out of scale",
        "lesions.csv",
        _replace("SC1,L1,liver,24,4", "SC1,L1,liver,24,5"),
        2,
        "uptake_grade",
        "less than or equal to 4",
    ),
    (
        "unknown morphology code",
        "diagnoses.csv",
        _replace("8240/3", "9999/3"),
        2,
        "icdo3_morphology",
        "not a neuroendocrine ICD-O-3 morphology code",
    ),
    (
        "born after diagnosis",
        "diagnoses.csv",
        _replace("NET003,2009-06-30", "NET003,1970-06-30"),
        4,
        "diagnosis_date",
        "diagnosis_date 1970-06-30 is before birth year 1972",
    ),
    (
        "therapy before diagnosis",
        "therapies.csv",
        _replace("NET002,TH3,i131_mibg,2010-02-20", "NET002,TH3,i131_mibg,2006-02-20"),
        4,
        "date",
        "before the histological diagnosis (2007-11-02)",
    ),
    (
        "event after death",
        "assessments.csv",
        _replace("NET002,AS4,2010-05-20", "NET002,AS4,2012-05-20"),
        5,
        "date",
        "after the death on 2011-03-02 (death must be the last event)",
    ),
    (
        "dead without death date",
        "followup.csv",
        _replace("dead,2011-03-02,", "dead,,"),
        3,
        "vital_status",
        "vital_status dead requires death_date",
    ),
    (
        "unknown table file",
        "patient.csv",
        lambda data: b"patient_id\nNET1\n",
        None,
        None,
        "not a registry table",
    ),
]


@pytest.mark.parametrize(
    ("file", "edit", "row", "column", "expected"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_is_rejected_with_its_message(
    clinic_registry: Path,
    clinic_dir: Path,
    file: str,
    edit: Callable[[bytes], bytes],
    row: int | None,
    column: str | None,
    expected: str,
) -> None:
    path = clinic_dir / file
    path.write_bytes(edit(path.read_bytes() if path.exists() else b""))
    before = clinic_registry.read_bytes()
    with pytest.raises(ImportRejected) as caught:
        import_sources(clinic_registry, [clinic_dir], user="tester")
    matching = [p for p in caught.value.problems if expected in p.rule]
    assert matching, [str(p) for p in caught.value.problems]
    problem = matching[0]
    assert problem.file.endswith(file)
    assert (problem.row, problem.column) == (row, column), str(problem)
    assert clinic_registry.read_bytes() == before


def test_a_bad_header_is_reported_once_not_on_every_row(
    clinic_registry: Path, clinic_dir: Path
) -> None:
    patients = clinic_dir / "patients.csv"
    patients.write_text(patients.read_text().replace("site", "centre"))
    with pytest.raises(ImportRejected) as caught:
        import_sources(clinic_registry, [clinic_dir], user="tester")
    assert [(p.row, p.column, p.rule.split(";")[0]) for p in caught.value.problems] == [
        (1, "centre", "unknown column"),
        (1, "site", "required column is missing"),
    ]


def test_rows_under_an_unreadable_file_are_not_reported_as_orphans(
    empty_registry: Path, clinic_dir: Path
) -> None:
    patients = clinic_dir / "patients.csv"
    patients.write_bytes(patients.read_bytes().replace(b"CTR2", "Zürich".encode("latin-1")))
    with pytest.raises(ImportRejected) as caught:
        import_sources(empty_registry, [clinic_dir], user="tester")
    [problem] = caught.value.problems  # the encoding, not 20 orphans
    assert "not UTF-8 text" in problem.rule


def test_a_column_absent_from_the_file_keeps_its_stored_value(
    clinic_registry: Path, tmp_path: Path
) -> None:
    source = tmp_path / "update"
    source.mkdir()
    # No death_date / death_cause columns: NET002's death must survive this update.
    (source / "followup.csv").write_text(
        "patient_id,last_contact_date,vital_status\n"
        "NET001,2018-01-01,alive\nNET002,2011-03-02,dead\n"
    )
    report = import_sources(clinic_registry, [source], user="tester")
    assert (report.counts["followup"].updated, report.counts["followup"].unchanged) == (1, 1)
    with open_registry(clinic_registry) as registry:
        rows = {r["patient_id"]: r for r in registry.stored_rows("followup")}
    assert rows["NET002"]["death_cause"] == "progressive disease"
    assert str(rows["NET001"]["last_contact_date"]) == "2018-01-01"
    # A blank cell, by contrast, clears the stored value.
    (source / "followup.csv").unlink()
    (source / "diagnoses.csv").write_text(
        "patient_id,diagnosis_date,primary_site,metastatic_sites\nNET001,2005-03-14,small_bowel,\n"
    )
    assert import_sources(clinic_registry, [source], user="tester").changed == 1
    with open_registry(clinic_registry) as registry:
        net001 = registry.stored_rows("diagnoses")[0]
    assert net001["metastatic_sites"] is None and net001["who_grade"] == "G1"


def test_activity_mci_update_replaces_the_stored_mbq(clinic_registry: Path, tmp_path: Path) -> None:
    source = tmp_path / "update"
    source.mkdir()
    (source / "therapies.csv").write_text(
        "patient_id,therapy_id,agent,date,activity_mci,cycle\n"
        "NET001,TH1,i131_mibg,2009-04-15,250,1\n"
    )
    import_sources(clinic_registry, [source], user="tester")
    with open_registry(clinic_registry) as registry:
        [th1] = [t for t in registry.rows_of(Therapy) if t.therapy_id == "TH1"]
    assert th1.activity_mbq == 250 * 37
