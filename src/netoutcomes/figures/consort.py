"""CONSORT 2010 flow diagram: the main boxes down the middle, exclusions to the right."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from matplotlib import rc_context
from matplotlib.figure import Figure

from netoutcomes.figures.style import FONT, Size, rc, width, wrap


@dataclass(frozen=True)
class FlowBox:
    """A box: a heading with its count, and bullet lines (reason, count) under it."""

    label: str
    n: int
    reasons: Sequence[tuple[str, int]] = field(default_factory=tuple)
    note: str = ""  # e.g. "a patient failing several rules counts under each"


@dataclass(frozen=True)
class FlowStep:
    """A main box, and the box of patients leaving the flow after it (if any)."""

    box: FlowBox
    leaving: FlowBox | None = None


def _box_text(box: FlowBox, chars: int, count_below: bool = False) -> str:
    head = (
        f"{wrap(box.label, chars)}\n(n = {box.n})" if count_below else f"{box.label} (n = {box.n})"
    )
    lines = [head if count_below else wrap(head, chars)]
    for reason, n in box.reasons:
        # a reason starting with spaces is a sub-reason of the one above it
        indent = len(reason) - len(reason.lstrip(" "))
        bullet = ("  " * indent + "– ") if indent else "• "
        text = wrap(f"{bullet}{reason.strip()} (n = {n})", chars - len(bullet))
        lines.append(text.replace("\n", "\n" + " " * (len(bullet) + 1)))
    if box.note:
        lines.append(wrap(box.note, chars))
    return "\n".join(lines)


def consort_figure(steps: Sequence[FlowStep], *, size: Size = "page") -> Figure:
    """The CONSORT 2010 flow, e.g. Assessed for eligibility -> Enrolled -> Received the
    therapy -> Analysed, with an exclusion box (reasons with counts) beside each arrow."""
    if not steps:
        raise ValueError("consort_figure needs at least one step")
    font = FONT[size]
    main_chars, side_chars = (26, 60) if size == "page" else (18, 30)
    texts = [_box_text(s.box, main_chars, count_below=True) for s in steps]
    sides = [_box_text(s.leaving, side_chars) if s.leaving else "" for s in steps]
    # vertical room per step: the taller of the main box and the box beside the next arrow
    line_h = 1.0
    heights = [
        (t.count("\n") + 1) + max(2.6, (sd.count("\n") + 1) if sd else 1.2)
        for t, sd in zip(texts, sides, strict=True)
    ]
    total = sum(heights) * line_h
    inch_per_line = font / 72 * 1.45
    with rc_context(rc(font)):
        fig = Figure(figsize=(width(size), total * inch_per_line + 0.2))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(0, 10)
        ax.set_ylim(total, 0)
        main = {"boxstyle": "square,pad=0.5", "facecolor": "white", "edgecolor": "black"}
        x_main, x_side = 2.0, 4.2
        y = 0.0
        centres = []
        for text, side, h in zip(texts, sides, heights, strict=True):
            lines = text.count("\n") + 1
            centre = y + lines / 2 + 0.3
            ax.text(x_main, centre, text, ha="center", va="center", bbox=main, fontsize=font)
            centres.append((centre, lines))
            if side:
                side_y = y + lines + 0.5 + (side.count("\n") + 1) / 2
                ax.text(x_side, side_y, side, ha="left", va="center", bbox=main, fontsize=font)
                ax.annotate(
                    "", (x_side - 0.12, side_y), (x_main, side_y),
                    arrowprops={"arrowstyle": "-|>", "lw": 0.8, "color": "black"},
                )  # fmt: skip
            y += h
        for (c0, l0), (c1, l1) in zip(centres, centres[1:], strict=False):
            ax.annotate(
                "", (x_main, c1 - l1 / 2 - 0.45), (x_main, c0 + l0 / 2 + 0.45),
                arrowprops={"arrowstyle": "-|>", "lw": 0.8, "color": "black"},
            )  # fmt: skip
    return fig
