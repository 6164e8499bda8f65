"""report.html in a real browser (Playwright driving Debian's chromium), both bundled
protocols, at 1280 and 390 px: nothing wider than the viewport (tables scroll inside
their own box), no internal id in the visible text, every figure drawn, every number's
link lands on its table cell.

Chromium is part of the set-up (``.ci/run`` installs Debian's package): when it is
missing these tests fail with that message rather than skip.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from tests.report.conftest import Report

WIDTHS = [1280, 390]
MISSING_BROWSER = (
    "chromium is not installed: the report's browser tests need Debian's chromium "
    "(`apt-get install -y chromium`; .ci/run does this when run as root)"
)

# Elements wider than the viewport, not counting those inside a box that scrolls
# (a table's .scroll, a figure's .svg on a phone).
OVERFLOW_JS = """() => {
  const w = document.documentElement.clientWidth;
  const inScroller = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p).overflowX;
      if (s === 'auto' || s === 'scroll') return p.getBoundingClientRect().right <= w + 1;
    }
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if ((r.right > w + 1 || r.left < -1) && !inScroller(el))
      out.push(el.tagName + '#' + el.id + '.' + el.className + ' ' + Math.round(r.right));
  }
  return {overflow: out.slice(0, 10), scrollWidth: document.documentElement.scrollWidth, w};
}"""
FIGURES_JS = """() => Array.from(document.querySelectorAll('figure')).map(f => {
  const g = f.querySelector('svg, img');
  const r = g ? g.getBoundingClientRect() : {width: 0, height: 0};
  const ok = g && (g.tagName.toLowerCase() === 'svg' || (g.complete && g.naturalWidth > 0));
  return {id: f.id, width: r.width, height: r.height, ok: !!ok};
})"""
LINKS_JS = """() => Array.from(document.querySelectorAll('.text a[href^="#"]')).map(a => {
  const id = decodeURIComponent(a.getAttribute('href').slice(1));
  const t = document.getElementById(id);
  return {id, text: a.textContent, found: !!t, cell: t ? t.closest('td') !== null : false,
          value: t ? t.dataset.value : null, shown: t ? t.textContent : null};
})"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(MISSING_BROWSER)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_layout_fits_the_viewport(browser: Any, report: Report, width: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(report.files.report_html.as_uri())
    fit = page.evaluate(OVERFLOW_JS)
    assert fit["scrollWidth"] <= width, fit
    assert not fit["overflow"], fit
    figures = page.evaluate(FIGURES_JS)
    assert len(figures) == len(report.files.figures) // 2
    for f in figures:
        assert f["ok"] and f["width"] > 100 and f["height"] > 100, f
    page.close()


def test_no_internal_id_in_visible_text(browser: Any, report: Report) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(report.files.report_html.as_uri())
    text = page.inner_text("body")
    words = set(text.replace("(", " ").replace(")", " ").replace(",", " ").split())
    ids = {str(r[t.key]) for t in report.result.tables.values() for r in t.rows}
    ids |= {c for t in report.result.tables.values() for c in t.columns}
    ids |= {c.id for c in report.result.protocol.cohorts}
    leaked = sorted(w for w in words if w in ids and "_" in w)
    snake = sorted(w for w in words if "_" in w and w.replace("_", "").isalnum())
    assert not leaked and not snake, (leaked, snake)
    page.close()


def test_every_number_links_to_its_cell(browser: Any, report: Report) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.goto(report.files.report_html.as_uri())
    links = page.evaluate(LINKS_JS)
    segments = [s for s in report.result.results or report.result.narrative if s.table]
    assert len(links) == len(segments) > 10
    for link, seg in zip(links, segments, strict=True):
        assert link["found"] and link["cell"], link
        assert float(link["value"]) == seg.value, (link, seg)
    # following a link scrolls its cell into view, even inside a table's scroll box
    for link in links[:: max(1, len(links) // 6)]:
        page.click(f'.text a[href="#{link["id"]}"]')
        box = page.evaluate(
            "id => { const r = document.getElementById(id).getBoundingClientRect();"
            " return [r.left, r.top, r.right, r.bottom, window.innerWidth, window.innerHeight]; }",
            link["id"],
        )
        left, top, right, bottom, vw, vh = box
        assert top >= -1 and bottom <= vh + 1 and left >= -1 and right <= vw + 1, (link, box)
    page.close()
