"""The adverse_events table: CTCAE v5.0 terms and grades, its template and its import."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from netoutcomes.errors import InputError
from netoutcomes.interfaces.cli.main import app
from netoutcomes.registry.dictionary import data_dictionary_markdown
from netoutcomes.registry.importing import import_sources
from netoutcomes.registry.model import AdverseEvent, Attribution, CtcaeTerm
from netoutcomes.registry.store import create_registry, open_registry

runner = CliRunner()
HEADER = "patient_id,ae_id,term,grade,onset_date,therapy_id,attribution\n"


def _event(**changes: object) -> AdverseEvent:
    row: dict[str, object] = {
        "patient_id": "NET001",
        "ae_id": "AE1",
        "term": "platelet_count_decreased",
        "grade": "3",
        "onset_date": "2009-05-10",
        "therapy_id": "TH1",
        "attribution": "probable",
    }
    row.update(changes)
    return AdverseEvent.model_validate(row)


def test_an_adverse_event_reads_codes_whatever_their_case() -> None:
    event = _event(term="Platelet_Count_Decreased", attribution="PROBABLE")
    assert event.term is CtcaeTerm.platelet_count_decreased
    assert event.attribution is Attribution.probable
    assert event.grade == 3


def test_blank_therapy_and_attribution_are_missing() -> None:
    event = _event(therapy_id="", attribution=" ")
    assert event.therapy_id is None and event.attribution is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grade": "0"}, "greater than or equal to 1"),
        ({"grade": "6"}, "less than or equal to 5"),
        # CTCAE v5.0 grades "Platelet count decreased" 1-4 and "Nausea" 1-3.
        ({"grade": "5"}, "grade 5 is not defined for platelet_count_decreased"),
        ({"term": "nausea", "grade": "4"}, "CTCAE v5.0 grades it 1-3"),
        ({"term": "thrombocytopenia"}, "Input should be"),
        ({"attribution": "likely"}, "Input should be"),
        ({"onset_date": "10/05/2009"}, "write dates as YYYY-MM-DD"),
        ({"onset_date": "2999-01-01"}, "in the future"),
    ],
)
def test_impossible_adverse_events_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _event(**changes)


def test_grade_5_is_allowed_where_ctcae_defines_death() -> None:
    assert _event(term="febrile_neutropenia", grade="5").grade == 5


def test_template_writes_the_adverse_events_form(tmp_path: Path) -> None:
    result = runner.invoke(app, ["template", str(tmp_path / "tpl")])
    assert result.exit_code == 0, result.output
    with (tmp_path / "tpl" / "adverse_events.csv").open(newline="") as handle:
        assert list(csv.reader(handle)) == [HEADER.strip().split(",")]
    dictionary = data_dictionary_markdown()
    assert "adverse_events" in dictionary and "platelet_count_decreased" in dictionary
    assert "life-threatening" in dictionary  # the grade's meaning


def _clinic_with_events(tmp_path: Path, clinic_source: Path, rows: str) -> Path:
    folder = tmp_path / "clinic"
    shutil.copytree(clinic_source, folder)
    (folder / "adverse_events.csv").write_text(HEADER + rows)
    return folder


def test_adverse_events_import_and_read_back(tmp_path: Path, clinic_source: Path) -> None:
    folder = _clinic_with_events(
        tmp_path,
        clinic_source,
        "NET001,AE1,platelet_count_decreased,3,2009-05-10,TH1,probable\n"
        "NET002,AE2,nausea,1,2010-02-21,TH3,definite\n",
    )
    registry = create_registry(tmp_path / "r.duckdb")
    report = import_sources(registry, [folder], user="tester")
    assert report.counts["adverse_events"].inserted == 2
    with open_registry(registry) as opened:
        events = opened.rows_of(AdverseEvent)
    assert [(e.ae_id, e.term.value, e.grade) for e in events] == [
        ("AE1", "platelet_count_decreased", 3),
        ("AE2", "nausea", 1),
    ]


def test_an_event_after_death_is_refused_and_nothing_stored(
    tmp_path: Path, clinic_source: Path
) -> None:
    # NET002 died on 2011-03-02 (clinic folder): death is the last event.
    folder = _clinic_with_events(
        tmp_path, clinic_source, "NET002,AE9,anemia,2,2011-04-01,TH3,possible\n"
    )
    registry = create_registry(tmp_path / "r.duckdb")
    before = registry.read_bytes()
    with pytest.raises(InputError, match="after the death on 2011-03-02"):
        import_sources(registry, [folder], user="tester")
    assert registry.read_bytes() == before


@pytest.mark.parametrize(
    ("row", "message"),
    [
        # TH3 is NET002's therapy; TH9 is nobody's; TH1 was given on 2009-04-15.
        ("NET001,AE1,anemia,2,2010-03-01,TH3,possible\n", "not a therapy of patient NET001"),
        ("NET001,AE1,anemia,2,2010-03-01,TH9,possible\n", "not a therapy of patient NET001"),
        ("NET001,AE1,anemia,2,2009-04-01,TH1,possible\n", "before its therapy TH1 (2009-04-15)"),
    ],
)
def test_an_event_names_a_therapy_of_its_patient_given_before_it(
    tmp_path: Path, clinic_source: Path, row: str, message: str
) -> None:
    folder = _clinic_with_events(tmp_path, clinic_source, row)
    registry = create_registry(tmp_path / "r.duckdb")
    with pytest.raises(InputError, match=re.escape(message)):
        import_sources(registry, [folder], user="tester")


def test_a_deidentified_export_replaces_adverse_event_ids(
    tmp_path: Path, clinic_source: Path
) -> None:
    folder = _clinic_with_events(
        tmp_path, clinic_source, "NET001,NET001-AE1,anemia,2,2009-05-10,TH1,possible\n"
    )
    registry = create_registry(tmp_path / "r.duckdb")
    import_sources(registry, [folder], user="tester")
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(registry), str(out), "--deidentified"])
    assert result.exit_code == 0, result.output
    text = (out / "adverse_events.csv").read_text()
    assert "NET001" not in text and "TH1" not in text
    assert text.splitlines()[1].split(",")[1] == "E0001"
