"""The registry commands end to end through Typer, and the generated data dictionary."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from netoutcomes.interfaces.cli.main import _register_commands, app
from netoutcomes.registry.dictionary import data_dictionary_markdown
from netoutcomes.registry.importing import os_user
from netoutcomes.registry.model import TABLES

_register_commands()
runner = CliRunner()
DOCS = Path(__file__).parents[2] / "docs" / "data-dictionary.md"


def test_checked_in_data_dictionary_is_what_the_code_generates() -> None:
    # Regenerate with: python -m netoutcomes.registry.dictionary > docs/data-dictionary.md
    assert DOCS.read_text() == data_dictionary_markdown()


def test_dictionary_lists_every_column_of_every_table() -> None:
    text = data_dictionary_markdown()
    for spec in TABLES.values():
        assert f"## {spec.name}\n" in text
        for column in spec.columns:
            assert f"| `{column}` |" in text


def test_init_import_audit_export(tmp_path: Path, clinic_source: Path) -> None:
    registry = tmp_path / "r.duckdb"
    assert runner.invoke(app, ["init", str(registry)]).exit_code == 0
    before = registry.read_bytes()
    args = ["import", str(registry), str(clinic_source), "--user", "ana"]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert "dry run: 28 rows would change; nothing was written" in dry.stdout
    assert registry.read_bytes() == before
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "28 rows changed" in result.output
    again = runner.invoke(app, ["import", str(registry), str(clinic_source), "--user", "ana"])
    assert "nothing changed" in again.output
    audit = runner.invoke(app, ["audit", str(registry), "--json"])
    entries = json.loads(audit.stdout)
    # 28 inserts and the checkpoint that closes the batch; --user is a claim, not a login.
    assert [e["action"] for e in entries] == ["insert"] * 28 + ["checkpoint"]
    assert {e["who"] for e in entries} == {f"cli:ana (unauthenticated; OS user {os_user()})"}
    assert runner.invoke(app, ["audit", str(registry)]).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["export", str(registry), str(out), "--aggregate", "--min-cell", "3"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "summary_counts.csv").exists()


def test_template_writes_one_header_per_table(tmp_path: Path) -> None:
    result = runner.invoke(app, ["template", str(tmp_path / "tpl")])
    assert result.exit_code == 0
    for spec in TABLES.values():
        with (tmp_path / "tpl" / f"{spec.name}.csv").open(newline="") as handle:
            assert list(csv.reader(handle)) == [list(spec.columns)]
    assert (tmp_path / "tpl" / "data-dictionary.md").read_text() == data_dictionary_markdown()


def test_bad_import_lists_every_problem_and_exits_2(tmp_path: Path, clinic_dir: Path) -> None:
    registry = tmp_path / "r.duckdb"
    runner.invoke(app, ["init", str(registry)])
    (clinic_dir / "patients.csv").write_text(
        "patient_id,sex,birth_year,site\nNET001,F,1950,CTR1\nNET002,male,1931,CTR1\n"
        "NET003,female,19x2,CTR2\n"
    )
    result = runner.invoke(app, ["import", str(registry), str(clinic_dir)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert any("patients.csv, row 2, column sex: value 'F'" in line for line in lines)
    assert any("patients.csv, row 4, column birth_year: value '19x2'" in line for line in lines)
    assert lines[-1] == "error: 2 problems; nothing was imported"
    assert "Traceback" not in result.output


def test_user_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello")
    cases = [
        (["init", str(not_a_db)], "already exists"),
        (["audit", str(tmp_path / "missing.duckdb")], "no such registry file"),
        (["audit", str(not_a_db)], "not a netoutcomes registry"),
        (["export", str(not_a_db), str(tmp_path / "o"), "--min-cell", "0"], "--min-cell"),
        (
            ["export", str(not_a_db), str(tmp_path / "o"), "--aggregate", "--min-cell", "1"],
            "at least 3",
        ),
    ]
    registry = tmp_path / "r.duckdb"
    runner.invoke(app, ["init", str(registry)])
    cases.append((["export", str(registry), str(not_a_db)], "cannot write the export"))
    for args, expected in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("error: ") and expected in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_audit_verify_detects_an_edited_entry(clinic_registry: Path) -> None:
    import duckdb

    ok = runner.invoke(app, ["audit", str(clinic_registry), "--verify"])
    assert ok.exit_code == 0 and "audit log intact: 29 entries" in ok.stdout
    conn = duckdb.connect(str(clinic_registry))
    conn.execute("UPDATE audit SET who = 'someone else' WHERE audit_id = 5")
    conn.close()
    edited = runner.invoke(app, ["audit", str(clinic_registry), "--verify"])
    assert edited.exit_code == 2
    assert "audit entry 5 breaks the hash chain" in edited.stderr


def test_large_import_runs_with_a_progress_bar(tmp_path: Path) -> None:
    source = tmp_path / "big"
    source.mkdir()
    lines = ["patient_id,sex,birth_year,site"] + [
        f"P{i:05d},female,{1930 + i % 50},CTR1" for i in range(2500)
    ]
    (source / "patients.csv").write_text("\n".join(lines) + "\n")
    registry = tmp_path / "r.duckdb"
    runner.invoke(app, ["init", str(registry)])
    result = runner.invoke(app, ["import", str(registry), str(source), "--user", "bulk"])
    assert result.exit_code == 0, result.output
    assert "2500 rows changed" in result.stdout
