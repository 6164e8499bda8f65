"""Shared look of every figure: Okabe-Ito colours, journal sizes, text kept as text in SVG."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Literal

# Figures are built as bare ``matplotlib.figure.Figure`` objects, never through pyplot:
# no backend is chosen or needed (files are written by the Agg canvas), and a notebook
# that calls the API's ``.plot()`` keeps its own backend.
from matplotlib.figure import Figure

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common
# colour-vision deficiency; black last (reserved for single-curve figures).
OKABE_ITO = [
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow (last: weak on white)
    "#000000",
]
Size = Literal["column", "page"]
# Widths in inches: one journal column (~85 mm) and a full page (~174 mm).
WIDTH: dict[str, float] = {"column": 3.35, "page": 6.85}
FONT: dict[str, float] = {"column": 7.0, "page": 8.0}

RC: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text in the SVG (searchable, editable)
    "svg.hashsalt": "netoutcomes",  # stable ids: the same input gives the same SVG
    "pdf.fonttype": 42,  # TrueType in PDFs (journals reject Type 3 fonts)
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.family": "DejaVu Sans",
}


def width(size: Size) -> float:
    if size not in WIDTH:
        raise ValueError(f"size must be 'column' or 'page', not {size!r}")
    return WIDTH[size]


def colour(i: int) -> str:
    return OKABE_ITO[i % len(OKABE_ITO)]


def wrap(text: str, chars: int) -> str:
    """Wrap a label on word boundaries: labels are never cut."""
    return "\n".join(textwrap.wrap(text, chars, break_long_words=False)) or text


def save_figure(fig: Figure, path: str | Path, dpi: int = 300) -> Path:
    """Write ``fig`` as PNG, SVG or PDF, chosen by the file's suffix."""
    out = Path(path)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in {"png", "svg", "pdf"}:
        raise ValueError(f"{out}: the figure's file must end in .png, .svg or .pdf")
    metadata = {"Date": None} if fmt == "svg" else {"CreationDate": None} if fmt == "pdf" else {}
    fig.savefig(out, format=fmt, dpi=dpi, bbox_inches="tight", metadata=metadata)
    return out


def freeze_layout(fig: Figure) -> Figure:
    """Lay the figure out once (constrained layout) and keep it: saving the same figure
    twice (SVG then PNG, with a tight bounding box) would otherwise re-run the layout
    on a resized canvas and can collapse the axes."""
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    return fig


def rc(font: float) -> Any:
    """The shared look at one font size, for ``matplotlib.rc_context``."""
    return RC | {"font.size": font}
