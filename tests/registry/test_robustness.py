"""An import either lands entirely or leaves the registry exactly as it was.

- hypothesis writes CSV rows of every sort (valid, junk, hostile) and imports them;
- a subprocess importing is SIGKILLed in the middle of its write transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from netoutcomes.errors import InputError
from netoutcomes.registry.chain import head_path
from netoutcomes.registry.importing import ImportRejected, import_sources
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.store import create_registry, open_registry


def _snapshot(path: Path) -> dict[str, list[dict]]:
    with open_registry(path) as registry:
        return {table: registry.stored_rows(table) for table in TABLES} | {
            "audit": [e.audit_id for e in registry.audit()]
        }


junk = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


def mostly(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid cell 9 times in 10, else junk: so that whole files are sometimes valid."""
    return st.integers(0, 9).flatmap(lambda k: junk if k == 0 else valid)


patient_ids = mostly(st.from_regex(r"NET0[0-9]{2}", fullmatch=True))
patient_rows = st.fixed_dictionaries(
    {
        "patient_id": patient_ids,
        "sex": mostly(st.sampled_from(["female", "male", "other", "unknown"])),
        "birth_year": mostly(st.integers(1890, 2030).map(str)),
        "site": mostly(st.sampled_from(["CTR1", "CTR2"])),
    }
)
therapy_rows = st.fixed_dictionaries(
    {
        "patient_id": patient_ids,
        "therapy_id": st.one_of(st.from_regex(r"TH[0-9]", fullmatch=True), junk),
        "agent": st.one_of(st.sampled_from(["i131_mibg", "lu177_dotatate"]), junk),
        "date": st.one_of(
            st.dates(dt.date(1990, 1, 1), dt.date(2030, 1, 1)).map(dt.date.isoformat), junk
        ),
        "activity_mbq": st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), junk),
        "cycle": st.one_of(st.integers(-1, 9).map(str), junk),
    }
)


def _non_blank(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """A row of blank cells is a blank line, which CSV readers skip."""
    return [r for r in rows if any(v.strip() for v in r.values())]


def _csv(rows: list[dict[str, str]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    patients=st.lists(patient_rows, max_size=4),
    therapies=st.lists(therapy_rows, max_size=3),
)
def test_import_is_all_or_nothing_whatever_the_rows(
    clinic_registry: Path, patients: list[dict[str, str]], therapies: list[dict[str, str]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "r.duckdb"
        registry.write_bytes(clinic_registry.read_bytes())
        head_path(registry).write_bytes(head_path(clinic_registry).read_bytes())
        source = Path(tmp) / "in"
        source.mkdir()
        (source / "patients.csv").write_text(_csv(patients, list(TABLES["patients"].columns)))
        (source / "therapies.csv").write_text(_csv(therapies, list(TABLES["therapies"].columns)))
        before_bytes = registry.read_bytes()
        before = _snapshot(registry)
        try:
            import_sources(registry, [source], user="fuzz")
        except ImportRejected as rejected:
            event("rejected")
            assert rejected.problems  # the problems are listed ...
            assert registry.read_bytes() == before_bytes  # ... and nothing was written
            return
        event("imported")
        after = _snapshot(registry)
        stored = {r["patient_id"]: r for r in after["patients"]}
        for row in _non_blank(patients):  # every row of the file is now stored, as written
            kept = stored[row["patient_id"].strip()]
            assert kept["sex"] == row["sex"].strip() and kept["site"] == row["site"].strip()
            assert kept["birth_year"] == int(row["birth_year"])
        therapies_after = {r["therapy_id"]: r for r in after["therapies"]}
        for row in _non_blank(therapies):
            kept = therapies_after[row["therapy_id"].strip()]
            assert kept["date"] == dt.date.fromisoformat(row["date"].strip())
            assert kept["activity_mbq"] == float(row["activity_mbq"])
            assert kept["cycle"] == int(row["cycle"])
        # Rows not in the sources are untouched.
        assert len(after["lesions"]) == len(before["lesions"])


KILLED_IMPORT = """
import sys, time
from netoutcomes.registry import writer
from netoutcomes.registry.importing import import_sources

write = writer._write_table_changes
tables_written = []

def write_then_stall(conn, spec, changes):
    write(conn, spec, changes)
    tables_written.append(spec.name)
    if len(tables_written) == 2:  # inside the transaction, after two tables
        print("MIDWAY", flush=True)
        time.sleep(120)

writer._write_table_changes = write_then_stall
import_sources(sys.argv[1], [sys.argv[2]], user="doomed")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigkill_mid_import_leaves_registry_unchanged_and_openable(
    clinic_registry: Path, clinic_dir: Path, tmp_path: Path
) -> None:
    # A change in every table, so the transaction has much to write.
    for path in clinic_dir.glob("*.csv"):
        text = path.read_text()
        path.write_text(text.replace("2009-", "2008-").replace(",CTR1", ",CTR9"))
    before = _snapshot(clinic_registry)
    script = tmp_path / "killed_import.py"
    script.write_text(KILLED_IMPORT)
    child = subprocess.Popen(
        [sys.executable, str(script), str(clinic_registry), str(clinic_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "MIDWAY"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert _snapshot(clinic_registry) == before
    # Still a working registry: the same import now goes through.
    report = import_sources(clinic_registry, [clinic_dir], user="survivor")
    assert report.counts["patients"].updated == 2


def test_a_fresh_registry_is_refused_as_import_source(tmp_path: Path) -> None:
    registry = create_registry(tmp_path / "r.duckdb")
    with pytest.raises(ImportRejected, match="unknown source"):
        import_sources(registry, [registry], user="x")


HOLD_LOCK = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
print("LOCKED", flush=True)
time.sleep(60)
"""


def test_a_registry_locked_by_another_process_is_a_clean_error(
    clinic_registry: Path, clinic_source: Path, tmp_path: Path
) -> None:
    script = tmp_path / "hold.py"
    script.write_text(HOLD_LOCK)
    holder = subprocess.Popen(
        [sys.executable, str(script), str(clinic_registry)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "LOCKED"
        with pytest.raises(InputError, match="cannot open registry"):
            import_sources(clinic_registry, [clinic_source], user="second")
    finally:
        holder.kill()
        holder.wait(timeout=30)
