"""XLSX workbooks and REDCap exports import to the same rows as the CSV folder."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest

from netoutcomes.registry.importing import ImportRejected, import_sources
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import column_types
from netoutcomes.registry.store import create_registry, open_registry

REDCAP = Path(__file__).parent / "data" / "redcap"


def _all_rows(path: Path) -> dict[str, list[dict]]:
    with open_registry(path) as registry:
        return {table: registry.stored_rows(table) for table in TABLES}


def _workbook_from_csv_folder(folder: Path, target: Path) -> None:
    """A sheet per table; dates and numbers as real Excel cells, as a clinic would type them."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    workbook.create_sheet("README").append(["notes for the study coordinator"])
    for table, spec in TABLES.items():
        kinds = column_types(spec)
        sheet = workbook.create_sheet(table)
        with (folder / f"{table}.csv").open(newline="") as handle:
            reader = csv.DictReader(handle)
            sheet.append(list(reader.fieldnames or ()))
            for row in reader:
                cells: list[object] = []
                for name, text in row.items():
                    kind = kinds.get(name)
                    if text == "":
                        cells.append(None)
                    elif kind == "date":
                        cells.append(dt.datetime.fromisoformat(text))
                    elif kind in ("integer", "real"):
                        cells.append(float(text) if "." in text else int(text))
                    else:
                        cells.append(text)
                sheet.append(cells)
    workbook.save(target)


def test_xlsx_workbook_imports_the_same_rows_as_the_csv_folder(
    clinic_registry: Path, clinic_source: Path, tmp_path: Path
) -> None:
    workbook = tmp_path / "clinic.xlsx"
    _workbook_from_csv_folder(clinic_source, workbook)
    registry = create_registry(tmp_path / "x.duckdb")
    report = import_sources(registry, [workbook], user="tester")
    assert _all_rows(registry) == _all_rows(clinic_registry)
    [ignored] = report.warnings
    assert "sheet 'README' is not a registry table" in ignored.rule


def test_xlsx_problems_name_the_sheet_and_row(clinic_source: Path, tmp_path: Path) -> None:
    workbook = tmp_path / "clinic.xlsx"
    _workbook_from_csv_folder(clinic_source, workbook)
    book = openpyxl.load_workbook(workbook)
    book["lesions"]["D3"] = -2  # row 3 = the second lesion; D = longest_diameter_mm
    book.save(workbook)
    registry = create_registry(tmp_path / "x.duckdb")
    with pytest.raises(ImportRejected) as caught:
        import_sources(registry, [workbook], user="tester")
    [problem] = [p for p in caught.value.problems if p.severity == "error"]
    assert problem.file.endswith("clinic.xlsx[lesions]")
    assert (problem.row, problem.column, problem.value) == (3, "longest_diameter_mm", "-2")


def test_damaged_workbook_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    workbook = tmp_path / "broken.xlsx"
    workbook.write_bytes(b"PK\x03\x04 this is not really a zip")
    registry = create_registry(tmp_path / "x.duckdb")
    with pytest.raises(ImportRejected, match="not a readable XLSX workbook"):
        import_sources(registry, [workbook], user="tester")


def test_redcap_export_is_mapped_through_its_dictionary(tmp_path: Path) -> None:
    registry = create_registry(tmp_path / "r.duckdb")
    import_sources(registry, [REDCAP / "mapping.yaml"], user="tester")
    rows = _all_rows(registry)
    # Codes 1/2 are Female/Male in the data dictionary; the mapping turns labels into codes.
    assert [(p["patient_id"], p["sex"], p["birth_year"]) for p in rows["patients"]] == [
        ("RC001", "female", 1955),
        ("RC002", "male", 1948),
    ]
    assert [d["primary_site"] for d in rows["diagnoses"]] == ["small_bowel", "pancreas"]
    # 200, 180 and 250 mCi at 37 MBq per mCi; one row per repeating-instrument instance.
    assert [(t["therapy_id"], t["activity_mbq"], t["cycle"]) for t in rows["therapies"]] == [
        ("RC001-T1", 7400.0, 1),
        ("RC001-T2", 6660.0, 2),
        ("RC002-T1", 9250.0, 1),
    ]
    with open_registry(registry) as opened:
        changes = [e for e in opened.audit() if e.action in ("insert", "update")]
        assert {e.source_file for e in changes} == {str(REDCAP / "records.csv")}


def test_redcap_problems_name_the_records_row(tmp_path: Path) -> None:
    folder = tmp_path / "redcap"
    shutil.copytree(REDCAP, folder)
    records = folder / "records.csv"
    records.write_text(records.read_text().replace("RC002,,,2,1948", "RC002,,,3,1948"))
    mapping = folder / "mapping.yaml"
    registry = create_registry(tmp_path / "r.duckdb")
    with pytest.raises(ImportRejected) as caught:
        import_sources(registry, [mapping], user="tester")
    [problem] = caught.value.problems
    assert problem.file.endswith("records.csv") and (problem.row, problem.column) == (5, "sex")
    mapping.write_text(mapping.read_text().replace("birth_year: yob", "birth_year: year_born"))
    with pytest.raises(ImportRejected, match="year_born"):
        import_sources(registry, [mapping], user="tester")


def test_redcap_event_selects_rows_of_a_longitudinal_project(tmp_path: Path) -> None:
    folder = tmp_path / "redcap"
    shutil.copytree(REDCAP, folder)
    records = folder / "records.csv"
    lines = records.read_text().splitlines()
    # Add an event column: the base rows of RC002 belong to a follow-up event.
    events = ["redcap_event_name"] + ["baseline_arm_1"] * 3 + ["followup_arm_1"] * 2
    records.write_text("\n".join(f"{e},{line}" for e, line in zip(events, lines, strict=True)))
    mapping = folder / "mapping.yaml"
    text = mapping.read_text().replace("  patients:\n", "  patients:\n    event: baseline_arm_1\n")
    mapping.write_text(text.replace("  diagnoses:\n", "  diagnoses:\n    event: baseline_arm_1\n"))
    registry = create_registry(tmp_path / "r.duckdb")
    with pytest.raises(ImportRejected) as caught:
        import_sources(registry, [mapping], user="tester")
    # RC002's base row is in followup_arm_1: not a patient, so its therapy is an orphan.
    [problem] = caught.value.problems
    assert "orphan row: patient_id RC002" in problem.rule and problem.row == 6


def test_numeric_ids_typed_in_excel_are_text_ids(clinic_source: Path, tmp_path: Path) -> None:
    workbook = tmp_path / "clinic.xlsx"
    _workbook_from_csv_folder(clinic_source, workbook)
    book = openpyxl.load_workbook(workbook)
    book["lesions"]["B2"] = 1  # lesion_id typed as the number 1
    book["lesions"]["B3"] = 2.0
    book.save(workbook)
    registry = create_registry(tmp_path / "x.duckdb")
    import_sources(registry, [workbook], user="tester")
    lesions = _all_rows(registry)["lesions"]
    assert [(r["scan_id"], r["lesion_id"]) for r in lesions][:2] == [("SC1", "1"), ("SC1", "2")]
