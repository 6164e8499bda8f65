"""The honesty rules of issue 10, each against a reference worked by hand, counted from the
bundled CSV files, or computed by statsmodels / lifelines (never by the code under test)."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from netoutcomes.study import statistics as st
from netoutcomes.study.analysis import analyse
from netoutcomes.study.comparisons import adjusted_p_values
from netoutcomes.study.eligibility import screen
from netoutcomes.study.landmarks import landmark_estimates
from netoutcomes.study.load import load_patients
from netoutcomes.study.protocol import Protocol, load_protocol, parse_protocol
from netoutcomes.study.records import Assessment, Histology, PatientRecord, Therapy
from netoutcomes.study.results import StudyResult
from netoutcomes.study.rounding import p_cell
from netoutcomes.study.run import build_demo_registry, demo_cohort_dir

D = dt.date
ROOT = Path(__file__).parents[2]
YEAR = 365.25

PROTOCOL = """
name: hand-made
short_name: hand
entry: {agent: agent, window_start: 2000-01-01, window_end: 2030-12-31}
eligibility: []
cohorts:
  - {id: all, label: All patients}
  - {id: sb, label: Small bowel, sites: [small_bowel]}
  - {id: other, label: Other sites, exclude_sites: [small_bowel]}
outcomes:
  - id: recist
    label: Best radiographic response
    assessment: recist
    categories: [CR, PR, SD, PD]
    objective: [CR, PR]
survival:
  origins: [first_therapy]
  landmarks_years: [2, 10]
comparisons:
  disjoint: [{group: sb, versus: other, origin: first_therapy}]
"""


def patient(pid: str, site: str, last: dt.date, death: dt.date | None = None) -> PatientRecord:
    return PatientRecord(
        patient_id=pid,
        stage="IV",
        diagnosis_date=D(2009, 1, 1),
        histology=Histology(site, "G1", "well", 1.0),
        therapies=(Therapy("agent", D(2010, 1, 1)),),
        last_contact=last,
        death_date=death,
    )


def run(protocol: Protocol, patients: list[PatientRecord]) -> StudyResult:
    return analyse(protocol, patients, screen(protocol, patients))


# --- survival past follow-up -------------------------------------------------------------


def test_landmark_rules_worked_by_hand() -> None:
    """Deaths at 1 and 2 years, one censored at 3: S = 2/3 * 1/2 = 1/3 from 2 to 3 years.

    As R's summary(fit, times, extend = FALSE): 3.0 (the last follow-up time) is kept,
    3.5 is dropped; with min_at_risk 2, 2.5 (one at risk) is not reported."""
    curve = st.km(np.array([1.0, 2.0, 3.0]), np.array([True, True, False]), None)
    at = landmark_estimates(curve, 3.0, [2.5, 3.0, 3.5], min_at_risk=1)
    assert [e.surv for e in at[:2]] == pytest.approx([1 / 3, 1 / 3])
    assert [e.at_risk for e in at] == [1, 1, 0]
    assert at[2].reason == "not estimable (follow-up ends at 3.0 years)"
    assert math.isnan(at[2].surv) and math.isnan(at[2].lower) and math.isnan(at[2].upper)
    strict = landmark_estimates(curve, 3.0, [2.5], min_at_risk=2)
    assert strict[0].reason == "not reported (fewer than 2 at risk)"


def test_no_survival_claimed_past_the_last_follow_up() -> None:
    """The issue's case: everyone alive, follow-up at most 7.1 years, a 10-year landmark."""
    last = [D(2012, 3, 1), D(2013, 5, 1), D(2015, 1, 1), D(2017, 2, 6)]
    patients = [patient(f"P{i}", "small_bowel", d) for i, d in enumerate(last)]
    result = run(parse_protocol(PROTOCOL), patients)
    table = result.tables["survival_first_therapy"]
    end = (D(2017, 2, 6) - D(2010, 1, 1)).days / YEAR  # 7.099 years
    assert table.cell("all_from_origin", "s_10y") is None
    assert table.cell("all_from_origin", "s_10y_lower") is None
    assert table.cell("all_from_origin", "s_10y_note") == (
        f"not estimable (follow-up ends at {end:.1f} years)"
    )
    assert table.cell("all_from_origin", "s_2y") == 100.0  # 4 at risk, no death: estimable
    curve = next(c for c in result.curves if c.cohort == "all")
    assert math.isnan(curve.landmarks["10y"]) and curve.follow_up_end == pytest.approx(end)
    for text in (result.results_text(), result.narrative_text()):
        assert "not estimable (follow-up ends at 7.1 years) at 10 years" in text
        assert "100% (95% CI 100" not in text and "to 100%" not in text


# --- nobody assessed ---------------------------------------------------------------------


def test_no_assessment_recorded_says_not_assessed() -> None:
    patients = [patient(f"P{i}", "small_bowel", D(2015, 1, 1)) for i in range(3)]
    result = run(parse_protocol(PROTOCOL), patients)
    for text in (result.results_text(), result.narrative_text()):
        assert "Best radiographic response: not assessed (no assessment recorded)." in text
        assert "0% CR" not in text and "CR 0%" not in text
    assessed = [
        *patients[:2],
        PatientRecord(
            **{
                **patients[2].__dict__,
                "assessments": (Assessment("recist", D(2010, 6, 1), "PR"),),
            }
        ),
    ]
    text = run(parse_protocol(PROTOCOL), assessed).results_text()
    # 1 of 3 PR, 2 of 3 not assessed (hand count)
    assert "PR 33.3%" in text and "not assessed 66.7%" in text


# --- small cohorts -----------------------------------------------------------------------


def test_small_groups_get_no_test_and_a_warning() -> None:
    """3 small-bowel patients (1 death) vs 12 others: no HR, no p, flagged everywhere."""
    patients = [patient(f"S{i}", "small_bowel", D(2016, 1, 1)) for i in range(2)]
    patients.append(patient("S2", "small_bowel", D(2011, 1, 1), death=D(2011, 1, 1)))
    patients += [
        patient(f"O{i}", "pancreas", D(2011, 1, 1) + dt.timedelta(days=60 * i)) for i in range(12)
    ]
    result = run(parse_protocol(PROTOCOL), patients)
    row = "sb_vs_other_first_therapy"
    disjoint = result.tables["disjoint"]
    assert disjoint.cell(row, "hr") is None and disjoint.cell(row, "logrank_p") is None
    assert disjoint.cell(row, "n_group") == 3 and disjoint.cell(row, "events_group") == 1
    note = disjoint.cell(row, "note")
    assert note == "not tested: Small bowel: fewer than 10 patients (3); Other sites: " + (
        "fewer than 5 deaths (0)"
    )
    assert result.forest == []
    assert any("Small bowel vs Other sites" in w and "not tested" in w for w in result.warnings)
    sb_curve = next(c for c in result.curves if c.cohort == "sb")
    assert sb_curve.warning == "fewer than 10 patients (3)"
    assert result.tables["survival_first_therapy"].cell("sb_from_origin", "note") == (
        "fewer than 10 patients (3)"
    )
    assert "not estimable to not estimable" not in result.results_text()
    assert f"({note})" not in result.results_text() and note in result.results_text()


def test_minimum_size_is_a_protocol_option() -> None:
    relaxed = PROTOCOL.replace(
        "landmarks_years: [2, 10]", "landmarks_years: [2, 10]\n  min_patients: 2\n  min_events: 1"
    )
    patients = [
        patient("S0", "small_bowel", D(2012, 1, 1), death=D(2012, 1, 1)),
        patient("S1", "small_bowel", D(2016, 1, 1)),
        patient("O0", "pancreas", D(2011, 1, 1), death=D(2011, 1, 1)),
        patient("O1", "pancreas", D(2013, 1, 1), death=D(2013, 1, 1)),
    ]
    result = run(parse_protocol(relaxed), patients)
    assert result.tables["disjoint"].cell("sb_vs_other_first_therapy", "hr") is not None
    assert result.protocol.survival.min_patients == 2
    assert parse_protocol(PROTOCOL).survival.min_patients == 10  # the default
    assert parse_protocol(PROTOCOL).survival.min_events == 5


# --- adjusted p-values from unrounded p ---------------------------------------------------


def test_holm_and_bh_adjust_unrounded_p_values() -> None:
    """R: p.adjust(c(0.000123456, 0.04, 0.5), "holm") = 0.000370368 0.08 0.5;
    rounding first (0.0001235 * 3 = 0.0003705) gives another fourth digit."""
    holm = adjusted_p_values({0: 0.000123456, 1: 0.04, 2: 0.5}, "holm")
    assert holm == pytest.approx({0: 0.000370368, 1: 0.08, 2: 0.5}, rel=1e-12)
    assert p_cell(holm[0]) == 0.0003704
    # R: p.adjust(c(0.000123456, 0.04, 0.5), "BH") = 0.000370368 0.06 0.5
    bh = adjusted_p_values({0: 0.000123456, 1: 0.04, 2: 0.5}, "bh")
    assert bh == pytest.approx({0: 0.000370368, 1: 0.06, 2: 0.5}, rel=1e-12)


# --- data cut-off -------------------------------------------------------------------------


def read(name: str) -> list[dict[str, str]]:
    with (demo_cohort_dir() / f"{name}.csv").open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def demo_patients(tmp_path_factory: pytest.TempPathFactory) -> list[PatientRecord]:
    return load_patients(build_demo_registry(tmp_path_factory.mktemp("reg") / "r.duckdb"))


def test_data_cutoff_applies_to_the_disjoint_comparisons(
    demo_patients: list[PatientRecord],
) -> None:
    """With a 2012-01-01 cut-off, deaths counted by hand from the CSVs (treated SYN-0xx
    patients, death on or before the cut-off) equal both the survival table's and the
    comparison's event counts (the comparison used to count every death: 14 vs 22)."""
    cutoff = D(2012, 1, 1)
    base = load_protocol(ROOT / "protocols" / "mibg-net.yaml")
    protocol = base.model_copy(
        update={"survival": base.survival.model_copy(update={"data_cutoff": cutoff})}
    )
    result = run(protocol, demo_patients)
    site = {d["patient_id"]: d["primary_site"] for d in read("diagnoses")}
    deaths = {"sb": 0, "non_sb": 0}
    for f in read("followup"):
        died = f["death_date"] and D.fromisoformat(f["death_date"]) <= cutoff
        if f["patient_id"].startswith("SYN-0") and died:
            deaths["sb" if site[f["patient_id"]] == "small_bowel" else "non_sb"] += 1
    survival = result.tables["survival_diagnosis"]
    disjoint = result.tables["disjoint"]
    for origin_row, table in (
        ("sb_vs_non_sb_diagnosis", survival),
        ("sb_vs_non_sb_first_therapy", result.tables["survival_first_therapy"]),
    ):
        method = "delayed_entry" if table is survival else "from_origin"
        assert disjoint.cell(origin_row, "events_group") == deaths["sb"]
        assert disjoint.cell(origin_row, "events_versus") == deaths["non_sb"]
        assert table.cell(f"sb_{method}", "events") == deaths["sb"]
        assert table.cell(f"non_sb_{method}", "events") == deaths["non_sb"]
    assert deaths["sb"] == 4  # the count


def test_demo_comparisons_against_statsmodels_and_lifelines(
    demo_patients: list[PatientRecord],
) -> None:
    """From diagnosis with delayed entry: log-rank p (statsmodels survdiff with entry),
    Holm over the two tested comparisons, and the Cox HR (lifelines, Efron ties)."""
    from lifelines import CoxPHFitter
    from statsmodels.duration.survfunc import survdiff

    protocol = load_protocol(ROOT / "protocols" / "mibg-net.yaml")
    result = run(protocol, demo_patients)
    first: dict[str, dt.date] = {}
    for t in read("therapies"):
        if t["agent"] == "i131_mibg":
            d = D.fromisoformat(t["date"])
            first[t["patient_id"]] = min(d, first.get(t["patient_id"], d))
    diag = {d["patient_id"]: d for d in read("diagnoses")}
    rows = []
    for f in read("followup"):
        pid = f["patient_id"]
        if not pid.startswith("SYN-0"):
            continue
        start = D.fromisoformat(diag[pid]["diagnosis_date"])
        end = D.fromisoformat(f["death_date"] or f["last_contact_date"])
        rows.append(
            {
                "entry": (first[pid] - start).days / YEAR,
                "time": (end - start).days / YEAR,
                "died": int(bool(f["death_date"])),
                "sb": int(diag[pid]["primary_site"] == "small_bowel"),
            }
        )
    time = np.array([r["time"] for r in rows])
    died = np.array([r["died"] for r in rows])
    sb = np.array([r["sb"] for r in rows])
    entry = np.array([r["entry"] for r in rows])
    _, p_diagnosis = survdiff(time, died, sb, entry=entry)
    _, p_therapy = survdiff(time - entry, died, sb)
    disjoint = result.tables["disjoint"]
    assert disjoint.cell("sb_vs_non_sb_diagnosis", "logrank_p") == p_cell(p_diagnosis)
    holm = {  # two tests (G1 vs G2/G3 has 3 deaths: not tested)
        "diagnosis": min(1.0, max(2 * min(p_diagnosis, p_therapy), 2 * p_diagnosis)),
        "first_therapy": min(1.0, max(2 * min(p_diagnosis, p_therapy), p_therapy)),
    }
    for origin, q in holm.items():
        assert disjoint.cell(f"sb_vs_non_sb_{origin}", "logrank_p_adjusted") == p_cell(q)
    import pandas as pd

    frame = pd.DataFrame(rows)
    cox = CoxPHFitter().fit(frame, "time", "died", entry_col="entry")
    assert disjoint.cell("sb_vs_non_sb_diagnosis", "hr") == round(
        float(np.exp(cox.params_["sb"])), 2
    )


def test_analysis_keeps_its_public_names() -> None:
    """The split left every old name importable from netoutcomes.study.analysis."""
    import netoutcomes.study.analysis as analysis

    old = [
        "DAYS_PER_YEAR",
        "CONF_LEVEL",
        "NOT_ASSESSED",
        "METHOD_LABELS",
        "ORIGIN_LABELS",
        "Method",
        "years",
        "pct",
        "yrs",
        "landmark_key",
        "in_cohort",
        "SurvivalData",
        "survival_data",
        "RiskRow",
        "Curve",
        "ForestRow",
        "Segment",
        "StudyResult",
        "best_response",
        "response_table",
        "step_curve",
        "risk_table",
        "follow_up_median",
        "survival_tables",
        "immortal_time_gap",
        "primary_method",
        "nested_tables",
        "TwoGroups",
        "two_groups",
        "disjoint_table",
        "screening_tables",
        "analyse",
    ]
    assert [n for n in old if not hasattr(analysis, n)] == []
    assert set(old) <= set(analysis.__all__)


def test_rows_carry_reader_labels() -> None:
    patients = [patient(f"P{i}", "small_bowel", D(2015, 1, 1)) for i in range(3)]
    result = run(parse_protocol(PROTOCOL), patients)
    response = result.tables["response_recist"]
    assert response.row_label("not_assessed") == "Not assessed"
    assert response.row_label("objective_response") == "objective response rate (CR + PR)"
    assert "Nobody was assessed" in response.note
    survival = result.tables["survival_first_therapy"]
    assert survival.row_label("all_from_origin") == "All patients (from first therapy)"
    assert result.tables["disjoint"].row_label("sb_vs_other_first_therapy") == (
        "Small bowel vs Other sites (from first therapy)"
    )


def test_landmarks_equal_r_summary_extend_false() -> None:
    """R (tests/study/fixtures/landmarks.R): summary(fit, times, extend = FALSE) keeps
    exactly the landmarks we report, with the same estimates and intervals."""
    import json

    r = json.loads((Path(__file__).parent / "fixtures" / "landmarks.json").read_text())
    curve = st.km(np.array([1.0, 2.0, 3.0]), np.array([True, True, False]), None)
    ours = landmark_estimates(curve, 3.0, [2.5, 3.0, 3.5], min_at_risk=1)
    reported = [e for e in ours if e.reported]
    assert [e.time for e in reported] == r["hand"]["times"]
    for key, attr in (("surv", "surv"), ("lower", "lower"), ("upper", "upper")):
        got = [getattr(e, attr) for e in reported]
        assert got == pytest.approx(r["hand"][key], abs=1e-12), key
    assert [e.at_risk for e in reported] == r["hand"]["n_risk"]
    times = np.array([2.16, 3.33, 5.0, 7.1])
    censored = st.km(times, np.zeros(4, dtype=bool), None)
    ours = landmark_estimates(censored, 7.1, [2.0, 10.0], min_at_risk=1)
    assert [e.time for e in ours if e.reported] == r["all_censored"]["times"]
    assert [e.surv for e in ours if e.reported] == r["all_censored"]["surv"]
