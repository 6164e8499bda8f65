"""Patients: the list with filters, a patient's timeline with the verdict, add and edit forms."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from netoutcomes.errors import InputError
from netoutcomes.interfaces.web.auth import checked_form, redirect
from netoutcomes.interfaces.web.data import PROTOCOLS, RegistryAccess, protocol_named
from netoutcomes.interfaces.web.forms import (
    LESION_ROWS,
    PATIENT_TABLES,
    TITLES,
    errors_by_field,
    fields_of,
    lesion_prefix,
    lesion_rows,
    submitted,
)
from netoutcomes.interfaces.web.render import render
from netoutcomes.registry.importing import ImportRejected
from netoutcomes.registry.model import TABLES
from netoutcomes.study.cohorts import in_cohort

# The date column that places a record on the timeline.
TIMELINE_DATE = {
    "diagnoses": "diagnosis_date",
    "treatments": "start_date",
    "progressions": "date",
    "scans": "date",
    "therapies": "date",
    "assessments": "date",
    "adverse_events": "onset_date",
    "followup": "last_contact_date",
}


def _access(request: Request) -> RegistryAccess:
    access: RegistryAccess = request.app.state.access
    return access


async def patients(request: Request) -> Response:
    access = _access(request)
    q = request.query_params
    protocol_name = protocol_named(q.get("protocol"))
    search = q.get("q", "").strip().lower()
    cohort_id, verdict_filter = q.get("cohort", ""), q.get("verdict", "")

    def load() -> tuple[Any, list[Any], dict[str, Any], list[dict[str, Any]]]:
        protocol = access.protocol(protocol_name)
        records = access.records()
        verdicts = {v.patient_id: v for v in access.screening(protocol_name).verdicts}
        return protocol, records, verdicts, access.rows("patients")

    protocol, records, verdicts, rows = await access.read(load)
    cohorts = {c.id: c for c in protocol.cohorts}
    by_id = {r.patient_id: r for r in records}
    shown = []
    for row in rows:
        pid = row["patient_id"]
        record, verdict = by_id.get(pid), verdicts.get(pid)
        member_of = [c.label for c in protocol.cohorts if record and in_cohort(c, record)]
        if search and search not in pid.lower():
            continue
        if cohort_id in cohorts and not (record and in_cohort(cohorts[cohort_id], record)):
            continue
        if verdict_filter and (verdict is None or verdict.verdict.value != verdict_filter):
            continue
        shown.append({"row": row, "verdict": verdict, "cohorts": member_of, "record": record})
    return render(
        request,
        "patients.html",
        patients=shown,
        total=len(rows),
        protocols=PROTOCOLS,
        protocol=protocol_name,
        cohorts=protocol.cohorts,
        filters={"q": q.get("q", ""), "cohort": cohort_id, "verdict": verdict_filter},
        verdict_values=("eligible", "ineligible", "cannot_assess"),
    )


def _key_query(table: str, row: dict[str, Any]) -> str:
    return urlencode({c: row[c] for c in TABLES[table].primary_key})


async def timeline(request: Request) -> Response:
    access = _access(request)
    pid = request.path_params["patient_id"]
    protocol_name = protocol_named(request.query_params.get("protocol"))

    def load() -> tuple[Any, Any]:
        return access.patient_rows(pid), access.verdict(protocol_name, pid)

    rows, verdict = await access.read(load)
    if not rows["patients"]:
        return render(request, "error.html", 404, title="Not found", message="No such patient.")
    lesions: dict[str, list[dict[str, Any]]] = {}
    for lesion in rows["lesions"]:
        lesions.setdefault(lesion["scan_id"], []).append(lesion)
    events = []
    for table, column in TIMELINE_DATE.items():
        for row in rows.get(table, []):
            events.append(
                {
                    "date": row[column] or dt.date.min,
                    "table": table,
                    "title": TITLES[table],
                    "row": row,
                    "lesions": lesions.get(row.get("scan_id", ""), []) if table == "scans" else [],
                    "edit": f"/records/{table}/edit?{_key_query(table, row)}",
                }
            )
            if table == "followup" and row.get("death_date"):
                events.append(
                    {
                        "date": row["death_date"],
                        "table": "death",
                        "title": "Death",
                        "row": {"death_date": row["death_date"]},
                        "lesions": [],
                        "edit": None,
                    }
                )
    events.sort(key=lambda e: (e["date"], e["table"]))
    add_links = {
        t: f"/records/{t}/new?patient_id={quote(pid)}"
        for t in PATIENT_TABLES
        if t not in ("diagnoses", "followup") or not rows.get(t)
    }
    return render(
        request,
        "patient.html",
        patient=rows["patients"][0],
        patient_edit=f"/records/patients/edit?{_key_query('patients', rows['patients'][0])}",
        events=events,
        verdict=verdict,
        protocols=PROTOCOLS,
        protocol=protocol_name,
        add_links=add_links,
        titles=TITLES,
        notice=request.session.pop("notice", None),
    )


def _table(request: Request) -> str | None:
    table = request.path_params["table"]
    return table if table in TABLES else None


def _form_page(
    request: Request,
    table: str,
    values: dict[str, Any],
    mode: str,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    lesions: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    errors = errors or {}
    spec = TABLES[table]
    readonly = set(spec.primary_key) if mode == "edit" else set()
    if table != "patients" and "patient_id" in spec.model.model_fields:
        readonly.add("patient_id")  # a record stays with its patient
    if table == "lesions" and mode == "new":
        readonly.add("scan_id")
    lesion_fields = []
    if table == "scans" and mode == "new":
        lesion_values = lesions or []
        for i in range(1, LESION_ROWS + 1):
            row_values = lesion_values[i - 1] if i <= len(lesion_values) else {}
            lesion_fields.append(
                fields_of("lesions", row_values, errors, set(), lesion_prefix(i), ("scan_id",))
            )
    return render(
        request,
        "form.html",
        status=status,
        table=table,
        title=TITLES[table],
        mode=mode,
        fields=fields_of(table, values, errors, readonly),
        lesion_fields=lesion_fields,
        general=general or [],
        action=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        back=f"/patients/{quote(str(values.get('patient_id') or ''))}"
        if values.get("patient_id")
        else "/patients",
    )


async def new_form(request: Request) -> Response:
    table = _table(request)
    if table is None:
        return render(request, "error.html", 404, title="Not found", message="No such table.")
    prefill = {c: request.query_params.get(c) for c in ("patient_id", "scan_id")}
    return _form_page(request, table, {k: v for k, v in prefill.items() if v}, "new")


def _saved_notice(request: Request, warnings: list[Any]) -> None:
    text = "Saved."
    if warnings:
        text += " Warning: " + "; ".join(w.rule for w in warnings)
    request.session["notice"] = text


def _patient_of(access: RegistryAccess, table: str, values: dict[str, Any]) -> str | None:
    if values.get("patient_id"):
        return str(values["patient_id"])
    if table == "lesions" and values.get("scan_id"):
        scan = access.stored("scans", (str(values["scan_id"]),))
        return str(scan["patient_id"]) if scan else None
    return None


async def _save(request: Request, table: str, mode: str, fixed: dict[str, Any]) -> Response:
    form = await checked_form(request)
    access = _access(request)
    values = {**submitted(table, form), **fixed}
    rows: list[tuple[str, dict[str, Any]]] = [(table, values)]
    prefixes = {1: ""}
    lesions = lesion_rows(form, values.get("scan_id")) if table == "scans" and mode == "new" else []
    for lesion in lesions:
        prefixes[len(rows) + 1] = lesion_prefix(lesion.pop("_form_row"))
        rows.append(("lesions", lesion))
    user = f"web:{request.state.user}"
    try:
        report = await access.call(access.save_rows, rows, user, mode == "new")
    except ImportRejected as exc:
        errors, general = errors_by_field(exc.problems, prefixes)
        return _form_page(request, table, values, mode, errors, general, lesions, status=400)
    except InputError as exc:
        return _form_page(request, table, values, mode, {}, [str(exc)], lesions, status=409)
    _saved_notice(request, report.warnings)
    pid = await access.call(_patient_of, access, table, values)
    return redirect(f"/patients/{quote(pid)}" if pid else "/patients")


async def new_submit(request: Request) -> Response:
    table = _table(request)
    if table is None:
        return render(request, "error.html", 404, title="Not found", message="No such table.")
    fixed = {
        c: request.query_params[c] for c in ("patient_id", "scan_id") if request.query_params.get(c)
    }
    fixed = {c: v for c, v in fixed.items() if c in TABLES[table].model.model_fields}
    if table == "patients":
        fixed = {}
    return await _save(request, table, "new", fixed)


def _key(request: Request, table: str) -> tuple[str, ...] | None:
    values = tuple(request.query_params.get(c, "") for c in TABLES[table].primary_key)
    return values if all(values) else None


async def edit_form(request: Request) -> Response:
    table = _table(request)
    key = _key(request, table) if table else None
    access = _access(request)
    row = await access.call(access.stored, table, key) if table and key else None
    if table is None or row is None:
        return render(request, "error.html", 404, title="Not found", message="No such record.")
    return _form_page(request, table, row, "edit")


async def edit_submit(request: Request) -> Response:
    table = _table(request)
    key = _key(request, table) if table else None
    access = _access(request)
    row = await access.call(access.stored, table, key) if table and key else None
    if table is None or key is None or row is None:
        return render(request, "error.html", 404, title="Not found", message="No such record.")
    fixed = dict(zip(TABLES[table].primary_key, key, strict=True))
    if "patient_id" in row:
        fixed["patient_id"] = row["patient_id"]
    return await _save(request, table, "edit", fixed)
