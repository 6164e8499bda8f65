"""Kaplan-Meier figures drawn from survival results, as survminer's ``ggsurvplot`` does.

Input is a list of :class:`KMSeries` (or the survival layer's ``GroupCurve`` and
``KaplanMeier`` objects, converted by :func:`as_series`). One figure holds one
panel or a grid of panels (small multiples: one panel per comparison), each
with its number-at-risk table under the plot, counted at the x ticks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from netoutcomes.figures.style import FONT, Size, colour, freeze_layout, rc, width, wrap
from netoutcomes.survival.curves import GroupCurve
from netoutcomes.survival.km import KaplanMeier, median_survival, survival_at


@dataclass(frozen=True)
class KMSeries:
    """One curve ready to draw.

    ``time``/``surv`` is the step function starting at (start, 1); ``at_risk``
    gives the number at risk at a time (for the table under the plot), or a
    mapping time -> count where the counts are known only on a grid.
    """

    label: str
    time: Sequence[float]
    surv: Sequence[float]
    lower: Sequence[float] | None = None
    upper: Sequence[float] | None = None
    censor_time: Sequence[float] = ()
    censor_surv: Sequence[float] = ()
    median: float = math.nan
    at_risk: Callable[[float], int | None] | Mapping[float, int] | None = None
    end: float | None = None  # end of follow-up (default: the last time)
    dashed: bool = False

    def risk_at(self, t: float) -> int | None:
        if self.at_risk is None:
            return None
        if callable(self.at_risk):
            return self.at_risk(t)
        for key, n in self.at_risk.items():
            if abs(key - t) < 1e-9:
                return n
        return None

    @property
    def last_time(self) -> float:
        return float(self.end if self.end is not None else max(self.time, default=0.0))


def series_from_km(label: str, km: KaplanMeier) -> KMSeries:
    """A ``KaplanMeier`` as a series: R's curve from (0, 1), censor marks, the median,
    and at-risk counts as R's ``summary(fit, times=)`` reports them."""
    time = [0.0, *km.time.tolist()]
    surv = [1.0, *km.surv.tolist()]
    lower = [1.0, *np.nan_to_num(km.lower, nan=0.0).tolist()]
    upper = [1.0, *np.nan_to_num(km.upper, nan=0.0).tolist()]
    censored = km.n_censor > 0

    def at_risk(t: float) -> int:
        return int(round(float(survival_at(km, np.array([t])).n_risk[0])))

    return KMSeries(
        label=label,
        time=time,
        surv=surv,
        lower=lower,
        upper=upper,
        censor_time=km.time[censored].tolist(),
        censor_surv=km.surv[censored].tolist(),
        median=float(median_survival(km).median),
        at_risk=at_risk,
    )


def as_series(curve: KMSeries | GroupCurve | KaplanMeier, label: str = "") -> KMSeries:
    if isinstance(curve, KMSeries):
        return curve
    if isinstance(curve, GroupCurve):
        return series_from_km(curve.label, curve.km)
    if isinstance(curve, KaplanMeier):
        return series_from_km(label or "all", curve)
    raise TypeError(f"cannot draw a {type(curve).__name__} as a Kaplan-Meier curve")


@dataclass(frozen=True)
class KMPanel:
    """One panel: its curves, a title and an annotation (the test's p, the HR)."""

    curves: Sequence[KMSeries | GroupCurve | KaplanMeier]
    title: str | None = None
    annotation: str | None = None
    colours: Sequence[str] = field(default_factory=tuple)


def nice_step(span: float) -> float:
    """A tick step giving 4 to 8 ticks over ``span`` (1, 2 or 5 times a power of 10)."""
    if span <= 0:
        return 1.0
    raw = span / 6.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return float(m * power)
    return float(10 * power)


def _emptiest_corner(
    series: list[KMSeries], x_max: float, size: tuple[float, float]
) -> tuple[float, float, str, str]:
    """The corner where an annotation of ``size`` (axes fractions: width, height) covers
    the fewest curve points (sampled along x)."""
    w, h = min(size[0], 1.0), min(size[1], 1.0)
    corners = [  # (x, y, ha, va) and the box the text covers: x0, x1, y0, y1
        ((0.02, 0.03, "left", "bottom"), (0.0, w, 0.0, h)),
        ((0.98, 0.03, "right", "bottom"), (1.0 - w, 1.0, 0.0, h)),
        ((0.98, 0.97, "right", "top"), (1.0 - w, 1.0, 1.02 - h, 1.02)),
        ((0.02, 0.97, "left", "top"), (0.0, w, 1.02 - h, 1.02)),
    ]
    xs = np.linspace(0.0, 1.0, 101)

    def crossings(box: tuple[float, float, float, float]) -> int:
        x0, x1, y0, y1 = box
        n = 0
        for s in series:
            t = np.asarray(s.time, dtype=float)
            for fx in xs[(xs >= x0) & (xs <= x1)]:
                if fx * x_max > s.last_time:
                    continue
                i = max(int(np.searchsorted(t, fx * x_max, side="right")) - 1, 0)
                n += y0 <= s.surv[i] <= y1
        return n

    return min(corners, key=lambda c: crossings(c[1]))[0]


def _draw_panel(
    plot: Axes,
    table: Axes | None,
    panel: KMPanel,
    *,
    x_max: float,
    ticks: list[float],
    ci: bool,
    censor_marks: bool,
    median_lines: bool,
    font: float,
    label_chars: int,
    legend: bool,
    ylabel: str = "Survival (%)",
) -> None:
    series = [as_series(c) for c in panel.curves]
    colours = list(panel.colours) or [colour(i) for i in range(len(series))]
    for s, col in zip(series, colours, strict=False):
        ls = "--" if s.dashed else "-"
        plot.step(
            s.time,
            s.surv,
            where="post",
            color=col,
            lw=1.2,
            ls=ls,
            label=wrap(s.label, label_chars + 12),
        )
        last = s.last_time
        if last > s.time[-1]:  # the curve stays flat to the end of follow-up
            plot.plot([s.time[-1], last], [s.surv[-1]] * 2, color=col, lw=1.2, ls=ls)
        if ci and s.lower is not None and s.upper is not None:
            plot.fill_between(s.time, s.lower, s.upper, step="post", color=col, alpha=0.15, lw=0)
        if censor_marks and len(s.censor_time):
            plot.plot(s.censor_time, s.censor_surv, "|", color=col, ms=font * 0.8, mew=0.8)
        if median_lines and math.isfinite(s.median):
            plot.plot([0, s.median, s.median], [0.5, 0.5, 0], color=col, lw=0.7, ls=":")
    plot.set_xlim(0, x_max)
    plot.set_ylim(0, 1.02)
    plot.set_xticks(ticks, [f"{t:g}" for t in ticks])
    plot.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25", "50", "75", "100"])
    plot.set_ylabel(ylabel)
    plot.tick_params(labelsize=font)
    if panel.annotation:  # in the corner the curves cross least; no box hides a curve
        box = plot.get_position()  # before layout: about the axes' final size
        fig_w, fig_h = plot.get_figure(root=True).get_size_inches()  # type: ignore[union-attr]
        axes_w, axes_h = box.width * fig_w, box.height * fig_h
        rows = panel.annotation.split("\n")
        text_w = max(len(x) for x in rows) * 0.5 * font / 72 / axes_w
        text_h = (len(rows) * 1.3 * font / 72 + 0.05) / axes_h
        x, y, ha, va = _emptiest_corner(series, x_max, (text_w, text_h))
        plot.text(
            x, y, panel.annotation, transform=plot.transAxes, ha=ha, va=va, fontsize=font - 0.5
        )
    if legend or panel.title:  # above the plot, never over the curves
        title = wrap(panel.title, label_chars + 8) if panel.title else None
        leg = plot.legend(
            fontsize=font - 0.5, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0),
            handlelength=1.6, borderaxespad=0.2, alignment="left", title=title,
            title_fontproperties={"size": font + 0.5, "weight": "bold"},
        )  # fmt: skip
        # a legend wider than its axes would make constrained layout squeeze the axes to
        # nothing: keep it out of the layout and reserve its height with a blank title
        leg.set_in_layout(False)
        lines = float(sum(wrap(s.label, label_chars + 12).count("\n") + 1 for s in series))
        lines += (title.count("\n") + 1) * 1.3 if title else 0.0
        plot.set_title("\n" * max(1, round(lines * 1.15)), fontsize=font - 0.5)
    if table is None:
        return
    table.set_xlim(plot.get_xlim())
    table.set_ylim(-0.5, len(series) - 0.5)
    table.set_yticks(
        range(len(series)), [wrap(s.label, label_chars) for s in reversed(series)],
        fontsize=font - 0.5,
    )  # fmt: skip
    for tick, col in zip(table.get_yticklabels(), reversed(colours[: len(series)]), strict=False):
        tick.set_color(col)
    table.tick_params(axis="y", length=0, pad=font * 2.2)  # clear of the counts at 0
    table.tick_params(axis="x", length=0, labelbottom=False)
    for spine in table.spines.values():
        spine.set_visible(False)
    for i, (s, col) in enumerate(
        zip(reversed(series), reversed(colours[: len(series)]), strict=False)
    ):
        for t in ticks:
            n = s.risk_at(t) if t <= s.last_time + 1e-9 else None
            text = "" if n is None else str(n)
            table.text(t, i, text, ha="center", va="center", fontsize=font - 0.5, color=col)
    table.set_title("Number at risk", fontsize=font - 0.5, loc="left", pad=2)


def kaplan_meier_figure(
    curves: Sequence[KMSeries | GroupCurve | KaplanMeier] | Sequence[KMPanel],
    *,
    title: str | None = None,
    risk_table: bool = True,
    ci: bool = False,
    censor_marks: bool = True,
    median_lines: bool = False,
    annotation: str | None = None,
    size: Size = "column",
    xlabel: str = "Years",
    x_max: float | None = None,
    tick_step: float | None = None,
    columns: int | None = None,
    footnote: str | None = None,
    ylabel: str = "Survival (%)",
) -> Figure:
    """Kaplan-Meier curves with a number-at-risk table aligned with the x ticks.

    ``curves`` is either a list of curves (one panel) or a list of :class:`KMPanel`
    (small multiples, one panel per comparison, laid out in ``columns``). The x
    axis runs to the end of follow-up of the longest curve (or ``x_max``);
    ``annotation`` (one panel) is printed top right, e.g. the log-rank p and the
    HR; ``footnote`` under the figure (e.g. delayed-entry at-risk counts).
    """
    panels: list[KMPanel]
    if curves and all(isinstance(c, KMPanel) for c in curves):
        panels = [c for c in curves if isinstance(c, KMPanel)]
    else:
        one = [c for c in curves if not isinstance(c, KMPanel)]
        panels = [KMPanel(one, title=None, annotation=annotation)]
    if not panels or not all(p.curves for p in panels):
        raise ValueError("kaplan_meier_figure needs at least one curve in every panel")
    all_series = [as_series(c) for p in panels for c in p.curves]
    end = x_max if x_max is not None else max(s.last_time for s in all_series)
    step = tick_step or nice_step(end)
    ticks = [float(t) for t in np.arange(0.0, end + 1e-9, step)]
    n_cols = columns or (1 if size == "column" or len(panels) == 1 else 2)
    n_rows = math.ceil(len(panels) / n_cols)
    font = FONT[size]
    fig_w = width(size)
    label_chars = 22 if n_cols > 1 or size == "column" else 40
    # a table row per curve, as tall as its wrapped label
    lines = max(
        sum(wrap(as_series(c).label, label_chars).count("\n") + 1 for c in p.curves) for p in panels
    )
    plot_h = 2.3 if size == "column" else 2.6
    table_h = (0.15 * lines + 0.3) * (font / 7.0) if risk_table else 0.0
    with rc_context(rc(font)):
        fig = Figure(figsize=(fig_w, n_rows * (plot_h + table_h + 0.5)), layout="constrained")
        ratios = [plot_h, table_h] * n_rows if risk_table else [plot_h] * n_rows
        grid = fig.add_gridspec(len(ratios), n_cols, height_ratios=ratios)
        for i, panel in enumerate(panels):
            r, c = divmod(i, n_cols)
            rows_per = 2 if risk_table else 1
            plot = fig.add_subplot(grid[r * rows_per, c])
            table = fig.add_subplot(grid[r * rows_per + 1, c]) if risk_table else None
            _draw_panel(
                plot, table, panel, x_max=end, ticks=ticks, ci=ci, censor_marks=censor_marks,
                median_lines=median_lines, font=font, label_chars=label_chars,
                legend=not risk_table or len(panel.curves) > 1, ylabel=ylabel,
            )  # fmt: skip
            plot.set_xlabel(xlabel, fontsize=font)
        if title:
            fig.suptitle(title, fontsize=font + 1.5, x=0.0, ha="left")
        if footnote:
            fig.text(0.0, 0.0, wrap(footnote, int(fig_w * 16)), fontsize=font - 1, va="top")
    return freeze_layout(fig)
