"""Import sources into a registry: validate everything, then write all of it or nothing.

    report = import_sources("clinic.duckdb", [Path("csv_folder")], user="jdoe")

1. read every source (``registry.sources``), collecting problems;
2. validate every row against its model (types, codes, ranges, one-row rules);
3. reject duplicate keys within the import;
4. merge with the rows already stored and check the cross-table rules
   (``registry.consistency``) on the merged state;
5. if anything is wrong, raise ``ImportRejected`` with ALL the problems; the
   transaction is rolled back having written nothing, so the registry file
   stays byte-for-byte the same;
6. otherwise compare each row with the stored one: new rows are inserted,
   changed rows updated, identical rows left alone (re-importing changes
   nothing), all in one transaction with one audit entry per changed row.

Rows absent from the sources are kept: an import never deletes. Columns absent
from a source keep their stored values; a blank cell clears one.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from netoutcomes.errors import InputError
from netoutcomes.registry.consistency import RowRef, State, check_consistency
from netoutcomes.registry.messages import describe
from netoutcomes.registry.model import TABLES, WHO_2019, GradeThresholds
from netoutcomes.registry.plausibility import unlikely_values
from netoutcomes.registry.sources import (
    COLUMN_ALTERNATIVES,
    Problem,
    Severity,
    SourceData,
    SourceRow,
    read_sources,
)
from netoutcomes.registry.store import row_key, stored_row
from netoutcomes.registry.writer import Batch, RowChange, WriteSession, write_session

# Called as progress(done, total) every PROGRESS_EVERY rows while rows are validated.
ProgressHook = Callable[[int, int], None]
PROGRESS_EVERY = 250


class ImportRejected(InputError):
    """The import had problems and wrote nothing. ``problems`` holds every one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{errors[0]} (and {len(errors) - 1} more problems; nothing imported)")


@dataclass(frozen=True)
class TableCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class ImportReport:
    batch_id: str | None  # None when nothing was written (nothing changed, or a dry run)
    counts: dict[str, TableCounts]
    warnings: list[Problem] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(c.inserted + c.updated for c in self.counts.values())


def _validation_problems(row: SourceRow, error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        column = str(item["loc"][0]) if item["loc"] else _column_named(row, message)
        value = row.values.get(column) if column else None
        message = describe(item, value)
        shown = None if value is None else str(value)
        problems.append(Problem(row.file, row.row, column, shown, message))
    return problems


def _column_named(row: SourceRow, message: str) -> str | None:
    """A rule over several columns names the one it is about first ("end_date ... is before")."""
    first = message.split(" ", 1)[0]
    return first if first in row.values else None


@dataclass
class _Validated:
    incoming: State = field(default_factory=dict)
    origin: dict[RowRef, SourceRow] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    invalid: set[RowRef] = field(default_factory=set)  # raw keys of rows that failed validation


def _raw(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _validate_rows(rows: list[SourceRow], progress: ProgressHook | None) -> _Validated:
    result = _Validated()
    for done, row in enumerate(rows, start=1):
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == len(rows)):
            progress(done, len(rows))
        spec = TABLES[row.table]
        try:
            record = spec.model.model_validate(row.values)
        except ValidationError as exc:
            result.problems += _validation_problems(row, exc)
            # The row exists, only badly: its children are not orphans (no cascade of errors).
            raw_key = tuple(_raw(row.values.get(c)) for c in spec.primary_key)
            result.invalid.add(RowRef(row.table, raw_key))
            continue
        values = stored_row(record)
        key = row_key(spec, values)
        ref = RowRef(row.table, key)
        if ref in result.origin:
            first = result.origin[ref]
            rule = (
                f"duplicate key {'/'.join(map(str, key))} in {row.table} "
                f"(first at {first.file}, row {first.row})"
            )
            result.problems.append(Problem(row.file, row.row, spec.primary_key[0], None, rule))
            continue
        result.origin[ref] = row
        result.incoming.setdefault(row.table, {})[key] = values
    return result


def _parent_unknown(
    related: RowRef, validated: _Validated, unreadable: set[str], merged: State
) -> bool:
    """The other row is already reported: invalid, or possibly in a file not read whole."""
    if related in validated.invalid:
        return True
    return related.table in unreadable and related.key not in merged.get(related.table, {})


def _consistency_problems(
    merged: State,
    validated: _Validated,
    unreadable: set[str],
    registry_path: Path,
    thresholds: GradeThresholds,
) -> list[Problem]:
    problems = []
    for v in check_consistency(merged, thresholds):
        if v.related is not None and _parent_unknown(v.related, validated, unreadable, merged):
            continue
        source = validated.origin.get(v.at)
        if source is None and v.related is not None:
            source = validated.origin.get(v.related)
        value = None if v.value is None else str(v.value)
        if source is not None:
            problems.append(Problem(source.file, source.row, v.column, value, v.rule, v.severity))
        else:  # broken before this import (e.g. a rule added later): report, do not block
            where = f"{registry_path}[{v.at.table} {'/'.join(map(str, v.at.key))}]"
            problems.append(Problem(where, None, v.column, value, v.rule, "warning"))
    return problems


def _unlikely(
    merged: State, stored: State, validated: _Validated, confirmed: bool
) -> list[Problem]:
    """Possible-but-unlikely values of new or changed rows: errors unless confirmed."""
    changed = {
        ref
        for ref, source in validated.origin.items()
        if stored.get(ref.table, {}).get(ref.key) != validated.incoming[ref.table][ref.key]
    }
    problems = []
    for v in unlikely_values(merged, changed):
        source = validated.origin[v.at]
        severity: Severity = "warning" if confirmed else "error"
        problems.append(Problem(source.file, source.row, v.column, str(v.value), v.rule, severity))
    return problems


def _changes(
    stored: State, validated: _Validated
) -> tuple[list[RowChange], dict[str, TableCounts]]:
    changes: list[RowChange] = []
    counts: dict[str, TableCounts] = {}
    for table, rows in validated.incoming.items():
        inserted = updated = unchanged = 0
        for key, row in rows.items():
            old = stored.get(table, {}).get(key)
            source = validated.origin[RowRef(table, key)]
            if old == row:
                unchanged += 1
                continue
            if old is None:
                inserted += 1
                changes.append(RowChange(table, "insert", row, None, source.file, source.sha256))
            else:
                updated += 1
                changes.append(RowChange(table, "update", row, old, source.file, source.sha256))
        counts[table] = TableCounts(inserted, updated, unchanged)
    return changes, counts


def os_user() -> str:
    """The operating-system user, for the audit log when no --user is given."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no USER variable and no passwd entry (some containers)
        return "unknown"


def _stored_state(session: WriteSession) -> State:
    return {
        spec.name: {row_key(spec, r): r for r in session.stored_rows(spec.name)}
        for spec in TABLES.values()
    }


def _keep_absent_columns(rows: list[SourceRow], stored: State) -> list[SourceRow]:
    """Rows of existing keys take the stored value of every column their source lacks.

    So a file with only patient_id, last_contact_date and vital_status updates
    those columns and leaves death_date alone; a blank cell, by contrast, clears
    a value. (All primary-key columns are text, so raw cells match stored keys.)
    """
    completed = []
    for row in rows:
        spec = TABLES[row.table]
        key = tuple(_raw(row.values.get(c)) for c in spec.primary_key)
        old = stored.get(row.table, {}).get(key)
        present = set(row.values) | {
            target
            for alternative, target in COLUMN_ALTERNATIVES.get(row.table, {}).items()
            if alternative in row.values
        }
        absent = [c for c in spec.columns if c not in present]
        if old is None or not absent:
            completed.append(row)
            continue
        values = {**row.values, **{c: old[c] for c in absent}}
        completed.append(SourceRow(row.table, row.file, row.row, values, row.sha256))
    return completed


def import_data(
    registry_path: str | Path,
    data: SourceData,
    user: str | None = None,
    thresholds: GradeThresholds = WHO_2019,
    progress: ProgressHook | None = None,
    dry_run: bool = False,
    audit_key: bytes | None = None,
    confirm_unlikely: bool = False,
) -> ImportReport:
    """Validate ``data`` against the registry and write it all, or raise ImportRejected.

    Validation and writing happen in one transaction (``writer.write_session``).
    ``dry_run`` validates and counts the changes but writes nothing. ``audit_key``
    (default: from the environment, see ``registry.chain``) MACs the audit entries.
    ``confirm_unlikely`` turns the possible-but-unlikely findings of
    ``registry.plausibility`` from errors into warnings.
    """
    registry_path = Path(registry_path)
    with write_session(registry_path, audit_key) as session:
        stored = _stored_state(session)
        validated = _validate_rows(_keep_absent_columns(data.rows, stored), progress)
        problems = data.problems + validated.problems
        merged: State = {t: dict(rows) for t, rows in stored.items()}
        for table, rows in validated.incoming.items():
            merged.setdefault(table, {}).update(rows)
        problems += _consistency_problems(
            merged, validated, data.unreadable, registry_path, thresholds
        )
        problems += _unlikely(merged, stored, validated, confirm_unlikely)
        if any(p.severity == "error" for p in problems):
            raise ImportRejected(problems)
        changes, counts = _changes(stored, validated)
        warnings = [p for p in problems if p.severity == "warning"]
        if not changes or dry_run:
            return ImportReport(None, counts, warnings)
        batch = Batch(
            batch_id=uuid.uuid4().hex,
            who=user or os_user(),
            sources=[{"file": f.file, "sha256": f.sha256} for f in data.files],
        )
        session.apply(batch, changes)
    return ImportReport(batch.batch_id, counts, warnings)


def import_sources(
    registry_path: str | Path,
    sources: Sequence[str | Path],
    user: str | None = None,
    thresholds: GradeThresholds = WHO_2019,
    progress: ProgressHook | None = None,
    dry_run: bool = False,
    audit_key: bytes | None = None,
    confirm_unlikely: bool = False,
) -> ImportReport:
    """Import folders of CSVs, XLSX workbooks and REDCap mappings: all or nothing."""
    data = read_sources([Path(s) for s in sources])
    return import_data(
        registry_path, data, user, thresholds, progress, dry_run, audit_key, confirm_unlikely
    )
