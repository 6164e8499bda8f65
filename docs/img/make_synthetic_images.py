"""Docs figures (PNG) from the SYNTHETIC demo cohort, each stamped SYNTHETIC DATA.

Run from the repository root: .venv/bin/python docs/img/make_synthetic_images.py
"""

import io
import tempfile
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
from matplotlib.figure import Figure

from netoutcomes.figures import format_p, kaplan_meier_figure
from netoutcomes.interfaces.report.study_figures import render, study_figures
from netoutcomes.study.protocol import bundled_protocol_path
from netoutcomes.study.run import analyse_registry, build_demo_registry
from netoutcomes.survival.curves import km_by_group
from netoutcomes.survival.groups import grouped_count_tables
from netoutcomes.survival.logrank import logrank

DPI = 100


def stamped(png: bytes, path: Path) -> None:
    img = mpimg.imread(io.BytesIO(png))
    h, w = img.shape[:2]
    band = 28
    fig = Figure(figsize=(w / DPI, (h + band) / DPI), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, h / (h + band)))
    ax.imshow(img)
    ax.set_axis_off()
    fig.text(
        0.01,
        1 - band / (h + band) / 2,
        "SYNTHETIC DATA: bundled demo cohort, no real patient",
        color="white",
        weight="bold",
        va="center",
        fontsize=10,
        bbox={"facecolor": "#a93226", "edgecolor": "none", "pad": 4},
    )
    fig.savefig(path, dpi=DPI)


with tempfile.TemporaryDirectory() as d:
    result = analyse_registry(
        build_demo_registry(Path(d) / "r.duckdb"), bundled_protocol_path("mibg-net")
    )
out = Path("docs/img")
for f in study_figures(result):
    if f.name in {"km_diagnosis", "forest", "consort", "km_naive_gap"}:
        stamped(f.png, out / f"synthetic-{f.name}.png")
time = np.array(
    [
        0.5,
        1.2,
        2.0,
        2.5,
        3.1,
        4.0,
        4.4,
        5.0,
        6.2,
        7.5,
        1.0,
        1.5,
        2.2,
        3.0,
        3.3,
        3.9,
        5.5,
        6.0,
        8.0,
        9.0,
    ]
)
event = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0], dtype=bool)
arm = np.array(["A"] * 10 + ["B"] * 10)
tables = grouped_count_tables(time, event, None, group=("arm", arm))
curves = km_by_group(tables)
p = logrank(tables).p  # the test's p, computed here, drawn on the panel
fig = kaplan_meier_figure(
    curves, ci=True, median_lines=True, size="column", annotation=f"log-rank p = {format_p(p)}"
)
stamped(render("x", "", fig).png, out / "synthetic-figures-km-column.png")
