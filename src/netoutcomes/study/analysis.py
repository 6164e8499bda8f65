"""The analysis of one study: one ``StudyResult`` that the interfaces render.

This module runs the steps; each lives in a module of its own:
``cohorts`` (who is in a cohort, survival times), ``response``,
``survival_tables``, ``comparisons``, ``screening_tables``, ``narrative``
(the text), ``results`` (the result types) and ``statistics`` (every
statistical call, in one place).  The names below are re-exported so that
``netoutcomes.study.analysis`` keeps its public names.
"""

from __future__ import annotations

import datetime as dt

from netoutcomes.study.biochemical import biochemical_tables
from netoutcomes.study.cohorts import (
    DAYS_PER_YEAR,
    SurvivalData,
    in_cohort,
    primary_method,
    survival_data,
    years,
)
from netoutcomes.study.comparisons import TwoGroups, disjoint_table, nested_tables, two_groups
from netoutcomes.study.competing_risks import competing_risk_tables
from netoutcomes.study.eligibility import Screening
from netoutcomes.study.endpoints import endpoint_tables
from netoutcomes.study.methods_text import write_methods
from netoutcomes.study.models import model_tables
from netoutcomes.study.narrative import write_narrative, write_results
from netoutcomes.study.protocol import Protocol
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.response import NOT_ASSESSED, best_response, response_table
from netoutcomes.study.results import (
    METHOD_LABELS,
    ORIGIN_LABELS,
    Curve,
    ForestRow,
    Method,
    RiskRow,
    Segment,
    StudyResult,
)
from netoutcomes.study.rounding import landmark_key, pct, yrs
from netoutcomes.study.screening_tables import screening_tables
from netoutcomes.study.statistics import CONF_LEVEL
from netoutcomes.study.survival_tables import (
    follow_up_median,
    immortal_time_gap,
    risk_table,
    step_curve,
    survival_tables,
)
from netoutcomes.study.toxicity import toxicity_tables

__all__ = [
    "CONF_LEVEL",
    "DAYS_PER_YEAR",
    "METHOD_LABELS",
    "NOT_ASSESSED",
    "ORIGIN_LABELS",
    "Curve",
    "ForestRow",
    "Method",
    "RiskRow",
    "Segment",
    "StudyResult",
    "SurvivalData",
    "TwoGroups",
    "analyse",
    "best_response",
    "disjoint_table",
    "follow_up_median",
    "immortal_time_gap",
    "in_cohort",
    "landmark_key",
    "nested_tables",
    "pct",
    "primary_method",
    "response_table",
    "risk_table",
    "screening_tables",
    "step_curve",
    "survival_data",
    "survival_tables",
    "two_groups",
    "years",
    "yrs",
]


def entry_dates(protocol: Protocol, analysed: list[PatientRecord]) -> dict[str, dt.date]:
    """The first therapy with the entry agent of every analysed (hence treated) patient."""
    dates: dict[str, dt.date] = {}
    for p in analysed:
        first = p.first_therapy(protocol.entry.agent)
        assert first is not None  # analysed patients are treated
        dates[p.patient_id] = first
    return dates


def analyse(
    protocol: Protocol,
    patients: list[PatientRecord],
    screening: Screening,
    synthetic: bool = False,
) -> StudyResult:
    """Response, survival by cohort and origin, comparisons and the narrative."""
    result = StudyResult(protocol, screening, synthetic=synthetic)
    analysed_ids = set(screening.analysed_ids)
    analysed = [p for p in patients if p.patient_id in analysed_ids]
    entries = entry_dates(protocol, analysed)
    screening_tables(result)
    for outcome in protocol.outcomes:
        result.add_table("response", response_table(outcome, analysed, entries))
    biochemical_tables(result, analysed, entries)
    toxicity_tables(result, analysed, entries)
    survival_tables(result, analysed, entries)
    nested_tables(result, analysed, entries)
    disjoint_table(result, analysed, entries)
    endpoint_tables(result, analysed, entries)
    competing_risk_tables(result, analysed, entries)
    model_tables(result, analysed, entries)
    result.narrative = write_narrative(result)
    result.results = write_results(result)
    result.methods = write_methods(result)
    return result
