"""Tables as a reader sees them: labels not ids, intervals in one cell, grouped headers."""

from __future__ import annotations

from netoutcomes.interfaces.report.labels import humanise, looks_like_id
from netoutcomes.interfaces.report.layout import display_table
from netoutcomes.study.tables import Table


def survival_table() -> Table:
    t = Table(
        id="survival_diagnosis",
        title="Survival from histological diagnosis",
        columns=["row", "cohort", "n", "s_5y", "s_5y_lower", "s_5y_upper", "at_risk_5y"],
        labels={"s_5y": "Survival at 5 y (%)"},
        note="Kaplan-Meier.",
    )
    t.add(row="all_nets_delayed_entry", cohort="All NETs", n=50, s_5y=68.4, s_5y_lower=55.9,
          s_5y_upper=83.7, at_risk_5y=36)  # fmt: skip
    t.add(row="sb_delayed_entry", cohort="Small bowel", n=28, s_5y=65.0, s_5y_lower=None,
          s_5y_upper=None, at_risk_5y=19)  # fmt: skip
    return t


def test_key_hidden_interval_in_one_cell_and_landmark_group() -> None:
    d = display_table(survival_table(), footnotes=["At risk from study entry."])
    assert [[h.text for h in row] for row in d.header] == [
        ["Cohort", "n", "5 years"],
        ["Survival, % (95% CI)", "At risk"],
    ]
    assert d.header[0][2].colspan == 2 and d.header[0][0].rowspan == 2
    assert [c.text for c in d.rows[0]] == ["All NETs", "50", "68.4 (55.9–83.7)", "36"]
    assert [c.text for c in d.rows[1]] == ["Small bowel", "28", "65.0", "19"]
    anchors = [p.anchor for p in d.rows[0][2].parts if p.anchor]
    assert anchors == [
        "survival_diagnosis--all_nets_delayed_entry--s_5y",
        "survival_diagnosis--all_nets_delayed_entry--s_5y_lower",
        "survival_diagnosis--all_nets_delayed_entry--s_5y_upper",
    ]
    assert d.footnotes == ["Kaplan-Meier.", "At risk from study entry."]


def test_ids_become_labels_and_p_values_journal_style() -> None:
    t = Table(
        id="disjoint",
        title="Disjoint groups",
        columns=[
            "comparison",
            "group",
            "n_group",
            "n_versus",
            "logrank_p",
            "hr",
            "hr_lower",
            "hr_upper",
            "diff",
            "diff_lower",
            "diff_upper",
            "odd_column",
        ],  # fmt: skip
    )
    t.add(comparison="sb_vs_non_sb", group="Small bowel", n_group=28, n_versus=22,
          logrank_p=0.0003204, hr=0.28, hr_lower=0.14, hr_upper=0.58, diff=21.2,
          diff_lower=-1.4, diff_upper=43.8, odd_column="cannot_assess")  # fmt: skip
    d = display_table(t)
    shown = [h.text for row in d.header for h in row] + [c.text for c in d.rows[0]]
    assert not any(looks_like_id(s) for s in shown), shown
    assert "Odd column" in shown and "Could not be assessed" in shown
    assert "< 0.001" in shown and "0.28 (0.14–0.58)" in shown
    assert "21.2 (−1.4 to 43.8)" in shown  # a negative bound: "to" and a true minus
    assert [
        h.text for h in d.header[0] if h.colspan > 1 or h.text in ("Log-rank test", "Cox model")
    ] == ["Patients", "Log-rank test", "Cox model"]


def test_humanise() -> None:
    assert humanise("events_versus") == "Events versus"
    assert humanise("Small-bowel NETs") == "Small-bowel NETs"
    assert looks_like_id("all_nets_delayed_entry") and not looks_like_id("HR (95% CI)")
