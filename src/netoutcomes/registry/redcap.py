"""Read a REDCap records export through its data dictionary and a small YAML mapping.

The mapping file (``.yaml``) names the two REDCap files (paths relative to it)
and, per registry table, where each column comes from::

    records: records.csv              # REDCap "CSV (raw data)" records export
    data_dictionary: dictionary.csv   # REDCap data dictionary (CSV)
    tables:
      patients:                       # non-repeating: the record's base row
        event: baseline_arm_1         # optional, longitudinal projects only
        columns:
          patient_id: record_id       # a REDCap field, as is
          sex: {field: sex, values: {Female: female, Male: male}}
          birth_year: yob
          site: {value: CTR1}         # a constant
      therapies:
        instrument: mibg_therapy      # a repeating instrument: one row per instance
        columns:
          patient_id: record_id
          therapy_id: {template: "{record_id}-T{redcap_repeat_instance}"}
          agent: {value: i131_mibg}
          date: th_date
          activity_mci: th_mci
          cycle: redcap_repeat_instance

Coded REDCap fields (radio, dropdown, yes/no) are exported as codes; the data
dictionary's choices turn a code into its label, and ``values`` maps the label
(or the code) to the registry's value. Rows are then validated like any other
source, and problems name the records file, its row and the registry column.
"""

from __future__ import annotations

import csv
import io
import string
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from netoutcomes.registry.model import TABLES
from netoutcomes.registry.sources import (
    Problem,
    SourceData,
    SourceFile,
    SourceRow,
    check_header,
    csv_error_rule,
    did_you_mean,
    sha256_of,
)

REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
EVENT = "redcap_event_name"


class ColumnSource(BaseModel):
    """Exactly one of ``field``, ``value``, ``template``."""

    model_config = ConfigDict(extra="forbid")
    field: str | None = None
    value: str | None = None
    template: str | None = None
    values: dict[str, str] | None = None


class TableMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instrument: str | None = None  # repeating instrument; None = the record's base row
    event: str | None = None  # longitudinal projects: only rows of this redcap_event_name
    columns: dict[str, str | ColumnSource]


class RedcapMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: str
    data_dictionary: str
    tables: dict[str, TableMapping]


def _choices(dictionary_text: str) -> tuple[set[str], set[str], dict[str, dict[str, str]]]:
    """Field names, form (instrument) names and, per coded field, code -> label."""
    reader = csv.reader(io.StringIO(dictionary_text, newline=""))
    header = next(reader, [])
    fields: set[str] = set()
    forms: set[str] = set()
    choices: dict[str, dict[str, str]] = {}
    for cells in reader:
        row = dict(zip(header, cells, strict=False))
        name = row.get("Variable / Field Name", "").strip()
        if not name:
            continue
        fields.add(name)
        forms.add(row.get("Form Name", "").strip())
        kind = row.get("Field Type", "").strip()
        text = row.get("Choices, Calculations, OR Slider Labels", "")
        if kind in ("radio", "dropdown") and text:
            pairs = [part.split(",", 1) for part in text.split("|") if "," in part]
            choices[name] = {code.strip(): label.strip() for code, label in pairs}
        elif kind == "yesno":
            choices[name] = {"1": "Yes", "0": "No"}
    return fields, forms - {""}, choices


def _cell(
    source: str | ColumnSource, record: dict[str, str], choices: dict[str, dict[str, str]]
) -> str | None:
    if isinstance(source, str):
        source = ColumnSource(field=source)
    if source.value is not None:
        return source.value
    if source.template is not None:
        return source.template.format_map(defaultdict(str, record))
    raw = record.get(source.field or "", "").strip()
    if raw == "":
        return None
    label = choices.get(source.field or "", {}).get(raw, raw)
    if source.values is not None:
        return source.values.get(label, source.values.get(raw, label))
    return label


def _referenced_fields(mapping: TableMapping) -> list[str]:
    """REDCap fields a table's mapping reads, including those inside templates."""
    names: list[str] = []
    for source in mapping.columns.values():
        if isinstance(source, str):
            names.append(source)
        elif source.field is not None:
            names.append(source.field)
        elif source.template is not None:
            names += _template_fields(source.template) or []
    return names


def _template_fields(template: str) -> list[str] | None:
    """The field names of a template, or None when it is not plain ``{field}`` placeholders."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:  # a lone "{" or "}"
        return None
    names = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            return None  # "{}", "{0}", "{a.b}", "{a[0]}", "{a:d}", "{a!r}"
        names.append(name)
    return names


TEMPLATE_RULE = (
    "a template holds REDCap field names in braces, e.g. {record_id}-T{redcap_repeat_instance}, "
    "with nothing else inside the braces; write a literal brace twice ({{ or }})"
)


def _template_problems(path: Path, mapping: RedcapMapping) -> list[Problem]:
    problems = []
    for table, table_map in mapping.tables.items():
        for column, source in table_map.columns.items():
            template = source.template if isinstance(source, ColumnSource) else None
            if template is not None and _template_fields(template) is None:
                where = f"tables.{table}.{column}"
                problems.append(Problem(str(path), None, where, template, TEMPLATE_RULE))
    return problems


def _id_field(mapping: TableMapping) -> str | None:
    """The REDCap field the table's patient_id comes from (present on every row)."""
    source = mapping.columns.get("patient_id")
    return source if isinstance(source, str) else (source.field if source else None)


def _load_mapping(path: Path, data: bytes) -> tuple[RedcapMapping | None, list[Problem]]:
    try:
        raw: Any = yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), None, None, None, f"not a YAML mapping ({exc})")]
    try:
        mapping = RedcapMapping.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(str(path), None, ".".join(map(str, e["loc"])), None, e["msg"])
            for e in exc.errors()
        ]
        return None, problems
    problems = [
        Problem(str(path), None, f"tables.{t}", None, f"not a registry table: {', '.join(TABLES)}")
        for t in mapping.tables
        if t not in TABLES
    ]
    return mapping, problems + _template_problems(path, mapping)


def _read_records(path: Path, text: str) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """Every records row (spreadsheet line number, field -> cell); a short or long row,
    as left by an export cut in the middle, is a problem, never a row with blanks."""
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] = []
    try:
        header = [h.strip() for h in next(reader, [])]
        for cells in reader:
            if not cells:
                continue
            if len(cells) != len(header):
                rule = (
                    f"row has {len(cells)} cells but the header has {len(header)} "
                    "(export cut short or edited by hand?)"
                )
                problems.append(Problem(str(path), reader.line_num, None, None, rule))
                continue
            rows.append((reader.line_num, dict(zip(header, cells, strict=True))))
    except csv.Error as exc:
        problems.append(Problem(str(path), reader.line_num, None, None, csv_error_rule(exc)))
    if not header and not problems:
        problems.append(Problem(str(path), 1, None, None, "empty file: no header row"))
    return rows, problems


def read_redcap(mapping_path: Path) -> SourceData:
    """Registry rows from a REDCap export, as described by ``mapping_path``."""
    data = mapping_path.read_bytes()
    result = SourceData(files=[SourceFile(str(mapping_path), sha256_of(data))])
    mapping, problems = _load_mapping(mapping_path, data)
    result.problems += problems
    if mapping is None or problems:
        return result
    records_path = mapping_path.parent / mapping.records
    dictionary_path = mapping_path.parent / mapping.data_dictionary
    texts: dict[Path, str] = {}
    for path in (records_path, dictionary_path):
        if not path.is_file():
            result.problems.append(Problem(str(path), None, None, None, "no such file"))
            continue
        raw_bytes = path.read_bytes()
        result.files.append(SourceFile(str(path), sha256_of(raw_bytes)))
        try:
            texts[path] = raw_bytes.decode("utf-8-sig")
        except UnicodeDecodeError:
            result.problems.append(Problem(str(path), None, None, None, "not UTF-8 text"))
    if result.problems:
        return result
    try:
        fields, forms, choices = _choices(texts[dictionary_path])
    except csv.Error as exc:
        rule = csv_error_rule(exc)
        result.problems.append(Problem(str(dictionary_path), None, None, None, rule))
        return result
    records_sha = result.files[1].sha256
    records, problems = _read_records(records_path, texts[records_path])
    result.problems += problems
    if problems:
        result.unreadable |= set(mapping.tables)
        return result
    columns = set(records[0][1]) if records else set()
    known = fields | columns | {REPEAT_INSTANCE, REPEAT_INSTRUMENT}
    events = {r.get(EVENT, "").strip() for _, r in records} - {""}
    for table, table_map in mapping.tables.items():
        if table_map.instrument is not None and table_map.instrument not in forms:
            rule = "not an instrument (Form Name) of the data dictionary" + did_you_mean(
                table_map.instrument, forms
            )
            where = f"tables.{table}.instrument"
            result.problems.append(
                Problem(str(mapping_path), None, where, table_map.instrument, rule)
            )
        if table_map.event is not None and table_map.event not in events:
            rule = "no record of the export has this redcap_event_name" + did_you_mean(
                table_map.event, events
            )
            where = f"tables.{table}.event"
            result.problems.append(Problem(str(mapping_path), None, where, table_map.event, rule))
        check = check_header(table, str(mapping_path), list(table_map.columns))
        result.problems += [
            Problem(p.file, None, f"tables.{table}.{p.column}", None, p.rule) for p in check
        ]
        id_field = _id_field(table_map)
        if records and id_field is not None and id_field not in columns:
            rule = "the records export has no such column (the patient_id of every row)"
            result.problems.append(Problem(str(records_path), 1, None, id_field, rule))
        for name in _referenced_fields(table_map):
            if name not in known:
                rule = "REDCap field not in the data dictionary nor the records export"
                rule += did_you_mean(name, known)
                result.problems.append(
                    Problem(str(mapping_path), None, f"tables.{table}", name, rule)
                )
    if result.problems:
        return result
    for line, record in records:
        instrument = (record.get(REPEAT_INSTRUMENT) or "").strip() or None
        for table, table_map in mapping.tables.items():
            if table_map.instrument != instrument:
                continue
            if table_map.event is not None and record.get(EVENT, "").strip() != table_map.event:
                continue
            id_field = _id_field(table_map)
            fields_used = [
                f
                for f in _referenced_fields(table_map)
                if f not in (id_field, REPEAT_INSTANCE, REPEAT_INSTRUMENT)
            ]
            if fields_used and all(not (record.get(f) or "").strip() for f in fields_used):
                continue  # this record has nothing for this table
            values = {
                column: _cell(source, record, choices)
                for column, source in table_map.columns.items()
            }
            result.rows.append(SourceRow(table, str(records_path), line, values, records_sha))
    return result
