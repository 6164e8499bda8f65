"""Forms generated from the registry's models: the same fields, codes and rules as an import.

A form posts text; the values go through ``registry.importing.import_data`` as
one-row "web form" sources, so a form is validated exactly like a CSV row,
and each problem (a ``Problem`` with its row and column) is shown beside its
field. A scan's form carries up to ``LESION_ROWS`` lesion rows, saved with the
scan in the same import.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import allowed_codes, column_types, required_columns
from netoutcomes.registry.sources import Problem

LESION_ROWS = 4
# Tables whose records belong to a patient and are added from the patient's page.
PATIENT_TABLES = (
    "diagnoses",
    "treatments",
    "progressions",
    "scans",
    "therapies",
    "assessments",
    "adverse_events",
    "followup",
)
TITLES = {
    "patients": "Patient",
    "diagnoses": "Diagnosis",
    "treatments": "Standard-of-care treatment",
    "progressions": "Progression",
    "scans": "Scan",
    "lesions": "Lesion",
    "therapies": "Radiopharmaceutical therapy",
    "assessments": "Response assessment",
    "adverse_events": "Adverse event",
    "followup": "Follow-up",
}


@dataclass(frozen=True)
class Field:
    name: str  # the form field's name (``lesion2.site`` for a lesion row)
    column: str
    label: str
    help: str
    kind: str  # "select", "date", "number", "text"
    required: bool
    choices: tuple[str, ...]
    value: str
    error: str | None
    readonly: bool


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fields_of(
    table: str,
    values: dict[str, Any],
    errors: dict[str, str],
    readonly: set[str],
    prefix: str = "",
    skip: tuple[str, ...] = (),
) -> list[Field]:
    spec = TABLES[table]
    kinds = column_types(spec)
    required = set(required_columns(spec))
    result = []
    for column, info in spec.model.model_fields.items():
        if column in skip:
            continue
        codes = allowed_codes(spec, column)
        if codes is not None:
            kind = "select"
        elif kinds[column] == "date":
            kind = "date"
        elif kinds[column] in ("integer", "real"):
            kind = "number"
        else:
            kind = "text"
        result.append(
            Field(
                name=prefix + column,
                column=column,
                label=column.replace("_", " "),
                help=info.description or "",
                kind=kind,
                required=column in required,
                choices=tuple(codes or ()),
                value=_text(values.get(column)),
                error=errors.get(prefix + column),
                readonly=column in readonly,
            )
        )
    return result


def submitted(table: str, form: dict[str, str], prefix: str = "") -> dict[str, Any]:
    """The form's values for ``table`` as an import row: blank cells are missing values."""
    values: dict[str, Any] = {}
    for column in TABLES[table].model.model_fields:
        raw = form.get(prefix + column, "").strip()
        values[column] = raw or None
    return values


def lesion_prefix(i: int) -> str:
    return f"lesion{i}."


def lesion_rows(form: dict[str, str], scan_id: str | None) -> list[dict[str, Any]]:
    """The lesion rows the user filled in (a row left blank is no lesion)."""
    rows = []
    for i in range(1, LESION_ROWS + 1):
        values = submitted("lesions", form, lesion_prefix(i))
        values.pop("scan_id", None)
        if any(v is not None for v in values.values()):
            rows.append({**values, "scan_id": scan_id, "_form_row": i})
    return rows


def errors_by_field(
    problems: list[Problem], row_prefixes: dict[int, str]
) -> tuple[dict[str, str], list[str]]:
    """Problems beside their field (import row -> field prefix), the rest for the top."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for p in problems:
        if p.severity != "error":
            continue
        prefix = row_prefixes.get(p.row) if p.row is not None else None
        if prefix is not None and p.column:
            by_field.setdefault(prefix + p.column, p.rule)
        else:
            general.append(p.rule if p.column is None else f"{p.column}: {p.rule}")
    return by_field, general
