"""Comparisons of cohorts: nested (descriptive differences) and disjoint (tests)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from netoutcomes.study import statistics as st
from netoutcomes.study.cohorts import SurvivalData, members, primary_method, survival_data
from netoutcomes.study.landmarks import follow_up_end, landmark_estimates, small_cohort_reason
from netoutcomes.study.protocol import DisjointComparison, Protocol, SurvivalSpec
from netoutcomes.study.records import PatientRecord
from netoutcomes.study.results import METHOD_LABELS, ORIGIN_LABELS, ForestRow, StudyResult
from netoutcomes.study.rounding import landmark_key, p_cell, pct, yrs
from netoutcomes.study.tables import Table


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
        columns.append("note")
        labels["note"] = "Note"
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
            missing: list[str] = []
            for cid in (nested.cohort, nested.reference):
                cohort_patients = members(protocol.cohort(cid), patients)
                data = survival_data(cohort_patients, entry_dates, origin, method, spec.data_cutoff)
                if data.time.size:
                    km = st.km(data.time, data.event, data.entry)
                    rules = landmark_estimates(
                        km, follow_up_end(data.time), spec.landmarks_years, spec.min_at_risk
                    )
                    curves.append((km, rules))
            values: dict[str, Any] = {}
            if len(curves) == 2:
                (a, a_rules), (b, b_rules) = curves
                for t, ra, rb in zip(spec.landmarks_years, a_rules, b_rules, strict=True):
                    k = landmark_key(t)
                    if not (ra.reported and rb.reported):
                        missing.append(f"{t:g} y {ra.reason or rb.reason}")
                        continue
                    # independent-samples interval: conservative for nested cohorts
                    d = st.survival_diff(a, b, t)
                    values |= {
                        f"diff_{k}": pct(d.estimate),
                        f"diff_{k}_lower": pct(d.lower),
                        f"diff_{k}_upper": pct(d.upper),
                    }
            else:
                missing.append("a cohort has no patient")
            row = f"{nested.cohort}_vs_{nested.reference}"
            cohort_label = protocol.cohort(nested.cohort).label
            reference_label = protocol.cohort(nested.reference).label
            table.row_labels[row] = f"{cohort_label} minus {reference_label}"
            table.add(
                note="; ".join(missing) or None,
                comparison=row,
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
    a = members(protocol.cohort(comparison.group), patients)
    b = members(protocol.cohort(comparison.versus), patients)
    overlap = {p.patient_id for p in a} & {p.patient_id for p in b}
    if overlap:
        return f"not disjoint: {len(overlap)} patients are in both cohorts"
    method = primary_method(comparison.origin, protocol.survival.delayed_entry)
    data = survival_data(
        a + b, entry_dates, comparison.origin, method, protocol.survival.data_cutoff
    )
    ids_a = {p.patient_id for p in a}
    in_group = np.array([pid in ids_a for pid in data.ids], dtype=bool)
    if in_group.all() or not in_group.any():
        return "one of the two groups is empty"
    if not data.event.any():
        return "no deaths"
    return TwoGroups(data, in_group)


TEST_COLUMNS = [
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
]
TEST_LABELS = {
    "comparison": "Row",
    "group": "Group",
    "versus": "Versus",
    "hr": "HR (group vs versus)",
    "hr_lower": "95% CI lower",
    "hr_upper": "95% CI upper",
}


@dataclass(frozen=True)
class GroupTest:
    cells: dict[str, Any]  # n, events and, when tested, the test's rounded cells
    test: st.TwoGroupTest | None  # unrounded; None when not tested
    note: str | None  # why not tested


def group_test(
    data: SurvivalData, in_group: np.ndarray, row: dict[str, Any], spec: SurvivalSpec, events: str
) -> GroupTest:
    """Counts per group, and the log-rank test and Cox HR unless a group is too small."""
    cells: dict[str, Any] = {
        "n_group": int(in_group.sum()),
        "n_versus": int((~in_group).sum()),
        "events_group": int(data.event[in_group].sum()),
        "events_versus": int(data.event[~in_group].sum()),
    }
    small = [
        f"{row[side]}: {reason}"
        for side in ("group", "versus")
        if (
            reason := small_cohort_reason(cells[f"n_{side}"], cells[f"events_{side}"], spec, events)
        )
    ]
    if small:
        return GroupTest(cells, None, "not tested: " + "; ".join(small))
    test = st.two_group_test(data.time, data.event, data.entry, in_group)
    cells |= {
        "logrank_chisq": round(test.logrank_chisq, 3),
        "logrank_p": p_cell(test.logrank_p),
        "hr": round(test.hr, 2),
        "hr_lower": round(test.hr_lower, 2),
        "hr_upper": round(test.hr_upper, 2),
        "cox_p": p_cell(test.cox_p),
    }
    return GroupTest(cells, test, None)


def disjoint_table(
    result: StudyResult, patients: list[PatientRecord], entry_dates: dict[str, dt.date]
) -> None:
    protocol = result.protocol
    comparisons = protocol.comparisons
    spec = protocol.survival
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
                *TEST_COLUMNS,
                "rmst_diff",
                "rmst_diff_lower",
                "rmst_diff_upper",
                "rmst_p",
                "note",
            ],
            labels=TEST_LABELS
            | {
                "origin": "From",
                "logrank_p_adjusted": f"Adjusted p ({comparisons.adjustment})",
                "rmst_diff": f"RMST difference to {tau:g} y (years)",
                "rmst_diff_lower": "95% CI lower",
                "rmst_diff_upper": "95% CI upper",
                "rmst_p": "RMST p",
            },
            note="Log-rank (R survdiff) and Cox PH (Efron ties) with delayed entry where the "
            "origin is diagnosis; RMST difference with a Wald interval from the two "
            "independent groups' variances. Adjusted p from the unrounded p-values. No test "
            f"when a group has fewer than {spec.min_patients} patients or "
            f"{spec.min_events} deaths.",
        ),
    )
    rows: list[dict[str, Any]] = []
    unrounded_p: dict[int, float] = {}  # row index -> log-rank p, adjusted before rounding
    for c in comparisons.disjoint:
        key = f"{c.group}_vs_{c.versus}_{c.origin}"
        row: dict[str, Any] = {
            "comparison": key,
            "group": protocol.cohort(c.group).label,
            "versus": protocol.cohort(c.versus).label,
            "origin": ORIGIN_LABELS[c.origin],
        }
        table.row_labels[key] = f"{row['group']} vs {row['versus']} (from {row['origin']})"
        groups = two_groups(c, protocol, patients, entry_dates)
        if isinstance(groups, str):
            rows.append(row | {"note": groups})
            result.warn(f"{table.row_labels[key]}: not tested ({groups})")
            continue
        d, g = groups.data, groups.in_group
        tested = group_test(d, g, row, spec, "deaths")
        row |= tested.cells
        if tested.test is None:
            rows.append(row | {"note": tested.note})
            result.warn(f"{table.row_labels[key]}: {tested.note}")
            continue
        test = tested.test
        km = {
            side: st.km(d.time[m], d.event[m], None if d.entry is None else d.entry[m])
            for side, m in (("group", g), ("versus", ~g))
        }
        rmst = st.rmst_diff(km["group"], km["versus"], tau)
        row |= {
            "rmst_diff": yrs(rmst.estimate),
            "rmst_diff_lower": yrs(rmst.lower),
            "rmst_diff_upper": yrs(rmst.upper),
            "rmst_p": p_cell(rmst.p),
        }
        result.forest.append(
            ForestRow(
                key,
                table.row_labels[key],
                test.hr,
                test.hr_lower,
                test.hr_upper,
                test.cox_p,
            )
        )
        unrounded_p[len(rows)] = test.logrank_p
        rows.append(row)
    adjusted = adjusted_p_values(unrounded_p, comparisons.adjustment)
    for i, q in adjusted.items():
        rows[i]["logrank_p_adjusted"] = p_cell(q)
    for r in rows:
        table.add(**r)


def adjusted_p_values(p: dict[int, float], method: str) -> dict[int, float]:
    """Adjust the unrounded p-values of the tested comparisons (rounding comes after)."""
    keys = list(p)
    values = st.adjust_p(np.array([p[k] for k in keys], dtype=np.float64), method)
    return dict(zip(keys, (float(v) for v in values), strict=True))
