"""Progression-free survival: each patient's time worked by hand from dates, and the table's
Kaplan-Meier against lifelines on those hand-derived times."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from netoutcomes.errors import InputError
from netoutcomes.study.analysis import analyse
from netoutcomes.study.eligibility import screen
from netoutcomes.study.endpoint_times import pfs_time
from netoutcomes.study.protocol import ProgressionFreeSurvival, parse_protocol
from netoutcomes.study.records import Assessment, Histology, PatientRecord, Therapy

D = dt.date
START = D(2010, 1, 1)
YEAR = 365.25
PFS = ProgressionFreeSurvival(id="pfs")


def patient(
    pid: str,
    *readings: tuple[int, str],
    progressions: tuple[int, ...] = (),
    death: int | None = None,
    last: int = 2000,
) -> PatientRecord:
    """Days after the therapy (2010-01-01) for every date."""

    def day(n: int) -> dt.date:
        return START + dt.timedelta(days=n)

    return PatientRecord(
        patient_id=pid,
        stage="IV",
        diagnosis_date=D(2009, 1, 1),
        histology=Histology("pancreas", "G1", "well", 1.0),
        therapies=(Therapy("agent", START),),
        assessments=tuple(Assessment("recist", day(n), r) for n, r in readings),
        progressions=tuple(day(n) for n in progressions),
        death_date=None if death is None else day(death),
        last_contact=day(death if death is not None else last),
    )


def test_pfs_times_worked_by_hand() -> None:
    # PD reading at day 273 before death at day 730: progression at 273 days
    a = patient("A", (90, "SD"), (273, "PD"), death=730)
    got = pfs_time(PFS, a, START, None)
    assert (got.time, got.outcome) == (pytest.approx(273 / YEAR), "progression")
    # a progression before the therapy does not count; NE is not an adequate assessment:
    # censored at the last SD (day 90)
    b = patient("B", (90, "SD"), (180, "NE"), progressions=(-30,))
    got = pfs_time(PFS, b, START, None)
    assert (got.time, got.outcome) == (pytest.approx(90 / YEAR), "censored")
    # no assessment, death at day 365: an event
    c = patient("C", death=365)
    assert pfs_time(PFS, c, START, None).outcome == "death"
    # no assessment, alive: censored on the day of therapy (FDA convention)
    assert pfs_time(PFS, patient("D"), START, None).time == 0.0
    # a recorded progression (day 151) before the PD reading (day 243)
    e = patient("E", (243, "PD"), progressions=(151,))
    assert pfs_time(PFS, e, START, None).time == pytest.approx(151 / YEAR)
    # progression recorded on the day of death counts as a progression
    f = patient("F", (200, "PD"), death=200)
    assert pfs_time(PFS, f, START, None).outcome == "progression"
    # a cut-off at day 180 hides A's progression: censored at the SD of day 90
    got = pfs_time(PFS, a, START, START + dt.timedelta(days=180))
    assert (got.time, got.outcome) == (pytest.approx(90 / YEAR), "censored")
    # the censoring rule as a protocol option: at the last contact (day 2000)
    last_contact = PFS.model_copy(update={"censoring": "last_contact"})
    assert pfs_time(last_contact, b, START, None).time == pytest.approx(2000 / YEAR)
    # an event more than 180 days after the last adequate assessment is censored there
    window = PFS.model_copy(update={"event_window_days": 180})
    got = pfs_time(window, c, START, None)
    assert (got.time, got.outcome) == (0.0, "censored")
    assert pfs_time(window, a, START, None).outcome == "progression"  # 183 days after SD


PROTOCOL = """
name: pfs by hand
short_name: pfs
entry: {agent: agent, window_start: 2000-01-01, window_end: 2030-12-31}
eligibility: []
cohorts: [{id: all, label: All patients}]
outcomes: []
survival:
  origins: [first_therapy]
  landmarks_years: [1]
  min_patients: 2
  min_events: 1
endpoints:
  - {id: pfs, label: PFS, landmarks_years: [0.5, 1]}
"""


def test_pfs_table_equals_lifelines_on_hand_derived_times() -> None:
    # (readings, progressions, death) -> (days, event) worked by hand
    cases = [
        (patient("P1", (60, "SD"), (120, "PD")), 120, True),
        (patient("P2", (60, "SD"), (150, "SD")), 150, False),
        (patient("P3", death=200), 200, True),
        (patient("P4", (90, "PR"), (300, "PD"), death=500), 300, True),
        (patient("P5", (90, "PR"), (400, "SD"), (500, "SD")), 500, False),
        (patient("P6", (45, "SD"), progressions=(100,)), 100, True),
        (patient("P7", (300, "SD"), death=420), 420, True),
        (patient("P8"), 0, False),
        (patient("P9", (100, "SD"), (250, "NE"), (330, "PD")), 330, True),
        (patient("P10", (200, "SD"), (450, "SD")), 450, False),
    ]
    patients = [p for p, _, _ in cases]
    protocol = parse_protocol(PROTOCOL)
    result = analyse(protocol, patients, screen(protocol, patients))
    table = result.tables["endpoint_pfs"]
    time = np.array([d for _, d, _ in cases]) / YEAR
    event = np.array([e for _, _, e in cases])
    kmf = KaplanMeierFitter().fit(time, event)
    row = "all_pfs"
    assert table.cell(row, "n") == 10 and table.cell(row, "events") == int(event.sum())
    assert table.cell(row, "progressions") == 4 and table.cell(row, "deaths") == 2
    for t, k in ((0.5, "0.5y"), (1.0, "1y")):
        expected = float(kmf.survival_function_at_times(t).iloc[0])
        assert table.cell(row, f"s_{k}") == round(100 * expected, 1), t
    assert table.cell(row, "median") == round(float(kmf.median_survival_time_), 2)
    # the last follow-up is day 500 (1.37 years): 1 year is reported
    assert table.cell(row, "s_1y_note") is None
    curve = result.endpoint_curves["pfs"][0]
    assert curve.n == 10 and curve.events == int(event.sum())
    text = result.results_text()
    assert "PFS from first therapy: median" in text and "(4 progressions, 2 deaths" in text


def test_endpoint_ids_are_unique() -> None:
    text = PROTOCOL + "  - {id: pfs, label: again}\n"
    with pytest.raises(InputError, match=r"line 15: field endpoints\.1\.id: endpoint id 'pfs'"):
        parse_protocol(text)


def test_duration_of_response_and_time_to_next_treatment_by_hand() -> None:
    from netoutcomes.study.endpoint_times import endpoint_time
    from netoutcomes.study.protocol import DurationOfResponse, TimeToNextTreatment
    from netoutcomes.study.records import Treatment

    dor = DurationOfResponse(kind="duration_of_response", id="dor")
    # SD at day 60, PR at day 120, PD at day 400: responded 120 -> 400 = 280 days
    a = patient("A", (60, "SD"), (120, "PR"), (400, "PD"))
    got = endpoint_time(dor, a, START, None, "agent")
    assert got is not None and (got.time, got.outcome) == (pytest.approx(280 / YEAR), "progression")
    # never responded: not in the population
    assert endpoint_time(dor, patient("B", (60, "SD"), (200, "PD")), START, None, "agent") is None
    # PR at day 90, SD at day 300, alive: censored at the last adequate assessment (210 days)
    got = endpoint_time(dor, patient("C", (90, "PR"), (300, "SD")), START, None, "agent")
    assert got is not None and (got.time, got.outcome) == (pytest.approx(210 / YEAR), "censored")

    ttnt = TimeToNextTreatment(kind="time_to_next_treatment", id="ttnt")
    day = START + dt.timedelta(days=250)
    d = patient("D", death=900)
    treated = PatientRecord(
        **{
            **d.__dict__,
            "treatments": (
                Treatment("somatostatin_analogue", START - dt.timedelta(days=100)),  # before
                Treatment("chemotherapy", day),
            ),
        }
    )
    got = endpoint_time(ttnt, treated, START, None, "agent")
    assert got is not None and (got.time, got.outcome) == (
        pytest.approx(250 / YEAR),
        "next_treatment",
    )
    only_surgery = ttnt.model_copy(update={"treatment_kinds": ["cytoreductive_surgery"]})
    got = endpoint_time(only_surgery, treated, START, None, "agent")
    assert got is not None and (got.time, got.outcome) == (pytest.approx(900 / YEAR), "death")
    other_agent = PatientRecord(
        **{**patient("E").__dict__, "therapies": (Therapy("agent", START), Therapy("lu", day))}
    )
    got = endpoint_time(ttnt, other_agent, START, None, "agent")
    assert got is not None and got.outcome == "next_treatment"
    got = endpoint_time(ttnt, patient("F", last=700), START, None, "agent")
    assert got is not None and (got.time, got.outcome) == (pytest.approx(700 / YEAR), "censored")
