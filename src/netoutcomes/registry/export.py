"""Export a registry to CSV, in one of three modes, each audited.

- ``full``: one ``<table>.csv`` per table, the import format exactly, so that export
  followed by import into an empty registry reproduces every row;
- ``deidentified``: the same tables, row by row, de-identified by HIPAA Safe Harbor
  (``registry.deidentify``); no counts are published beside them;
- ``aggregate``: only ``summary_counts.csv``, small cells suppressed with
  complementary suppression (``registry.aggregate``). Row-level tables are never
  shipped beside suppressed counts: they would let anyone recount every cell.

Files are created owner-only (0600, whatever the umask), never through a symbolic
link, and every export appends an ``export`` entry to the audit log (who, mode,
folder, files, rows) in the same transaction that reads the rows.

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
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from netoutcomes.errors import InputError
from netoutcomes.registry.aggregate import (
    COMPLEMENTARY,
    DEFAULT_MIN_CELL,
    MIN_MIN_CELL,
    summary_counts,
    suppress_count,
    suppress_group,
)
from netoutcomes.registry.deidentify import SAFE_HARBOR_MAX_AGE, deidentify
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import StoredRow, column_types
from netoutcomes.registry.sources import FORMULA_TRIGGERS
from netoutcomes.registry.store import stored_row_error
from netoutcomes.registry.writer import write_session

__all__ = [
    "COMPLEMENTARY",
    "DEFAULT_MIN_CELL",
    "MIN_MIN_CELL",
    "SAFE_HARBOR_MAX_AGE",
    "ExportReport",
    "export_registry",
    "neutralise",
    "suppress_count",
    "suppress_group",
    "summary_counts",
]

ExportMode = Literal["full", "deidentified", "aggregate"]

# Exported files hold patient data: readable by their owner only, whatever the umask,
# and never written through a symbolic link (which could point anywhere).
EXPORT_FILE_MODE = 0o600
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)


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


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    try:
        fd = os.open(path, _OPEN_FLAGS, EXPORT_FILE_MODE)
    except OSError:
        if path.is_symlink():
            raise InputError(
                f"{path}: is a symbolic link; refusing to write an export through it"
            ) from None
        raise
    os.fchmod(fd, EXPORT_FILE_MODE)  # an existing file keeps its mode on open: set it
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([format_cell(v) for v in row] for row in rows)


@dataclass(frozen=True)
class ExportReport:
    outdir: Path
    rows: dict[str, int]  # file stem -> rows written
    mode: ExportMode

    @property
    def deidentified(self) -> bool:
        return self.mode != "full"


def check_export_options(
    deidentified: bool, aggregate: bool, min_cell: int | None
) -> tuple[ExportMode, int]:
    """The mode and threshold, or an InputError saying which combination is refused."""
    if deidentified and aggregate:
        raise InputError(
            "--deidentified and --aggregate are separate exports: row-level tables beside "
            "suppressed counts would let anyone recount the suppressed cells; choose one"
        )
    if min_cell is not None and not aggregate:
        raise InputError(
            "--min-cell applies to the aggregate export only (--aggregate); row-level "
            "exports publish no counts"
        )
    threshold = DEFAULT_MIN_CELL if min_cell is None else min_cell
    if threshold < MIN_MIN_CELL:
        raise InputError(
            f"--min-cell must be at least {MIN_MIN_CELL}, got {threshold}: a suppressed "
            "cell of 1 or 2 would still single out a patient"
        )
    mode: ExportMode = "aggregate" if aggregate else "deidentified" if deidentified else "full"
    return mode, threshold


def export_registry(
    registry_path: str | Path,
    outdir: str | Path,
    deidentified: bool = False,
    min_cell: int | None = None,
    as_of: dt.date | None = None,
    seed: int | None = None,
    *,
    aggregate: bool = False,
    user: str = "unknown",
    audit_key: bytes | None = None,
) -> ExportReport:
    """Write the registry to ``outdir`` in one mode (see the module doc); audited."""
    mode, threshold = check_export_options(deidentified, aggregate, min_cell)
    outdir = Path(outdir)
    if outdir.is_symlink():
        raise InputError(f"{outdir}: is a symbolic link; refusing to write an export through it")
    with write_session(registry_path, audit_key) as session:
        state = {table: session.stored_rows(table) for table in TABLES}
        if mode != "full":
            _check_rows(Path(registry_path), state)
        tables = _tables(state, mode, threshold, as_of, seed)
        details: dict[str, Any] = {
            "mode": mode,
            "outdir": str(outdir.resolve()),
            "files": {f"{name}.csv": len(rows) for name, (_, rows) in tables.items()},
        }
        if mode == "aggregate":
            details["min_cell"] = threshold
        _refuse_symlinks(outdir, tables)  # before the audit entry: a refusal changes nothing
        session.record_event("export", user, details)
    try:
        outdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, (header, rows) in tables.items():
            write_csv(outdir / f"{name}.csv", header, rows)
    except OSError as exc:
        raise InputError(f"{outdir}: cannot write the export ({exc.strerror or exc})") from None
    return ExportReport(outdir, {name: len(rows) for name, (_, rows) in tables.items()}, mode)


def _refuse_symlinks(outdir: Path, tables: dict[str, Any]) -> None:
    for name in tables:
        if (outdir / f"{name}.csv").is_symlink():
            raise InputError(
                f"{outdir / f'{name}.csv'}: is a symbolic link; refusing to write an export "
                "through it"
            )


def _check_rows(path: Path, state: dict[str, list[StoredRow]]) -> None:
    """Rows leaving the clinic de-identified must pass the model (codes, formats)."""
    for table, spec in TABLES.items():
        for row in state[table]:
            try:
                spec.model.model_validate(row)
            except ValidationError as exc:
                raise stored_row_error(path, spec, row, exc) from None


def _tables(
    state: dict[str, list[StoredRow]],
    mode: ExportMode,
    min_cell: int,
    as_of: dt.date | None,
    seed: int | None,
) -> dict[str, tuple[list[str], list[list[Any]]]]:
    if mode == "aggregate":
        return {
            "summary_counts": (
                ["table", "column", "value", "count"],
                summary_counts(state, min_cell),
            )
        }
    if mode == "deidentified":
        rng = random.Random(secrets.randbits(64) if seed is None else seed)
        return deidentify(state, as_of or dt.date.today(), rng)
    tables = {}
    for table, spec in TABLES.items():
        columns = list(column_types(spec))
        tables[table] = (columns, [[r[c] for c in columns] for r in state[table]])
    return tables
