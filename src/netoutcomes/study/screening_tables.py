"""The CONSORT flow and the reasons for exclusion as tables."""

from __future__ import annotations

from netoutcomes.study.results import StudyResult
from netoutcomes.study.tables import Table


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
    consort.row_labels = {str(r["step"]): str(r["label"]) for r in consort.rows}
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
        reasons.row_labels[rule_id] = label
