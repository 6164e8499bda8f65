"""netoutcomes.figures: drawn from survival objects, checked against hand-worked counts."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from netoutcomes.figures import (
    OKABE_ITO,
    FlowBox,
    FlowStep,
    ForestItem,
    KMPanel,
    consort_figure,
    cumulative_incidence_figure,
    forest_figure,
    format_p,
    kaplan_meier_figure,
    save_figure,
    series_from_km,
)
from netoutcomes.survival.cif import cif_by_group
from netoutcomes.survival.counts import count_table
from netoutcomes.survival.cox import CoxData, cox_ph
from netoutcomes.survival.curves import km_by_group
from netoutcomes.survival.groups import grouped_count_tables
from netoutcomes.survival.km import kaplan_meier

# Five patients, by hand: exits at 1, 2, 3, 4, 6 years; deaths at 1, 3 and 6.
# At risk (R's summary(fit, times=): at the first curve time >= t):
#   t=0 -> 5, t=2 -> 4 (the exit at 2), t=4 -> 2, t=6 -> 1; beyond 6 -> nothing drawn.
TIME = np.array([1.0, 2.0, 3.0, 4.0, 6.0])
EVENT = np.array([True, False, True, False, True])
LONG_LABEL = "Small-bowel NETs without poorly differentiated tumours of any grade"


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def risk_row(fig: Figure, colour: str) -> list[str]:
    """The at-risk numbers of one curve, in x order (text drawn in the curve's colour)."""
    table = fig.axes[1]
    cells = [t for t in table.texts if t.get_color() == colour and t.get_text()]
    return [t.get_text() for t in sorted(cells, key=lambda t: t.get_position()[0])]


def test_km_at_risk_counts_match_the_hand_count_at_the_ticks() -> None:
    km = kaplan_meier(count_table(TIME, EVENT, None))
    fig = kaplan_meier_figure([series_from_km("All", km)], tick_step=2.0)
    plot = fig.axes[0]
    assert [t for t in plot.get_xticks()] == [0.0, 2.0, 4.0, 6.0]
    assert risk_row(fig, OKABE_ITO[0]) == ["5", "4", "2", "1"]
    assert plot.get_xlim()[1] == pytest.approx(6.0)  # the axis runs to the end of follow-up


def test_km_delayed_entry_counts_rise_from_zero() -> None:
    """Entries at 1 and 2 years: nobody is at risk at 0; 2 at 1.5 (the exit at 3 and 4)."""
    entry = np.array([1.0, 2.0])
    km = kaplan_meier(count_table(np.array([3.0, 4.0]), np.array([True, False]), entry))
    series = series_from_km("Delayed", km)
    assert series.risk_at(0.5) == 2  # R: counted at the first curve time >= t (3.0)
    fig = kaplan_meier_figure([series], tick_step=1.0, footnote="at risk from study entry")
    assert "at risk from study entry" in " ".join(texts(fig))


def test_km_labels_are_whole_and_colours_okabe_ito() -> None:
    a = kaplan_meier(count_table(TIME, EVENT, None))
    b = kaplan_meier(count_table(TIME + 1, EVENT, None))
    fig = kaplan_meier_figure(
        [series_from_km(LONG_LABEL, a), series_from_km("Other sites", b)],
        annotation="HR 0.50 (95% CI 0.20–1.20)\nlog-rank p = 0.040",
        ci=True,
        median_lines=True,
    )
    joined = " ".join(" ".join(texts(fig)).split())  # labels wrap, never cut
    assert LONG_LABEL in joined and "Other sites" in joined
    assert "log-rank p = 0.040" in joined
    colours = {line.get_color() for line in fig.axes[0].get_lines()}
    assert {OKABE_ITO[0], OKABE_ITO[1]} <= colours
    assert fig.axes[0].get_xlim()[1] == pytest.approx(7.0)


def test_km_small_multiples_one_panel_per_comparison() -> None:
    a = series_from_km("A", kaplan_meier(count_table(TIME, EVENT, None)))
    b = series_from_km("B", kaplan_meier(count_table(TIME * 2, EVENT, None)))
    fig = kaplan_meier_figure(
        [KMPanel([a, b], title="A vs B"), KMPanel([b, a], title="B vs A")], size="page"
    )
    assert len(fig.axes) == 4  # two plots, two risk tables
    assert fig.get_size_inches()[0] == pytest.approx(6.85)
    column = kaplan_meier_figure([a], size="column")
    assert column.get_size_inches()[0] == pytest.approx(3.35)


def test_km_takes_the_survival_layers_group_curves() -> None:
    tables = grouped_count_tables(TIME, EVENT, None, group=("arm", np.array(list("aabbb"))))
    curves = km_by_group(tables)
    fig = kaplan_meier_figure(curves, risk_table=False)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["arm=a", "arm=b"]  # R's strata names, as `stats km` prints them


def test_save_figure_by_suffix(tmp_path: Path) -> None:
    fig = kaplan_meier_figure([kaplan_meier(count_table(TIME, EVENT, None))])
    heads = {"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF"}
    for suffix, head in heads.items():
        path = save_figure(fig, tmp_path / f"km.{suffix}")
        assert path.read_bytes().startswith(head)
    with pytest.raises(ValueError, match="must end in"):
        save_figure(fig, tmp_path / "km.jpg")


def test_forest_shows_n_events_hr_and_p() -> None:
    fig = forest_figure(
        [
            ForestItem("Small bowel vs other", 0.28, 0.14, 0.58, 0.0003, "28 / 22", "14 / 22"),
            ForestItem("G1 vs G2/G3", 1.5, 0.7, 3.2, 0.27, "12 / 16", "3 / 11"),
        ]
    )
    shown = texts(fig)
    for expected in ("n", "Events", "HR (95% CI)", "p", "28 / 22", "14 / 22"):
        assert expected in shown
    assert "0.28 (0.14–0.58)" in shown and "< 0.001" in shown and "0.27" in shown


def test_forest_from_a_cox_fit() -> None:
    x = np.array([[0.0], [1.0], [1.0], [0.0], [1.0]])
    fit = cox_ph(CoxData(x, TIME, EVENT, None), names=["treated"])
    assert np.isfinite(fit.hr_upper[0])
    fig = forest_figure(fit)
    assert f"{fit.hr[0]:.2f} ({fit.hr_lower[0]:.2f}–{fit.hr_upper[0]:.2f})" in texts(fig)


def test_format_p_journal_style() -> None:
    assert [format_p(p) for p in (0.0003204, 0.02686, 0.3, 1.0)] == [
        "< 0.001",
        "0.027",
        "0.30",
        "1.00",
    ]
    assert format_p(math.nan) == "" and format_p(None) == ""


def test_consort_lists_reasons_with_counts() -> None:
    fig = consort_figure(
        [
            FlowStep(
                FlowBox("Assessed for eligibility", 66),
                FlowBox(
                    "Excluded", 16, [("Not meeting inclusion criteria", 14), ("  Stage IV", 1)]
                ),
            ),
            FlowStep(FlowBox("Analysed", 50)),
        ]
    )
    joined = " ".join(texts(fig))
    assert "Assessed for eligibility\n(n = 66)" in joined
    assert "Excluded (n = 16)" in joined
    assert "Not meeting inclusion criteria (n = 14)" in joined and "Stage IV (n = 1)" in joined
    svg = io.StringIO()
    fig.savefig(svg, format="svg")
    assert "Analysed" in svg.getvalue()  # text stays text in the SVG


def test_cumulative_incidence_one_panel_per_cause_worked_by_hand() -> None:
    """Exits at 1 (cause 1), 2 (cause 2), 3 (censored), 4 (cause 1). Aalen-Johansen:
    t=1: 1/4 -> CIF1 0.25, event-free 0.75; t=2: 0.75 x 1/3 -> CIF2 0.25, event-free 0.5;
    t=4: 0.5 x 1/1 -> CIF1 0.75. At risk at 0, 2, 4: 4, 3, 1."""
    groups = cif_by_group(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 0.0, 1.0]))
    fig = cumulative_incidence_figure(groups, cause_labels={1: "Death", 2: "Progression"})
    plot_1, table_1, plot_2 = fig.axes[0], fig.axes[1], fig.axes[2]
    assert plot_1.get_ylabel() == "Cumulative incidence (%)"
    assert plot_1.get_lines()[0].get_ydata()[-1] == pytest.approx(0.75)
    assert plot_2.get_lines()[0].get_ydata()[-1] == pytest.approx(0.25)
    counts = sorted((t.get_position()[0], t.get_text()) for t in table_1.texts if t.get_text())
    assert [n for x, n in counts if x in (0.0, 2.0, 4.0)] == ["4", "3", "1"]
    joined = " ".join(texts(fig))
    assert "Death" in joined and "Progression" in joined
