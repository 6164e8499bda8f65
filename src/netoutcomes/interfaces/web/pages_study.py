"""Screening, analysis runs and their reports, the de-identified export, the import upload."""

from __future__ import annotations

import datetime as dt
import io
import re
import secrets
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from netoutcomes.errors import InputError
from netoutcomes.interfaces.report.html import write_outputs
from netoutcomes.interfaces.web.auth import checked_form, checked_multipart, redirect
from netoutcomes.interfaces.web.data import PROTOCOLS, RegistryAccess, protocol_named
from netoutcomes.interfaces.web.render import render
from netoutcomes.registry.audit import record_event
from netoutcomes.registry.export import export_registry
from netoutcomes.registry.importing import ImportRejected
from netoutcomes.study.protocol import bundled_protocol_path
from netoutcomes.study.run import analyse_registry

_RUN_ID = re.compile(r"^[a-z0-9-]+-\d{8}T\d{6}$")
_UPLOAD_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}\.(csv|xlsx)$")
# The report is self-contained HTML with inline styles and SVG: served under its own
# policy, sandboxed (no script runs, no form posts), never framed.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; sandbox"
)


def _access(request: Request) -> RegistryAccess:
    access: RegistryAccess = request.app.state.access
    return access


def reports_dir(access: RegistryAccess) -> Path:
    return access.path.with_name(access.path.name + ".reports")


async def screening(request: Request) -> Response:
    access = _access(request)
    name = protocol_named(request.query_params.get("protocol"))
    result = await access.call(access.screening, name)
    protocol = await access.call(access.protocol, name)
    return render(
        request,
        "screening.html",
        flow=result.flow,
        protocols=PROTOCOLS,
        protocol=name,
        protocol_title=protocol.name,
    )


async def verdicts(request: Request) -> Response:
    access = _access(request)
    name = protocol_named(request.query_params.get("protocol"))
    result = await access.call(access.screening, name)
    return render(
        request, "verdicts.html", verdicts=result.verdicts, protocols=PROTOCOLS, protocol=name
    )


def _runs(access: RegistryAccess) -> list[str]:
    folder = reports_dir(access)
    if not folder.is_dir():
        return []
    found = [p.name for p in folder.iterdir() if _RUN_ID.match(p.name)]
    return sorted(found, key=lambda n: n[-15:], reverse=True)


async def analyses(request: Request) -> Response:
    runs = await run_in_threadpool(_runs, _access(request))
    return render(request, "analysis.html", runs=runs, protocols=PROTOCOLS, error=None)


async def run_analysis(request: Request) -> Response:
    form = await checked_form(request)
    access = _access(request)
    name = form.get("protocol", "")
    if name not in PROTOCOLS:
        runs = await run_in_threadpool(_runs, access)
        error = f"choose a protocol: {', '.join(PROTOCOLS)}"
        return render(request, "analysis.html", 400, runs=runs, protocols=PROTOCOLS, error=error)
    protocol_path = bundled_protocol_path(name)
    try:
        result = await access.call(analyse_registry, access.path, protocol_path)
    except InputError as exc:
        runs = await run_in_threadpool(_runs, access)
        return render(request, "analysis.html", 400, runs=runs, protocols=PROTOCOLS, error=str(exc))
    run_id = f"{name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    out = reports_dir(access) / run_id
    await run_in_threadpool(write_outputs, result, out, ["html"])
    details = {"protocol": name, "report": str(out)}
    await access.call(record_event, access.path, "analyze", f"web:{request.state.user}", details)
    access.changed()
    return redirect("/analysis")


def _report_file(request: Request) -> Path | None:
    run_id = request.path_params["run_id"]
    if not _RUN_ID.match(run_id):
        return None
    path = reports_dir(_access(request)) / run_id / "report.html"
    return path if path.is_file() else None


async def report(request: Request) -> Response:
    path = _report_file(request)
    if path is None:
        return render(request, "error.html", 404, title="Not found", message="No such report.")
    return FileResponse(
        path, media_type="text/html", headers={"content-security-policy": REPORT_CSP}
    )


async def download_report(request: Request) -> Response:
    path = _report_file(request)
    if path is None:
        return render(request, "error.html", 404, title="Not found", message="No such report.")
    name = f"{request.path_params['run_id']}-report.html"
    return FileResponse(path, media_type="text/html", filename=name)


async def export_page(request: Request) -> Response:
    return render(request, "export.html", error=None)


def _export_zip(access: RegistryAccess, user: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="netoutcomes-web-export-") as tmp:
        out = Path(tmp) / "export"
        export_registry(access.path, out, deidentified=True, user=user)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(out.iterdir()):
                archive.write(file, f"deidentified/{file.name}")
    return buffer.getvalue()


async def export_download(request: Request) -> Response:
    await checked_form(request)
    access = _access(request)
    try:
        data = await access.call(_export_zip, access, f"web:{request.state.user}")
    except InputError as exc:
        return render(request, "export.html", 409, error=str(exc))
    access.changed()
    headers = {"content-disposition": 'attachment; filename="deidentified-export.zip"'}
    return Response(data, media_type="application/zip", headers=headers)


async def import_page(request: Request) -> Response:
    return render(request, "import.html", stage="upload", error=None)


async def _upload(request: Request) -> tuple[Path, list[str]]:
    """The uploaded files in a private folder (CSVs named <table>.csv, or .xlsx)."""
    form = await checked_multipart(request)
    folder = Path(tempfile.mkdtemp(prefix="netoutcomes-web-import-"))
    names = []
    for item in form.getlist("files"):
        if not isinstance(item, UploadFile) or not item.filename:
            continue
        name = Path(item.filename).name
        if not _UPLOAD_NAME.match(name):
            shutil.rmtree(folder)
            raise InputError(f"{name}: upload CSV files named <table>.csv, or one .xlsx workbook")
        (folder / name).write_bytes(await item.read())
        names.append(name)
    if not names:
        shutil.rmtree(folder)
        raise InputError("choose at least one file")
    return folder, names


def _sources(folder: Path) -> list[Path]:
    workbooks = sorted(folder.glob("*.xlsx"))
    return workbooks + ([folder] if any(folder.glob("*.csv")) else [])


def _counts(report: Any) -> list[tuple[str, int, int, int]]:
    return [(t, c.inserted, c.updated, c.unchanged) for t, c in report.counts.items()]


UPLOAD_MINUTES = 30  # a previewed upload waits this long for its confirmation


def _fresh_uploads(request: Request) -> dict[str, Path]:
    """Uploads awaiting confirmation; older ones are deleted (a preview never confirmed)."""
    uploads: dict[str, Path] = getattr(request.app.state, "uploads", {})
    cutoff = time.time() - UPLOAD_MINUTES * 60
    for token, folder in list(uploads.items()):
        if not folder.exists() or folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            del uploads[token]
    return uploads


async def import_preview(request: Request) -> Response:
    access = _access(request)
    try:
        folder, names = await _upload(request)
    except InputError as exc:
        return render(request, "import.html", 400, stage="upload", error=str(exc))
    user = f"web:{request.state.user}"
    try:
        report = await access.call(access.import_files, _sources(folder), user, True)
    except ImportRejected as exc:
        shutil.rmtree(folder)
        problems = [str(p) for p in exc.problems]
        return render(request, "import.html", 400, stage="rejected", problems=problems, error=None)
    token = secrets.token_urlsafe(16)
    request.app.state.uploads = {**_fresh_uploads(request), token: folder}
    request.session["import_token"] = token
    return render(
        request,
        "import.html",
        stage="preview",
        files=names,
        counts=_counts(report),
        warnings=[str(w) for w in report.warnings],
        token=token,
        error=None,
    )


async def import_confirm(request: Request) -> Response:
    form = await checked_form(request)
    access = _access(request)
    token = form.get("token", "")
    uploads = _fresh_uploads(request)
    if token != request.session.pop("import_token", None) or token not in uploads:
        return render(request, "import.html", 400, stage="upload", error="Upload the files again.")
    folder = uploads.pop(token)
    try:
        report = await access.call(
            access.import_files, _sources(folder), f"web:{request.state.user}", False
        )
    except (ImportRejected, InputError) as exc:
        return render(request, "import.html", 400, stage="upload", error=str(exc))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return render(
        request,
        "import.html",
        stage="done",
        counts=_counts(report),
        warnings=[str(w) for w in report.warnings],
        error=None,
    )
