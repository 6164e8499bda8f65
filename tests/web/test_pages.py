"""Import with a dry-run preview then confirm, the de-identified export, reports, users, CLI."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from web_helpers import csrf_of

from netoutcomes.errors import InputError
from netoutcomes.registry.importing import os_user
from netoutcomes.registry.store import open_registry
from netoutcomes.registry.users import add_user, authenticate, list_users, reset_password

PATIENTS_CSV = (
    b"patient_id,sex,birth_year,site\nUPL-1,male,1955,CLINIC2\nSYN-001,male,1938,SYNCENTRE\n"
)


def test_import_previews_then_writes_on_confirm(client_for, registry: Path) -> None:
    client = client_for("data_manager")
    token = csrf_of(client.get("/import").text)
    files = {"files": ("patients.csv", PATIENTS_CSV, "text/csv")}
    preview = client.post("/import", data={"csrf_token": token}, files=files)
    assert preview.status_code == 200
    # One new patient, one identical to the stored row: 1 inserted, 0 updated, 1 unchanged.
    assert '<td>patients</td><td class="num">1</td><td class="num">0</td>' in preview.text
    with open_registry(registry) as opened:  # the dry run wrote nothing
        assert all(r["patient_id"] != "UPL-1" for r in opened.stored_rows("patients"))
    confirm_token = preview.text.split('name="token" value="')[1].split('"')[0]
    done = client.post("/import/confirm", data={"csrf_token": token, "token": confirm_token})
    assert done.status_code == 200 and "Imported." in done.text
    with open_registry(registry) as opened:
        assert any(r["patient_id"] == "UPL-1" for r in opened.stored_rows("patients"))
        assert opened.audit()[-2].who == "web:data-manager"  # the row, then its checkpoint
    # The token is spent: confirming again imports nothing.
    again = client.post("/import/confirm", data={"csrf_token": token, "token": confirm_token})
    assert again.status_code == 400


def test_a_bad_upload_lists_its_problems_and_writes_nothing(client_for, registry: Path) -> None:
    client = client_for("data_manager")
    token = csrf_of(client.get("/import").text)
    bad = b"patient_id,sex,birth_year,site\nUPL-2,robot,1955,CLINIC2\n"
    response = client.post(
        "/import", data={"csrf_token": token}, files={"files": ("patients.csv", bad, "text/csv")}
    )
    assert response.status_code == 400
    assert "patients.csv, row 2, column sex" in response.text


def test_the_export_is_deidentified_and_audited(client_for, registry: Path) -> None:
    client = client_for("analyst")
    token = csrf_of(client.get("/export").text)
    response = client.post("/export", data={"csrf_token": token})
    assert response.headers["content-disposition"].startswith("attachment")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    patients = archive.read("deidentified/patients.csv").decode()
    assert "SYN-" not in patients  # study ids replaced by new codes
    assert "diagnosis_date" not in archive.read("deidentified/diagnoses.csv").decode()
    with open_registry(registry) as opened:
        last = [e for e in opened.audit() if e.action == "export"][-1]
    assert last.who == "web:analyst"


def test_a_report_is_served_sandboxed(client_for, registry: Path) -> None:
    run = registry.with_name(registry.name + ".reports") / "mibg-net-20260101T000000"
    run.mkdir(parents=True)
    (run / "report.html").write_text("<html><body><h1>report</h1></body></html>")
    client = client_for("viewer")
    shown = client.get("/analysis/mibg-net-20260101T000000/report")
    assert shown.status_code == 200 and "<h1>report</h1>" in shown.text
    assert "sandbox" in shown.headers["content-security-policy"]
    download = client.get("/analysis/mibg-net-20260101T000000/download")
    assert download.headers["content-disposition"].startswith("attachment")
    assert client.get("/analysis/..%2F..%2Fetc/report").status_code == 404
    assert "mibg-net-20260101T000000" in client.get("/analysis").text


def test_an_admin_adds_disables_and_resets_users(client_for, registry: Path) -> None:
    client = client_for("admin")
    token = csrf_of(client.get("/users").text)
    added = client.post(
        "/users",
        data={"csrf_token": token, "name": "nurse1", "role": "data_manager", "password": "x" * 12},
    )
    assert added.status_code == 200 and "Added nurse1" in added.text
    assert client.post("/users/nurse1", data={"csrf_token": token, "change": "disable"}).is_success
    assert authenticate(registry, "nurse1", "x" * 12).reason == "disabled"
    reset = {"csrf_token": token, "change": "reset", "password": "y" * 12}
    assert client.post("/users/nurse1", data=reset).is_success
    assert authenticate(registry, "nurse1", "y" * 12).reason == "disabled"  # still disabled
    own = client.post("/users/admin", data={"csrf_token": token, "change": "disable"})
    assert own.status_code == 400
    with open_registry(registry) as opened:
        changes = [e for e in opened.audit() if e.action == "user" and e.who == "web:admin"]
    assert [c.new_values.split('"change": "')[1].split('"')[0] for c in changes] == [
        "added",
        "disabled",
        "password reset",
    ]


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    code = "from netoutcomes.interfaces.cli.main import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], input=stdin, capture_output=True, text=True
    )


def test_the_user_commands(registry: Path) -> None:
    added = _cli(
        "user", "add", str(registry), "pi", "--role", "viewer", "--password-stdin",
        stdin="a long password\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert [u.role.value for u in list_users(registry) if u.name == "pi"] == ["viewer"]
    missing = _cli("user", "disable", str(registry), "nobody")
    assert missing.returncode == 2 and missing.stderr == f"error: {registry}: no user 'nobody'\n"
    assert "pi\tviewer\tactive" in _cli("user", "list", str(registry)).stdout
    with open_registry(registry) as opened:
        who = [e.who for e in opened.audit() if e.action == "user"][-1]
    assert who == f"os:{os_user()}"  # as every command records an OS user


def test_names_roles_and_passwords_are_checked(registry: Path) -> None:
    for call in (
        lambda: add_user(registry, "pi2", "viewer", "short", by="t"),
        lambda: add_user(registry, "Pi Two", "viewer", "x" * 12, by="t"),
        lambda: add_user(registry, "pi2", "superuser", "x" * 12, by="t"),
        lambda: add_user(registry, "viewer", "viewer", "x" * 12, by="t"),  # exists
        lambda: reset_password(registry, "nobody", "x" * 12, by="t"),
    ):
        with pytest.raises(InputError):
            call()
    assert "pi2" not in {u.name for u in list_users(registry)}


@pytest.mark.slow
def test_an_analyst_runs_an_analysis_and_everyone_reads_the_report(client_for, registry) -> None:
    analyst = client_for("analyst")
    token = csrf_of(analyst.get("/analysis").text)
    ran = analyst.post("/analysis/run", data={"csrf_token": token, "protocol": "mibg-net"})
    assert ran.status_code == 200
    run_id = re.search(r"(mibg-net-\d{8}T\d{6}): <a", ran.text)
    assert run_id is not None
    report = client_for("viewer").get(f"/analysis/{run_id.group(1)}/report")
    assert report.status_code == 200 and "<svg" in report.text
    assert "SYN-0" not in report.text  # aggregate results only: no patient id
    with open_registry(registry) as opened:
        event = [e for e in opened.audit() if e.action == "analyze"][-1]
    assert event.who == "web:analyst" and '"protocol": "mibg-net"' in event.new_values


def test_the_cli_loads_without_the_web_stack() -> None:
    # `netoutcomes --help` registers every command: the web stack must not come with it.
    code = (
        "import sys; from netoutcomes.interfaces.cli.main import _register_commands; "
        "_register_commands(); "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'argon2') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr
