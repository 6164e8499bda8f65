"""Write a study's outputs: results.json, one CSV per table, figures, report.html.

The HTML is one self-contained file (figures inline as SVG); each table cell
has an id so that the numbers of the Results paragraph link to their cells.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from netoutcomes.interfaces.report.figures import Rendered, study_figures
from netoutcomes.study.analysis import StudyResult
from netoutcomes.study.tables import Table, cell_anchor

VERSIONED = ["netoutcomes", "numpy", "scipy", "duckdb", "matplotlib", "jinja2", "pydantic"]


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _format(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:g}"
    return str(value)


def table_html(table: Table) -> Markup:
    head = "".join(f"<th>{escape(table.header(c))}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        key = str(row[table.key])
        cells = "".join(
            f'<td id="{escape(cell_anchor(table.id, key, c))}">{escape(_format(row[c]))}</td>'
            for c in table.columns
        )
        body.append(f"<tr>{cells}</tr>")
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return Markup(
        f'<h3 id="{escape(table.id)}">{escape(table.title)}</h3><div class="scroll"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{note}"
    )


def _svg_body(svg: str) -> str:
    """The <svg> element alone (drop the XML declaration and DOCTYPE)."""
    return svg[svg.index("<svg") :]


@dataclass(frozen=True)
class ReportFiles:
    results_json: Path
    report_html: Path
    csv: list[Path]
    figures: list[Path]


def render_html(result: StudyResult, figures: list[Rendered], versions: dict[str, str]) -> str:
    env = Environment(
        loader=PackageLoader("netoutcomes.interfaces.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    by_name = {f.name: f for f in figures}

    def figure(name: str) -> Markup:
        f = by_name.get(name)
        if f is None:
            return Markup("")
        return Markup(
            f'<figure id="figure-{escape(name)}">{_svg_body(f.svg)}'
            f"<figcaption>{escape(f.title)}</figcaption></figure>"
        )

    protocol = result.protocol
    definitions = [
        f"{o.label}: {label} = {' + '.join(cats)}"
        for o in protocol.outcomes
        for label, cats in ((o.objective_label, o.objective), (o.control_label, o.control))
        if cats
    ]
    return env.get_template("report.html.j2").render(
        study={
            "name": protocol.name,
            "short_name": protocol.short_name,
            "synthetic": result.synthetic,
            "entry_agent_name": protocol.entry.agent_name,
        },
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        versions=versions,
        narrative=result.narrative,
        anchor=cell_anchor,
        section_tables=result.section_tables,
        table=lambda tid: table_html(result.tables[tid]),
        figure=figure,
        km_figures=[f.name for f in figures if f.name.startswith("km_")],
        definitions=definitions,
        adjustment=protocol.comparisons.adjustment,
    )


def write_outputs(result: StudyResult, out_dir: str | Path) -> ReportFiles:
    """results.json, tables/<id>.csv, figures/<name>.svg and .png, report.html."""
    out = Path(out_dir)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    versions = software_versions()
    payload = result.to_dict() | {"software": versions}
    results_json = out / "results.json"
    results_json.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    csv_paths = []
    for table in result.tables.values():
        path = out / "tables" / f"{table.id}.csv"
        path.write_text(table.to_csv())
        csv_paths.append(path)
    figures = study_figures(result)
    figure_paths = []
    for f in figures:
        svg = out / "figures" / f"{f.name}.svg"
        svg.write_text(f.svg)
        png = out / "figures" / f"{f.name}.png"
        png.write_bytes(f.png)
        figure_paths += [svg, png]
    report = out / "report.html"
    report.write_text(render_html(result, figures, versions))
    return ReportFiles(results_json, report, csv_paths, figure_paths)
