"""Row-level de-identification (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)) of a registry's rows.

- every date becomes a whole number of days from the patient's histological
  diagnosis (``start_date`` -> ``start_day``, ``date`` -> ``day``); ``diagnosis_date``
  is dropped (it is day 0); a date of a patient without a diagnosis is left blank;
- every id (patient, treatment, scan, ...) is replaced by a new random code, and so
  is the treating centre (``site``): a clinic's ids and a small centre can be known
  outside the study. The mappings are not kept;
- a year of birth of a person 90 or older on the export date is folded into one
  category ``<=YYYY`` (YYYY = export year - 90);
- free-text columns (cause of death) are dropped; coded columns hold only their
  codes (the rows are validated before they leave).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import StoredRow, column_types, is_free_text

SAFE_HARBOR_MAX_AGE = 89

# Id column -> (the table that defines it, prefix of its replacement in a de-identified export).
_ID_COLUMNS = {
    "patient_id": ("patients", "P"),
    "treatment_id": ("treatments", "T"),
    "progression_id": ("progressions", "G"),
    "scan_id": ("scans", "S"),
    "therapy_id": ("therapies", "R"),
    "assessment_id": ("assessments", "A"),
    "ae_id": ("adverse_events", "E"),
}
_SITE_PREFIX = "C"

Tables = dict[str, tuple[list[str], list[list[Any]]]]  # table -> (header, rows)


def _fresh_ids(values: list[str], prefix: str, rng: random.Random) -> dict[str, str]:
    shuffled = sorted(set(values))
    rng.shuffle(shuffled)
    width = max(4, len(str(len(shuffled))))
    return {old: f"{prefix}{n:0{width}d}" for n, old in enumerate(shuffled, start=1)}


def _deidentified_column(column: str) -> str:
    if column == "date":
        return "day"
    return column.removesuffix("_date") + "_day"


def deidentify(state: dict[str, list[StoredRow]], as_of: dt.date, rng: random.Random) -> Tables:
    """Every table de-identified: (header, rows), rows sorted so the stored order is not leaked."""
    id_maps = {
        column: _fresh_ids([r[column] for r in state[table]], prefix, rng)
        for column, (table, prefix) in _ID_COLUMNS.items()
    }
    diagnosis_date = {r["patient_id"]: r["diagnosis_date"] for r in state["diagnoses"]}
    patient_of_scan = {r["scan_id"]: r["patient_id"] for r in state["scans"]}
    sites = _fresh_ids([r["site"] for r in state["patients"]], _SITE_PREFIX, rng)
    oldest = as_of.year - SAFE_HARBOR_MAX_AGE - 1
    out: Tables = {}
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
                elif table == "patients" and c == "site":
                    value = sites[value]
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
