"""Pieces of the analysis on hand-built patients, worked by hand."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from netoutcomes.study.analysis import (
    best_response,
    in_cohort,
    response_table,
    survival_data,
)
from netoutcomes.study.protocol import Cohort, ResponseOutcome
from netoutcomes.study.records import Assessment, Histology, PatientRecord, Therapy

D = dt.date
ENTRY = D(2010, 1, 1)
RECIST = ResponseOutcome(
    id="recist",
    label="RECIST",
    assessment="recist",
    categories=["CR", "PR", "SD", "PD"],
    objective=["CR", "PR"],
    control=["CR", "PR", "SD"],
)


def patient(pid: str, *readings: tuple[dt.date, str], **kw: object) -> PatientRecord:
    base = PatientRecord(
        patient_id=pid,
        stage="IV",
        diagnosis_date=D(2008, 1, 1),
        histology=Histology("small_bowel", "G1", "well", 1.0),
        therapies=(Therapy("agent", ENTRY),),
        assessments=tuple(Assessment("recist", d, r) for d, r in readings),
        last_contact=D(2015, 1, 1),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_best_response_stops_at_progression_and_ignores_pre_therapy_and_ne() -> None:
    p = patient(
        "P1",
        (D(2009, 12, 1), "CR"),  # before the therapy: not a response to it
        (D(2010, 3, 1), "NE"),
        (D(2010, 4, 1), "SD"),
        (D(2010, 7, 1), "PR"),
        (D(2010, 10, 1), "PD"),
        (D(2011, 1, 1), "CR"),  # after progression: does not count
    )
    assert best_response(RECIST, p, ENTRY) == "PR"
    assert best_response(RECIST, patient("P2", (D(2010, 4, 1), "PD")), ENTRY) == "PD"
    assert best_response(RECIST, patient("P3"), ENTRY) is None


def test_response_table_counts_percentages_and_exact_intervals() -> None:
    patients = [
        patient("P1", (D(2010, 4, 1), "PR")),
        patient("P2", (D(2010, 4, 1), "SD")),
        patient("P3"),
    ]
    table = response_table(RECIST, patients, {p.patient_id: ENTRY for p in patients})
    assert table.cell("PR", "n") == 1 and table.cell("not_assessed", "n") == 1
    assert table.cell("PR", "percent") == 33.3
    # R: binom.test(1, 3)$conf.int = 0.00840375866 0.90570067595
    assert table.cell("objective_response", "ci_lower") == 0.8
    assert table.cell("objective_response", "ci_upper") == 90.6
    # R: binom.test(2, 3)$conf.int = 0.09429932405 0.99159624134
    assert table.cell("disease_control", "percent") == 66.7
    assert table.cell("disease_control", "ci_lower") == 9.4
    assert table.cell("disease_control", "ci_upper") == 99.2


def test_cohort_membership_with_missing_histology() -> None:
    g1 = Cohort(id="g1", label="G1 SB", sites=["small_bowel"], grades=["G1"])
    everyone = Cohort(id="all", label="All")
    unknown = patient("P", histology=Histology("small_bowel", None, "well", None))
    assert not in_cohort(g1, unknown)
    assert in_cohort(everyone, unknown)
    assert in_cohort(g1, patient("Q"))


def test_survival_times_with_and_without_delayed_entry() -> None:
    died = patient("D", death_date=D(2012, 1, 1), last_contact=D(2012, 1, 1))
    alive = patient("A")
    entries = {"D": ENTRY, "A": ENTRY}
    delayed = survival_data([died, alive], entries, "diagnosis", "delayed_entry", None)
    # diagnosis 2008-01-01, therapy 2010-01-01 (731 days), death 2012-01-01 (1461 days)
    assert delayed.entry is not None
    assert delayed.entry.tolist() == pytest.approx([731 / 365.25] * 2)
    assert delayed.time.tolist() == pytest.approx([1461 / 365.25, 2557 / 365.25])
    assert delayed.event.tolist() == [True, False]
    naive = survival_data([died], entries, "diagnosis", "naive", None)
    assert naive.entry is None
    from_therapy = survival_data([died], entries, "first_therapy", "from_origin", None)
    assert from_therapy.time.tolist() == pytest.approx([730 / 365.25])
    cut = survival_data([alive], entries, "first_therapy", "from_origin", D(2013, 1, 1))
    assert np.allclose(cut.time, 1096 / 365.25) and not cut.event.any()
    nodate = patient("N", diagnosis_date=None)
    assert survival_data([nodate], {"N": ENTRY}, "diagnosis", "naive", None).dropped == ["N"]


def test_a_study_with_nobody_eligible_still_reports(tmp_path: Path) -> None:
    from netoutcomes.interfaces.report.html import write_outputs
    from netoutcomes.study.analysis import analyse
    from netoutcomes.study.eligibility import screen
    from netoutcomes.study.protocol import load_protocol

    protocol = load_protocol(Path(__file__).parents[2] / "protocols" / "mibg-net.yaml")
    patients = [patient("P1", stage="III")]
    result = analyse(protocol, patients, screen(protocol, patients))
    assert result.narrative_text().endswith("No patient could be analysed.")
    files = write_outputs(result, tmp_path)
    assert json.loads(files.results_json.read_text())["screening"]["flow"]["analysed"] == 0
    assert "No patient could be analysed." in files.report_html.read_text()
