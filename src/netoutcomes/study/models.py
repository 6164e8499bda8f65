"""Adjusted Cox models declared in the protocol (``models:``).

For each model: the population (a cohort, complete cases only), the outcome
(overall survival from an origin, with delayed entry from diagnosis, or an
endpoint's times), the design matrix (numeric covariates as they are;
categorical ones as indicators against their first level in sorted order, R's
default), an optional stratification, and R's ``coxph`` (Efron) numbers with
the proportional-hazards test (``cox.zph``).  A model with fewer than 10 events
per estimated coefficient is fitted but flagged (Peduzzi et al. 1996).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from netoutcomes.study import statistics as st
from netoutcomes.study.cohorts import SurvivalData, members, primary_method, survival_data, years
from netoutcomes.study.endpoints import endpoint_data
from netoutcomes.study.landmarks import small_cohort_reason
from netoutcomes.study.protocol import Covariate, CoxModel, Protocol
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.results import StudyResult
from netoutcomes.study.rounding import p_cell
from netoutcomes.study.tables import Table

MIN_EVENTS_PER_VARIABLE = 10
CATEGORICAL = {"primary_site", "grade", "differentiation"}
COVARIATE_LABELS = {
    "age_at_therapy": "Age at therapy (per year)",
    "primary_site": "Primary site",
    "grade": "Grade",
    "differentiation": "Differentiation",
    "ki67": "Ki-67 (per %)",
    "years_diagnosis_to_therapy": "Years from diagnosis to therapy (per year)",
    "cumulative_activity_gbq": "Cumulative activity (per GBq)",
    "cycles": "Cycles (per cycle)",
}


def covariate_value(
    name: Covariate, patient: PatientRecord, therapy: dt.date, agent: str, cutoff: dt.date | None
) -> float | str | None:
    """One covariate of one patient; None when missing."""
    h = patient.histology
    given = [
        t
        for t in patient.therapies
        if t.agent == agent and t.date is not None and (cutoff is None or t.date <= cutoff)
    ]
    if name == "age_at_therapy":
        return None if patient.birth_year is None else float(therapy.year - patient.birth_year)
    if name == "primary_site":
        return h.site
    if name == "grade":
        return h.grade
    if name == "differentiation":
        return h.differentiation
    if name == "ki67":
        return h.ki67
    if name == "years_diagnosis_to_therapy":
        d = patient.diagnosis_date
        return None if d is None else years(d, therapy)
    if name == "cycles":
        return float(len(given))
    activities = [t.activity_mbq for t in given]
    if any(a is None for a in activities):
        return None
    return sum(a for a in activities if a is not None) / 1000.0


@dataclass(frozen=True)
class Design:
    ids: list[str]
    x: np.ndarray
    terms: list[str]  # row keys: "age_at_therapy", "primary_site=pancreas", ...
    labels: list[str]
    strata: np.ndarray | None
    missing: int  # patients left out for a missing covariate or stratum


def design(
    model: CoxModel,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
    protocol: Protocol,
) -> Design:
    agent, cutoff = protocol.entry.agent, protocol.survival.data_cutoff
    names = [*model.covariates, *model.strata]
    values = {
        p.patient_id: [
            covariate_value(n, p, entry_dates[p.patient_id], agent, cutoff) for n in names
        ]
        for p in patients
    }
    complete = [p.patient_id for p in patients if all(v is not None for v in values[p.patient_id])]
    columns, terms, labels = [], [], []
    for j, name in enumerate(model.covariates):
        column = [values[pid][j] for pid in complete]
        if name in CATEGORICAL:
            levels = sorted({str(v) for v in column})
            for level in levels[1:]:  # the first level is the reference
                columns.append([1.0 if str(v) == level else 0.0 for v in column])
                terms.append(f"{name}={level}")
                labels.append(f"{COVARIATE_LABELS[name]}: {level} vs {levels[0]}")
        else:
            columns.append([float(v) for v in column])  # type: ignore[arg-type]
            terms.append(name)
            labels.append(COVARIATE_LABELS[name])
    strata = None
    if model.strata:
        offset = len(model.covariates)
        keys = [tuple(str(v) for v in values[pid][offset:]) for pid in complete]
        codes = {k: i for i, k in enumerate(sorted(set(keys)))}
        strata = np.array([codes[k] for k in keys], dtype=np.int64)
    x = np.array(columns, dtype=np.float64).T.reshape(len(complete), len(columns))
    return Design(complete, x, terms, labels, strata, len(patients) - len(complete))


def outcome(
    model: CoxModel,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
    protocol: Protocol,
) -> SurvivalData:
    spec = protocol.survival
    if model.endpoint == "overall_survival":
        method = primary_method(model.origin, spec.delayed_entry)
        return survival_data(patients, entry_dates, model.origin, method, spec.data_cutoff)
    endpoint = next(e for e in protocol.endpoints if e.id == model.endpoint)
    data, _ = endpoint_data(endpoint, patients, entry_dates, spec.data_cutoff, protocol.entry.agent)
    return data


def model_tables(
    result: StudyResult, patients: list[PatientRecord], entry_dates: dict[str, dt.date]
) -> None:
    protocol = result.protocol
    for model in protocol.models:
        cohort = protocol.cohort(model.cohort) if model.cohort else protocol.cohorts[0]
        population = members(cohort, patients)
        x = design(model, population, entry_dates, protocol)
        complete = set(x.ids)
        data = outcome(
            model, [p for p in population if p.patient_id in complete], entry_dates, protocol
        )
        keep = [x.ids.index(pid) for pid in data.ids]  # the outcome may drop patients
        label = model.label or f"Adjusted Cox model ({model.endpoint.replace('_', ' ')})"
        table = result.add_table(
            "models",
            Table(
                id=f"model_{model.id}",
                title=label,
                columns=["term", "label", "hr", "hr_lower", "hr_upper", "p", "zph_p"],
                labels={
                    "term": "Term",
                    "label": "Covariate",
                    "hr": "HR",
                    "hr_lower": "95% CI lower",
                    "hr_upper": "95% CI upper",
                    "p": "p",
                    "zph_p": "PH test p (cox.zph)",
                },
            ),
        )
        events = int(data.event.sum())
        notes = [
            f"{cohort.label}: {len(data.ids)} patients with every covariate "
            f"({x.missing} left out for a missing value), {events} events",
            "Cox PH, Efron ties (R coxph); cox.zph with the Kaplan-Meier transform",
        ]
        if model.strata:
            notes.append("stratified by " + ", ".join(model.strata))
        small = small_cohort_reason(len(data.ids), events, protocol.survival, "events")
        if not x.terms:
            small = "no covariate"
        if small is not None:
            table.note = "; ".join([*notes, f"not fitted: {small}"]) + "."
            result.warn(f"{label}: not fitted ({small})")
            continue
        strata = None if x.strata is None else x.strata[keep]
        fit = st.cox_fit(x.x[keep], x.terms, data.time, data.event, data.entry, strata)
        # events per estimated coefficient (an aliased one is not estimated)
        epv = events / max(1, int(np.isfinite(fit.coef).sum()))
        if epv < MIN_EVENTS_PER_VARIABLE:
            warning = (
                f"{label}: {epv:.1f} events per variable (fewer than "
                f"{MIN_EVENTS_PER_VARIABLE}): the estimates may be unreliable"
            )
            notes.append(warning.split(": ", 1)[1])
            result.warn(warning)
        try:
            zph = st.cox_zph_p(fit, data.time, data.event, data.entry)
        except (ValueError, np.linalg.LinAlgError):
            zph = {}
            notes.append("cox.zph not computed")
        # R prints a non-converged fit's last iteration; a table should not show it
        diverged = any("converge" in w or "infinite" in w for w in fit.warnings)
        if diverged:
            notes.append("hazard ratios not estimable: the fit did not converge")
        for i, term in enumerate(x.terms):
            table.row_labels[term] = x.labels[i]
            shown = not diverged and math.isfinite(float(fit.coef[i]))
            table.add(
                term=term,
                label=x.labels[i],
                hr=round(float(fit.hr[i]), 2) if shown else None,
                hr_lower=round(float(fit.hr_lower[i]), 2) if shown else None,
                hr_upper=round(float(fit.hr_upper[i]), 2) if shown else None,
                p=p_cell(float(fit.p[i])) if shown else None,
                zph_p=p_cell(zph.get(term, math.nan)) if shown else None,
            )
        table.row_labels["GLOBAL"] = "Global proportional-hazards test"
        table.add(term="GLOBAL", label="Global", zph_p=p_cell(zph.get("GLOBAL", math.nan)))
        for w in fit.warnings:
            result.warn(f"{label}: {w}")
        table.note = "; ".join(notes) + "."
