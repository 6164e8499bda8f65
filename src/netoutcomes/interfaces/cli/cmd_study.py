"""Study commands: `screen`, `analyze`, `demo`.

Thin: parse options, call ``netoutcomes.study`` and the report writer, render with Rich.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from netoutcomes.errors import InputError
from netoutcomes.interfaces.cli.main import app, fail
from netoutcomes.interfaces.report.html import FORMATS, ReportFiles, parse_formats, write_outputs
from netoutcomes.registry.audit import cli_who, record_event
from netoutcomes.registry.chain import head_path
from netoutcomes.registry.server_lock import refuse_if_served
from netoutcomes.study.analysis import StudyResult
from netoutcomes.study.eligibility import Screening, Verdict
from netoutcomes.study.protocol import bundled_protocol_path
from netoutcomes.study.run import analyse_registry, build_demo_registry, screen_registry

DEMO_PROTOCOL = "mibg-net"
DEMO_REGISTRY = "registry.duckdb"

# The seed study's abstract, quoted for the side-by-side table of `netoutcomes demo`
# and nowhere else: (label, published text, table, row, column, suffix).
PUBLISHED: list[tuple[str, str, str, str, str, str]] = [
    ("Symptoms improved", "46%", "response_symptomatic", "improved", "percent", "%"),
    ("Symptoms stable", "34%", "response_symptomatic", "stable", "percent", "%"),
    ("Symptoms worse", "20%", "response_symptomatic", "worse", "percent", "%"),
    ("Radiographic response", "10%", "response_recist", "objective_response", "percent", "%"),
    ("Complete responses", "0", "response_recist", "CR", "n", ""),
    (
        "Alive 6.0 years after MIBG therapy",
        "44%",
        "survival_first_therapy",
        "all_nets_from_origin",
        "s_6y",
        "%",
    ),
    # The seed's survival claims from histological diagnosis (absolute differences in
    # survival, percentage points, of the protocol's nested cohorts).
    (
        "SB vs all NETs at 5 years from diagnosis",
        "similar",
        "nested_diagnosis",
        "sb_vs_all_nets",
        "diff_5y",
        " points",
    ),
    (
        "SB vs all NETs at 10 years from diagnosis",
        ">= 20 points",
        "nested_diagnosis",
        "sb_vs_all_nets",
        "diff_10y",
        " points",
    ),
    (
        "Well-differentiated SB vs SB at 10 years",
        "better",
        "nested_diagnosis",
        "sb_well_vs_sb",
        "diff_10y",
        " points",
    ),
    (
        "G1 SB vs SB at 10 years",
        "~21 points",
        "nested_diagnosis",
        "sb_g1_vs_sb",
        "diff_10y",
        " points",
    ),
    (
        "G1 SB vs all NETs at 10 years",
        "~41 points",
        "nested_diagnosis",
        "sb_g1_vs_all_nets",
        "diff_10y",
        " points",
    ),
]


def resolve_protocol(protocol: str) -> Path:
    """A protocol file, or the name of a bundled one (``mibg-net``, ``lu177-pnet``)."""
    path = Path(protocol)
    if path.exists():
        return path
    bundled = bundled_protocol_path(protocol)
    if bundled.exists():
        return bundled
    raise InputError(f"{protocol}: no such protocol file (nor a bundled protocol of that name)")


def _check_registry(registry: Path) -> None:
    if not registry.exists():
        raise InputError(f"{registry}: no such registry file")


def print_screening(console: Console, screening: Screening, show_eligible: bool) -> None:
    table = Table(title="Eligibility")
    for column in ("patient", "verdict", "reasons"):
        table.add_column(column)
    for v in screening.verdicts:
        if v.verdict is Verdict.ELIGIBLE and not show_eligible:
            continue
        reasons = "; ".join(f"{o.label}: {o.detail} ({o.status.value})" for o in v.reasons)
        table.add_row(v.patient_id, v.verdict.value, reasons or "all rules passed")
    console.print(table)
    f = screening.flow
    flow = Table(title="Flow (CONSORT)")
    flow.add_column("step")
    flow.add_column("patients", justify="right")
    flow.add_row("screened", str(f.screened))
    flow.add_row("excluded", str(f.excluded))
    for rule, n in f.excluded_by_reason.items():
        flow.add_row(f"  {f.reason_labels.get(rule, rule)}", str(n))
    flow.add_row("cannot be assessed", str(f.cannot_assess))
    for rule, n in f.cannot_assess_by_reason.items():
        flow.add_row(f"  missing: {f.reason_labels.get(rule, rule)}", str(n))
    for step in ("enrolled", "treated", "analysed"):
        flow.add_row(step, str(getattr(f, step)))
    console.print(flow)


@app.command("screen")
def screen_command(
    registry: Path = typer.Argument(..., help="Registry file (DuckDB)."),
    protocol: str = typer.Option(..., "--protocol", "-p", help="Protocol YAML or bundled name."),
    as_json: bool = typer.Option(False, "--json", help="Verdicts and flow as JSON."),
    all_patients: bool = typer.Option(False, "--all", help="List eligible patients too."),
    user: str | None = typer.Option(
        None, "--user", help="Who screens, for the audit log (recorded as unauthenticated)."
    ),
) -> None:
    """Screen every patient: a verdict with every reason, and the CONSORT flow."""
    try:
        _check_registry(registry)
        protocol_path = resolve_protocol(protocol)
        screening = screen_registry(registry, protocol_path)
        # Audited after the read connection is closed (DuckDB allows one writer).
        record_event(
            registry,
            "screen",
            cli_who(user),
            {
                **_protocol_details(protocol_path),
                "patients": len(screening.verdicts),
                "eligible": sum(v.verdict == Verdict.ELIGIBLE for v in screening.verdicts),
            },
        )
    except InputError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(screening.to_dict(), indent=2, default=str))
        return
    print_screening(Console(), screening, all_patients)


def _protocol_details(protocol_path: Path) -> dict[str, str]:
    """Which protocol, byte for byte: its path and SHA-256, for the audit entry."""
    digest = hashlib.sha256(protocol_path.read_bytes()).hexdigest()
    return {"protocol": str(protocol_path), "protocol_sha256": digest}


def print_summary(console: Console, result: StudyResult, files: ReportFiles) -> None:
    if result.synthetic:
        console.print("[bold red]SYNTHETIC DATA: no real patient[/bold red]")
    # The journal-style Results paragraph the report shows (p < 0.001, not 0.0003204).
    console.print(result.results_text() or result.narrative_text(), soft_wrap=True)
    console.print(f"\nresults: {files.results_json}\nreport:  {files.report_html}")
    for extra in (files.report_pdf, files.report_docx):
        if extra is not None:
            console.print(f"         {extra}")


@app.command("analyze")
def analyze_command(
    registry: Path = typer.Argument(..., help="Registry file (DuckDB)."),
    protocol: str = typer.Option(..., "--protocol", "-p", help="Protocol YAML or bundled name."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    formats: str = typer.Option(
        "html", "--format", "-f", help="Report formats, comma-separated: html, pdf, docx."
    ),
    user: str | None = typer.Option(
        None, "--user", help="Who analyses, for the audit log (recorded as unauthenticated)."
    ),
) -> None:
    """Analyse a study: results.json, a CSV per table, figures and the report
    (report.html, and report.pdf / report.docx on request)."""
    try:
        wanted = parse_formats(formats)
        _check_registry(registry)
        protocol_path = resolve_protocol(protocol)
        result = analyse_registry(registry, protocol_path)
        files = write_outputs(result, out, wanted)
        record_event(
            registry,
            "analyze",
            cli_who(user),
            {**_protocol_details(protocol_path), "out": str(out), "formats": sorted(wanted)},
        )
    except InputError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{out}: cannot write the outputs ({exc.strerror})")
    print_summary(Console(), result, files)


def _cell_text(result: StudyResult, table: str, row: str, column: str, suffix: str) -> str:
    value = result.tables[table].cell(row, column)
    if value is None or isinstance(value, str):
        return "n/a"
    number = float(value)
    return (f"{number:.0f}" if number.is_integer() else f"{number:g}") + suffix


def comparison_table(result: StudyResult) -> Table:
    table = Table(title="Published (seed abstract) vs this cohort (SYNTHETIC)")
    table.add_column("")
    table.add_column("published", justify="right")
    table.add_column("this cohort", justify="right")
    for label, published, tid, row, column, suffix in PUBLISHED:
        table.add_row(label, published, _cell_text(result, tid, row, column, suffix))
    return table


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("demo-output"), "--out", "-o", help="Output folder."),
) -> None:
    """Build a temporary registry from the bundled SYNTHETIC cohort, screen, analyse, and
    write the report as HTML, PDF and Word."""
    console = Console()
    started = time.perf_counter()
    try:
        kept = out / DEMO_REGISTRY
        refuse_if_served(kept)  # never replace a registry a running server owns
        with tempfile.TemporaryDirectory(prefix="netoutcomes-demo-") as tmp:
            registry = build_demo_registry(Path(tmp) / DEMO_REGISTRY)
            protocol = bundled_protocol_path(DEMO_PROTOCOL)
            screening = screen_registry(registry, protocol)
            result = analyse_registry(registry, protocol)
            files = write_outputs(result, out, FORMATS)
            # The demo's registry stays beside its report (for `netoutcomes serve`); a
            # new demo replaces the previous demo's registry and its audit head file.
            for built in (registry, head_path(registry)):
                shutil.move(built, out / built.name)
    except InputError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{out}: cannot write the outputs ({exc.strerror})")
    f = screening.flow
    console.print(
        f"screened {f.screened}, excluded {f.excluded}, cannot assess {f.cannot_assess}, "
        f"enrolled {f.enrolled}, treated {f.treated}, analysed {f.analysed}"
    )
    print_summary(console, result, files)
    console.print(comparison_table(result))
    console.print(f"registry: {out / DEMO_REGISTRY} (SYNTHETIC; try `netoutcomes serve` on it)")
    console.print(f"done in {time.perf_counter() - started:.1f} s")
