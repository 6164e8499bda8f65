"""Write a study's outputs: results.json, one CSV per table, figures, and the report
as HTML (always), PDF and Word (on request).

The HTML is one self-contained file (figures inline as SVG); every number of a
table keeps the id of its study cell, so the Results paragraph links to it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from netoutcomes.errors import InputError
from netoutcomes.interfaces.report.contents import (
    Paragraph,
    methods_paragraphs,
    report_sections,
    report_tables,
    results_paragraphs,
)
from netoutcomes.interfaces.report.layout import DisplayTable, Part, display_table
from netoutcomes.interfaces.report.study_figures import Rendered, study_figures
from netoutcomes.study.results import StudyResult

VERSIONED = ["netoutcomes", "numpy", "scipy", "duckdb", "matplotlib", "jinja2", "pydantic"]
FORMATS = ("html", "pdf", "docx")


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _part_html(p: Part) -> str:
    if p.anchor is None:
        return str(escape(p.text))
    value = "" if p.value is None else f' data-value="{escape(str(p.value))}"'
    return f'<span class="n" id="{escape(p.anchor)}"{value}>{escape(p.text)}</span>'


def _cell_html(parts: tuple[Part, ...], numeric: bool) -> str:
    """An estimate, then its interval kept on one line: "58.0 (45.8–73.4)" may wrap
    only before the parenthesis. Text wraps anywhere."""
    head = _part_html(parts[0])
    if len(parts) == 1 or not numeric:
        return "".join(_part_html(p) for p in parts)
    rest = "".join(_part_html(p) for p in parts[1:]).lstrip()
    return f'{head} <span class="ci">{rest}</span>'


WIDE_TABLE = 11  # columns from which the printed table gets a landscape page


def _is_wide(table: DisplayTable) -> bool:
    return bool(table.rows) and len(table.rows[0]) >= WIDE_TABLE


def table_html(table: DisplayTable) -> Markup:
    text_columns = (
        {i for i, c in enumerate(table.rows[0]) if not c.numeric} if table.rows else set()
    )
    head = []
    for r, header_row in enumerate(table.header):
        cells, column = [], 0
        for c in header_row:
            # a header over a text column is left-aligned like its cells
            left = r == 0 and c.colspan == 1 and column in text_columns
            cells.append(
                f"<th{' class=txt' if left else ''}"
                f"{f' colspan={c.colspan}' if c.colspan > 1 else ''}"
                f"{f' rowspan={c.rowspan}' if c.rowspan > 1 else ''}>{escape(c.text)}</th>"
            )
            column += c.colspan
        head.append(f"<tr>{''.join(cells)}</tr>")
    body = []
    for row in table.rows:
        tds = "".join(
            f'<td class="{"num" if c.numeric else "txt"}">{_cell_html(c.parts, c.numeric)}</td>'
            for c in row
        )
        body.append(f"<tr>{tds}</tr>")
    notes = "".join(f"<li>{escape(n)}</li>" for n in table.footnotes)
    return Markup(
        f'<section class="table{" wide" if _is_wide(table) else ""}" id="{escape(table.id)}">'
        f"<h3>{escape(table.title)}</h3>"
        f'<div class="scroll" tabindex="0" role="region" aria-label="{escape(table.title)}">'
        f"<table><thead>{''.join(head)}</thead><tbody>{''.join(body)}</tbody></table></div>"
        f"{f'<ul class=notes>{notes}</ul>' if notes else ''}</section>"
    )


def paragraph_html(paragraph: Paragraph) -> Markup:
    out = []
    for s in paragraph.segments:
        if s.anchor:
            out.append(f'<a href="#{escape(s.anchor)}">{escape(s.text)}</a>')
        else:
            out.append(str(escape(s.text)))
    lead = f"<b>{escape(paragraph.heading)}.</b> " if paragraph.heading else ""
    return Markup(f"<p>{lead}{''.join(out)}</p>")


def _svg_width_px(svg: str) -> int:
    """The widest a figure may be shown, in CSS px: 120% of the size it was drawn for
    (matplotlib writes the width in pt), so a one-panel figure is not blown up to a
    page's width."""
    match = re.search(r'<svg[^>]*\swidth="([0-9.]+)pt"', svg)
    return round(float(match.group(1)) * 4 / 3 * 1.2) if match else 880  # up to 120%


def _svg_body(svg: str) -> str:
    """The <svg> element alone (drop the XML declaration and DOCTYPE)."""
    return svg[svg.index("<svg") :]


@dataclass(frozen=True)
class ReportFiles:
    results_json: Path
    report_html: Path
    csv: list[Path]
    figures: list[Path]
    report_pdf: Path | None = None
    report_docx: Path | None = None


def render_html(
    result: StudyResult,
    figures: list[Rendered],
    versions: dict[str, str],
    tables: dict[str, DisplayTable] | None = None,
    png_figures: bool = False,
) -> str:
    """The report page; ``png_figures`` inlines the PNGs instead of the SVGs (for the
    PDF: WeasyPrint lays out text-heavy SVG slowly, about 20 s for the demo's)."""
    env = Environment(
        loader=PackageLoader("netoutcomes.interfaces.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    shown = tables if tables is not None else report_tables(result)
    numbers = {f.name: i + 1 for i, f in enumerate(figures)}
    by_name = {f.name: f for f in figures}

    def figure(name: str) -> Markup:
        f = by_name.get(name)
        if f is None:
            return Markup("")
        px = _svg_width_px(f.svg)
        # on a phone a figure keeps at least 34rem (or its own width) and scrolls
        box = f' style="max-width: {px}px; --fig-min: min(34rem, {px}px)"'
        if png_figures:
            data = base64.b64encode(f.png).decode("ascii")
            body = f'<img src="data:image/png;base64,{data}" alt="Figure {numbers[name]}">'
        else:
            body = _svg_body(f.svg)
        return Markup(
            f'<figure id="figure-{escape(name)}">'
            f'<div class="svg"{box}>{body}</div>'
            f"<figcaption><b>Figure {numbers[name]}.</b> {escape(f.caption)}</figcaption></figure>"
        )

    protocol = result.protocol
    return env.get_template("report.html.j2").render(
        study={
            "name": protocol.name,
            "short_name": protocol.short_name,
            "synthetic": result.synthetic,
        },
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        versions=versions,
        results=[paragraph_html(p) for p in results_paragraphs(result)],
        warnings=result.warnings,
        methods=[paragraph_html(p) for p in methods_paragraphs(result)],
        sections=report_sections(result, figures, shown),
        table=lambda tid: table_html(shown[tid]),
        figure=figure,
    )


def parse_formats(text: str) -> list[str]:
    """``html,pdf,docx`` -> the list; an unknown name is an input error."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise InputError(f"--format: {','.join(unknown) or text!r} is not one of html, pdf, docx")
    return names


def write_outputs(
    result: StudyResult, out_dir: str | Path, formats: Sequence[str] = ("html",)
) -> ReportFiles:
    """results.json, tables/<id>.csv, figures/<name>.svg and .png, report.html, and
    report.pdf / report.docx when ``formats`` asks for them."""
    out = Path(out_dir)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    versions = software_versions()
    payload = result.to_dict() | {"software": versions}
    results_json = out / "results.json"
    results_json.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    csv_paths = []
    for t in result.tables.values():
        path = out / "tables" / f"{t.id}.csv"
        path.write_text(t.to_csv())
        csv_paths.append(path)
    figures = study_figures(result)
    figure_paths = []
    for f in figures:
        svg = out / "figures" / f"{f.name}.svg"
        svg.write_text(f.svg)
        png = out / "figures" / f"{f.name}.png"
        png.write_bytes(f.png)
        figure_paths += [svg, png]
    shown = report_tables(result)
    html = render_html(result, figures, versions, shown)
    report = out / "report.html"
    report.write_text(html)
    pdf = docx = None
    if "pdf" in formats:
        from netoutcomes.interfaces.report.pdf import write_pdf  # WeasyPrint: slow to import

        printable = render_html(result, figures, versions, shown, png_figures=True)
        pdf = write_pdf(printable, out / "report.pdf")
    if "docx" in formats:
        from netoutcomes.interfaces.report.word import write_docx  # python-docx: only if asked

        docx = write_docx(result, figures, shown, versions, out / "report.docx")
    return ReportFiles(results_json, report, csv_paths, figure_paths, pdf, docx)


__all__ = ["FORMATS", "ReportFiles", "display_table", "parse_formats", "write_outputs"]
