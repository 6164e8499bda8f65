"""End to end in Debian's Chromium: `netoutcomes serve` on a free port, driven by Playwright.

A data manager enters a patient through the forms and sees the protocol's verdict
(checked against the study layer's own screening of the registry afterwards); a
viewer is refused row-level pages; wrong passwords lock an account; a POST without
the CSRF token is refused; the audit page names who did what.
Set NETOUTCOMES_WEB_SHOTS=DIR to also save screenshots of the pages (1280 and 390 px).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web_helpers import PASSWORDS, user_name

from netoutcomes.registry.users import MAX_FAILED_LOGINS
from netoutcomes.study.protocol import bundled_protocol_path
from netoutcomes.study.run import screen_registry

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(registry: Path):
    port = _free_port()
    code = "from netoutcomes.interfaces.cli.main import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", str(registry), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.communicate()[0]) from None
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    log = process.communicate(timeout=10)[0]
    assert "SYN-" not in log and "WEB-1" not in log  # no patient data in the server log


def _login(page, base: str, role: str, password: str | None = None) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=name]", user_name(role))
    page.fill("input[name=password]", password or PASSWORDS[role])
    page.click("button[type=submit]")


def _shot(page, name: str) -> None:
    folder = os.environ.get("NETOUTCOMES_WEB_SHOTS")
    if not folder:
        return
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"{folder}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _save(page) -> None:
    with page.expect_navigation():
        page.click("form.record button[type=submit]")


def test_a_clinic_day_in_the_browser(server: str, registry: Path) -> None:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            _clinic_day(browser, server, registry)
        finally:
            browser.close()


def _clinic_day(browser, base: str, registry: Path) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _login(page, base, "data_manager")
    _shot(page, "home")
    page.goto(f"{base}/records/patients/new")
    page.fill("#f-patient_id", "WEB-1")
    page.select_option("#f-sex", "female")
    page.fill("#f-birth_year", "1800")  # invalid: the error shows beside the field
    page.fill("#f-site", "CLINIC1")
    _save(page)
    assert "birth_year" not in page.url
    assert page.locator(".field.has-error #f-birth_year").count() == 1
    assert page.locator(".field-error").first.is_visible()
    _shot(page, "form-error")
    page.fill("#f-birth_year", "1960")
    _save(page)
    assert page.url.endswith("/patients/WEB-1")

    page.click("text=Diagnosis")
    page.fill("#f-diagnosis_date", "2010-01-15")
    page.select_option("#f-primary_site", "small_bowel")
    page.select_option("#f-stage", "IV")
    _save(page)

    page.click("a.button:text-is('Scan')")
    page.fill("#f-scan_id", "WEB-1-S1")
    page.fill("#f-date", "2011-03-01")
    page.select_option("#f-modality", "i123_mibg")
    for i, (lesion, site, size, uptake) in enumerate(
        [("L1", "liver", "25", "4"), ("L2", "lymph_node", "15", "3")], start=1
    ):
        page.fill(f"[name='lesion{i}.lesion_id']", lesion)
        page.select_option(f"[name='lesion{i}.site']", site)
        page.fill(f"[name='lesion{i}.longest_diameter_mm']", size)
        page.select_option(f"[name='lesion{i}.uptake_grade']", uptake)
    _shot(page, "scan-form")
    _save(page)

    page.click("text=Radiopharmaceutical therapy")
    page.fill("#f-therapy_id", "WEB-1-R1")
    page.select_option("#f-agent", "i131_mibg")
    page.fill("#f-date", "2011-04-01")
    page.fill("#f-activity_mbq", "7400")
    page.fill("#f-cycle", "1")
    _save(page)
    assert page.url.endswith("/patients/WEB-1")
    shown = page.locator("#verdict").inner_text()
    _shot(page, "patient")
    assert page.locator("table.lesions tbody tr").count() == 2

    page.goto(f"{base}/audit?who=data-manager")
    rows = page.locator("table.audit tbody tr")
    assert rows.count() >= 5  # patient, diagnosis, scan, two lesions, therapy (+ checkpoints)
    assert page.locator("td.who", has_text="web:data-manager").count() == rows.count()
    assert "lesions" in page.locator("table.audit").inner_text()
    _shot(page, "audit")

    # A POST without the CSRF token, with the data manager's own session: refused.
    form = {"patient_id": "WEB-2", "sex": "male", "birth_year": "1950", "site": "A"}
    assert page.request.post(f"{base}/records/patients/new", form=form).status == 403

    viewer = browser.new_context().new_page()
    _login(viewer, base, "viewer")
    for url in ("/patients", "/patients/WEB-1", "/screening/verdicts", "/audit"):
        assert viewer.goto(base + url).status == 403
    assert viewer.goto(f"{base}/screening").status == 200
    _shot(viewer, "screening")

    locked = browser.new_context().new_page()
    for _ in range(MAX_FAILED_LOGINS):
        _login(locked, base, "analyst", "wrong password!")
    _login(locked, base, "analyst")  # the right password, too late
    assert locked.url.endswith("/login") and locked.locator(".error").is_visible()

    # The verdict on the page is the study layer's verdict for this patient.
    screening = screen_registry(registry, bundled_protocol_path("mibg-net"))
    expected = next(v for v in screening.verdicts if v.patient_id == "WEB-1")
    assert shown == expected.verdict.value.replace("_", " ")
