"""Proportions with exact intervals as bars (one panel per outcome)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib import rc_context
from matplotlib.figure import Figure

from netoutcomes.figures.style import FONT, Size, colour, freeze_layout, rc, width, wrap


@dataclass(frozen=True)
class ProportionPanel:
    """One outcome: per category the percentage and its 95% interval (in %)."""

    title: str
    categories: Sequence[str]
    percent: Sequence[float]
    lower: Sequence[float]
    upper: Sequence[float]


def proportions_figure(panels: Sequence[ProportionPanel], *, size: Size = "page") -> Figure:
    if not panels:
        raise ValueError("proportions_figure needs at least one panel")
    font = FONT[size]
    with rc_context(rc(font)):
        # about 3.4 in per panel: one outcome is not stretched over a page
        fig = Figure(figsize=(min(width(size), 3.4 * len(panels)), 2.4), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, p in zip(axes, panels, strict=True):
            x = range(len(p.categories))
            err = [
                [v - lo for v, lo in zip(p.percent, p.lower, strict=True)],
                [hi - v for v, hi in zip(p.percent, p.upper, strict=True)],
            ]
            ax.bar(x, p.percent, color=colour(0), yerr=err, capsize=2.5, width=0.6)
            for i, (v, hi) in enumerate(zip(p.percent, p.upper, strict=True)):
                ax.text(i, hi + 2.0, f"{v:.0f}%", ha="center", fontsize=font - 0.5)
            ax.set_xticks(list(x), [wrap(c, 10) for c in p.categories], fontsize=font - 0.5)
            ax.set_ylim(0, 100)
            ax.set_ylabel("% of analysed (95% CI)")
            ax.set_title(wrap(p.title, 40), fontsize=font, loc="left")
    return freeze_layout(fig)
