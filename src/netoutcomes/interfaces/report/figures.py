"""Figures of a study (matplotlib, Agg backend): drawing only, every number from the result."""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from netoutcomes.study.analysis import (  # noqa: E402
    METHOD_LABELS,
    ORIGIN_LABELS,
    Curve,
    StudyResult,
    primary_method,
)

COLOURS = ["#1b4f72", "#c0392b", "#1e8449", "#b9770e", "#6c3483", "#566573", "#117a65"]
plt.rcParams.update(
    {
        "font.size": 9,
        "svg.fonttype": "none",  # text stays text in the SVG
        "svg.hashsalt": "netoutcomes",  # stable ids: same input, same SVG
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


@dataclass(frozen=True)
class Rendered:
    name: str
    title: str
    svg: str
    png: bytes


def render(name: str, title: str, fig: Figure) -> Rendered:
    svg = io.StringIO()
    fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=200, bbox_inches="tight")
    plt.close(fig)
    return Rendered(name, title, svg.getvalue(), png.getvalue())


def consort_figure(result: StudyResult) -> Figure:
    flow = result.screening.flow
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    ax.set_axis_off()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    box = {"boxstyle": "round,pad=0.4", "facecolor": "#eef3f8", "edgecolor": "#1b4f72"}
    main = [
        (9.0, f"Screened\nn = {flow.screened}"),
        (6.2, f"Eligible, enrolled\nn = {flow.enrolled}"),
        (3.6, f"Treated ({result.protocol.entry.agent_name})\nn = {flow.treated}"),
        (1.0, f"Analysed\nn = {flow.analysed}"),
    ]
    for y, text in main:
        ax.text(3.0, y, text, ha="center", va="center", bbox=box)
    for (y0, _), (y1, _) in zip(main, main[1:], strict=False):
        ax.annotate("", (3.0, y1 + 0.7), (3.0, y0 - 0.7), arrowprops={"arrowstyle": "->"})
    lines = [f"Excluded n = {flow.excluded}"]
    for rule, n in flow.excluded_by_reason.items():
        lines.append(f"  {flow.reason_labels.get(rule, rule)}: {n}")
    lines.append(f"Could not be assessed n = {flow.cannot_assess}")
    for rule, n in flow.cannot_assess_by_reason.items():
        lines.append(f"  missing for {flow.reason_labels.get(rule, rule)}: {n}")
    side = {**box, "facecolor": "#fbeee6", "edgecolor": "#c0392b"}
    ax.text(5.2, 7.6, "\n".join(lines), ha="left", va="center", fontsize=7.5, bbox=side)
    ax.annotate("", (5.1, 7.6), (3.0, 7.6), arrowprops={"arrowstyle": "->"})
    return fig


def _curve_colour(result: StudyResult, cohort: str) -> str:
    ids = [c.id for c in result.protocol.cohorts]
    return COLOURS[ids.index(cohort) % len(COLOURS)]


def km_figure(result: StudyResult, curves: list[Curve], title: str) -> Figure:
    """Curves with censoring ticks, median and landmark markers, and under the plot a
    KMunicate-style table: at risk, events so far, censored so far."""
    landmarks = result.protocol.survival.landmarks_years
    grid = [r.time for r in curves[0].risk_table]
    n_rows = len(curves)
    plot_h, row_h = 3.6, 0.2
    table_h = row_h * (n_rows + 1)
    total = plot_h + table_h + 0.9
    fig = plt.figure(figsize=(7.5, total))
    top = fig.add_axes((0.3, (table_h + 0.75) / total, 0.66, plot_h / total))
    mixed = len({c.method for c in curves}) > 1
    for curve in curves:
        colour = _curve_colour(result, curve.cohort)
        style = "--" if curve.method == "naive" else "-"
        label = curve.label if mixed else curve.cohort_label
        top.step(curve.time, curve.surv, where="post", color=colour, ls=style, label=label)
        top.plot(curve.censor_time, curve.censor_surv, "|", color=colour, ms=6)
        if curve.median == curve.median:  # not NaN
            top.plot([curve.median], [0.5], "o", color=colour, ms=4)
    top.axhline(0.5, color="#999", lw=0.6, ls=":")
    for t in landmarks:
        top.axvline(t, color="#999", lw=0.6, ls=":")
        top.text(t, 1.02, f"{t:g} y", ha="center", fontsize=7, color="#555")
    top.set_ylim(0, 1.05)
    top.set_xlim(-0.2, max(grid[-1], max(landmarks)) * 1.03)
    top.set_ylabel("Survival probability")
    top.set_title(title, fontsize=9.5, loc="left")
    top.legend(fontsize=6.5, frameon=False, loc="lower left")
    table = fig.add_axes((0.3, 0.05 / total, 0.66, table_h / total), sharex=top)
    table.set_axis_off()
    table.set_ylim(-0.5, n_rows + 0.5)
    table.text(
        -0.06,
        n_rows,
        "At risk (events, censored)",
        fontsize=7,
        ha="right",
        transform=table.get_yaxis_transform(),
        weight="bold",
    )
    for i, curve in enumerate(curves):
        y = n_rows - 1 - i
        colour = _curve_colour(result, curve.cohort)
        name = curve.cohort_label if curve.method != "naive" else "naive"
        table.text(
            -0.06,
            y,
            name[:34],
            fontsize=6.5,
            ha="right",
            va="center",
            color=colour,
            transform=table.get_yaxis_transform(),
        )
        for row in curve.risk_table:
            table.text(
                row.time,
                y,
                f"{row.at_risk} ({row.events}, {row.censored})",
                ha="center",
                va="center",
                fontsize=6.5,
                color=colour,
            )
    top.set_xlabel(f"Years from {ORIGIN_LABELS[curves[0].origin]}")
    return fig


def forest_figure(result: StudyResult) -> Figure:
    rows = result.forest
    fig, ax = plt.subplots(figsize=(7.0, 0.9 + 0.55 * len(rows)))
    for i, r in enumerate(reversed(rows)):
        ax.plot([r.lower, r.upper], [i, i], color="#1b4f72")
        ax.plot([r.hr], [i], "s", color="#1b4f72")
        ax.text(
            1.02,
            i,
            f"{r.hr:.2f} ({r.lower:.2f}-{r.upper:.2f})",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=7.5,
        )
    ax.axvline(1.0, color="#999", lw=0.8, ls=":")
    ax.set_xscale("log")
    ticks = [t for t in (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10, 20) if ax.get_xlim()[0] <= t]
    ticks = [t for t in ticks if t <= ax.get_xlim()[1]] or [1]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks(range(len(rows)), [r.label for r in reversed(rows)], fontsize=7.5)
    ax.set_xlabel("Hazard ratio (95% CI), Cox PH; < 1 favours the first group")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    return fig


def response_figure(result: StudyResult) -> Figure:
    outcomes = result.protocol.outcomes
    fig, axes = plt.subplots(1, len(outcomes), figsize=(3.6 * len(outcomes), 3.0), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        table = result.tables[f"response_{outcome.id}"]
        cats = outcome.categories
        values = [float(table.cell(c, "percent") or 0.0) for c in cats]
        lows = [float(table.cell(c, "ci_lower") or 0.0) for c in cats]
        highs = [float(table.cell(c, "ci_upper") or 0.0) for c in cats]
        err = [[v - lo for v, lo in zip(values, lows, strict=True)]]
        err.append([hi - v for v, hi in zip(values, highs, strict=True)])
        ax.bar(cats, values, color=COLOURS[: len(cats)], yerr=err, capsize=3)
        for x, (v, hi) in enumerate(zip(values, highs, strict=True)):
            ax.text(x, hi + 2.0, f"{v:g}%", ha="center", fontsize=7.5)
        ax.set_ylim(0, 100)
        ax.set_ylabel("% of analysed (95% CI)")
        ax.set_title(outcome.label, fontsize=9)
    fig.tight_layout()
    return fig


def study_figures(result: StudyResult) -> list[Rendered]:
    figures = [render("consort", "Patient flow", consort_figure(result))]
    spec = result.protocol.survival
    for origin in spec.origins:
        method = primary_method(origin, spec.delayed_entry)
        curves = [c for c in result.curves if c.origin == origin and c.method == method]
        if curves:
            title = f"Survival from {ORIGIN_LABELS[origin]}: {METHOD_LABELS[method]}"
            figures.append(render(f"km_{origin}", title, km_figure(result, curves, title)))
    first = result.protocol.cohorts[0].id
    pair = [c for c in result.curves if c.origin == "diagnosis" and c.cohort == first]
    if len(pair) == 2:
        title = "Delayed entry vs naive curve from diagnosis (immortal-time bias)"
        figures.append(render("km_naive_gap", title, km_figure(result, pair, title)))
    if result.forest:
        figures.append(render("forest", "Hazard ratios", forest_figure(result)))
    if result.protocol.outcomes:
        figures.append(render("response", "Best response", response_figure(result)))
    return figures
