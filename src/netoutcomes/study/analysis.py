"""The analysis of one study: one ``StudyResult`` that the interfaces render.

Every statistic comes from ``netoutcomes.survival``; this module decides what
is estimated for which patients (cohorts, origins, delayed entry) and puts
each number into one cell of one table (``study.tables``).  Times are in years
(days / 365.25).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from netoutcomes.study.eligibility import Screening, matches_filters
from netoutcomes.study.protocol import (
    Cohort,
    DisjointComparison,
    Origin,
    Protocol,
    ResponseOutcome,
)
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.tables import Table
from netoutcomes.survival.counts import CountTable, count_table
from netoutcomes.survival.cox import CoxData, cox_ph
from netoutcomes.survival.groups import grouped_count_tables
from netoutcomes.survival.km import (
    KaplanMeier,
    kaplan_meier,
    median_survival,
    survival_at,
)
from netoutcomes.survival.logrank import logrank
from netoutcomes.survival.multiplicity import adjust_bh, adjust_holm
from netoutcomes.survival.proportions import clopper_pearson
from netoutcomes.survival.twosample import rmst_difference, survival_difference

DAYS_PER_YEAR = 365.25
CONF_LEVEL = 0.95
NOT_ASSESSED = "not_assessed"
Method = Literal["delayed_entry", "naive", "from_origin"]
METHOD_LABELS: dict[str, str] = {
    "delayed_entry": "from diagnosis, delayed entry at first therapy",
    "naive": "from diagnosis, naive (no delayed entry: immortal-time bias)",
    "from_origin": "from first therapy",
}
ORIGIN_LABELS: dict[str, str] = {
    "diagnosis": "histological diagnosis",
    "first_therapy": "first therapy",
}


def years(start: dt.date, end: dt.date) -> float:
    return (end - start).days / DAYS_PER_YEAR


def pct(x: float) -> float:
    """A proportion as a percentage rounded to one decimal (what tables show)."""
    return round(100.0 * x, 1) if np.isfinite(x) else float("nan")


def yrs(x: float) -> float:
    return round(x, 2) if np.isfinite(x) else float("nan")


def landmark_key(t: float) -> str:
    return f"{t:g}y"


# --- cohorts and survival data ---------------------------------------------------


def in_cohort(cohort: Cohort, patient: PatientRecord) -> bool:
    """Missing histology that a filter needs leaves the patient out of the cohort."""
    return matches_filters(patient.histology, cohort) is True


@dataclass(frozen=True)
class SurvivalData:
    ids: list[str]
    time: np.ndarray
    event: np.ndarray
    entry: np.ndarray | None
    dropped: list[str]  # patients without the dates this origin needs


def survival_data(
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
    origin: Origin,
    method: Method,
    cutoff: dt.date | None,
) -> SurvivalData:
    """Times from the origin to death (event) or last contact (censored).

    Delayed entry: from diagnosis a patient is at risk only from the first
    therapy (the entry), so the years before it are not immortal time."""
    ids, time, event, entry, dropped = [], [], [], [], []
    for p in patients:
        therapy = entry_dates[p.patient_id]
        start = p.diagnosis_date if origin == "diagnosis" else therapy
        exit_date = p.death_date or p.last_contact
        if start is None or exit_date is None:
            dropped.append(p.patient_id)
            continue
        died = p.death_date is not None
        if cutoff is not None and exit_date > cutoff:
            exit_date, died = cutoff, False
        t = years(start, exit_date)
        e = years(start, therapy) if method == "delayed_entry" else 0.0
        if t <= e:
            dropped.append(p.patient_id)
            continue
        ids.append(p.patient_id)
        time.append(t)
        event.append(died)
        entry.append(e)
    return SurvivalData(
        ids,
        np.array(time, dtype=np.float64),
        np.array(event, dtype=bool),
        np.array(entry, dtype=np.float64) if method == "delayed_entry" else None,
        dropped,
    )


# --- results ---------------------------------------------------------------------


@dataclass(frozen=True)
class RiskRow:
    """KMunicate-style counts at one time: at risk, and events/censored so far."""

    time: float
    at_risk: int
    events: int
    censored: int


@dataclass(frozen=True)
class Curve:
    cohort: str
    cohort_label: str
    origin: Origin
    method: Method
    n: int
    events: int
    time: list[float]  # step function, starting at (0, 1)
    surv: list[float]
    lower: list[float]
    upper: list[float]
    censor_time: list[float]
    censor_surv: list[float]
    median: float
    landmarks: dict[str, float]  # landmark key -> survival (proportion)
    risk_table: list[RiskRow]

    @property
    def label(self) -> str:
        return f"{self.cohort_label} ({METHOD_LABELS[self.method]})"


@dataclass(frozen=True)
class ForestRow:
    comparison: str
    label: str
    hr: float
    lower: float
    upper: float
    p: float


@dataclass(frozen=True)
class Segment:
    """A piece of the narrative: plain text, or a number that refers to a table cell."""

    text: str
    table: str | None = None
    row: str | None = None
    column: str | None = None
    value: float | None = None


@dataclass
class StudyResult:
    protocol: Protocol
    screening: Screening
    tables: dict[str, Table] = field(default_factory=dict)
    curves: list[Curve] = field(default_factory=list)
    forest: list[ForestRow] = field(default_factory=list)
    narrative: list[Segment] = field(default_factory=list)
    section_tables: dict[str, list[str]] = field(default_factory=dict)
    synthetic: bool = False

    def add_table(self, section: str, table: Table) -> Table:
        self.tables[table.id] = table
        self.section_tables.setdefault(section, []).append(table.id)
        return table

    def narrative_text(self) -> str:
        return "".join(s.text for s in self.narrative)

    def to_dict(self) -> dict[str, Any]:
        def section(name: str, **extra: Any) -> dict[str, Any]:
            ids = self.section_tables.get(name, [])
            return {"tables": {i: self.tables[i].to_dict() for i in ids}, **extra}

        return {
            "study": {
                "name": self.protocol.name,
                "short_name": self.protocol.short_name,
                "synthetic": self.synthetic,
                "entry_agent": self.protocol.entry.agent,
            },
            "screening": section("screening", **self.screening.to_dict()),
            "response": section("response"),
            "survival": section(
                "survival",
                curves=[
                    {
                        "cohort": c.cohort,
                        "origin": c.origin,
                        "method": c.method,
                        "label": c.label,
                        "n": c.n,
                        "events": c.events,
                        "risk_table": [r.__dict__ for r in c.risk_table],
                    }
                    for c in self.curves
                ],
            ),
            "comparisons": section("comparisons", forest=[f.__dict__ for f in self.forest]),
            "narrative": {
                "text": self.narrative_text(),
                "segments": [s.__dict__ for s in self.narrative],
            },
        }


# --- response --------------------------------------------------------------------


def best_response(outcome: ResponseOutcome, patient: PatientRecord, start: dt.date) -> str | None:
    """Best category recorded from the first therapy until the first worst-category
    reading (for RECIST: until progression); categories not on the scale are ignored."""
    rank = {c: i for i, c in enumerate(outcome.categories)}
    readings = sorted(
        (a.date, a.result)
        for a in patient.assessments
        if a.kind == outcome.assessment
        and a.date is not None
        and a.date >= start
        and a.result in rank
    )
    best: str | None = None
    for _, result in readings:
        if best is None or rank[result] < rank[best]:
            best = result
        if rank[result] == len(outcome.categories) - 1:
            break
    return best


def response_table(
    outcome: ResponseOutcome, patients: list[PatientRecord], entry_dates: dict[str, dt.date]
) -> Table:
    table = Table(
        id=f"response_{outcome.id}",
        title=outcome.label,
        columns=["category", "n", "total", "percent", "ci_lower", "ci_upper"],
        labels={
            "category": "Best response",
            "n": "n",
            "total": "of",
            "percent": "%",
            "ci_lower": "95% CI lower (%)",
            "ci_upper": "95% CI upper (%)",
        },
        note="Exact (Clopper-Pearson) 95% confidence intervals; denominator: all analysed.",
    )
    best = [best_response(outcome, p, entry_dates[p.patient_id]) for p in patients]
    total = len(patients)

    def add(key: str, count: int) -> None:
        prop = clopper_pearson(count, total, CONF_LEVEL)
        table.add(
            category=key,
            n=count,
            total=total,
            percent=pct(prop.estimate),
            ci_lower=pct(prop.lower),
            ci_upper=pct(prop.upper),
        )

    for category in outcome.categories:
        add(category, sum(b == category for b in best))
    add(NOT_ASSESSED, sum(b is None for b in best))
    if outcome.objective:
        add("objective_response", sum(b in outcome.objective for b in best))
    if outcome.control:
        add("disease_control", sum(b in outcome.control for b in best))
    return table


# --- survival --------------------------------------------------------------------


def step_curve(km: KaplanMeier) -> tuple[list[float], ...]:
    time = [0.0, *km.time.tolist()]
    surv = [1.0, *km.surv.tolist()]
    lower = [1.0, *np.nan_to_num(km.lower, nan=0.0).tolist()]
    upper = [1.0, *np.nan_to_num(km.upper, nan=0.0).tolist()]
    censored = km.n_censor > 0
    return time, surv, lower, upper, km.time[censored].tolist(), km.surv[censored].tolist()


def risk_table(table: CountTable, grid: list[float]) -> list[RiskRow]:
    """At risk at t (entry < t <= exit, R's convention), events and censored up to t."""
    exits = table.n_event + table.n_censor
    rows = []
    for t in grid:
        from_t = table.time >= t
        upto = table.time <= t
        at_risk = exits[from_t].sum() - table.n_enter[from_t].sum()
        rows.append(
            RiskRow(
                t,
                int(round(at_risk)),
                int(round(table.n_event[upto].sum())),
                int(round(table.n_censor[upto].sum())),
            )
        )
    return rows


def follow_up_median(data: SurvivalData) -> float:
    """Median follow-up by the reverse Kaplan-Meier method (death censors follow-up)."""
    reverse = kaplan_meier(count_table(data.time, ~data.event, data.entry))
    return median_survival(reverse).median


def survival_tables(
    result: StudyResult,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
) -> None:
    spec = result.protocol.survival
    landmarks = spec.landmarks_years
    grid_step = 2.0 if max(landmarks) > 4 else 1.0
    grid = list(np.arange(0.0, max(landmarks) + 1e-9, grid_step))
    for origin in spec.origins:
        methods: list[Method] = (
            (["delayed_entry", "naive"] if spec.delayed_entry else ["naive"])
            if origin == "diagnosis"
            else ["from_origin"]
        )
        columns = ["row", "cohort", "method", "n", "events", "median", "median_lower"]
        columns += ["median_upper", "followup_median"]
        labels = {
            "row": "Row",
            "cohort": "Cohort",
            "method": "Analysis",
            "median": "Median (years)",
            "median_lower": "95% CI lower",
            "median_upper": "95% CI upper",
            "followup_median": "Median follow-up (years, reverse KM)",
        }
        for t in landmarks:
            k = landmark_key(t)
            columns += [f"s_{k}", f"s_{k}_lower", f"s_{k}_upper", f"at_risk_{k}"]
            labels |= {
                f"s_{k}": f"Survival at {t:g} y (%)",
                f"s_{k}_lower": "95% CI lower",
                f"s_{k}_upper": "95% CI upper",
                f"at_risk_{k}": f"At risk at {t:g} y",
            }
        table = result.add_table(
            "survival",
            Table(
                id=f"survival_{origin}",
                title=f"Survival from {ORIGIN_LABELS[origin]}",
                columns=columns,
                labels=labels,
                note=(
                    "Kaplan-Meier; Greenwood variance, log-transformed 95% intervals; "
                    "median interval where the confidence limits cross 0.5 (R survfit)."
                ),
            ),
        )
        for cohort in result.protocol.cohorts:
            members = [p for p in patients if in_cohort(cohort, p)]
            for method in methods:
                data = survival_data(members, entry_dates, origin, method, spec.data_cutoff)
                if data.time.size == 0:
                    continue
                counts = count_table(data.time, data.event, data.entry)
                km = kaplan_meier(counts)
                med = median_survival(km)
                at = survival_at(km, np.array(landmarks, dtype=np.float64))
                values: dict[str, Any] = {}
                for t, s, lo, hi, nr in zip(
                    landmarks, at.surv, at.lower, at.upper, at.n_risk, strict=True
                ):
                    k = landmark_key(t)
                    values |= {
                        f"s_{k}": pct(s),
                        f"s_{k}_lower": pct(lo),
                        f"s_{k}_upper": pct(hi),
                        f"at_risk_{k}": int(nr),
                    }
                table.add(
                    row=f"{cohort.id}_{method}",
                    cohort=cohort.label,
                    method=METHOD_LABELS[method],
                    n=int(data.time.size),
                    events=int(data.event.sum()),
                    median=yrs(med.median),
                    median_lower=yrs(med.lower),
                    median_upper=yrs(med.upper),
                    followup_median=yrs(follow_up_median(data)),
                    **values,
                )
                time, surv, lower, upper, c_time, c_surv = step_curve(km)
                result.curves.append(
                    Curve(
                        cohort=cohort.id,
                        cohort_label=cohort.label,
                        origin=origin,
                        method=method,
                        n=int(data.time.size),
                        events=int(data.event.sum()),
                        time=time,
                        surv=surv,
                        lower=lower,
                        upper=upper,
                        censor_time=c_time,
                        censor_surv=c_surv,
                        median=float(med.median),
                        landmarks={
                            landmark_key(t): float(s)
                            for t, s in zip(landmarks, at.surv, strict=True)
                        },
                        risk_table=risk_table(counts, grid),
                    )
                )
        if origin == "diagnosis" and spec.delayed_entry:
            result.add_table("survival", immortal_time_gap(table, result, landmarks))


def immortal_time_gap(survival: Table, result: StudyResult, landmarks: list[float]) -> Table:
    """Naive minus delayed-entry survival at each landmark: the immortal-time bias."""
    columns = ["cohort_id", "cohort"]
    labels = {"cohort_id": "Row", "cohort": "Cohort"}
    for t in landmarks:
        k = landmark_key(t)
        columns += [f"delayed_{k}", f"naive_{k}", f"gap_{k}"]
        labels |= {
            f"delayed_{k}": f"Delayed entry {t:g} y (%)",
            f"naive_{k}": f"Naive {t:g} y (%)",
            f"gap_{k}": f"Gap {t:g} y (points)",
        }
    table = Table(
        id="immortal_time_gap",
        title="Survival from diagnosis: naive curve minus delayed-entry curve",
        columns=columns,
        labels=labels,
        note="The naive curve counts the years between diagnosis and therapy, which every "
        "treated patient had to survive, as time at risk (immortal-time bias).",
    )
    for cohort in result.protocol.cohorts:
        try:
            delayed = {c: survival.cell(f"{cohort.id}_delayed_entry", c) for c in survival.columns}
            naive = {c: survival.cell(f"{cohort.id}_naive", c) for c in survival.columns}
        except KeyError:
            continue
        values: dict[str, Any] = {}
        for t in landmarks:
            k = landmark_key(t)
            d, n = delayed[f"s_{k}"], naive[f"s_{k}"]
            gap = round(float(n) - float(d), 1) if d is not None and n is not None else None
            values |= {f"delayed_{k}": d, f"naive_{k}": n, f"gap_{k}": gap}
        table.add(cohort_id=cohort.id, cohort=cohort.label, **values)
    return table


# --- comparisons -----------------------------------------------------------------


def primary_method(origin: Origin, delayed_entry: bool) -> Method:
    if origin == "first_therapy":
        return "from_origin"
    return "delayed_entry" if delayed_entry else "naive"


def nested_tables(
    result: StudyResult, patients: list[PatientRecord], entry_dates: dict[str, dt.date]
) -> None:
    protocol = result.protocol
    spec = protocol.survival
    if not protocol.comparisons.nested:
        return
    for origin in spec.origins:
        method = primary_method(origin, spec.delayed_entry)
        columns = ["comparison", "cohort", "reference"]
        labels = {"comparison": "Row", "cohort": "Cohort", "reference": "Reference"}
        for t in spec.landmarks_years:
            k = landmark_key(t)
            columns += [f"diff_{k}", f"diff_{k}_lower", f"diff_{k}_upper"]
            labels |= {
                f"diff_{k}": f"Difference at {t:g} y (points)",
                f"diff_{k}_lower": "95% CI lower",
                f"diff_{k}_upper": "95% CI upper",
            }
        table = result.add_table(
            "comparisons",
            Table(
                id=f"nested_{origin}",
                title=f"Cohort minus containing cohort, survival from {ORIGIN_LABELS[origin]} "
                f"({METHOD_LABELS[method]}); descriptive",
                columns=columns,
                labels=labels,
                note="Descriptive: a cohort is not tested against a cohort that contains it. "
                "Intervals treat the two estimates as independent (conservative here).",
            ),
        )
        for nested in protocol.comparisons.nested:
            curves = []
            for cid in (nested.cohort, nested.reference):
                members = [p for p in patients if in_cohort(protocol.cohort(cid), p)]
                data = survival_data(members, entry_dates, origin, method, spec.data_cutoff)
                curves.append(
                    kaplan_meier(count_table(data.time, data.event, data.entry))
                    if data.time.size
                    else None
                )
            values: dict[str, Any] = {}
            if curves[0] is not None and curves[1] is not None:
                for t in spec.landmarks_years:
                    k = landmark_key(t)
                    # independent-samples interval: conservative for nested cohorts
                    d = survival_difference(curves[0], curves[1], t, CONF_LEVEL)
                    values |= {
                        f"diff_{k}": pct(d.estimate),
                        f"diff_{k}_lower": pct(d.lower),
                        f"diff_{k}_upper": pct(d.upper),
                    }
            table.add(
                comparison=f"{nested.cohort}_vs_{nested.reference}",
                cohort=protocol.cohort(nested.cohort).label,
                reference=protocol.cohort(nested.reference).label,
                **values,
            )


@dataclass(frozen=True)
class TwoGroups:
    data: SurvivalData
    in_group: np.ndarray  # True for ``group``, False for ``versus``


def two_groups(
    comparison: DisjointComparison,
    protocol: Protocol,
    patients: list[PatientRecord],
    entry_dates: dict[str, dt.date],
) -> TwoGroups | str:
    """The pooled survival data of two disjoint cohorts, or why it cannot be tested."""
    a = [p for p in patients if in_cohort(protocol.cohort(comparison.group), p)]
    b = [p for p in patients if in_cohort(protocol.cohort(comparison.versus), p)]
    overlap = {p.patient_id for p in a} & {p.patient_id for p in b}
    if overlap:
        return f"not disjoint: {len(overlap)} patients are in both cohorts"
    method = primary_method(comparison.origin, protocol.survival.delayed_entry)
    data = survival_data(a + b, entry_dates, comparison.origin, method, None)
    ids_a = {p.patient_id for p in a}
    in_group = np.array([pid in ids_a for pid in data.ids], dtype=bool)
    if in_group.all() or not in_group.any():
        return "one of the two groups is empty"
    if not data.event.any():
        return "no deaths"
    return TwoGroups(data, in_group)


def disjoint_table(
    result: StudyResult, patients: list[PatientRecord], entry_dates: dict[str, dt.date]
) -> None:
    protocol = result.protocol
    comparisons = protocol.comparisons
    if not comparisons.disjoint:
        return
    tau = comparisons.rmst_tau_years or max(protocol.survival.landmarks_years)
    table = result.add_table(
        "comparisons",
        Table(
            id="disjoint",
            title="Disjoint groups: log-rank test, Cox hazard ratio, RMST difference",
            columns=[
                "comparison",
                "group",
                "versus",
                "origin",
                "n_group",
                "n_versus",
                "events_group",
                "events_versus",
                "logrank_chisq",
                "logrank_p",
                "logrank_p_adjusted",
                "hr",
                "hr_lower",
                "hr_upper",
                "cox_p",
                "rmst_diff",
                "rmst_diff_lower",
                "rmst_diff_upper",
                "rmst_p",
                "note",
            ],
            labels={
                "comparison": "Row",
                "group": "Group",
                "versus": "Versus",
                "origin": "From",
                "logrank_p_adjusted": f"Adjusted p ({comparisons.adjustment})",
                "hr": "HR (group vs versus)",
                "hr_lower": "95% CI lower",
                "hr_upper": "95% CI upper",
                "rmst_diff": f"RMST difference to {tau:g} y (years)",
                "rmst_diff_lower": "95% CI lower",
                "rmst_diff_upper": "95% CI upper",
                "rmst_p": "RMST p",
            },
            note="Log-rank (R survdiff) and Cox PH (Efron ties) with delayed entry where the "
            "origin is diagnosis; RMST difference with a Wald interval from the two "
            "independent groups' variances.",
        ),
    )
    rows: list[dict[str, Any]] = []
    for c in comparisons.disjoint:
        key = f"{c.group}_vs_{c.versus}_{c.origin}"
        row: dict[str, Any] = {
            "comparison": key,
            "group": protocol.cohort(c.group).label,
            "versus": protocol.cohort(c.versus).label,
            "origin": ORIGIN_LABELS[c.origin],
        }
        groups = two_groups(c, protocol, patients, entry_dates)
        if isinstance(groups, str):
            rows.append(row | {"note": groups})
            continue
        d, g = groups.data, groups.in_group
        label = np.where(g, "group", "versus")
        tables = grouped_count_tables(d.time, d.event, d.entry, group=("arm", label))
        lr = logrank(tables)
        fit = cox_ph(
            CoxData(g.astype(np.float64)[:, None], d.time, d.event, d.entry), names=["group"]
        )
        km = {
            side: kaplan_meier(
                count_table(d.time[m], d.event[m], None if d.entry is None else d.entry[m])
            )
            for side, m in (("group", g), ("versus", ~g))
        }
        rmst = rmst_difference(km["group"], km["versus"], tau, CONF_LEVEL)
        row |= {
            "n_group": int(g.sum()),
            "n_versus": int((~g).sum()),
            "events_group": int(d.event[g].sum()),
            "events_versus": int(d.event[~g].sum()),
            "logrank_chisq": round(lr.chisq, 3),
            "logrank_p": float(f"{lr.p:.4g}"),
            "hr": round(float(fit.hr[0]), 2),
            "hr_lower": round(float(fit.hr_lower[0]), 2),
            "hr_upper": round(float(fit.hr_upper[0]), 2),
            "cox_p": float(f"{fit.p[0]:.4g}"),
            "rmst_diff": yrs(rmst.estimate),
            "rmst_diff_lower": yrs(rmst.lower),
            "rmst_diff_upper": yrs(rmst.upper),
            "rmst_p": float(f"{rmst.p:.4g}"),
        }
        result.forest.append(
            ForestRow(
                key,
                f"{row['group']} vs {row['versus']} (from {row['origin']})",
                float(fit.hr[0]),
                float(fit.hr_lower[0]),
                float(fit.hr_upper[0]),
                float(fit.p[0]),
            )
        )
        rows.append(row)
    tested = [i for i, r in enumerate(rows) if r.get("logrank_p") is not None]
    p = np.array([rows[i]["logrank_p"] for i in tested], dtype=np.float64)
    if comparisons.adjustment == "holm":
        adjusted = adjust_holm(p)
    elif comparisons.adjustment == "bh":
        adjusted = adjust_bh(p)
    else:
        adjusted = p
    for i, q in zip(tested, adjusted, strict=True):
        rows[i]["logrank_p_adjusted"] = float(f"{q:.4g}")
    for r in rows:
        table.add(**r)


# --- screening tables ------------------------------------------------------------


def screening_tables(result: StudyResult) -> None:
    flow = result.screening.flow
    consort = result.add_table(
        "screening",
        Table(
            id="consort",
            title="Patient flow (CONSORT)",
            columns=["step", "label", "n"],
            labels={"step": "Row", "label": "Step", "n": "Patients"},
        ),
    )
    consort.add(step="screened", label="Screened (in the registry)", n=flow.screened)
    consort.add(step="excluded", label="Excluded (failed a rule)", n=flow.excluded)
    consort.add(step="cannot_assess", label="Could not be assessed", n=flow.cannot_assess)
    consort.add(step="enrolled", label="Eligible, enrolled", n=flow.enrolled)
    consort.add(
        step="treated", label=f"Treated ({result.protocol.entry.agent_name})", n=flow.treated
    )
    consort.add(step="analysed", label="Analysed", n=flow.analysed)
    reasons = result.add_table(
        "screening",
        Table(
            id="exclusions",
            title="Reasons (a patient failing several rules counts under each)",
            columns=["rule", "label", "excluded", "cannot_assess"],
            labels={
                "rule": "Rule",
                "label": "Rule",
                "excluded": "Failed",
                "cannot_assess": "Missing data",
            },
        ),
    )
    for rule_id, label in flow.reason_labels.items():
        reasons.add(
            rule=rule_id,
            label=label,
            excluded=flow.excluded_by_reason.get(rule_id, 0),
            cannot_assess=flow.cannot_assess_by_reason.get(rule_id, 0),
        )


# --- the whole study -------------------------------------------------------------


def analyse(
    protocol: Protocol,
    patients: list[PatientRecord],
    screening: Screening,
    synthetic: bool = False,
) -> StudyResult:
    """Response, survival by cohort and origin, comparisons and the narrative."""
    from netoutcomes.study.narrative import write_narrative

    result = StudyResult(protocol, screening, synthetic=synthetic)
    analysed_ids = set(screening.analysed_ids)
    analysed = [p for p in patients if p.patient_id in analysed_ids]
    entry_dates: dict[str, dt.date] = {}
    for p in analysed:
        first = p.first_therapy(protocol.entry.agent)
        assert first is not None  # analysed patients are treated
        entry_dates[p.patient_id] = first
    screening_tables(result)
    for outcome in protocol.outcomes:
        result.add_table("response", response_table(outcome, analysed, entry_dates))
    survival_tables(result, analysed, entry_dates)
    nested_tables(result, analysed, entry_dates)
    disjoint_table(result, analysed, entry_dates)
    result.narrative = write_narrative(result)
    return result
