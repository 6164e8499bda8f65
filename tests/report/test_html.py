"""report.html as text: what a reader needs is there (both protocols, SYNTHETIC data)."""

from __future__ import annotations

import re

from tests.report.conftest import Report

from netoutcomes.interfaces.report.labels import looks_like_id
from netoutcomes.interfaces.report.study_figures import DELAYED_ENTRY_NOTE


def test_page_is_responsive_and_printable(report: Report) -> None:
    html = report.files.report_html.read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "@media print" in html and "@page" in html
    assert html.count('<div class="scroll"') == sum(
        len(t) for t in report.result.section_tables.values()
    )


def test_delayed_entry_at_risk_counts_are_footnoted(report: Report) -> None:
    html = report.files.report_html.read_text()
    caption = re.search(
        r'<figure id="figure-km_diagnosis">.*?<figcaption>(.*?)</figcaption>', html, re.S
    )
    if (
        report.result.protocol.survival.delayed_entry
        and "diagnosis" in report.result.protocol.survival.origins
    ):
        assert caption is not None and DELAYED_ENTRY_NOTE in caption.group(1)
        table = report.tables["survival_diagnosis"]
        assert any("at risk" in n.lower() and "entry" in n.lower() for n in table.footnotes)


def test_headers_are_labels_not_ids(report: Report) -> None:
    for table in report.tables.values():
        headers = [h.text for row in table.header for h in row]
        assert not [h for h in headers if looks_like_id(h) or "_" in h], (table.id, headers)
        if table.rows:  # a model not fitted has a header and a note, no rows
            widths = {len(row) for row in table.rows}
            assert widths == {sum(h.colspan for h in table.header[0])}, table.id
