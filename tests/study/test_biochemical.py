"""Best biochemical response, worked by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from scipy.stats import binomtest

from netoutcomes.study.analysis import analyse
from netoutcomes.study.biochemical import best_change
from netoutcomes.study.eligibility import screen
from netoutcomes.study.protocol import BiochemicalResponse, parse_protocol
from netoutcomes.study.records import BiomarkerValue, Histology, PatientRecord, Therapy

START = dt.date(2010, 1, 1)
CGA = BiochemicalResponse(id="cga", biomarker="chromogranin_a")


def patient(pid: str, *values: tuple[int, float, str]) -> PatientRecord:
    """(days after therapy, value, unit) per chromogranin A reading."""
    return PatientRecord(
        patient_id=pid,
        stage="IV",
        diagnosis_date=dt.date(2009, 1, 1),
        histology=Histology("pancreas", "G1", "well", 1.0),
        therapies=(Therapy("agent", START),),
        last_contact=dt.date(2015, 1, 1),
        biomarkers=tuple(
            BiomarkerValue("chromogranin_a", START + dt.timedelta(days=d), v, u)
            for d, v, u in values
        ),
    )


def test_best_change_by_hand() -> None:
    # baseline: the last value before therapy (day -10: 400), best later value 150:
    # (150 - 400) / 400 = -62.5%
    a = patient("A", (-60, 500.0, "ug_l"), (-10, 400.0, "ug_l"), (90, 150.0, "ug_l"))
    assert best_change(CGA, a, START, None).change_percent == pytest.approx(-62.5)
    # a baseline older than 90 days does not count
    old = patient("B", (-120, 400.0, "ug_l"), (90, 100.0, "ug_l"))
    assert best_change(CGA, old, START, None).baseline is None
    # a later value in another unit is not compared
    units = patient("C", (-5, 400.0, "ug_l"), (90, 1.0, "nmol_l"))
    assert best_change(CGA, units, START, None).change_percent is None
    # the cut-off hides the fall
    late = patient("D", (-5, 400.0, "ug_l"), (400, 100.0, "ug_l"))
    assert best_change(CGA, late, START, START + dt.timedelta(days=300)).change_percent is None


PROTOCOL = """
name: biochemical by hand
short_name: bio
entry: {agent: agent, window_start: 2000-01-01, window_end: 2030-12-31}
eligibility: []
cohorts: [{id: all, label: All patients}]
outcomes: []
biochemical: [{id: cga, label: CgA response, biomarker: chromogranin_a}]
survival: {origins: [first_therapy], landmarks_years: [1]}
"""


def test_table_and_text() -> None:
    patients = [
        patient("A", (-10, 400.0, "ug_l"), (90, 150.0, "ug_l")),  # -62.5%: response
        patient("B", (-10, 400.0, "ug_l"), (90, 200.0, "ug_l")),  # -50%: response (>= 50)
        patient("C", (-10, 400.0, "ug_l"), (90, 300.0, "ug_l")),  # -25%: no response
        patient("D"),  # no values: not evaluable
    ]
    protocol = parse_protocol(PROTOCOL)
    result = analyse(protocol, patients, screen(protocol, patients))
    table = result.tables["biochemical_cga"]
    assert [table.cell(k, "n") for k in ("response", "no_response", "not_evaluable")] == [2, 1, 1]
    ci = binomtest(2, 4).proportion_ci(method="exact")
    assert table.cell("response", "ci_lower") == round(100 * ci.low, 1)
    assert "CgA response (fall of at least 50%): 50% (95% CI" in result.results_text()
    nobody = analyse(protocol, [patient("D")], screen(protocol, [patient("D")]))
    assert "CgA response: not assessed (no evaluable values)." in nobody.results_text()
