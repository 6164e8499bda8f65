"""Sessions, CSRF, lock-out and throttling, escaping, headers, the log, the one-writer lock."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from web_helpers import PASSWORDS, csrf_of, login

import netoutcomes
from netoutcomes.errors import InputError
from netoutcomes.interfaces.web import auth
from netoutcomes.registry.server_lock import refuse_if_served, serving
from netoutcomes.registry.store import open_registry
from netoutcomes.registry.users import MAX_FAILED_LOGINS, set_disabled


def test_the_session_cookie_is_signed_httponly_strict_and_expires(client_for) -> None:
    client = client_for(None)
    token = csrf_of(client.get("/login").text)
    data = {"csrf_token": token, "name": "viewer", "password": PASSWORDS["viewer"]}
    response = client.post("/login", data=data, follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert f"max-age={auth.SESSION_SECONDS}" in cookie
    # A cookie edited by the client (here: the role) is not accepted.
    value = client.cookies["netoutcomes_session"]
    client.cookies.set("netoutcomes_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_an_idle_session_ends(client_for, monkeypatch) -> None:
    client = client_for("viewer")
    assert client.get("/").status_code == 200
    later = time.time() + auth.IDLE_SECONDS + 5
    monkeypatch.setattr(auth.time, "time", lambda: later)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(client_for, registry) -> None:
    client = client_for("data_manager")
    form = {"patient_id": "WEB-1", "sex": "female", "birth_year": "1970", "site": "A"}
    response = client.post("/records/patients/new", data=form)
    assert response.status_code == 403
    wrong = client.post("/records/patients/new", data={**form, "csrf_token": "forged"})
    assert wrong.status_code == 403
    with open_registry(registry) as opened:
        assert all(r["patient_id"] != "WEB-1" for r in opened.stored_rows("patients"))


def test_wrong_passwords_lock_the_account(client_for, registry) -> None:
    client = client_for(None)
    for _ in range(MAX_FAILED_LOGINS):
        assert login(client, "analyst", "not the password") == 401
    # Locked: the right password is refused too, with the same message.
    assert login(client, "analyst") == 401
    with open_registry(registry) as opened:
        events = [e for e in opened.audit() if e.action == "user"]
    assert '"change": "locked out"' in events[-1].new_values
    assert '"user": "analyst"' in events[-1].new_values


def test_many_failures_from_one_address_are_throttled(client_for) -> None:
    client = client_for(None)
    client.app.state.throttle = auth.LoginThrottle(limit=3, window=60)
    for name in ("nobody-1", "nobody-2", "nobody-3"):
        token = csrf_of(client.get("/login").text)
        data = {"csrf_token": token, "name": name, "password": "x" * 12}
        assert client.post("/login", data=data).status_code == 401
    assert login(client, "viewer") == 429  # even the right password, until the window passes


def test_a_disabled_user_is_signed_out_at_the_next_request(client_for, registry) -> None:
    client = client_for("analyst")
    assert client.get("/patients").status_code == 200
    set_disabled(registry, "analyst", True, by="test")
    client.app.state.access.changed()  # as the users page does after a change
    assert client.get("/patients", follow_redirects=False).headers["location"] == "/login"


def test_values_are_escaped(client_for) -> None:
    client = client_for("data_manager")
    evil = "<script>alert(1)</script>"
    edit = "/records/followup/edit?patient_id=SYN-001"
    token = csrf_of(client.get(edit).text)
    form = {
        "csrf_token": token,
        "last_contact_date": "2009-03-14",
        "vital_status": "dead",
        "death_date": "2009-03-14",
        "death_cause": evil,  # free text: stored as typed
    }
    response = client.post(edit, data=form, follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    page = client.get("/patients/SYN-001").text
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    audit = client.get("/audit").text
    assert evil not in audit and "&lt;script&gt;" in audit
    # An invalid value shown back beside its field is escaped too.
    new = {"csrf_token": token, "patient_id": evil, "sex": "female", "birth_year": "1970"}
    bad = client.post("/records/patients/new", data={**new, "site": "A"})
    assert bad.status_code == 400 and evil not in bad.text
    assert "&lt;script&gt;" in bad.text and "field-error" in bad.text


def test_headers_forbid_inline_scripts_and_framing(client_for) -> None:
    client = client_for(None)
    headers = client.get("/login").headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-frame-options"] == "DENY"
    assert "<script" not in client.get("/login").text


def test_the_log_names_routes_not_patients(client_for, caplog) -> None:
    client = client_for("analyst")
    with caplog.at_level(logging.INFO, logger="netoutcomes.web"):
        assert client.get("/patients/SYN-001?protocol=mibg-net").status_code == 200
        client.get("/patients?q=SYN-002")
    access = client.app.state.access

    def broken(patient_id: str) -> None:
        raise ValueError(f"stored value of {patient_id} is odd")

    access.patient_rows = broken
    with caplog.at_level(logging.INFO):
        assert client.get("/patients/SYN-003").status_code == 500
    # Everything logged except the test client's own request lines (httpx, client side).
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "GET /patients/{patient_id} 200" in text
    assert "GET /patients/{patient_id} failed: ValueError" in text
    assert "SYN-" not in text


def test_a_cli_write_while_the_server_runs_names_the_server(registry) -> None:
    holder = textwrap.dedent(
        f"""
        import sys, time
        from netoutcomes.registry.server_lock import serving
        with serving({str(registry)!r}, "http://127.0.0.1:8123"):
            print("ready", flush=True)
            sys.stdin.readline()
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        with pytest.raises(InputError, match=r"served by .*http://127.0.0.1:8123 \(pid \d+\)"):
            refuse_if_served(registry)
        with pytest.raises(InputError, match="already served"), serving(registry, "x"):
            pass
        # The real CLI path: an import into the served registry is one line, exit 2,
        # and the file is left as it was.
        before = registry.read_bytes()
        cli = str(Path(sys.executable).with_name("netoutcomes"))
        forms = Path(netoutcomes.__file__).parent / "data" / "demo_cohort"
        done = subprocess.run(
            [cli, "import", str(registry), str(forms), "--user", "x"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
        assert "served by `netoutcomes serve` at http://127.0.0.1:8123" in done.stderr
        assert registry.read_bytes() == before
    finally:
        process.communicate("stop\n", timeout=10)
    refuse_if_served(registry)  # released when the server stops
    with serving(registry, "http://127.0.0.1:1"):
        refuse_if_served(registry)  # the server's own writes pass
