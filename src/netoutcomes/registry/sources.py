"""Read import sources into raw rows: a folder of CSVs, an XLSX workbook, a REDCap export.

Readers never stop at the first problem: they collect every one (file, row,
column, value, rule) and keep going, so a user fixes a file in one round.
They do not validate values; ``registry.importing`` does.

Row numbers are what a spreadsheet shows: the header is row 1, the first data
row is row 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import required_columns

Severity = Literal["error", "warning"]

# Accepted instead of the stored column on import (converted by the model).
COLUMN_ALTERNATIVES: dict[str, dict[str, str]] = {"therapies": {"activity_mci": "activity_mbq"}}

# Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as the input allows."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        shown = "" if self.value is None else f"value {self.value!r}: "
        return f"{', '.join(where)}: {shown}{self.rule}"


@dataclass(frozen=True)
class SourceRow:
    table: str
    file: str
    row: int
    values: dict[str, Any]
    sha256: str


@dataclass(frozen=True)
class SourceFile:
    file: str
    sha256: str


@dataclass
class SourceData:
    rows: list[SourceRow] = field(default_factory=list)
    files: list[SourceFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Tables whose file could not be read whole: rows may be missing, so rows of
    # other tables that point to them are not reported as orphans (no cascade).
    unreadable: set[str] = field(default_factory=set)

    def extend(self, other: SourceData) -> None:
        self.rows += other.rows
        self.files += other.files
        self.problems += other.problems
        self.unreadable |= other.unreadable


def did_you_mean(
    value: str, candidates: set[str] | list[str] | tuple[str, ...], cutoff: float = 0.6
) -> str:
    """`` (did you mean 'x'?)`` when a candidate is close to ``value``, else ''."""
    close = difflib.get_close_matches(value, list(candidates), n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def csv_error_rule(exc: csv.Error) -> str:
    """A csv module error in words (its own text names a C-level limit)."""
    if "field larger than field limit" in str(exc):
        limit = csv.field_size_limit()
        return (
            f"a cell is longer than {limit:,} characters: an unbalanced quote, "
            "or not a CSV text file"
        )
    return f"malformed CSV ({exc}); truncated file or unbalanced quotes?"


def _delimiter_hint(first_line: str) -> str | None:
    """A hint when a header is separated by ';' or tabs (a European Excel 'CSV')."""
    for delimiter, name in ((";", "semicolons"), ("\t", "tabs")):
        if first_line.count(delimiter) > first_line.count(","):
            return (
                f"the header is separated by {name}, not commas: save the file as "
                "'CSV UTF-8 (comma delimited)'"
            )
    return None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unneutralise(value: Any) -> Any:
    """Undo the export's formula neutralisation: "'=x" back to "=x" (round-trip)."""
    if isinstance(value, str) and value[:1] == "'" and value[1:2] in FORMULA_TRIGGERS:
        return value[1:]
    return value


def check_header(table: str, file: str, header: list[str]) -> list[Problem]:
    """Unknown, duplicated and missing columns of a table's header row."""
    spec = TABLES[table]
    alternatives = COLUMN_ALTERNATIVES.get(table, {})
    allowed = set(spec.columns) | set(alternatives)
    problems = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(file, 1, name, None, "column appears twice in the header"))
        seen.add(name)
        if name not in allowed:
            rule = f"unknown column; {table} has: {', '.join(spec.columns)}"
            problems.append(Problem(file, 1, name, None, rule))
    for name in required_columns(spec):
        replaced_by = [alt for alt, target in alternatives.items() if target == name]
        if name not in seen and not any(alt in seen for alt in replaced_by):
            problems.append(Problem(file, 1, name, None, "required column is missing"))
    return problems


def _decode(data: bytes, file: str) -> tuple[str | None, Problem | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex()
        rule = "not UTF-8 text; save the file as 'CSV UTF-8'"
        return None, Problem(file, line, None, f"byte 0x{bad}", rule)


def read_csv_table(table: str, data: bytes, file: str) -> SourceData:
    """One table's CSV bytes: header check, then one SourceRow per non-blank line."""
    digest = sha256_of(data)
    result = SourceData(files=[SourceFile(file, digest)])
    text, problem = _decode(data, file)
    if problem is not None or text is None:
        result.problems.append(problem or Problem(file, None, None, None, "cannot decode"))
        result.unreadable.add(table)
        return result
    if "\x00" in text:
        rule = "contains NUL bytes: not a CSV text file"
        result.problems.append(Problem(file, None, None, None, rule))
        result.unreadable.add(table)
        return result
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        result.problems.append(Problem(file, 1, None, None, "empty file: no header row"))
        result.unreadable.add(table)
        return result
    except csv.Error as exc:
        result.problems.append(Problem(file, 1, None, None, csv_error_rule(exc)))
        result.unreadable.add(table)
        return result
    header_problems = check_header(table, file, header)
    hint = _delimiter_hint(text.partition("\n")[0]) if header_problems else None
    if hint is not None:  # one line that says why, not one per unknown column
        header_problems = [Problem(file, 1, None, None, hint)]
    if header_problems:  # every row would repeat them: report the header only
        result.problems += header_problems
        result.unreadable.add(table)
        return result
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or all(c.strip() == "" for c in cells):
                continue
            if len(cells) != len(header):
                rule = (
                    f"row has {len(cells)} cells but the header has {len(header)} "
                    "(truncated or misquoted file?)"
                )
                result.problems.append(Problem(file, line, None, None, rule))
                continue
            values = {h: unneutralise(c) for h, c in zip(header, cells, strict=True)}
            result.rows.append(SourceRow(table, file, line, values, digest))
    except csv.Error as exc:
        result.problems.append(Problem(file, reader.line_num, None, None, csv_error_rule(exc)))
    if result.problems:
        result.unreadable.add(table)
    return result


def read_csv_folder(folder: Path) -> SourceData:
    """Every ``<table>.csv`` in a folder (tables may be missing; unknown files are errors)."""
    result = SourceData()
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        result.problems.append(
            Problem(str(folder), None, None, None, "no CSV files (expected <table>.csv)")
        )
    by_table: dict[str, list[Path]] = {}
    for path in files:  # names are matched case-insensitively: Patients.CSV is patients
        by_table.setdefault(path.stem.lower(), []).append(path)
    for stem, paths in by_table.items():
        if stem not in TABLES:
            rule = f"not a registry table; expected one of {', '.join(TABLES)}"
            rule += did_you_mean(stem, tuple(TABLES))
            result.problems += [Problem(str(p), None, None, None, rule) for p in paths]
        elif len(paths) > 1:
            rule = f"two files for table {stem}: {' and '.join(p.name for p in paths)}; keep one"
            result.problems.append(Problem(str(folder), None, None, None, rule))
    for table in TABLES:  # parents before children
        if len(by_table.get(table, ())) == 1:
            [path] = by_table[table]
            result.extend(read_csv_table(table, path.read_bytes(), str(path)))
    return result


def _sheet_tables(path: Path, sheetnames: list[str]) -> tuple[dict[str, str], list[Problem]]:
    """table -> sheet name (matched case-insensitively), and the sheets that are a problem.

    A sheet whose name is close to a table's ('Patient') is an error, not skipped: its
    rows would be lost silently. Other sheets (a README) are ignored with a warning.
    """
    sheets: dict[str, str] = {}
    problems = []
    for name in sheetnames:
        table = name.strip().lower()
        if table in sheets:
            rule = f"sheets {sheets[table]!r} and {name!r} are both table {table}; keep one"
            problems.append(Problem(str(path), None, None, None, rule))
        elif table in TABLES:
            sheets[table] = name
        elif hint := did_you_mean(table, tuple(TABLES), cutoff=0.8):
            rule = f"sheet {name!r} is not a registry table{hint}; rename the sheet"
            problems.append(Problem(str(path), None, None, None, rule))
        else:
            rule = f"sheet {name!r} is not a registry table; ignored"
            problems.append(Problem(str(path), None, None, None, rule, "warning"))
    return sheets, problems


def _xlsx_cell(value: Any) -> Any:
    """An Excel cell as the text a CSV would hold (a date stays a date).

    Numbers become text so that a numeric id typed in Excel (lesion 1) is the
    id "1", as in a CSV; numeric columns parse the text back.
    """
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    return unneutralise(value)


def read_xlsx(path: Path) -> SourceData:
    """A workbook with one sheet per table (sheet name = table name, header in row 1)."""
    import openpyxl  # imported here: only XLSX imports pay for it

    data = path.read_bytes()
    digest = sha256_of(data)
    result = SourceData(files=[SourceFile(str(path), digest)])
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        result.problems.append(
            Problem(str(path), None, None, None, f"not a readable XLSX workbook ({exc})")
        )
        return result
    try:
        sheets, problems = _sheet_tables(path, workbook.sheetnames)
        result.problems += problems
        for table in TABLES:
            if table not in sheets:
                continue
            where = f"{path}[{sheets[table]}]"
            try:
                _read_sheet(result, table, where, workbook[sheets[table]], digest)
            except Exception as exc:  # damaged sheet XML: openpyxl/ElementTree raise many types
                rule = f"sheet cannot be read, the workbook is damaged ({type(exc).__name__})"
                result.problems.append(Problem(where, None, None, None, rule))
                result.unreadable.add(table)
    finally:
        workbook.close()
    return result


def _read_sheet(result: SourceData, table: str, where: str, sheet: Any, digest: str) -> None:
    rows = sheet.iter_rows(values_only=True)
    first = next(rows, None)
    if first is None:
        return
    header = [str(h).strip() if h is not None else "" for h in first]
    while header and header[-1] == "":
        header.pop()
    header_problems = check_header(table, where, header)
    if header_problems:  # every row would repeat them: report the header only
        result.problems += header_problems
        result.unreadable.add(table)
        return
    for number, cells in enumerate(rows, start=2):
        values = {h: _xlsx_cell(c) for h, c in zip(header, cells, strict=False)}
        if all(v is None or str(v).strip() == "" for v in values.values()):
            continue
        result.rows.append(SourceRow(table, where, number, values, digest))


def read_sources(sources: list[Path]) -> SourceData:
    """Dispatch every source on its kind: folder of CSVs, .xlsx, REDCap mapping (.yaml)."""
    result = SourceData()
    for source in sources:
        if source.is_dir():
            result.extend(read_csv_folder(source))
        elif not source.exists():
            result.problems.append(Problem(str(source), None, None, None, "no such file or folder"))
        elif source.suffix.lower() == ".xlsx":
            result.extend(read_xlsx(source))
        elif source.suffix.lower() in (".yaml", ".yml"):
            from netoutcomes.registry.redcap import read_redcap

            result.extend(read_redcap(source))
        elif source.suffix.lower() == ".csv" and source.stem.lower() in TABLES:
            result.extend(read_csv_table(source.stem.lower(), source.read_bytes(), str(source)))
        else:
            rule = (
                "unknown source: give a folder of <table>.csv files, an .xlsx workbook, "
                "a <table>.csv file or a REDCap mapping .yaml"
            )
            result.problems.append(Problem(str(source), None, None, None, rule))
    return result
