"""Rules that compare rows of several tables: orphans, the order of events, grade vs Ki-67.

They run on the whole proposed state of the registry (the rows already stored
merged with the incoming ones), as plain stored rows keyed by primary key, so
the same check serves an import and an audit of an existing registry.

Rules (errors unless stated):
- every child row has its parent (a treatment's patient, a lesion's scan, ...);
- birth year <= the year of every dated event of the patient;
- histological diagnosis <= every radiopharmaceutical therapy;
- death is the last event: no dated event after the death date;
- an adverse event's therapy is a therapy of the same patient, given on or
  before the onset;
- a recorded WHO grade that contradicts Ki-67 / mitoses is a WARNING (flagged,
  not rejected: the pathologist may have graded a hot spot we do not see).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from netoutcomes.registry.model import TABLES, WHO_2019, Diagnosis, GradeThresholds
from netoutcomes.registry.schema import RowKey, StoredRow, column_types

State = dict[str, dict[RowKey, StoredRow]]  # table -> key -> row

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class RowRef:
    table: str
    key: RowKey


@dataclass(frozen=True)
class Violation:
    """A broken rule, located at one row and column; ``related`` is the other row involved."""

    at: RowRef
    column: str
    value: Any
    rule: str
    related: RowRef | None = None
    severity: Severity = "error"


def _date_columns(table: str) -> list[str]:
    return [c for c, kind in column_types(TABLES[table]).items() if kind == "date"]


def _patient_of(table: str, row: StoredRow, state: State) -> str | None:
    if "patient_id" in row:
        return row["patient_id"]
    if table == "lesions":  # lesions hang off a scan
        scan = state.get("scans", {}).get((row["scan_id"],))
        return scan["patient_id"] if scan else None
    return None


def _orphans(state: State) -> list[Violation]:
    found = []
    for spec in TABLES.values():
        if spec.foreign_key is None:
            continue
        parents = state.get(spec.foreign_key.parent, {})
        for key, row in state.get(spec.name, {}).items():
            parent_key = tuple(row[c] for c in spec.foreign_key.columns)
            if parent_key not in parents:
                column = spec.foreign_key.columns[0]
                found.append(
                    Violation(
                        RowRef(spec.name, key),
                        column,
                        row[column],
                        f"orphan row: {column} {row[column]} is not in {spec.foreign_key.parent}",
                        RowRef(spec.foreign_key.parent, parent_key),
                    )
                )
    return found


def _dated_events(state: State) -> dict[str, list[tuple[RowRef, str, dt.date]]]:
    """patient_id -> every (row, column, date) of that patient."""
    events: dict[str, list[tuple[RowRef, str, dt.date]]] = defaultdict(list)
    for table in TABLES:
        dates = _date_columns(table)
        if not dates:
            continue
        for key, row in state.get(table, {}).items():
            patient = _patient_of(table, row, state)
            if patient is None:
                continue
            for column in dates:
                if table == "followup" and column == "death_date":
                    continue  # the reference point of the death rule, not an event
                if row[column] is not None:
                    events[patient].append((RowRef(table, key), column, row[column]))
    return events


def _event_order(state: State) -> list[Violation]:
    found = []
    patients = state.get("patients", {})
    diagnoses = state.get("diagnoses", {})
    followup = state.get("followup", {})
    for patient_id, events in _dated_events(state).items():
        patient = patients.get((patient_id,))
        if patient is not None:
            for ref, column, date in events:
                if date.year < patient["birth_year"]:
                    found.append(
                        Violation(
                            ref,
                            column,
                            date,
                            f"{column} {date} is before birth year {patient['birth_year']}",
                            RowRef("patients", (patient_id,)),
                        )
                    )
        diagnosis = diagnoses.get((patient_id,))
        if diagnosis is not None:
            for ref, column, date in events:
                if ref.table == "therapies" and date < diagnosis["diagnosis_date"]:
                    found.append(
                        Violation(
                            ref,
                            column,
                            date,
                            f"therapy on {date} is before the histological diagnosis "
                            f"({diagnosis['diagnosis_date']})",
                            RowRef("diagnoses", (patient_id,)),
                        )
                    )
        fu = followup.get((patient_id,))
        if fu is not None and fu["death_date"] is not None:
            for ref, column, date in events:
                if date > fu["death_date"]:
                    found.append(
                        Violation(
                            ref,
                            column,
                            date,
                            f"{column} {date} is after the death on {fu['death_date']} "
                            "(death must be the last event)",
                            RowRef("followup", (patient_id,)),
                        )
                    )
    return found


def _grades(state: State, thresholds: GradeThresholds) -> list[Violation]:
    found = []
    for key, row in state.get("diagnoses", {}).items():
        try:
            diagnosis = Diagnosis.model_validate(row)
        except ValidationError:  # a stored row edited outside netoutcomes: not graded here
            continue
        message = diagnosis.grade_conflict(thresholds)
        if message:
            found.append(
                Violation(
                    RowRef("diagnoses", key),
                    "who_grade",
                    row["who_grade"],
                    message,
                    severity="warning",
                )
            )
    return found


def _repeated_cycles(state: State) -> list[Violation]:
    """The same cycle number of one agent twice for a patient: a row entered twice."""
    found = []
    first: dict[tuple[Any, Any, Any], RowRef] = {}
    for key, row in sorted(state.get("therapies", {}).items()):
        cycle = (row["patient_id"], row["agent"], row["cycle"])
        ref = RowRef("therapies", key)
        if cycle in first:
            other = first[cycle]
            found.append(
                Violation(
                    ref,
                    "cycle",
                    row["cycle"],
                    f"cycle {row['cycle']} of {row['agent']} for patient {row['patient_id']} "
                    f"is already therapy {'/'.join(map(str, other.key))} (the same cycle twice)",
                    other,
                )
            )
        else:
            first[cycle] = ref
    return found


def _adverse_event_therapies(state: State) -> list[Violation]:
    """An adverse event linked to a therapy the patient did not have, or not yet."""
    found = []
    therapies = state.get("therapies", {})
    for key, row in sorted(state.get("adverse_events", {}).items()):
        therapy_id = row["therapy_id"]
        if therapy_id is None:
            continue
        ref = RowRef("adverse_events", key)
        therapy = therapies.get((therapy_id,))
        if therapy is None or therapy["patient_id"] != row["patient_id"]:
            found.append(
                Violation(
                    ref,
                    "therapy_id",
                    therapy_id,
                    f"therapy {therapy_id} is not a therapy of patient {row['patient_id']}",
                )
            )
        elif row["onset_date"] < therapy["date"]:
            found.append(
                Violation(
                    ref,
                    "onset_date",
                    row["onset_date"],
                    f"onset {row['onset_date']} is before its therapy {therapy_id} "
                    f"({therapy['date']})",
                    RowRef("therapies", (therapy_id,)),
                )
            )
    return found


def check_consistency(state: State, thresholds: GradeThresholds = WHO_2019) -> list[Violation]:
    """Every cross-table rule broken in ``state``."""
    return (
        _orphans(state)
        + _event_order(state)
        + _repeated_cycles(state)
        + _adverse_event_therapies(state)
        + _grades(state, thresholds)
    )
