"""Every tampering of docs/registry.md's table, tried on a real registry: `audit --verify`
says whether it is detected (exit 2) and, where it cannot be, says so ("not proven").

The attacker has a DuckDB shell on the registry file and can rewrite the head file
beside it; they know the algorithms (SHA-256 chain, digests) but not the audit key.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from netoutcomes.interfaces.cli.main import _register_commands, app
from netoutcomes.registry.audit import record_event, verify_audit
from netoutcomes.registry.chain import (
    AUDIT_CONTENT,
    GENESIS,
    KEY_ENV,
    chain,
    head_path,
    head_record,
    rows_digest,
    write_head,
)
from netoutcomes.registry.importing import import_sources
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import table_rows
from netoutcomes.registry.store import create_registry

_register_commands()
runner = CliRunner()
KEY = "a clinic secret of 32 characters"


def _sql(registry: Path, *statements: str) -> None:
    conn = duckdb.connect(str(registry))
    for statement in statements:
        conn.execute(statement)
    conn.close()


def _rechain(registry: Path, keep_hmac: bool = True) -> None:
    """What an attacker without the key can do: recompute every SHA-256 and the head."""
    conn = duckdb.connect(str(registry))
    cursor = conn.execute("SELECT * FROM audit ORDER BY audit_id")
    names = [d[0] for d in cursor.description]
    entries = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    macs = [e["entry_hmac"] for e in entries]
    chain(GENESIS, entries)  # no key: entry_hmac set to None ...
    for entry, mac in zip(entries, macs, strict=True):
        conn.execute(
            "UPDATE audit SET entry_sha256 = ?, entry_hmac = ? WHERE audit_id = ?",
            # ... so they can only keep the old MAC (now wrong) or drop it.
            [entry["entry_sha256"], mac if keep_hmac else None, entry["audit_id"]],
        )
    conn.close()
    write_head(head_path(registry), head_record(registry, entries[-1], len(entries), None))


def _forge_checkpoint(registry: Path) -> None:
    """Recompute the newest checkpoint's digests after changing rows, then re-chain."""
    conn = duckdb.connect(str(registry))
    digests = {name: rows_digest(table_rows(conn, spec)) for name, spec in TABLES.items()}
    [(audit_id, details)] = conn.execute(
        "SELECT audit_id, new_values FROM audit WHERE action = 'checkpoint' "
        "ORDER BY audit_id DESC LIMIT 1"
    ).fetchall()
    forged = json.loads(details) | {"tables": digests}
    conn.execute(
        "UPDATE audit SET new_values = ? WHERE audit_id = ?", [json.dumps(forged), audit_id]
    )
    conn.close()
    _rechain(registry)


def _append_forged_entry(registry: Path) -> None:
    conn = duckdb.connect(str(registry))
    row = conn.execute("SELECT * FROM audit ORDER BY audit_id DESC LIMIT 1").fetchall()[0]
    names = [d[0] for d in conn.execute("SELECT * FROM audit LIMIT 0").description]
    last = dict(zip(names, row, strict=True))
    forged = {c: last[c] for c in AUDIT_CONTENT} | {"audit_id": last["audit_id"] + 1}
    forged["who"] = "someone"
    chain(last["entry_sha256"], [forged])
    columns = [*AUDIT_CONTENT, "entry_sha256"]
    conn.execute(
        f"INSERT INTO audit ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [forged[c] for c in columns],
    )
    conn.close()


def _delete_newest_batch(registry: Path) -> None:
    conn = duckdb.connect(str(registry))
    [(batch,)] = conn.execute(
        "SELECT batch_id FROM audit ORDER BY audit_id DESC LIMIT 1"
    ).fetchall()
    conn.execute("DELETE FROM followup WHERE patient_id = 'NET004'")
    conn.execute("DELETE FROM patients WHERE patient_id = 'NET004'")
    conn.execute("DELETE FROM audit WHERE batch_id = ?", [batch])
    conn.execute("DELETE FROM import_batches WHERE batch_id = ?", [batch])
    conn.close()


def _old_head_after_truncation(registry: Path) -> None:
    _delete_newest_batch(registry)
    shutil.copy(registry.parent / "head-before-second-import", head_path(registry))


Tampering = Callable[[Path], None]

# name -> (tampering, detected without the key, detected with the key, phrase)
TAMPERINGS: dict[str, tuple[Tampering, bool, bool, str]] = {
    "UPDATE a data row": (
        lambda r: _sql(r, "UPDATE therapies SET activity_mbq = 740 WHERE therapy_id = 'TH1'"),
        True,
        True,
        'row {"therapy_id": "TH1"}, column activity_mbq is 740.0, the log says 7400.0',
    ),
    "DELETE a data row": (
        lambda r: _sql(r, "DELETE FROM lesions WHERE lesion_id = 'L2'"),
        True,
        True,
        "table lesions differs from the state the last audited write left (its digest does "
        "not match the newest checkpoint): rows were inserted, updated or deleted outside "
        'netoutcomes: row {"lesion_id": "L2", "scan_id": "SC1"} was deleted',
    ),
    "INSERT a data row": (
        lambda r: _sql(r, "INSERT INTO patients VALUES ('NET099', 'male', 1950, 'CTR1')"),
        True,
        True,
        'row {"patient_id": "NET099"} was inserted',
    ),
    "UPDATE an audit entry": (
        lambda r: _sql(r, "UPDATE audit SET who = 'someone else' WHERE audit_id = 5"),
        True,
        True,
        "audit entry 5 breaks the hash chain",
    ),
    "DELETE the newest batch (rows and entries)": (
        _delete_newest_batch,
        True,
        True,
        "the newest entries were deleted",
    ),
    "DELETE FROM audit": (
        lambda r: _sql(r, "DELETE FROM audit"),
        True,
        True,
        "the log ends at entry 0",
    ),
    "append a forged entry": (_append_forged_entry, True, True, "not covered by the head"),
    "delete the head file": (lambda r: head_path(r).unlink(), True, True, "no audit head file"),
    "edit an entry, re-chain, rewrite the head": (
        lambda r: (_sql(r, "UPDATE audit SET who = 'x' WHERE audit_id = 3"), _rechain(r)),
        False,
        True,
        "HMAC does not match",
    ),
    "edit an entry, re-chain dropping the MACs, rewrite the head": (
        lambda r: (_sql(r, "UPDATE audit SET who = 'x' WHERE audit_id = 3"), _rechain(r, False)),
        False,
        True,
        "no audit entry carries an HMAC",
    ),
    "change a row, forge the checkpoint, re-chain, rewrite the head": (
        lambda r: (
            _sql(r, "UPDATE therapies SET activity_mbq = 740 WHERE therapy_id = 'TH1'"),
            _forge_checkpoint(r),
        ),
        False,
        True,
        "HMAC does not match",
    ),
}


@pytest.fixture(params=[False, True], ids=["no key", "keyed"])
def audited_registry(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clinic_source: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, bool]:
    """The clinic, then a second batch (NET004), written with or without the audit key."""
    keyed = request.param
    if keyed:
        monkeypatch.setenv(KEY_ENV, KEY)
    registry = create_registry(tmp_path / "r.duckdb")
    import_sources(registry, [clinic_source], user="tester")
    shutil.copy(head_path(registry), tmp_path / "head-before-second-import")
    second = tmp_path / "second"
    second.mkdir()
    (second / "patients.csv").write_text("patient_id,sex,birth_year,site\nNET004,male,1960,CTR1\n")
    (second / "followup.csv").write_text(
        "patient_id,last_contact_date,vital_status\nNET004,2015-01-01,alive\n"
    )
    import_sources(registry, [second], user="tester")
    return registry, keyed


def test_an_untouched_registry_verifies(audited_registry: tuple[Path, bool]) -> None:
    registry, keyed = audited_registry
    result = runner.invoke(app, ["audit", str(registry), "--verify"])
    assert result.exit_code == 0, result.output
    assert "audit log intact: 32 entries" in result.stdout  # 28 + checkpoint, 2 + checkpoint
    assert ("not proven: no audit key given" in result.stderr) is (not keyed)


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_tampering(name: str, audited_registry: tuple[Path, bool]) -> None:
    registry, keyed = audited_registry
    tamper, without_key, with_key, phrase = TAMPERINGS[name]
    tamper(registry)
    detected = with_key if keyed else without_key
    result = runner.invoke(app, ["audit", str(registry), "--verify"])
    assert "Traceback" not in result.output
    if detected:
        assert result.exit_code == 2, result.output
        assert phrase in result.stderr, result.stderr
    else:  # passes, but says plainly what it could not check
        assert result.exit_code == 0, result.output
        assert "not proven: no audit key given" in result.stderr


def test_truncation_with_the_older_head_restored_needs_the_clinics_copy(
    audited_registry: tuple[Path, bool], tmp_path: Path
) -> None:
    registry, _ = audited_registry
    clinic_copy = tmp_path / "clinic-copy.audit-head"
    shutil.copy(head_path(registry), clinic_copy)  # kept elsewhere after the second import
    _old_head_after_truncation(registry)
    alone = runner.invoke(app, ["audit", str(registry), "--verify"])
    assert alone.exit_code == 0  # the file beside the registry agrees with the truncated log
    with_copy = runner.invoke(app, ["audit", str(registry), "--verify", "--head", str(clinic_copy)])
    assert with_copy.exit_code == 2 and "the newest entries were deleted" in with_copy.stderr


def test_a_tampered_registry_refuses_further_imports(
    audited_registry: tuple[Path, bool], clinic_dir: Path
) -> None:
    registry, _ = audited_registry
    _sql(registry, "UPDATE therapies SET activity_mbq = 740 WHERE therapy_id = 'TH1'")
    (clinic_dir / "patients.csv").write_text(
        "patient_id,sex,birth_year,site\nNET005,female,1970,CTR1\n"
    )
    before = registry.read_bytes()
    result = runner.invoke(app, ["import", str(registry), str(clinic_dir / "patients.csv")])
    assert result.exit_code == 2 and "refusing to write" in result.stderr
    assert registry.read_bytes() == before  # the tampering is not covered by a new checkpoint


def test_a_key_that_did_not_write_the_log_is_reported(
    audited_registry: tuple[Path, bool], tmp_path: Path
) -> None:
    registry, keyed = audited_registry
    wrong = tmp_path / "wrong.key"
    wrong.write_text("not the clinic's secret at all")
    result = runner.invoke(
        app, ["audit", str(registry), "--verify", "--audit-key-file", str(wrong)]
    )
    # Keyed log: the MACs do not match this key. Unkeyed log: there is nothing to check,
    # which is itself a finding when the clinic believes its log is keyed.
    phrase = "HMAC does not match" if keyed else "no audit entry carries an HMAC"
    assert result.exit_code == 2 and phrase in result.stderr, result.stderr


def test_events_are_chained_and_verified(audited_registry: tuple[Path, bool]) -> None:
    registry, _ = audited_registry
    record_event(registry, "screen", "os:alice", {"protocol": "mibg.yaml", "eligible": 3})
    verdict = verify_audit(registry)
    assert verdict.intact and verdict.entries == 33, verdict.problems
    with pytest.raises(ValueError, match="unknown audit event"):
        record_event(registry, "delete", "os:alice", {})


def test_export_is_audited(audited_registry: tuple[Path, bool], tmp_path: Path) -> None:
    registry, _ = audited_registry
    result = runner.invoke(app, ["export", str(registry), str(tmp_path / "out"), "--user", "ana"])
    assert result.exit_code == 0, result.output
    entries = json.loads(runner.invoke(app, ["audit", str(registry), "--json"]).stdout)
    last = entries[-1]
    assert last["action"] == "export" and last["who"].startswith("cli:ana (unauthenticated")
    assert json.loads(last["new_values"])["mode"] == "full"
    assert runner.invoke(app, ["audit", str(registry), "--verify"]).exit_code == 0
