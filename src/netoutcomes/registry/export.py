"""Export a registry to CSV: in full (re-importable), or de-identified for sharing.

Full export: one ``<table>.csv`` per table, the import format exactly, so that
export followed by import into an empty registry reproduces every row.

De-identified export (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)):
- every date becomes a whole number of days from the patient's histological
  diagnosis (column ``start_date`` -> ``start_day``, ``date`` -> ``day``;
  ``diagnosis_date`` itself is dropped: it is day 0);
- every id (patient, treatment, scan, ...) is replaced by a new random code,
  since a clinic's study id can be known outside the study;
- a year of birth of a person older than 89 (on the export date) is folded
  into one category ``<=YYYY`` (YYYY = export year - 90);
- free-text columns (cause of death) are dropped;
- ``summary_counts.csv`` (counts per coded value) suppresses every count from
  1 to ``min_cell - 1`` as ``<min_cell``.

Every text cell that a spreadsheet would read as a formula (starting with
= + - @, tab or carriage return) is written with a leading apostrophe; the
importer removes it again (``sources.unneutralise``).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import secrets
from collections import Counter
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from netoutcomes.errors import InputError
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import StoredRow, coded_columns, column_types, is_free_text
from netoutcomes.registry.sources import FORMULA_TRIGGERS
from netoutcomes.registry.store import open_registry

SAFE_HARBOR_MAX_AGE = 89
DEFAULT_MIN_CELL = 5

# Id column -> (the table that defines it, prefix of its replacement in a de-identified export).
_ID_COLUMNS = {
    "patient_id": ("patients", "P"),
    "treatment_id": ("treatments", "T"),
    "progression_id": ("progressions", "G"),
    "scan_id": ("scans", "S"),
    "therapy_id": ("therapies", "R"),
    "assessment_id": ("assessments", "A"),
}


def neutralise(text: str) -> str:
    """Prefix an apostrophe to a cell a spreadsheet would run as a formula (CSV injection)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same float
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


# Exported files hold patient data: readable by their owner only, whatever the umask,
# and never written through a symbolic link (which could point anywhere).
EXPORT_FILE_MODE = 0o600
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    try:
        fd = os.open(path, _OPEN_FLAGS, EXPORT_FILE_MODE)
    except OSError:
        if path.is_symlink():
            raise InputError(
                f"{path}: is a symbolic link; refusing to write an export through it"
            ) from None
        raise
    os.fchmod(fd, EXPORT_FILE_MODE)  # the umask may have narrowed, never widened, it: set it
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([format_cell(v) for v in row] for row in rows)


def suppress_count(count: int, min_cell: int = DEFAULT_MIN_CELL) -> int | str:
    """A count fit to leave the clinic: 1 .. min_cell-1 become ``<min_cell``; 0 stays 0."""
    return f"<{min_cell}" if 0 < count < min_cell else count


@dataclass(frozen=True)
class ExportReport:
    outdir: Path
    rows: dict[str, int]  # table -> rows written
    deidentified: bool


def _fresh_ids(values: list[str], prefix: str, rng: random.Random) -> dict[str, str]:
    shuffled = sorted(set(values))
    rng.shuffle(shuffled)
    width = max(4, len(str(len(shuffled))))
    return {old: f"{prefix}{n:0{width}d}" for n, old in enumerate(shuffled, start=1)}


def _deidentified_column(column: str) -> str:
    if column == "date":
        return "day"
    return column.removesuffix("_date") + "_day"


def _deidentify(
    state: dict[str, list[StoredRow]], as_of: dt.date, rng: random.Random
) -> dict[str, tuple[list[str], list[list[Any]]]]:
    id_maps = {
        column: _fresh_ids([r[column] for r in state[table]], prefix, rng)
        for column, (table, prefix) in _ID_COLUMNS.items()
    }
    diagnosis_date = {r["patient_id"]: r["diagnosis_date"] for r in state["diagnoses"]}
    patient_of_scan = {r["scan_id"]: r["patient_id"] for r in state["scans"]}
    oldest = as_of.year - SAFE_HARBOR_MAX_AGE - 1
    out: dict[str, tuple[list[str], list[list[Any]]]] = {}
    for table, spec in TABLES.items():
        kinds = column_types(spec)
        columns = [
            c
            for c in kinds
            if not is_free_text(spec, c) and not (table == "diagnoses" and c == "diagnosis_date")
        ]
        header = [_deidentified_column(c) if kinds[c] == "date" else c for c in columns]
        rows = []
        lesion_numbers: Counter[str] = Counter()
        for row in state[table]:
            patient = row.get("patient_id") or patient_of_scan.get(row.get("scan_id", ""))
            origin = diagnosis_date.get(patient) if patient else None
            cells: list[Any] = []
            for c in columns:
                value = row[c]
                if c in id_maps and value is not None:
                    value = id_maps[c][value]
                elif c == "lesion_id":
                    lesion_numbers[row["scan_id"]] += 1
                    value = f"L{lesion_numbers[row['scan_id']]}"
                elif kinds[c] == "date":
                    value = None if value is None or origin is None else (value - origin).days
                elif c == "birth_year" and value is not None and value <= oldest:
                    value = f"<={oldest}"
                cells.append(value)
            rows.append(cells)
        rows.sort(key=lambda cells: [str(v) for v in cells])  # do not leak the stored order
        out[table] = (header, rows)
    return out


COMPLEMENTARY = "suppressed"  # a count >= min_cell hidden so that a small one cannot be derived


def suppress_group(counts: list[int], min_cell: int = DEFAULT_MIN_CELL) -> list[int | str]:
    """Suppress the small counts of one breakdown whose total is published.

    With exactly one small count hidden, the total minus the others would give it
    back; so the smallest other non-zero count is hidden too (complementary
    suppression), written ``suppressed``.
    """
    shown: list[int | str] = [suppress_count(c, min_cell) for c in counts]
    small = [i for i, c in enumerate(counts) if 0 < c < min_cell]
    others = [i for i, c in enumerate(counts) if c >= min_cell]
    if len(small) == 1 and others:
        shown[min(others, key=lambda i: counts[i])] = COMPLEMENTARY
    return shown


def summary_counts(
    state: dict[str, list[StoredRow]], min_cell: int = DEFAULT_MIN_CELL
) -> list[list[Any]]:
    """Rows (table, column, value, count): every coded column, small counts suppressed.

    The table's row count is published, and a column's missing values are counted
    as the value ``(missing)``, so each breakdown adds up to that total: which is
    why ``suppress_group`` adds complementary suppression.
    """
    rows: list[list[Any]] = []
    for table, spec in TABLES.items():
        rows.append([table, "", "", suppress_count(len(state[table]), min_cell)])
        for column in coded_columns(spec):
            tally = Counter(
                "(missing)" if r[column] is None else str(r[column]) for r in state[table]
            )
            values = sorted(tally)
            shown = suppress_group([tally[v] for v in values], min_cell)
            rows += [[table, column, v, n] for v, n in zip(values, shown, strict=True)]
    return rows


def export_registry(
    registry_path: str | Path,
    outdir: str | Path,
    deidentified: bool = False,
    min_cell: int = DEFAULT_MIN_CELL,
    as_of: dt.date | None = None,
    seed: int | None = None,
) -> ExportReport:
    """Write every table to ``outdir`` as CSV (see the module doc for the de-identified rules)."""
    if min_cell < 1:
        raise InputError(f"--min-cell must be at least 1, got {min_cell}")
    outdir = Path(outdir)
    with open_registry(registry_path) as registry:
        state = {table: registry.stored_rows(table) for table in TABLES}
    if outdir.is_symlink():
        raise InputError(f"{outdir}: is a symbolic link; refusing to write an export through it")
    try:
        outdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return _write_export(state, outdir, deidentified, min_cell, as_of, seed)
    except OSError as exc:
        raise InputError(f"{outdir}: cannot write the export ({exc.strerror or exc})") from None


def _write_export(
    state: dict[str, list[StoredRow]],
    outdir: Path,
    deidentified: bool,
    min_cell: int,
    as_of: dt.date | None,
    seed: int | None,
) -> ExportReport:
    written: dict[str, int] = {}
    if not deidentified:
        for table, spec in TABLES.items():
            columns = list(column_types(spec))
            rows = [[r[c] for c in columns] for r in state[table]]
            write_csv(outdir / f"{table}.csv", columns, rows)
            written[table] = len(state[table])
        return ExportReport(outdir, written, deidentified=False)
    rng = random.Random(secrets.randbits(64) if seed is None else seed)
    tables = _deidentify(state, as_of or dt.date.today(), rng)
    for table, (header, rows) in tables.items():
        write_csv(outdir / f"{table}.csv", header, rows)
        written[table] = len(rows)
    summary = summary_counts(state, min_cell)
    write_csv(outdir / "summary_counts.csv", ["table", "column", "value", "count"], summary)
    return ExportReport(outdir, written, deidentified=True)
