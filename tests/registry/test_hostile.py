"""Issue 11's hostile inputs: each one is a single `error:` line naming what is wrong, exit 2,
no traceback, and the registry byte-for-byte unchanged.

Every case was a traceback or a silent loss (exit 0, data dropped) before.
"""

from __future__ import annotations

import shutil
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import openpyxl
import pytest
from typer.testing import CliRunner

from netoutcomes.errors import InputError
from netoutcomes.interfaces.cli.main import _register_commands, app
from netoutcomes.registry.model import Patient
from netoutcomes.registry.store import open_registry

_register_commands()
runner = CliRunner()
REDCAP = Path(__file__).parent / "data" / "redcap"

# A case prepares files under tmp_path and returns the CLI arguments and a phrase
# the error must contain. The registry is always tmp_path / "registry.duckdb".
Case = Callable[[Path, Path], tuple[list[str], str]]


def _redcap(tmp: Path, edit_mapping: Callable[[str], str] = lambda t: t) -> Path:
    folder = tmp / "redcap"
    shutil.copytree(REDCAP, folder)
    mapping = folder / "mapping.yaml"
    mapping.write_text(edit_mapping(mapping.read_text()))
    return folder


def _template(template: str) -> Case:
    def case(tmp: Path, registry: Path) -> tuple[list[str], str]:
        folder = _redcap(
            tmp, lambda t: t.replace('"{record_id}-T{redcap_repeat_instance}"', repr(template))
        )
        return ["import", str(registry), str(folder / "mapping.yaml")], "template"

    return case


def _redcap_records(edit: Callable[[str], str], phrase: str) -> Case:
    def case(tmp: Path, registry: Path) -> tuple[list[str], str]:
        folder = _redcap(tmp)
        records = folder / "records.csv"
        records.write_text(edit(records.read_text()))
        return ["import", str(registry), str(folder / "mapping.yaml")], phrase

    return case


def _truncated_records(text: str) -> str:
    return text[: text.index("RC002,,,2,") + len("RC002,,,2")]  # cut after the sex cell


def _cut_mid_row(text: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2]


def _huge_cell(text: str) -> str:
    return text.replace("RC002,,,2,1948", 'RC002,,,2,"' + "9" * 140_000 + '"')


def _instrument_typo(tmp: Path, registry: Path) -> tuple[list[str], str]:
    folder = _redcap(
        tmp, lambda t: t.replace("instrument: mibg_therapy", "instrument: mibg_therapyy")
    )
    return ["import", str(registry), str(folder / "mapping.yaml")], "did you mean 'mibg_therapy'"


def _damaged_sheet_xml(tmp: Path, registry: Path) -> tuple[list[str], str]:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "patients"
    sheet.append(["patient_id", "sex", "birth_year", "site"])
    sheet.append(["NET001", "female", 1950, "CTR1"])
    good = tmp / "good.xlsx"
    book.save(good)
    bad = tmp / "damaged.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # XML cut in the middle
            dst.writestr(item, data)
    return ["import", str(registry), str(bad)], "damaged.xlsx"


def _sheet_named(name: str) -> Case:
    def case(tmp: Path, registry: Path) -> tuple[list[str], str]:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = name
        sheet.append(["patient_id", "sex", "birth_year", "site"])
        sheet.append(["NET001", "female", 1950, "CTR1"])
        followup = book.create_sheet("followup")
        followup.append(["patient_id", "last_contact_date", "vital_status"])
        followup.append(["NET001", "2016-01-01", "alive"])
        path = tmp / "book.xlsx"
        book.save(path)
        return ["import", str(registry), str(path)], "did you mean 'patients'"

    return case


def _csv_folder(files: dict[str, str], phrase: str) -> Case:
    def case(tmp: Path, registry: Path) -> tuple[list[str], str]:
        folder = tmp / "src"
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
        return ["import", str(registry), str(folder)], phrase

    return case


PATIENT = "patient_id,sex,birth_year,site\nNET001,female,1950,CTR1\n"
THERAPY_HEAD = "patient_id,therapy_id,agent,date,activity_mbq,activity_mci,cycle\n"
DIAG = "patient_id,diagnosis_date,primary_site\nNET001,2008-01-01,small_bowel\n"


def _therapy(cells: str) -> dict[str, str]:
    return {
        "patients.csv": PATIENT,
        "diagnoses.csv": DIAG,
        "therapies.csv": THERAPY_HEAD + cells + "\n",
    }


def _both_case_files(tmp: Path, registry: Path) -> tuple[list[str], str]:
    folder = tmp / "src"
    folder.mkdir()
    (folder / "patients.csv").write_text(PATIENT)
    (folder / "patients.CSV").write_text("patient_id,sex,birth_year,site\nNET002,male,1950,CTR1\n")
    return ["import", str(registry), str(folder)], "two files for table patients"


def _stored_schema_says_1(tmp: Path, registry: Path) -> tuple[list[str], str]:
    conn = duckdb.connect(str(registry))
    conn.execute("DELETE FROM schema_version")
    conn.execute("INSERT INTO schema_version VALUES (1, now())")
    conn.close()
    return ["audit", str(registry)], "cannot upgrade"


def _missing_table(tmp: Path, registry: Path) -> tuple[list[str], str]:
    conn = duckdb.connect(str(registry))
    conn.execute("DROP TABLE lesions")
    conn.close()
    return ["export", str(registry), str(tmp / "out")], "table lesions is missing"


def _corrupted(tmp: Path, registry: Path) -> tuple[list[str], str]:
    data = bytearray(registry.read_bytes())
    data[100:164] = b"\xff" * 64  # inside the header block: DuckDB's checksum fails
    registry.write_bytes(bytes(data))
    return ["audit", str(registry)], "damaged"


def _sqlite(tmp: Path, registry: Path) -> tuple[list[str], str]:
    registry.unlink()
    conn = sqlite3.connect(registry)
    conn.execute("CREATE TABLE patients (patient_id TEXT)")
    conn.commit()
    conn.close()
    return ["audit", str(registry)], "not a netoutcomes registry"


def _template_over_filled_forms(tmp: Path, registry: Path) -> tuple[list[str], str]:
    forms = tmp / "forms"
    forms.mkdir()
    (forms / "patients.csv").write_text(PATIENT)
    return ["template", str(forms)], "not empty"


def _export_through_symlink(tmp: Path, registry: Path) -> tuple[list[str], str]:
    out = tmp / "out"
    out.mkdir()
    (out / "patients.csv").symlink_to(tmp / "elsewhere.csv")
    return ["export", str(registry), str(out)], "symbolic link"


CASES: dict[str, Case] = {
    "redcap template {record_id:d}": _template("{record_id:d}"),
    "redcap template {record_id:%Y}": _template("{record_id:%Y}"),
    "redcap template {": _template("{"),
    "redcap template }": _template("}"),
    "redcap template {}": _template("{}"),
    "redcap records truncated": _redcap_records(_truncated_records, "cells but the header"),
    "redcap records cut mid-row": _redcap_records(_cut_mid_row, "cells but the header"),
    "redcap cell over 131072 characters": _redcap_records(_huge_cell, "longer than"),
    "redcap records header malformed (found by the fuzz test)": _redcap_records(
        lambda t: '"record_id' + t[len("record_id") :], "malformed CSV"
    ),
    "redcap instrument typo": _instrument_typo,
    "xlsx damaged sheet xml": _damaged_sheet_xml,
    "xlsx sheet named Patients": _sheet_named("Patient"),
    "cycle 2**63": _csv_folder(
        _therapy("NET001,TH1,i131_mibg,2009-01-01,7400,,9223372036854775808"), "cycle"
    ),
    "cycle 2**63-1": _csv_folder(
        _therapy("NET001,TH1,i131_mibg,2009-01-01,7400,,9223372036854775807"), "cycle"
    ),
    "mbq and mci, mci not a number": _csv_folder(
        _therapy("NET001,TH1,i131_mibg,2009-01-01,7400,abc,1"), "activity_mci"
    ),
    "mbq and mci, mci negative": _csv_folder(
        _therapy("NET001,TH1,i131_mibg,2009-01-01,7400,-5,1"), "activity_mci"
    ),
    "mbq and mci disagree": _csv_folder(
        _therapy("NET001,TH1,i131_mibg,2009-01-01,7400,100,1"), "disagree"
    ),
    "patients.CSV beside patients.csv": _both_case_files,
    "v2 file whose schema_version says 1": _stored_schema_says_1,
    "registry missing a table": _missing_table,
    "corrupted duckdb file": _corrupted,
    "sqlite file (no extension download)": _sqlite,
    "template over filled forms": _template_over_filled_forms,
    "export through a symlink": _export_through_symlink,
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_is_one_clean_error_and_changes_nothing(
    name: str, tmp_path: Path, clinic_registry: Path
) -> None:
    registry = tmp_path / "registry.duckdb"
    assert registry == clinic_registry
    args, phrase = CASES[name](tmp_path, registry)
    before = registry.read_bytes() if registry.exists() else None
    files_before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (name, result.output, result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors, result.stderr
    assert any(phrase in line for line in errors), result.stderr
    if before is not None:
        assert registry.read_bytes() == before
    for path, data in files_before.items():  # no form overwritten, no file written through
        assert path.read_bytes() == data, path


def test_a_stored_value_the_model_refuses_is_a_clean_error_naming_table_row_column(
    clinic_registry: Path,
) -> None:
    conn = duckdb.connect(str(clinic_registry))
    conn.execute("UPDATE patients SET sex = 'alien' WHERE patient_id = 'NET002'")
    conn.close()
    with open_registry(clinic_registry) as registry, pytest.raises(InputError) as caught:
        registry.rows_of(Patient)
    message = str(caught.value)
    assert "patients" in message and "NET002" in message and "column sex" in message
    assert "'alien'" in message and "\n" not in message


def test_sheet_and_file_names_differing_only_in_case_are_their_table(
    tmp_path: Path, empty_registry: Path
) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Patients"
    book.active.append(["patient_id", "sex", "birth_year", "site"])
    book.active.append(["NET001", "female", 1950, "CTR1"])
    book.save(tmp_path / "book.xlsx")
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "Patients.CSV").write_text("patient_id,sex,birth_year,site\nNET002,male,1950,CTR3\n")
    result = runner.invoke(app, ["import", str(empty_registry), str(tmp_path / "book.xlsx")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["import", str(empty_registry), str(folder)])
    assert result.exit_code == 0, result.output
    with open_registry(empty_registry) as registry:
        assert [p.patient_id for p in registry.rows_of(Patient)] == ["NET001", "NET002"]


def test_matching_mbq_and_mci_are_accepted(tmp_path: Path, empty_registry: Path) -> None:
    # 200 mCi = 7400 MBq exactly; 180 mCi = 6660 MBq written rounded to 6650 (within 1 %).
    rows = "NET001,TH1,i131_mibg,2009-01-01,7400,200,1\nNET001,TH2,i131_mibg,2009-06-01,6650,180,2"
    folder = tmp_path / "src"
    folder.mkdir()
    for name, text in _therapy(rows).items():
        (folder / name).write_text(text)
    result = runner.invoke(app, ["import", str(empty_registry), str(folder)])
    assert result.exit_code == 0, result.output
    with open_registry(empty_registry) as registry:
        assert [r["activity_mbq"] for r in registry.stored_rows("therapies")] == [7400.0, 6650.0]


def test_screen_over_a_stored_value_the_model_refuses_is_one_error_line(
    clinic_registry: Path,
) -> None:
    conn = duckdb.connect(str(clinic_registry))
    conn.execute("UPDATE patients SET sex = 'alien' WHERE patient_id = 'NET002'")
    conn.close()
    result = runner.invoke(app, ["screen", str(clinic_registry), "--protocol", "mibg-net"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "table patients, row NET002, column sex" in line
