"""A REDCap data dictionary (and the import mapping) that makes a REDCap project match
the registry, so that the project's records export imports with no hand-written mapping.

    write_redcap_dictionary("netoutcomes_dictionary.csv")
    # -> the dictionary, and netoutcomes_dictionary.mapping.yaml beside it

One instrument (form) per table. ``patients`` carries ``record_id`` (the
patient_id); ``diagnoses`` and ``followup`` are one per patient (non-repeating);
the other tables are repeating instruments (set them as repeating in the
project's setup: REDCap keeps that outside the dictionary). A field is
``<table>_<column>`` (field names are unique in a project). Coded columns are
dropdowns whose labels are the registry's codes; dates are validated
``date_ymd``, integers ``integer``, numbers ``number`` with their bounds.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from netoutcomes.registry.model import TABLES, TableSpec
from netoutcomes.registry.schema import allowed_codes, column_types, is_free_text, required_columns

# REDCap's data dictionary columns, in its order (the upload checks the header).
HEADER = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
RECORD_ID = "record_id"
ONE_PER_PATIENT = ("patients", "diagnoses", "followup")  # the record's base row
_VALIDATION = {"date": "date_ymd", "integer": "integer", "real": "number"}


def field_name(table: str, column: str) -> str:
    return RECORD_ID if (table, column) == ("patients", "patient_id") else f"{table}_{column}"


def _bounds(spec: TableSpec, column: str) -> tuple[str, str]:
    low = high = ""
    for meta in spec.model.model_fields[column].metadata:
        for attribute in ("ge", "gt"):
            if getattr(meta, attribute, None) is not None:
                low = f"{getattr(meta, attribute):g}"
        for attribute in ("le", "lt"):
            if getattr(meta, attribute, None) is not None:
                high = f"{getattr(meta, attribute):g}"
    return low, high


def _field_rows(table: str, spec: TableSpec) -> list[dict[str, str]]:
    rows = []
    required = set(required_columns(spec))
    for column, kind in column_types(spec).items():
        if table != "patients" and column == "patient_id":
            continue  # the record itself says whose row it is
        row = dict.fromkeys(HEADER, "")
        codes = allowed_codes(spec, column)
        row["Variable / Field Name"] = field_name(table, column)
        row["Form Name"] = table
        row["Field Label"] = spec.model.model_fields[column].description or column
        if codes is not None:
            row["Field Type"] = "dropdown"
            choices = [f"{n}, {code}" for n, code in enumerate(codes, start=1)]
            row["Choices, Calculations, OR Slider Labels"] = " | ".join(choices)
        elif is_free_text(spec, column):
            row["Field Type"] = "notes"
        else:
            row["Field Type"] = "text"
            row["Text Validation Type OR Show Slider Number"] = _VALIDATION.get(kind, "")
            if kind in ("integer", "real"):
                low, high = _bounds(spec, column)
                row["Text Validation Min"], row["Text Validation Max"] = low, high
        row["Required Field?"] = "y" if column in required else ""
        rows.append(row)
    return rows


def dictionary_csv() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER, lineterminator="\n")
    writer.writeheader()
    for table, spec in TABLES.items():
        writer.writerows(_field_rows(table, spec))
    return out.getvalue()


def mapping(records: str, dictionary: str) -> dict[str, Any]:
    """The import mapping of a project made from ``dictionary_csv`` (see registry.redcap)."""
    tables: dict[str, Any] = {}
    for table, spec in TABLES.items():
        columns = {
            column: RECORD_ID if column == "patient_id" else field_name(table, column)
            for column in column_types(spec)
        }
        entry: dict[str, Any] = {"columns": columns}
        if table not in ONE_PER_PATIENT:
            entry = {"instrument": table, **entry}
        tables[table] = entry
    return {"records": records, "data_dictionary": dictionary, "tables": tables}


def write_redcap_dictionary(path: str | Path, records: str = "records.csv") -> list[Path]:
    """The dictionary at ``path`` and its mapping ``<path stem>.mapping.yaml`` beside it."""
    path = Path(path)
    mapping_path = path.with_name(path.stem + ".mapping.yaml")
    for target in (path, mapping_path):
        with target.open("x", encoding="utf-8", newline="") as handle:
            if target == path:
                handle.write(dictionary_csv())
            else:
                handle.write(
                    "# netoutcomes import mapping of a REDCap project made from "
                    f"{path.name}.\n# Put the project's records export (CSV, raw data) "
                    f"beside it as {records}.\n"
                )
                yaml.safe_dump(mapping(records, path.name), handle, sort_keys=False)
    return [path, mapping_path]
