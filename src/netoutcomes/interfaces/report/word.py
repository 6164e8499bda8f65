"""report.docx: the report as a Word document for co-authors (python-docx).

Same content as the HTML: Results and Methods text, the figures (PNG), and every
table as an editable Word table with grouped headers and footnotes. Wide
tables get a landscape section.
"""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from netoutcomes.interfaces.report.contents import (
    Paragraph,
    methods_paragraphs,
    report_sections,
    results_paragraphs,
)
from netoutcomes.interfaces.report.layout import DisplayTable
from netoutcomes.interfaces.report.study_figures import Rendered
from netoutcomes.study.results import StudyResult

WIDE = 8  # columns from which a table gets a landscape page


def _paragraph(doc: object, p: Paragraph) -> None:
    para = doc.add_paragraph()  # type: ignore[attr-defined]
    if p.heading:
        para.add_run(f"{p.heading}. ").bold = True
    para.add_run(p.text)


def _shade(cell: object, fill: str) -> None:
    props = cell._tc.get_or_add_tcPr()  # type: ignore[attr-defined]
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:fill"), fill)
    props.append(shading)


def _table(doc: object, t: DisplayTable) -> None:
    n_cols = len(t.rows[0]) if t.rows else sum(c.colspan for c in t.header[-1])
    n_cols = max(n_cols, sum(c.colspan for c in t.header[0]))
    doc.add_heading(t.title, level=3)  # type: ignore[attr-defined]
    table = doc.add_table(rows=len(t.header) + len(t.rows), cols=n_cols)  # type: ignore[attr-defined]
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    # header rows: merge the grouped and the row-spanning cells
    taken: set[tuple[int, int]] = set()
    for r, header_row in enumerate(t.header):
        c = 0
        for h in header_row:
            while (r, c) in taken:
                c += 1
            cell = table.cell(r, c)
            end = table.cell(r + h.rowspan - 1, c + h.colspan - 1)
            if end is not cell:
                cell = cell.merge(end)
            for rr in range(r, r + h.rowspan):
                for cc in range(c, c + h.colspan):
                    taken.add((rr, cc))
            cell.text = h.text
            for run in cell.paragraphs[0].runs:
                run.bold = True
            _shade(cell, "EEF3F8")
            c += h.colspan
    for r, row in enumerate(t.rows):
        for c, value in enumerate(row):
            cell = table.cell(len(t.header) + r, c)
            cell.text = value.text
            if value.numeric:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for row in table.rows:
        for cell in row.cells:
            for para in cell.paragraphs:
                for run in para.runs:
                    run.font.size = Pt(7.5 if n_cols >= WIDE else 8.5)
    for note in t.footnotes:
        para = doc.add_paragraph(note)  # type: ignore[attr-defined]
        para.runs[0].font.size = Pt(7.5)
        para.runs[0].font.color.rgb = RGBColor(0x55, 0x55, 0x55)


def _orient(doc: object, landscape: bool) -> None:
    section = doc.sections[-1]  # type: ignore[attr-defined]
    if (section.orientation == WD_ORIENT.LANDSCAPE) == landscape:
        return
    section = doc.add_section()  # type: ignore[attr-defined]
    w, h = section.page_width, section.page_height
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (
        (max(w, h), min(w, h)) if landscape else (min(w, h), max(w, h))
    )


def write_docx(
    result: StudyResult,
    figures: list[Rendered],
    tables: dict[str, DisplayTable],
    versions: dict[str, str],
    path: Path,
) -> Path:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    for s in ("left_margin", "right_margin"):
        setattr(section, s, Cm(2.0))
    doc.styles["Normal"].font.size = Pt(10)
    if result.synthetic:
        banner = doc.add_paragraph()
        run = banner.add_run("SYNTHETIC DATA: no real patient. Every number below comes from the "
                             "bundled synthetic demo cohort.")  # fmt: skip
        run.bold = True
        run.font.color.rgb = RGBColor(0xA9, 0x32, 0x26)
    doc.add_heading(result.protocol.name, level=1)
    for w in result.warnings:
        doc.add_paragraph(w, style="List Bullet")
    doc.add_heading("Results", level=2)
    for p in results_paragraphs(result):
        _paragraph(doc, p)
    doc.add_heading("Methods", level=2)
    for p in methods_paragraphs(result):
        _paragraph(doc, p)
    by_name = {f.name: f for f in figures}
    numbers = {f.name: i + 1 for i, f in enumerate(figures)}
    for part in report_sections(result, figures, tables):
        _orient(doc, False)
        doc.add_heading(part.heading, level=2)
        for name in part.figures:
            f = by_name.get(name)
            if f is None:
                continue
            doc.add_picture(io.BytesIO(f.png), width=Cm(16.5))
            cap = doc.add_paragraph()
            cap.add_run(f"Figure {numbers[name]}. ").bold = True
            cap.add_run(f.caption)
        for tid in part.tables:
            t = tables[tid]
            _orient(doc, bool(t.rows) and len(t.rows[0]) >= WIDE)
            _table(doc, t)
    _orient(doc, False)
    doc.add_paragraph("Software: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".").runs[
        0
    ].font.size = Pt(8)
    doc.core_properties.title = result.protocol.name
    doc.save(str(path))
    return path
