"""Every table has an add and an edit form built from its model; edits are audited updates."""

from __future__ import annotations

import re

import pytest
from web_helpers import csrf_of

from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import allowed_codes

# One stored record per table of the SYNTHETIC demo cohort (its key as the edit URL's query).
EDIT_KEYS = {
    "patients": "patient_id=SYN-001",
    "diagnoses": "patient_id=SYN-001",
    "treatments": "treatment_id=SYN-001-T1",
    "progressions": "progression_id=SYN-001-P1",
    "scans": "scan_id=SYN-001-S1",
    "lesions": "scan_id=SYN-001-S1&lesion_id=L1",
    "therapies": "therapy_id=SYN-001-R1",
    "assessments": "assessment_id=SYN-001-A1",
    "adverse_events": "ae_id=SYN-001-E1",
    "followup": "patient_id=SYN-001",
}


def test_every_table_has_an_edit_key() -> None:
    assert set(EDIT_KEYS) == set(TABLES)


@pytest.mark.parametrize("table", list(TABLES))
def test_add_and_edit_forms_follow_the_model(shared_client_for, table: str) -> None:
    client = shared_client_for("data_manager")
    spec = TABLES[table]
    new = client.get(f"/records/{table}/new?patient_id=SYN-001&scan_id=SYN-001-S1")
    edit = client.get(f"/records/{table}/edit?{EDIT_KEYS[table]}")
    for page in (new, edit):
        assert page.status_code == 200
        for column in spec.model.model_fields:
            codes = allowed_codes(spec, column)
            if codes is None:
                assert f'name="{column}"' in page.text
            else:  # a dropdown with every code
                select = re.search(
                    rf'<select id="f-{column}" name="{column}".*?</select>', page.text, re.S
                )
                if select is None:  # a key shown read-only
                    assert f'name="{column}"' in page.text and "readonly" in page.text
                    continue
                assert re.findall(r'<option value="([^"]+)"', select.group(0)) == codes
    # Edit: the key is read-only and the stored values are filled in.
    for column in spec.primary_key:
        assert re.search(
            rf'id="f-{column}" name="{column}" value="[^"]+"\s+type="\w+"\s+readonly', edit.text
        )


def test_an_edit_is_an_audited_update(client_for) -> None:
    client = client_for("data_manager")
    url = "/records/therapies/edit?therapy_id=SYN-001-R1"
    token = csrf_of(client.get(url).text)
    form = {
        "csrf_token": token,
        "agent": "i131_mibg",
        "date": "2008-07-01",
        "activity_mbq": "7000",
        "cycle": "1",
        "patient_id": "SYN-999",  # ignored: a record stays with its patient
    }
    assert client.post(url, data=form, follow_redirects=False).headers["location"] == (
        "/patients/SYN-001"
    )
    audit = client.get("/audit?action=update&table=therapies").text
    assert "activity_mbq: 7400.0 → 7000.0" in audit and "web:data-manager" in audit
    assert "SYN-999" not in audit
    unknown = client.get("/records/therapies/edit?therapy_id=NOPE-1")
    assert unknown.status_code == 404
    assert client.get("/records/nosuchtable/new").status_code == 404


def test_an_add_form_does_not_overwrite_an_existing_record(client_for) -> None:
    client = client_for("data_manager")
    url = "/records/therapies/new?patient_id=SYN-002"
    token = csrf_of(client.get(url).text)
    form = {"csrf_token": token, "therapy_id": "SYN-001-R1", "agent": "i131_mibg",
            "date": "2010-07-01", "activity_mbq": "7400", "cycle": "3"}  # fmt: skip
    response = client.post(url, data=form)
    assert response.status_code == 400 and "this id is already in use" in response.text
