"""The generated REDCap data dictionary follows REDCap's documented format rules, and a
records export of a project made from it imports, through the generated mapping, to the
same rows as the clinic's CSV files."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from netoutcomes.interfaces.cli.main import _register_commands, app
from netoutcomes.registry.importing import import_sources
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.redcap_dictionary import (
    HEADER,
    ONE_PER_PATIENT,
    dictionary_csv,
    field_name,
)
from netoutcomes.registry.store import create_registry, open_registry

_register_commands()
runner = CliRunner()

# REDCap's documented rules for a data dictionary upload (Project Setup > Data Dictionary).
REDCAP_HEADER = (
    "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
    '"Choices, Calculations, OR Slider Labels",Field Note,'
    "Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,"
    "Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,"
    "Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation"
)
FIELD_TYPES = {"text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc"}
VALIDATIONS = {"", "date_ymd", "integer", "number", "email", "time", "datetime_ymd"}
NAME = re.compile(r"[a-z][a-z0-9_]*")


def _dictionary_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(dictionary_csv())))


def test_dictionary_follows_redcaps_format_rules() -> None:
    text = dictionary_csv()
    assert text.splitlines()[0] == REDCAP_HEADER and len(HEADER) == 18
    rows = _dictionary_rows()
    names = [r["Variable / Field Name"] for r in rows]
    assert names[0] == "record_id"  # the first field is the record id
    assert len(names) == len(set(names))  # unique in the project
    forms_in_order: list[str] = []
    for row in rows:
        name, form = row["Variable / Field Name"], row["Form Name"]
        assert NAME.fullmatch(name) and len(name) <= 100, name
        assert NAME.fullmatch(form), form
        if not forms_in_order or forms_in_order[-1] != form:
            assert form not in forms_in_order, f"fields of {form} are not contiguous"
            forms_in_order.append(form)
        assert row["Field Type"] in FIELD_TYPES
        validation = row["Text Validation Type OR Show Slider Number"]
        assert validation in VALIDATIONS
        if row["Text Validation Min"] or row["Text Validation Max"]:
            assert validation in ("integer", "number")
        assert row["Required Field?"] in ("", "y")
        choices = row["Choices, Calculations, OR Slider Labels"]
        if row["Field Type"] == "dropdown":
            pairs = [part.split(",", 1) for part in choices.split(" | ")]
            codes = [code.strip() for code, _ in pairs]
            assert all(re.fullmatch(r"[A-Za-z0-9_]+", c) for c in codes) and len(set(codes)) == len(
                codes
            )
        else:
            assert choices == ""
    assert forms_in_order == list(TABLES)


def _records_export(clinic: Path) -> str:
    """What REDCap's "CSV (raw data)" export of the clinic would hold, built by hand."""
    rows = _dictionary_rows()
    codes = {
        r["Variable / Field Name"]: {
            label.strip(): code.strip()
            for code, label in (
                p.split(",", 1) for p in r["Choices, Calculations, OR Slider Labels"].split(" | ")
            )
        }
        for r in rows
        if r["Field Type"] == "dropdown"
    }
    fields = [r["Variable / Field Name"] for r in rows]
    header = ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance", *fields[1:]]
    tables = {t: list(csv.DictReader((clinic / f"{t}.csv").open())) for t in TABLES}
    patient_of_scan = {s["scan_id"]: s["patient_id"] for s in tables["scans"]}
    out = io.StringIO()
    writer = csv.DictWriter(out, header, restval="", lineterminator="\n")
    writer.writeheader()

    def cells(table: str, row: dict[str, str]) -> dict[str, str]:
        result = {}
        for column, value in row.items():
            if column == "patient_id":
                continue
            name = field_name(table, column)
            result[name] = codes[name][value] if name in codes and value else value
        return result

    for patient in tables["patients"]:
        pid = patient["patient_id"]
        base = {"record_id": pid}
        for table in ONE_PER_PATIENT:
            for row in tables[table]:
                if row["patient_id"] == pid:
                    base |= cells(table, row)
        writer.writerow(base)
        for table in TABLES:
            if table in ONE_PER_PATIENT:
                continue
            mine = [
                r
                for r in tables[table]
                if r.get("patient_id", patient_of_scan.get(r.get("scan_id", ""))) == pid
            ]
            for instance, row in enumerate(mine, start=1):
                writer.writerow(
                    {
                        "record_id": pid,
                        "redcap_repeat_instrument": table,
                        "redcap_repeat_instance": str(instance),
                    }
                    | cells(table, row)
                )
    return out.getvalue()


def test_a_project_made_from_the_dictionary_round_trips(
    tmp_path: Path, clinic_source: Path, clinic_registry: Path
) -> None:
    result = runner.invoke(app, ["redcap", "dictionary", str(tmp_path / "net.csv")])
    assert result.exit_code == 0, result.output
    mapping = tmp_path / "net.mapping.yaml"
    assert (tmp_path / "net.csv").read_text() == dictionary_csv() and mapping.exists()
    (tmp_path / "records.csv").write_text(_records_export(clinic_source))
    registry = create_registry(tmp_path / "r.duckdb")
    import_sources(registry, [mapping], user="tester")
    with open_registry(registry) as imported, open_registry(clinic_registry) as expected:
        for table in TABLES:
            assert imported.stored_rows(table) == expected.stored_rows(table), table


def test_dictionary_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "net.csv").write_text("filled in")
    result = runner.invoke(app, ["redcap", "dictionary", str(tmp_path / "net.csv")])
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert (tmp_path / "net.csv").read_text() == "filled in"


def test_template_workbook_has_dropdowns_and_imports(tmp_path: Path, clinic_source: Path) -> None:
    book_path = tmp_path / "clinic.xlsx"
    result = runner.invoke(app, ["template", "--xlsx", str(book_path)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == list(TABLES)
    sex = book["patients"].data_validations.dataValidation
    assert any(v.formula1 == '"female,male,other,unknown"' and "B2" in str(v.sqref) for v in sex)
    # Filled with the clinic's patients, it imports.
    for line in (clinic_source / "patients.csv").read_text().splitlines()[1:]:
        book["patients"].append(line.split(","))
    book.save(book_path)
    registry = create_registry(tmp_path / "r.duckdb")
    assert import_sources(registry, [book_path], user="tester").counts["patients"].inserted == 3
    again = runner.invoke(app, ["template", "--xlsx", str(book_path)])
    assert again.exit_code == 2 and "already exists" in again.stderr
