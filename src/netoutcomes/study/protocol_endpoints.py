"""The survival analysis, the endpoints and the adjusted models a protocol declares
(validated with pydantic).

Documented in docs/study.md ("Endpoints", "Adjusted Cox models").
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from netoutcomes.study.protocol_base import Landmarks, Origin, _Strict

PfsCensoring = Literal["last_adequate_assessment", "last_contact"]


class _ProgressionEndpoint(_Strict):
    """What counts as progression and as an adequate tumour assessment.

    Event: the first progression after the start (a registry progression record,
    when ``recorded_progressions``, or an ``assessment`` reading in
    ``progression_categories``) or death, whichever comes first.  Without an event
    a patient is censored at the last adequate tumour assessment (a reading in
    ``adequate_categories``; at the start when there is none), the FDA/EMA
    convention, or with ``censoring: last_contact`` at the last contact.  With
    ``event_window_days``, an event later than that after the last adequate
    assessment (missed assessments) is censored at that assessment."""

    id: str
    assessment: str = "recist"
    progression_categories: list[str] = ["PD"]
    adequate_categories: list[str] = ["CR", "PR", "SD", "PD"]
    recorded_progressions: bool = True
    censoring: PfsCensoring = "last_adequate_assessment"
    event_window_days: int | None = Field(default=None, gt=0)
    landmarks_years: Landmarks = Field(default=[1.0, 2.0], min_length=1)
    # cumulative incidence of progression with death as the competing event, Gray's test
    competing_risks: bool = True


class ProgressionFreeSurvival(_ProgressionEndpoint):
    """Progression-free survival from the first entry therapy."""

    kind: Literal["pfs"] = "pfs"
    label: str = "Progression-free survival"


class DurationOfResponse(_ProgressionEndpoint):
    """Among responders: from the first reading in ``response_categories`` after the
    first therapy to progression or death (censored as PFS)."""

    kind: Literal["duration_of_response"]
    label: str = "Duration of response"
    response_categories: list[str] = ["CR", "PR"]


class TimeToNextTreatment(_Strict):
    """From the first entry therapy to the start of the next treatment (a treatment of
    ``treatment_kinds``, any kind when not given, or a therapy with another agent when
    ``other_agents``) or death (when ``death_is_event``); censored at the last contact."""

    kind: Literal["time_to_next_treatment"]
    id: str
    label: str = "Time to next treatment"
    treatment_kinds: list[str] | None = None
    other_agents: bool = True
    death_is_event: bool = True
    landmarks_years: Landmarks = Field(default=[1.0, 2.0], min_length=1)


def _endpoint_kind(value: Any) -> str:
    """The tag of an endpoint entry; a PFS entry may leave out ``kind``."""
    if isinstance(value, dict):
        return str(value.get("kind", "pfs"))
    return str(getattr(value, "kind", "pfs"))


Endpoint = Annotated[
    Annotated[ProgressionFreeSurvival, Tag("pfs")]
    | Annotated[DurationOfResponse, Tag("duration_of_response")]
    | Annotated[TimeToNextTreatment, Tag("time_to_next_treatment")],
    Discriminator(_endpoint_kind),
]


class SurvivalSpec(_Strict):
    origins: list[Origin] = Field(min_length=1)
    landmarks_years: list[Annotated[float, Field(gt=0)]] = Field(min_length=1)
    delayed_entry: bool = True  # from diagnosis: at risk only from the entry therapy
    data_cutoff: dt.date | None = None  # follow-up beyond it is censored at it
    # a landmark with fewer patients at risk is not reported (always: none past the
    # cohort's largest follow-up time, where the estimate is not estimable)
    min_at_risk: int = Field(default=1, ge=1)
    # cohorts under min_patients patients or min_events deaths are flagged in the
    # tables, the curves and the text, and get no test in the disjoint comparisons
    min_patients: int = Field(default=10, ge=1)
    min_events: int = Field(default=5, ge=1)


Covariate = Literal[
    "age_at_therapy",  # years: therapy year minus birth year
    "primary_site",
    "grade",
    "differentiation",
    "ki67",
    "years_diagnosis_to_therapy",
    "cumulative_activity_gbq",  # entry-agent therapies up to the data cut-off
    "cycles",
]
CategoricalCovariate = Literal["primary_site", "grade", "differentiation"]


class CoxModel(_Strict):
    """An adjusted Cox model: ``endpoint`` is ``overall_survival`` (from ``origin``) or
    the id of an endpoint; the population is ``cohort`` (default: the first cohort);
    complete cases only; categorical covariates against their first level (R's
    default); ``strata`` fit a baseline hazard per level."""

    id: str
    label: str = ""
    endpoint: str = "overall_survival"
    origin: Origin = "first_therapy"
    cohort: str | None = None
    covariates: list[Covariate] = Field(min_length=1)
    strata: list[CategoricalCovariate] = []


class BiochemicalResponse(_Strict):
    """Best biochemical response of one marker: the largest fall from baseline (the last
    value within ``baseline_lookback_days`` before the first therapy, up to its day) to a
    later value in the same unit; a fall of at least ``response_fall_percent`` is a
    response."""

    id: str
    label: str = ""
    biomarker: str  # registry code: chromogranin_a, 5hiaa_urine, 5hiaa_plasma
    response_fall_percent: float = Field(default=50.0, gt=0, le=100)
    baseline_lookback_days: int = Field(default=90, gt=0)
