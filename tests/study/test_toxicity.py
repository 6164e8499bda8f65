"""Toxicity: worst grade per patient by category, grade >= 3 rates, exposure (by hand)."""

from __future__ import annotations

import datetime as dt

import pytest
from scipy.stats import binomtest

from netoutcomes.errors import InputError
from netoutcomes.study.analysis import analyse
from netoutcomes.study.eligibility import screen
from netoutcomes.study.protocol import parse_protocol
from netoutcomes.study.records import AdverseEvent, Histology, PatientRecord, Therapy

START = dt.date(2010, 1, 1)

PROTOCOL = """
name: toxicity by hand
short_name: tox
entry: {agent: agent, window_start: 2000-01-01, window_end: 2030-12-31}
eligibility: []
cohorts:
  - {id: all, label: All patients}
  - {id: panc, label: Pancreas, sites: [pancreas]}
outcomes: []
toxicity:
  grade_threshold: 3
  categories:
    - {id: haem, label: Haematological,
       terms: [neutrophil_count_decreased, platelet_count_decreased, anemia]}
    - {id: plt, label: Thrombocytopenia, terms: [platelet_count_decreased]}
    - {id: renal, label: Renal, terms: [creatinine_increased]}
survival: {origins: [first_therapy], landmarks_years: [1]%s}
"""


def patient(
    pid: str,
    site: str,
    events: tuple[tuple[str, int, int], ...],
    activities: tuple[float | None, ...] = (7400.0,),
) -> PatientRecord:
    """events: (term, grade, days after the first therapy); cycles every 100 days."""
    return PatientRecord(
        patient_id=pid,
        stage="IV",
        diagnosis_date=dt.date(2009, 1, 1),
        histology=Histology(site, "G1", "well", 1.0),
        therapies=tuple(
            Therapy("agent", START + dt.timedelta(days=100 * i), mbq)
            for i, mbq in enumerate(activities)
        ),
        last_contact=dt.date(2015, 1, 1),
        adverse_events=tuple(
            AdverseEvent(term, grade, START + dt.timedelta(days=days))
            for term, grade, days in events
        ),
    )


PATIENTS = [
    # A: platelets 2 then 4, neutrophils 3 -> haem 4, plt 4; other (nausea) 1
    patient(
        "A",
        "pancreas",
        (
            ("platelet_count_decreased", 2, 30),
            ("platelet_count_decreased", 4, 60),
            ("neutrophil_count_decreased", 3, 40),
            ("nausea", 1, 1),
        ),
        (7400.0, 7400.0, 7400.0),
    ),
    # B: anaemia 3 -> haem 3, plt none; creatinine 1 -> renal 1
    patient(
        "B", "pancreas", (("anemia", 3, 50), ("creatinine_increased", 1, 70)), (5500.0, 7400.0)
    ),
    # C: grade 4 platelets BEFORE the first therapy (not treatment-emergent): none
    patient("C", "small_bowel", (("platelet_count_decreased", 4, -10),), (7400.0,)),
    # D: anaemia 2 -> haem 2; one activity unknown: out of the activity summary
    patient("D", "small_bowel", (("anemia", 2, 20),), (7400.0, None)),
]


def run(extra: str = "") -> dict:
    protocol = parse_protocol(PROTOCOL % extra)
    return analyse(protocol, PATIENTS, screen(protocol, PATIENTS)).tables


def test_worst_grade_per_patient_by_category() -> None:
    table = run()["toxicity_worst_grade"]
    # haem worst grades: A 4, B 3, C 0, D 2
    assert [table.cell("haem", c) for c in ("no_event", "grade_2", "grade_3", "grade_4")] == [
        1,
        1,
        1,
        1,
    ]
    assert table.cell("haem", "n_at_threshold") == 2 and table.cell("haem", "total") == 4
    ci = binomtest(2, 4).proportion_ci(method="exact")
    assert table.cell("haem", "percent") == 50.0
    assert table.cell("haem", "ci_lower") == round(100 * ci.low, 1)
    assert table.cell("haem", "ci_upper") == round(100 * ci.high, 1)
    # plt: A 4 only (C's event predates the therapy)
    assert table.cell("plt", "grade_4") == 1 and table.cell("plt", "no_event") == 3
    # renal: B grade 1; other: nausea (A) grade 1
    assert table.cell("renal", "grade_1") == 1 and table.cell("renal", "n_at_threshold") == 0
    assert table.cell("other", "grade_1") == 1


def test_rates_by_cohort() -> None:
    table = run()["toxicity_by_cohort"]
    # pancreas: A (haem 4) and B (haem 3): 2 of 2; all: 2 of 4
    assert (table.cell("panc.haem", "n"), table.cell("panc.haem", "total")) == (2, 2)
    assert table.cell("panc.haem", "percent") == 100.0
    assert (table.cell("all.plt", "n"), table.cell("all.plt", "total")) == (1, 4)
    ci = binomtest(1, 4).proportion_ci(method="exact")
    assert table.cell("all.plt", "ci_upper") == round(100 * ci.high, 1)
    assert table.row_label("panc.plt") == "Pancreas: Thrombocytopenia"


def test_exposure_cycles_and_cumulative_activity() -> None:
    table = run()["toxicity_exposure"]
    # cycles: A 3, B 2, C 1, D 2 -> median 2, range 1-3
    assert [table.cell("all", c) for c in ("cycles_median", "cycles_min", "cycles_max")] == [
        2.0,
        1.0,
        3.0,
    ]
    # GBq: A 22.2, B 12.9, C 7.4 (D unknown) -> median 12.9, range 7.4-22.2
    assert table.cell("all", "n_activity") == 3
    assert [table.cell("all", c) for c in ("gbq_median", "gbq_min", "gbq_max")] == [
        12.9,
        7.4,
        22.2,
    ]
    # pancreas: A 22.2 and B 12.9 -> median (22.2 + 12.9) / 2 = 17.55
    assert table.cell("panc", "gbq_median") == 17.55


def test_data_cutoff_drops_later_events_and_cycles() -> None:
    # cut-off 2010-02-15 (day 45): A keeps platelets 2 and neutrophils 3 (plt 2, haem 3);
    # B's anaemia on day 50 is dropped; A keeps 1 cycle
    tables = run(", data_cutoff: 2010-02-15")
    table = tables["toxicity_worst_grade"]
    assert table.cell("plt", "grade_2") == 1 and table.cell("plt", "grade_4") == 0
    assert table.cell("haem", "n_at_threshold") == 1
    assert tables["toxicity_exposure"].cell("all", "cycles_max") == 1.0


def test_results_text_gives_the_first_category_and_exposure() -> None:
    protocol = parse_protocol(PROTOCOL % "")
    text = analyse(protocol, PATIENTS, screen(protocol, PATIENTS)).results_text()
    assert "Grade 3 or worse haematological adverse events: 50% (95% CI 6.8-93.2%)" in text
    assert "median cumulative activity 12.9 GBq (range 7.4-22.2 GBq)" in text


def test_a_misspelt_term_names_its_line() -> None:
    text = (PROTOCOL % "").replace("creatinine_increased", "creatinine_high")
    with pytest.raises(InputError, match="line 1[0-9].*creatinine_high"):
        parse_protocol(text)


def test_no_toxicity_section_no_tables() -> None:
    survival = "survival: {origins: [first_therapy], landmarks_years: [1]}\n"
    text = (PROTOCOL % "").split("toxicity:")[0] + survival
    protocol = parse_protocol(text)
    tables = analyse(protocol, PATIENTS, screen(protocol, PATIENTS)).tables
    assert not any(t.startswith("toxicity") for t in tables)


def test_no_range_when_every_patient_had_the_same_activity() -> None:
    same = [patient("A", "pancreas", ()), patient("B", "pancreas", ())]
    protocol = parse_protocol(PROTOCOL % "")
    text = analyse(protocol, same, screen(protocol, same)).results_text()
    assert "median cumulative activity 7.4 GBq over a median of 1 cycle." in text
