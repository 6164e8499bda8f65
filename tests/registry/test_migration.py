"""A registry written by schema version 1 is upgraded in place and keeps every row."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from netoutcomes.errors import InputError
from netoutcomes.interfaces.cli.main import app
from netoutcomes.registry.audit import verify_audit
from netoutcomes.registry.chain import head_path
from netoutcomes.registry.importing import import_sources
from netoutcomes.registry.model import Diagnosis, Patient, Therapy
from netoutcomes.registry.schema import SCHEMA_VERSION
from netoutcomes.registry.store import create_registry, open_registry, upgrade_registry

V1_SQL = Path(__file__).parent / "data" / "registry_v1.sql"


def _registry_from_sql(path: Path, sql: Path) -> Path:
    conn = duckdb.connect(str(path))
    conn.execute(sql.read_text())
    conn.close()
    return path


@pytest.fixture
def v1_registry(tmp_path: Path) -> Path:
    return _registry_from_sql(tmp_path / "old.duckdb", V1_SQL)


def test_opening_a_v1_registry_upgrades_it_and_keeps_rows(v1_registry: Path) -> None:
    with open_registry(v1_registry) as registry:
        assert registry.schema_version == SCHEMA_VERSION == 4
        assert [p.patient_id for p in registry.rows_of(Patient)] == ["NET001", "NET002"]
        # 200 and 300 mCi at 37 MBq per mCi.
        assert [t.activity_mbq for t in registry.rows_of(Therapy)] == [7400.0, 11100.0]
        assert [d.lung_category for d in registry.rows_of(Diagnosis)] == [None, None]
        # The old audit entry survives the migration, which appends a checkpoint.
        assert [e.who for e in registry.audit()] == ["founder", "netoutcomes schema migration"]
    assert upgrade_registry(v1_registry) == []  # already current: nothing to do


def test_upgrade_reports_the_versions_applied(v1_registry: Path) -> None:
    assert upgrade_registry(v1_registry) == [2, 3, 4]


def test_upgraded_registry_accepts_imports(v1_registry: Path, clinic_source: Path) -> None:
    report = import_sources(v1_registry, [clinic_source], user="tester")
    # NET001/NET002 and their rows were already there; TH1 was 200 mCi = 7400 MBq as in the CSV.
    assert report.counts["patients"].inserted == 1 and report.counts["patients"].unchanged == 2
    assert report.counts["therapies"].unchanged == 2


def test_a_failing_migration_leaves_the_registry_at_v1(v1_registry: Path) -> None:
    conn = duckdb.connect(str(v1_registry))
    conn.execute("ALTER TABLE therapies RENAME COLUMN activity_mci TO dose")  # breaks v1 -> v2
    conn.close()
    with pytest.raises(InputError, match="cannot upgrade the registry from schema version 1"):
        upgrade_registry(v1_registry)
    conn = duckdb.connect(str(v1_registry), read_only=True)
    assert conn.execute("SELECT max(version) FROM schema_version").fetchall() == [(1,)]
    conn.close()


def test_a_non_registry_file_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(InputError, match="not a netoutcomes registry"), open_registry(other):
        pass


def test_migration_chains_the_old_audit_entries(v1_registry: Path, clinic_source: Path) -> None:
    import_sources(v1_registry, [clinic_source], user="tester")
    with open_registry(v1_registry) as registry:
        assert registry.audit_intact() is None
        assert registry.audit()[0].who == "founder"


def test_a_registry_from_a_newer_version_is_refused(clinic_registry: Path) -> None:
    conn = duckdb.connect(str(clinic_registry))
    conn.execute(f"INSERT INTO schema_version VALUES ({SCHEMA_VERSION + 1}, now())")
    conn.close()
    with (
        pytest.raises(InputError, match="is newer than this netoutcomes"),
        open_registry(clinic_registry),
    ):
        pass


def test_upgraded_registry_verifies_and_its_checkpoint_covers_the_old_rows(
    v1_registry: Path,
) -> None:
    assert upgrade_registry(v1_registry) == [2, 3, 4]
    assert head_path(v1_registry).exists()  # written by the upgrade
    verdict = verify_audit(v1_registry)
    assert verdict.intact and verdict.entries == 2, verdict.problems
    conn = duckdb.connect(str(v1_registry))
    conn.execute("UPDATE therapies SET activity_mbq = 1 WHERE activity_mbq = 7400")
    conn.close()
    assert any("table therapies differs" in p for p in verify_audit(v1_registry).problems)


V3_SQL = Path(__file__).parent / "data" / "registry_v3.sql"


@pytest.fixture
def v3_registry(tmp_path: Path) -> Path:
    """A registry as version 3 wrote it (the clinic folder imported by 'founder')."""
    return _registry_from_sql(tmp_path / "v3.duckdb", V3_SQL)


def _v3_rows(path: Path) -> dict[str, list[tuple]]:
    conn = duckdb.connect(str(path), read_only=True)
    tables = [
        "patients",
        "diagnoses",
        "treatments",
        "progressions",
        "scans",
        "lesions",
        "therapies",
        "assessments",
        "followup",
        "audit",
    ]
    rows = {t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
    conn.close()
    return rows


def test_a_v3_registry_upgrades_to_v4_keeping_rows_and_audit(v3_registry: Path) -> None:
    before = _v3_rows(v3_registry)
    assert sum(len(r) for t, r in before.items() if t != "audit") == 28  # the clinic folder
    assert upgrade_registry(v3_registry) == [4]
    after = _v3_rows(v3_registry)
    for table, rows in before.items():
        if table == "audit":  # the upgrade appends one checkpoint, changes no old entry
            assert after[table][: len(rows)] == rows
            assert len(after[table]) == len(rows) + 1
        else:
            assert after[table] == rows, table
    conn = duckdb.connect(str(v3_registry), read_only=True)
    tables = {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"users", "adverse_events"} <= tables
    assert conn.execute("SELECT count(*) FROM adverse_events").fetchall() == [(0,)]
    conn.close()
    verdict = verify_audit(v3_registry)
    assert verdict.intact, verdict.problems
    result = CliRunner().invoke(app, ["audit", str(v3_registry), "--verify"])
    assert result.exit_code == 0, result.output


def test_an_upgraded_registry_has_the_tables_of_a_new_one(
    v1_registry: Path, v3_registry: Path, tmp_path: Path
) -> None:
    def layout(path: Path) -> list[tuple]:
        conn = duckdb.connect(str(path), read_only=True)
        rows = conn.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "ORDER BY table_name, column_name"
        ).fetchall()
        conn.close()
        return rows

    new = create_registry(tmp_path / "new.duckdb")
    upgrade_registry(v1_registry)
    upgrade_registry(v3_registry)
    assert layout(v1_registry) == layout(new)
    assert layout(v3_registry) == layout(new)
    assert any(row[0] == "users" for row in layout(new))


def test_an_upgraded_v3_registry_accepts_adverse_events(v3_registry: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ae"
    folder.mkdir()
    (folder / "adverse_events.csv").write_text(
        "patient_id,ae_id,term,grade,onset_date,therapy_id,attribution\n"
        "NET001,AE1,platelet_count_decreased,3,2009-05-10,TH1,probable\n"
    )
    report = import_sources(v3_registry, [folder], user="tester")
    assert report.counts["adverse_events"].inserted == 1
    assert verify_audit(v3_registry).intact
