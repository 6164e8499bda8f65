"""Forest plot: one row per comparison with n, events, HR (95% CI) and p beside the plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib import rc_context
from matplotlib.figure import Figure

from netoutcomes.figures.style import FONT, Size, colour, freeze_layout, rc, width, wrap
from netoutcomes.survival.cox import CoxFit


@dataclass(frozen=True)
class ForestItem:
    """One hazard ratio to draw; ``n`` and ``events`` are shown as given (e.g. "28 / 22")."""

    label: str
    hr: float
    lower: float
    upper: float
    p: float | None = None
    n: str = ""
    events: str = ""


def format_p(p: float | None) -> str:
    """Journal style: p < 0.001, else three decimals (two from 0.1 on)."""
    if p is None or not math.isfinite(p):
        return ""
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def items_from_cox(fit: CoxFit, labels: dict[str, str] | None = None) -> list[ForestItem]:
    """One row per coefficient of a Cox fit (the HR per unit or against the reference)."""
    names = labels or {}
    return [
        ForestItem(
            names.get(term, term),
            float(fit.hr[i]),
            float(fit.hr_lower[i]),
            float(fit.hr_upper[i]),
            float(fit.p[i]),
        )
        for i, term in enumerate(fit.terms)
    ]


def forest_figure(
    rows: Sequence[ForestItem] | CoxFit,
    *,
    title: str | None = None,
    size: Size = "page",
    xlabel: str = "Hazard ratio (log scale)",
    favours: tuple[str, str] | None = None,
) -> Figure:
    """Hazard ratios on a log axis with a table of n, events, HR (95% CI) and p.

    ``favours`` labels the two sides of HR = 1, e.g. ("favours group", "favours versus").
    """
    items = items_from_cox(rows) if isinstance(rows, CoxFit) else list(rows)
    if not items:
        raise ValueError("forest_figure needs at least one row")
    font = FONT[size]
    chars = 30 if size == "page" else 18
    labels = [wrap(r.label, chars) for r in items]
    heights = [lbl.count("\n") + 1 for lbl in labels]
    show_n = any(r.n for r in items)
    show_events = any(r.events for r in items)
    columns = [("Comparison", labels, "left")]
    if show_n:
        columns.append(("n", [r.n for r in items], "center"))
    if show_events:
        columns.append(("Events", [r.events for r in items], "center"))
    right = [
        ("HR (95% CI)", [f"{r.hr:.2f} ({r.lower:.2f}–{r.upper:.2f})" for r in items], "center"),
        ("p", [format_p(r.p) for r in items], "center"),
    ]
    # y positions: rows as tall as their wrapped labels, first row on top
    ys, y = [], 0.0
    for h in reversed(heights):
        ys.append(y + h / 2)
        y += h + 0.4
    ys.reverse()
    top = y
    row_in = 0.16 * font / 7.0
    with rc_context(rc(font)):
        fig = Figure(figsize=(width(size), 0.9 + row_in * top), layout="constrained")
        left_w = 3.2 if size == "page" else 2.2
        ratios = [left_w] + [0.8] * (len(columns) - 1) + [3.0, 1.6, 0.8]
        axes = fig.subplots(1, len(ratios), sharey=True, gridspec_kw={"width_ratios": ratios})
        for ax in axes:
            ax.set_ylim(-0.2, top + 0.6)
            ax.tick_params(left=False, labelleft=False)
        text_axes = list(axes[: len(columns)]) + list(axes[len(columns) + 1 :])
        for ax, (head, values, align) in zip(text_axes, columns + right, strict=True):
            ax.set_axis_off()
            x = 0.0 if align == "left" else 0.5
            ax.text(x, top + 0.3, head, ha=align, va="bottom", weight="bold", fontsize=font)
            for yy, v in zip(ys, values, strict=True):
                ax.text(x, yy, v, ha=align, va="center", fontsize=font)
        plot = axes[len(columns)]
        col = colour(0)
        # an infinite or zero bound (a coefficient that diverged) is drawn to the edge
        lo = min([r.lower for r in items if math.isfinite(r.lower) and r.lower > 0] + [0.9])
        hi = max([r.upper for r in items if math.isfinite(r.upper)] + [1.1])
        for r, yy in zip(items, ys, strict=True):
            plot.plot([max(r.lower, lo / 1.3), min(r.upper, hi * 1.3)], [yy, yy], color=col, lw=1.2)
            plot.plot([r.hr], [yy], "s", color=col, ms=font * 0.7)
        plot.axvline(1.0, color="#555", lw=0.8)
        plot.set_xscale("log")
        plot.set_xlim(lo / 1.3, hi * 1.3)
        candidates = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
        ticks = [t for t in candidates if lo / 1.3 <= t <= hi * 1.3]
        plot.set_xticks(ticks, [f"{t:g}" for t in ticks])
        plot.minorticks_off()
        plot.spines["left"].set_visible(False)
        if favours:  # which side of HR = 1 favours which group, under the axis
            xlabel = f"{xlabel}\n← {favours[0]}    {favours[1]} →"
        plot.set_xlabel(xlabel, fontsize=font)
        plot.tick_params(labelsize=font - 0.5)
        if title:
            fig.suptitle(title, fontsize=font + 1.5, x=0.0, ha="left")
    return freeze_layout(fig)
