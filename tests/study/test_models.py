"""Adjusted Cox models from the protocol: the design (reference levels, complete cases) by
hand, the fit against lifelines (Efron ties) on a design built here independently, and the
events-per-variable warning."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from netoutcomes.errors import InputError
from netoutcomes.study.analysis import analyse
from netoutcomes.study.eligibility import screen
from netoutcomes.study.protocol import parse_protocol
from netoutcomes.study.records import Histology, PatientRecord, Therapy

START = dt.date(2010, 1, 1)
YEAR = 365.25
SITES = ["pancreas", "small_bowel", "lung"]

PROTOCOL = """
name: models by hand
short_name: models
entry: {agent: agent, window_start: 2000-01-01, window_end: 2030-12-31}
eligibility: []
cohorts: [{id: all, label: All patients}]
outcomes: []
survival: {origins: [first_therapy], landmarks_years: [1]}
models:
  - id: os
    label: OS adjusted
    covariates: [age_at_therapy, primary_site, ki67]
"""


def cohort(n: int = 60) -> list[PatientRecord]:
    rng = np.random.default_rng(7)
    patients = []
    for i in range(n):
        site = SITES[i % 3]
        days = int(rng.integers(30, 3000))
        died = bool(rng.random() < 0.7)
        end = START + dt.timedelta(days=days)
        patients.append(
            PatientRecord(
                patient_id=f"P{i:02d}",
                stage="IV",
                diagnosis_date=START - dt.timedelta(days=100 + 37 * i),
                histology=Histology(site, "G1", "well", None if i == 5 else float(i % 17)),
                therapies=(Therapy("agent", START, 7400.0),),
                last_contact=end,
                death_date=end if died else None,
                birth_year=1940 + int(rng.integers(0, 30)),
            )
        )
    return patients


def test_cox_model_equals_lifelines_on_an_independent_design() -> None:
    patients = cohort()
    protocol = parse_protocol(PROTOCOL)
    result = analyse(protocol, patients, screen(protocol, patients))
    table = result.tables["model_os"]
    rows = [
        {
            "time": ((p.death_date or p.last_contact) - START).days / YEAR,  # type: ignore[operator]
            "event": int(p.death_date is not None),
            "age": 2010 - p.birth_year,  # type: ignore[operator]
            "pancreas": float(p.histology.site == "pancreas"),  # reference: lung (first)
            "small_bowel": float(p.histology.site == "small_bowel"),
            "ki67": p.histology.ki67,
        }
        for p in patients
        if p.histology.ki67 is not None  # complete cases: P05 has no Ki-67
    ]
    frame = pd.DataFrame(rows)
    fit = CoxPHFitter().fit(frame, "time", "event")
    summary = fit.summary
    for term, name in (
        ("age_at_therapy", "age"),
        ("primary_site=pancreas", "pancreas"),
        ("primary_site=small_bowel", "small_bowel"),
        ("ki67", "ki67"),
    ):
        assert table.cell(term, "hr") == round(float(summary.loc[name, "exp(coef)"]), 2), term
        lower = float(summary.loc[name, "exp(coef) lower 95%"])
        assert table.cell(term, "hr_lower") == round(lower, 2), term
        assert table.cell(term, "p") == pytest.approx(float(summary.loc[name, "p"]), rel=1e-3)
    assert table.row_label("primary_site=pancreas") == "Primary site: pancreas vs lung"
    events = int(frame["event"].sum())
    assert (
        f"59 patients with every covariate (1 left out for a missing value), {events} events"
        in (table.note)
    )
    assert table.cell("GLOBAL", "zph_p") is not None
    # 40 events / 4 coefficients = 10 events per variable: no warning
    assert events == 40 and not any("events per variable" in w for w in result.warnings)
    more = PROTOCOL.replace("ki67]", "ki67, years_diagnosis_to_therapy]")
    protocol = parse_protocol(more)
    result = analyse(protocol, patients, screen(protocol, patients))
    # 40 / 5 = 8 events per variable: flagged on the result and in the table's note
    assert "OS adjusted: 8.0 events per variable (fewer than 10)" in " ".join(result.warnings)
    assert "8.0 events per variable" in result.tables["model_os"].note


def test_small_models_are_not_fitted_and_references_are_checked() -> None:
    patients = cohort(8)
    protocol = parse_protocol(PROTOCOL)
    result = analyse(protocol, patients, screen(protocol, patients))
    table = result.tables["model_os"]
    assert table.rows == [] and "not fitted: fewer than 10 patients" in table.note
    bad = PROTOCOL + "    endpoint: pfs\n"
    with pytest.raises(InputError, match="field models.0.endpoint: unknown endpoint 'pfs'"):
        parse_protocol(bad)
