"""Export: the full export round-trips; the de-identified one leaks no date, no age over 89,
no count below the threshold, and no spreadsheet formula."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import stat
from pathlib import Path

import pytest

from netoutcomes.errors import InputError
from netoutcomes.registry.export import (
    export_registry,
    neutralise,
    suppress_count,
    suppress_group,
)
from netoutcomes.registry.importing import import_sources
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import coded_columns
from netoutcomes.registry.store import create_registry, open_registry

DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _all_rows(path: Path) -> dict[str, list[dict]]:
    with open_registry(path) as registry:
        return {table: registry.stored_rows(table) for table in TABLES}


def test_full_export_round_trip_preserves_every_row(clinic_registry: Path, tmp_path: Path) -> None:
    export_registry(clinic_registry, tmp_path / "out")
    copy = create_registry(tmp_path / "copy.duckdb")
    import_sources(copy, [tmp_path / "out"], user="tester")
    assert _all_rows(copy) == _all_rows(clinic_registry)


def test_formula_in_a_cell_is_neutralised_in_csv_and_survives_round_trip(
    clinic_dir: Path, tmp_path: Path
) -> None:
    attack = "=cmd|' /C calc'!A0"
    followup = clinic_dir / "followup.csv"
    text = followup.read_text().replace("progressive disease", f'"{attack}"')
    followup.write_text(text)
    registry = create_registry(tmp_path / "r.duckdb")
    import_sources(registry, [clinic_dir], user="tester")
    export_registry(registry, tmp_path / "out")
    [dead] = [r for r in _read(tmp_path / "out" / "followup.csv") if r["vital_status"] == "dead"]
    assert dead["death_cause"] == "'" + attack  # a spreadsheet shows it as text, never runs it
    copy = create_registry(tmp_path / "copy.duckdb")
    import_sources(copy, [tmp_path / "out"], user="tester")
    assert _all_rows(copy) == _all_rows(registry)


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_neutralise_prefixes_every_formula_trigger(cell: str) -> None:
    assert neutralise(cell) == "'" + cell
    assert neutralise("plain text") == "plain text"


def test_suppress_count_hides_one_to_threshold_minus_one() -> None:
    assert [suppress_count(n, 5) for n in (0, 1, 4, 5, 6)] == [0, "<5", "<5", 5, 6]
    assert suppress_count(9, 10) == "<10"


def test_deidentified_export_has_no_date_no_old_birth_year_no_site_no_counts(
    clinic_registry: Path, tmp_path: Path
) -> None:
    out = tmp_path / "deid"
    as_of = dt.date(2026, 6, 1)
    export_registry(clinic_registry, out, deidentified=True, as_of=as_of, seed=7)
    for path in out.glob("*.csv"):
        text = path.read_text()
        assert not DATE.search(text), path.name
        for original_id in ("NET001", "NET002", "TR1", "SC1", "TH1", "AS1", "PG1", "CTR1", "CTR2"):
            assert not re.search(rf"\b{original_id}\b", text), (path.name, original_id)
        assert "progressive disease" not in text  # free text dropped
    # NET002 was born 1931: 95 in 2026, so folded; the others are younger.
    years = sorted(r["birth_year"] for r in _read(out / "patients.csv"))
    assert years == ["1950", "1972", "<=1936"]
    # Two centres, recoded; NET001 and NET002 (CTR1) still share one.
    assert sorted(r["site"] for r in _read(out / "patients.csv"))[0][0] == "C"
    assert len({r["site"] for r in _read(out / "patients.csv")}) == 2
    # Row-level mode publishes no counts beside the rows (they would recount suppressed cells).
    assert not (out / "summary_counts.csv").exists()
    # Days from diagnosis, worked by hand: NET001 diagnosed 2005-03-14, first MIBG 2009-04-15.
    therapy_days = sorted(int(r["day"]) for r in _read(out / "therapies.csv"))
    assert (dt.date(2009, 4, 15) - dt.date(2005, 3, 14)).days in therapy_days
    assert "diagnosis_date" not in _read(out / "diagnoses.csv")[0]


def _exact_counts(registry: Path) -> dict[tuple[str, str, str], int]:
    """Counts recomputed from the stored rows: the reference the suppressed file hides."""
    counts: dict[tuple[str, str, str], int] = {}
    with open_registry(registry) as opened:
        for table, spec in TABLES.items():
            rows = opened.stored_rows(table)
            counts[(table, "", "")] = len(rows)
            for column in coded_columns(spec):
                for row in rows:
                    value = "(missing)" if row[column] is None else str(row[column])
                    counts[(table, column, value)] = counts.get((table, column, value), 0) + 1
    return counts


def test_aggregate_export_is_the_counts_only_with_no_recoverable_small_cell(
    clinic_registry: Path, tmp_path: Path
) -> None:
    out = tmp_path / "agg"
    report = export_registry(clinic_registry, out, aggregate=True, min_cell=3)
    assert report.mode == "aggregate"
    assert sorted(p.name for p in out.iterdir()) == ["summary_counts.csv"]
    exact = _exact_counts(clinic_registry)
    shown = {
        (r["table"], r["column"], r["value"]): r["count"] for r in _read(out / "summary_counts.csv")
    }
    assert set(shown) == set(exact)
    # Lesions: 4 rows, uptake 4 twice, 3 once, 2 once (the clinic folder).
    assert shown[("lesions", "", "")] == "4"
    assert exact[("lesions", "uptake_grade", "4")] == 2
    for key, count in shown.items():
        if count.isdigit():
            assert int(count) == exact[key] and (exact[key] == 0 or exact[key] >= 3), key
        else:
            assert count in ("<3", "suppressed"), key
    # No breakdown lets subtraction recover a hidden cell: the hidden cells of each
    # breakdown are none, or at least two holding at least min_cell rows together, or
    # the whole breakdown of a table whose total is itself hidden.
    by_column: dict[tuple[str, str], list[str]] = {}
    for table, column, value in shown:
        if column:
            by_column.setdefault((table, column), []).append(value)
    for (table, column), values in by_column.items():
        hidden = [v for v in values if not shown[(table, column, v)].isdigit()]
        total_hidden = sum(exact[(table, column, v)] for v in hidden)
        total_shown = shown[(table, "", "")].isdigit()
        safe = len(hidden) >= 2 and (total_hidden >= 3 or not total_shown)
        assert not hidden or safe, (table, column)


def test_deidentified_ids_still_link_the_tables(clinic_registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "deid"
    export_registry(clinic_registry, out, deidentified=True, seed=3)
    patients = {r["patient_id"] for r in _read(out / "patients.csv")}
    scans = {r["scan_id"]: r["patient_id"] for r in _read(out / "scans.csv")}
    for table in ("diagnoses", "treatments", "progressions", "scans", "therapies", "followup"):
        assert {r["patient_id"] for r in _read(out / f"{table}.csv")} <= patients, table
    lesions = _read(out / "lesions.csv")
    assert {r["scan_id"] for r in lesions} <= set(scans)
    # The clinic's NET001 had 2 lesions on SC1 with uptake 4 and 3; find it by its shape.
    by_scan: dict[str, list[str]] = {}
    for r in lesions:
        by_scan.setdefault(r["scan_id"], []).append(r["uptake_grade"])
    assert sorted(map(sorted, by_scan.values())) == [["2"], ["3", "4"], ["4"]]


def test_one_small_count_gets_a_complementary_suppression() -> None:
    # Total 52 = 40 + 3 + 9: hiding only the 3 would leave 52 - 40 - 9 = 3 recoverable.
    assert suppress_group([40, 3, 9], 5) == [40, "<5", "suppressed"]
    # Two small counts hiding 5 rows between them (3 + 2) protect each other.
    assert suppress_group([40, 3, 2], 5) == [40, "<5", "<5"]
    assert suppress_group([40, 6, 0], 5) == [40, 6, 0]


def test_small_cells_adding_up_to_less_than_the_threshold_hide_a_third() -> None:
    # [1, 1, 50], total 52: '<5', '<5', 50 gives 52 - 50 = 2 = 1 + 1, both recovered.
    assert suppress_group([1, 1, 50], 5) == ["<5", "<5", "suppressed"]
    # [1, 2, 8, 40]: 1 + 2 = 3 < 5, so the 8 is hidden too (11 rows among three cells).
    assert suppress_group([1, 2, 8, 40], 5) == ["<5", "<5", "suppressed", 40]


def test_summary_breakdowns_include_missing_values(clinic_registry: Path, tmp_path: Path) -> None:
    export_registry(clinic_registry, tmp_path / "a", aggregate=True, min_cell=3)
    rows = _read(tmp_path / "a" / "summary_counts.csv")
    grades = {r["value"]: r["count"] for r in rows if r["column"] == "who_grade"}
    # Clinic: NET001 G1, NET002 G2, NET003 (lung) not graded: three cells of 1, all hidden.
    assert grades == {"G1": "<3", "G2": "<3", "(missing)": "<3"}


@pytest.mark.parametrize(
    ("options", "phrase"),
    [
        ({"min_cell": 3}, "applies to the aggregate export only"),
        ({"deidentified": True, "min_cell": 3}, "applies to the aggregate export only"),
        ({"aggregate": True, "min_cell": 2}, "at least 3"),
        ({"aggregate": True, "deidentified": True}, "choose one"),
    ],
)
def test_refused_export_options(
    clinic_registry: Path, tmp_path: Path, options: dict, phrase: str
) -> None:
    before = clinic_registry.read_bytes()
    with pytest.raises(InputError, match=phrase):
        export_registry(clinic_registry, tmp_path / "out", **options)
    assert clinic_registry.read_bytes() == before and not (tmp_path / "out").exists()


def test_exported_files_and_new_registries_are_owner_only_whatever_the_umask(
    clinic_registry: Path, tmp_path: Path
) -> None:
    old = os.umask(0)
    try:
        export_registry(clinic_registry, tmp_path / "out")
        created = create_registry(tmp_path / "new.duckdb")
    finally:
        os.umask(old)
    for path in [*(tmp_path / "out").iterdir(), created]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
