"""report.pdf: the HTML report printed by WeasyPrint (its print stylesheet: A4,
page numbers, tables and figures kept whole).

WeasyPrint renders inline SVG and CSS paged media itself, needs no browser, and
installs from PyPI (with the system's Pango, present on Debian); so the PDF is
the same document as the HTML, made on any machine that runs the tests.
"""

from __future__ import annotations

import logging
from pathlib import Path


def write_pdf(html: str, path: Path) -> Path:
    import weasyprint  # deferred: about a second to import, only when a PDF is asked for

    # WeasyPrint logs every CSS property it ignores (e.g. -webkit-*): not the reader's concern
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    weasyprint.HTML(string=html, base_url=str(path.parent)).write_pdf(path)
    return path
