"""report.pdf and report.docx of both bundled protocols, read back (SYNTHETIC data)."""

from __future__ import annotations

import re

from docx import Document
from pypdf import PageObject, PdfReader
from tests.report.conftest import Report

from netoutcomes.interfaces.report.labels import looks_like_id

SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def test_pdf_pages_and_text(report: Report) -> None:
    assert report.files.report_pdf is not None
    reader = PdfReader(report.files.report_pdf)
    pages = [p.extract_text() for p in reader.pages]
    assert 3 <= len(pages) <= 30
    text = " ".join(" ".join(pages).split())
    assert "SYNTHETIC DATA" in pages[0]
    assert report.result.protocol.name.split()[0] in text
    for heading in ("Results", "Methods", "Screening", "Survival"):
        assert heading in text
    # every table's title and every row's first cell reach the PDF (no table cut off)
    for table in report.tables.values():
        assert " ".join(table.title.split()) in text, table.title
        for row in table.rows:
            first = row[0].text.split()[0]
            assert first in text, (table.id, row[0].text)
    assert not SNAKE.findall(text), SNAKE.findall(text)[:5]
    assert f"1 / {len(pages)}" in pages[0]  # page numbers from the print stylesheet


def text_starts(page: PageObject) -> list[tuple[float, str]]:
    """Where each run of text begins on the page (x in points) and what it says."""
    starts: list[tuple[float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            starts.append((tm[4] * cm[0] + cm[4], text.strip()))

    page.extract_text(visitor_text=visit)
    return starts


def test_pdf_text_starts_inside_every_page(report: Report) -> None:
    """No table column begins beyond the page's right edge (a table cut off in print)."""
    assert report.files.report_pdf is not None
    for number, page in enumerate(PdfReader(report.files.report_pdf).pages, start=1):
        width = float(page.mediabox.width)
        outside = [(round(x), t[:30]) for x, t in text_starts(page) if not 0 <= x < width - 10]
        assert not outside, (number, outside[:5])


def test_docx_tables_read_back(report: Report) -> None:
    assert report.files.report_docx is not None
    doc = Document(str(report.files.report_docx))
    shown = [report.tables[t] for ids in report.result.section_tables.values() for t in ids]
    assert len(doc.tables) == len(shown)
    for word, table in zip(doc.tables, shown, strict=True):
        header_rows = len(table.header)
        cells = [[c.text for c in row.cells] for row in word.rows]
        body = cells[header_rows:]
        assert body == [[c.text for c in row] for row in table.rows], table.id
        headers = {h.text for row in table.header for h in row}
        assert headers <= {c for row in cells[:header_rows] for c in row}, table.id
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "SYNTHETIC DATA" in text and "Results" in text and "Methods" in text
    assert len(doc.inline_shapes) == len(report.files.figures) // 2  # every figure (PNG)
    words = [w for w in re.split(r"[\s,;()]+", text) if looks_like_id(w)]
    assert not words, words[:5]
