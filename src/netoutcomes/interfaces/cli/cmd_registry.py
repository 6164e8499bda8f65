"""Registry commands: `init`, `template`, `import`, `export`, `audit`.

Thin: parse options, call ``netoutcomes.registry``, render with Rich.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from netoutcomes.errors import InputError
from netoutcomes.interfaces.cli.main import app, fail
from netoutcomes.registry.audit import cli_who, verify_audit
from netoutcomes.registry.chain import AuditKeyError, read_key_file
from netoutcomes.registry.dictionary import write_templates
from netoutcomes.registry.export import DEFAULT_MIN_CELL, export_registry
from netoutcomes.registry.importing import ImportRejected, import_sources
from netoutcomes.registry.redcap_dictionary import write_redcap_dictionary
from netoutcomes.registry.store import create_registry, open_registry
from netoutcomes.registry.workbook import write_template_workbook

# Below this many rows a progress bar is noise.
PROGRESS_FROM_ROWS = 2000


@app.command("init")
def init_command(
    registry: Path = typer.Argument(..., help="Registry file to create (DuckDB)."),
) -> None:
    """Create an empty registry file."""
    try:
        create_registry(registry)
    except InputError as exc:
        fail(str(exc))
    typer.echo(f"created {registry}")


@app.command("template")
def template_command(
    directory: Path | None = typer.Argument(
        None, help="New or empty folder to write the CSV templates into."
    ),
    xlsx: Path | None = typer.Option(
        None, "--xlsx", help="Also (or instead) write a workbook: a sheet per table, dropdowns."
    ),
) -> None:
    """Write empty CSV templates, one per table, and the data dictionary (or a workbook)."""
    if directory is None and xlsx is None:
        fail("give a folder for the CSV templates, or --xlsx FILE for a workbook")
    try:
        if directory is not None:
            written = write_templates(directory)
            typer.echo(f"wrote {len(written)} files to {directory}")
        if xlsx is not None:
            typer.echo(f"wrote {write_template_workbook(xlsx)}")
    except InputError as exc:
        fail(str(exc))


KEY_FILE_HELP = (
    "File holding the audit key (HMAC-SHA256 of every audit entry); default: "
    "$NETOUTCOMES_AUDIT_KEY_FILE, else $NETOUTCOMES_AUDIT_KEY. Keep it outside the registry."
)


def _key(key_file: Path | None) -> bytes | None:
    """The key from --audit-key-file (None: the library reads the environment)."""
    if key_file is None:
        return None
    try:
        return read_key_file(key_file)
    except AuditKeyError as exc:
        fail(str(exc))
        raise  # fail() exits; this keeps type checkers informed


def _print_problems(exc: ImportRejected) -> None:
    for problem in exc.problems:
        label = "error" if problem.severity == "error" else "warning"
        typer.echo(f"{label}: {problem}", err=True)
    errors = sum(p.severity == "error" for p in exc.problems)
    typer.echo(f"error: {errors} problems; nothing was imported", err=True)


@app.command("import")
def import_command(
    registry: Path = typer.Argument(..., help="Registry file (created by `netoutcomes init`)."),
    sources: list[Path] = typer.Argument(
        ..., help="Folders of <table>.csv, .xlsx workbooks, or REDCap mapping .yaml files."
    ),
    user: str | None = typer.Option(
        None,
        "--user",
        help="Who is importing (audit log, recorded as an unauthenticated claim); "
        "default: the OS user.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Validate and count the changes, write nothing."
    ),
    confirm_unlikely: bool = typer.Option(
        False,
        "--confirm-unlikely",
        help="Import values that are possible but unlikely (they block the import otherwise).",
    ),
    key_file: Path | None = typer.Option(None, "--audit-key-file", help=KEY_FILE_HELP),
) -> None:
    """Import sources: validated, all or nothing, every change audited."""
    with ExitStack() as stack:
        bars: list[tuple[Progress, TaskID]] = []

        def on_row(done: int, total: int) -> None:
            if total < PROGRESS_FROM_ROWS:
                return
            if not bars:  # started lazily: small imports print no bar at all
                progress = stack.enter_context(
                    Progress(console=Console(stderr=True), transient=True)
                )
                bars.append((progress, progress.add_task("validating rows", total=total)))
            progress, task = bars[0]
            progress.update(task, completed=done)

        try:
            report = import_sources(
                registry,
                sources,
                user=cli_who(user),
                progress=on_row,
                dry_run=dry_run,
                audit_key=_key(key_file),
                confirm_unlikely=confirm_unlikely,
            )
        except ImportRejected as exc:
            stack.close()
            _print_problems(exc)
            raise typer.Exit(code=2) from None
        except InputError as exc:
            stack.close()
            fail(str(exc))
            return
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    table = Table("table", "inserted", "updated", "unchanged", title=f"import into {registry}")
    for name, counts in report.counts.items():
        table.add_row(name, str(counts.inserted), str(counts.updated), str(counts.unchanged))
    Console().print(table)
    if dry_run:
        typer.echo(f"dry run: {report.changed} rows would change; nothing was written")
    elif report.batch_id is None:
        typer.echo("nothing changed")
    else:
        typer.echo(f"import batch {report.batch_id}: {report.changed} rows changed")


@app.command("export")
def export_command(
    registry: Path = typer.Argument(..., help="Registry file."),
    outdir: Path = typer.Argument(..., help="Folder to write the CSV files into."),
    deidentified: bool = typer.Option(
        False,
        "--deidentified",
        help="Row-level tables de-identified by HIPAA Safe Harbor (see docs/registry.md).",
    ),
    aggregate: bool = typer.Option(
        False,
        "--aggregate",
        help="Only summary_counts.csv: counts per coded value, small cells suppressed.",
    ),
    min_cell: int | None = typer.Option(
        None,
        "--min-cell",
        help=f"With --aggregate: counts from 1 to min-cell - 1 are suppressed "
        f"(default {DEFAULT_MIN_CELL}, at least 3).",
    ),
    user: str | None = typer.Option(
        None, "--user", help="Who is exporting (audit log, an unauthenticated claim)."
    ),
    key_file: Path | None = typer.Option(None, "--audit-key-file", help=KEY_FILE_HELP),
) -> None:
    """Export the registry as CSV: full, de-identified rows, or aggregate counts. Audited."""
    try:
        report = export_registry(
            registry,
            outdir,
            deidentified=deidentified,
            min_cell=min_cell,
            aggregate=aggregate,
            user=cli_who(user),
            audit_key=_key(key_file),
        )
    except InputError as exc:
        fail(str(exc))
        return
    kind = {"full": "full", "deidentified": "de-identified", "aggregate": "aggregate"}[report.mode]
    typer.echo(f"{kind} export of {sum(report.rows.values())} rows to {outdir}")


@app.command("audit")
def audit_command(
    registry: Path = typer.Argument(..., help="Registry file."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array of entries on stdout."),
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Check the chain, the HMACs, the table digests and the head; exit 2 on tampering.",
    ),
    head: Path | None = typer.Option(
        None, "--head", help="With --verify: the clinic's own copy of the audit head file."
    ),
    key_file: Path | None = typer.Option(None, "--audit-key-file", help=KEY_FILE_HELP),
) -> None:
    """Show the append-only audit log (who changed what, when, from which file)."""
    if verify:
        _verify(registry, head, _key(key_file))
        return
    if head is not None:
        fail("--head is used with --verify")
    try:
        with open_registry(registry) as opened:
            entries = opened.audit()
    except InputError as exc:
        fail(str(exc))
        return
    if as_json:
        rows = [asdict(e) | {"at_utc": e.at_utc.isoformat()} for e in entries]
        typer.echo(json.dumps(rows))
        return
    table = Table("id", "at (UTC)", "who", "action", "table", "key", "old", "new", "batch")
    for e in entries:
        table.add_row(
            str(e.audit_id),
            e.at_utc.isoformat(timespec="seconds"),
            e.who,
            e.action,
            e.table_name,
            e.row_key,
            e.old_values or "",
            e.new_values,
            e.batch_id[:8],
        )
    Console().print(table)


def _verify(registry: Path, head: Path | None, key: bytes | None) -> None:
    try:
        verdict = verify_audit(registry, key=key, head=head)
    except InputError as exc:
        fail(str(exc))
        return
    for line in verdict.unproven:
        typer.echo(f"not proven: {line}", err=True)
    if not verdict.intact:
        for line in verdict.problems[1:]:
            typer.echo(f"tampering: {line}", err=True)
        fail(f"{registry}: {verdict.problems[0]}")
    typer.echo(f"audit log intact: {verdict.entries} entries")


redcap_app = typer.Typer(help="REDCap: a project dictionary matching the registry.")
app.add_typer(redcap_app, name="redcap")


@redcap_app.command("dictionary")
def redcap_dictionary_command(
    out: Path = typer.Argument(..., help="Data dictionary CSV to write (refuses to overwrite)."),
) -> None:
    """Write a REDCap data dictionary matching the registry, and its import mapping."""
    try:
        written = write_redcap_dictionary(out)
    except FileExistsError as exc:
        fail(f"{exc.filename}: already exists; refusing to overwrite")
        return
    except OSError as exc:
        fail(f"{out}: cannot write the dictionary ({exc.strerror})")
        return
    typer.echo(f"wrote {written[0]} (upload it in REDCap) and {written[1]} (the import mapping)")
    typer.echo(
        "in the project setup, make every instrument but patients, diagnoses and followup repeating"
    )
