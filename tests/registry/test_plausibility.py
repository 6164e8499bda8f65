"""Data-entry slips: impossible values are errors, unlikely ones block unless confirmed,
codes are matched whatever their case, and every rule is said in words."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from netoutcomes.registry.importing import ImportRejected, import_sources
from netoutcomes.registry.model import Patient
from netoutcomes.registry.store import open_registry


def _edit(file: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / file
        text = path.read_text()
        assert old in text, (file, old)
        path.write_text(text.replace(old, new, 1))

    return edit


def _append(file: str, line: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / file
        path.write_text(path.read_text() + line)

    return edit


NEXT_YEAR = dt.date.today().year + 1

# name -> (edit of the clinic folder, file, column, phrase of the rule)
IMPOSSIBLE = {
    "date after today": (
        _edit("scans.csv", "2009-03-01", f"{NEXT_YEAR}-03-01"),
        "scans.csv",
        "date",
        "date is in the future",
    ),
    "date 9999-12-31": (
        _edit("progressions.csv", "2009-02-01", "9999-12-31"),
        "progressions.csv",
        "date",
        "date is in the future",
    ),
    "date before 1900": (
        _edit("treatments.csv", "2005-04-01", "1899-12-31"),
        "treatments.csv",
        "start_date",
        "date is before 1900",
    ),
    "birth year after this year": (
        _edit("patients.csv", "1972", str(NEXT_YEAR)),
        "patients.csv",
        "birth_year",
        "birth_year is in the future",
    ),
    "1e308 MBq": (
        _edit("therapies.csv", ",7400,1", ",1e308,1"),
        "therapies.csv",
        "activity_mbq",
        "less than or equal to 100000",
    ),
    "cycle 2**63-1": (
        _edit("therapies.csv", ",7400,1", ",7400,9223372036854775807"),
        "therapies.csv",
        "cycle",
        "less than or equal to 99",
    ),
    "the same cycle twice": (
        _append("therapies.csv", "NET001,TH9,i131_mibg,2010-04-15,7400,1\n"),
        "therapies.csv",
        "cycle",
        "the same cycle twice",
    ),
    "a postcode as site": (
        _edit("patients.csv", "CTR2", "90210"),
        "patients.csv",
        "site",
        "looks like a postcode",
    ),
    "a UK postcode as site": (
        _edit("patients.csv", "CTR2", "SW1A1AA"),
        "patients.csv",
        "site",
        "looks like a postcode",
    ),
    "free text as unit": (
        _edit("assessments.csv", "mg/24h", "ring Dr Smith 555-0101"),
        "assessments.csv",
        "unit",
        "not a known unit",
    ),
    "a code misspelt": (
        _edit("patients.csv", "female", "femal"),
        "patients.csv",
        "sex",
        "did you mean 'female'?",
    ),
}

UNLIKELY = {
    "lesion size in cm": (
        _edit("lesions.csv", "SC1,L2,lymph_node,12.5,3", "SC1,L2,lymph_node,2.5,3"),
        "lesions.csv",
        "longest_diameter_mm",
        "a lesion under 5 mm",
    ),
    "mCi typed as MBq": (
        _edit("therapies.csv", ",11100,1", ",200,1"),
        "therapies.csv",
        "activity_mbq",
        "outside 1-30 GBq",
    ),
    "10-fold jump between cycles": (
        # 1.1 then 11.1 GBq: each plausible alone, a 10-fold jump together.
        lambda folder: (
            _edit("therapies.csv", "2009-04-15,7400,1", "2009-04-15,1100,1")(folder),
            _edit("therapies.csv", "2009-10-20,7400,2", "2009-10-20,11100,2")(folder),
        ),
        "therapies.csv",
        "activity_mbq",
        "10-fold between cycles 1 and 2",
    ),
}


@pytest.mark.parametrize("name", list(IMPOSSIBLE))
def test_impossible_values_are_errors(name: str, clinic_registry: Path, clinic_dir: Path) -> None:
    edit, file, column, phrase = IMPOSSIBLE[name]
    edit(clinic_dir)
    before = clinic_registry.read_bytes()
    with pytest.raises(ImportRejected) as caught:
        import_sources(clinic_registry, [clinic_dir], user="tester", confirm_unlikely=True)
    matching = [p for p in caught.value.problems if phrase in p.rule]
    assert matching, [str(p) for p in caught.value.problems]
    assert matching[0].file.endswith(file) and matching[0].column == column
    assert clinic_registry.read_bytes() == before


@pytest.mark.parametrize("name", list(UNLIKELY))
def test_unlikely_values_block_unless_confirmed(
    name: str, clinic_registry: Path, clinic_dir: Path
) -> None:
    edit, file, column, phrase = UNLIKELY[name]
    edit(clinic_dir)
    before = clinic_registry.read_bytes()
    with pytest.raises(ImportRejected) as caught:
        import_sources(clinic_registry, [clinic_dir], user="tester")
    [problem] = [p for p in caught.value.problems if p.severity == "error"]
    assert phrase in problem.rule and "--confirm-unlikely" in problem.rule, str(problem)
    assert problem.file.endswith(file) and problem.column == column
    assert clinic_registry.read_bytes() == before
    report = import_sources(clinic_registry, [clinic_dir], user="tester", confirm_unlikely=True)
    assert report.changed >= 1 and any(phrase in w.rule for w in report.warnings)


def test_codes_are_matched_whatever_their_case(clinic_registry: Path, clinic_dir: Path) -> None:
    _edit("patients.csv", "NET003,female", "NET003,FEMALE")(clinic_dir)
    _edit("assessments.csv", ",,SD,,,", ",,sd,,,")(clinic_dir)
    _edit("assessments.csv", "mg/24h", "MG/24H")(clinic_dir)
    report = import_sources(clinic_registry, [clinic_dir], user="tester")
    assert report.changed == 0  # the same codes as stored: nothing changes
    with open_registry(clinic_registry) as registry:
        assert [p.sex.value for p in registry.rows_of(Patient)][2] == "female"


def test_a_semicolon_csv_gets_one_hint_about_the_delimiter(
    clinic_registry: Path, clinic_dir: Path
) -> None:
    path = clinic_dir / "patients.csv"
    path.write_text(path.read_text().replace(",", ";"))
    with pytest.raises(ImportRejected) as caught:
        import_sources(clinic_registry, [clinic_dir], user="tester")
    [problem] = [p for p in caught.value.problems if p.file.endswith("patients.csv")]
    assert "separated by semicolons" in problem.rule and problem.row == 1


def test_no_message_shows_a_regular_expression(clinic_registry: Path, clinic_dir: Path) -> None:
    _append("patients.csv", "John Smith,male,1960,CTR 1\n")(clinic_dir)
    _append("diagnoses.csv", "NET009,2005-03-14,small_bowel,C17-2,82403,,,,,,,,\n")(clinic_dir)
    with pytest.raises(ImportRejected) as caught:
        import_sources(clinic_registry, [clinic_dir], user="tester")
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "pattern" not in text and not re.search(r"\^|\$'|\[A-Z|\[0-9", text), text
    assert "four digits, '/', one digit" in text and "C, two digits" in text
