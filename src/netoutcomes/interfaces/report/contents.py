"""What the report says: the tables as a reader sees them, and the Methods and Results
paragraphs as linked text (shared by the HTML and the Word writers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from netoutcomes.interfaces.report.labels import humanise
from netoutcomes.interfaces.report.layout import MISSING, NE, DisplayTable, display_table
from netoutcomes.study.results import Segment, StudyResult
from netoutcomes.study.tables import cell_anchor

NOT_ESTIMABLE = (
    "–: not estimable (no patient followed that long, or too few events); "
    "NE: a confidence limit that cannot be estimated."
)


class _Named(Protocol):
    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class Span:
    text: str
    anchor: str | None = None  # the id of the table cell this number was read from


@dataclass(frozen=True)
class Paragraph:
    heading: str
    segments: list[Span]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)


def paragraphs(segments: list[Segment], heading: str = "") -> list[Paragraph]:
    """Split linked text into paragraphs at blank lines; numbers keep their links."""
    out: list[list[Span]] = [[]]
    for s in segments:
        if s.table and s.row and s.column:
            out[-1].append(Span(s.text, cell_anchor(s.table, s.row, s.column)))
            continue
        pieces = s.text.split("\n\n")
        for i, piece in enumerate(pieces):
            if i:
                out.append([])
            if piece:
                out[-1].append(Span(piece))
    kept = [p for p in out if "".join(x.text for x in p).strip()]
    return [Paragraph(heading if i == 0 else "", p) for i, p in enumerate(kept)]


def results_paragraphs(result: StudyResult) -> list[Paragraph]:
    return paragraphs(result.results or result.narrative)


def methods_paragraphs(result: StudyResult) -> list[Paragraph]:
    """The study's Methods text when it writes one, else a fixed account of the methods."""
    if result.methods:
        return paragraphs(result.methods)
    protocol = result.protocol
    agent = protocol.entry.agent_name
    adjustment = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no"}.get(
        protocol.comparisons.adjustment, protocol.comparisons.adjustment
    )
    texts = [
        ("Patients", f"Patients were screened against the protocol's eligibility criteria; a "
         f"criterion that needs a value the registry does not hold was reported as not "
         f"assessable, never as met. Entry was the first {agent} therapy within the "
         f"enrolment window."),
        ("Response", "Best response from the first therapy until the first reading in the worst "
         "category (RECIST 1.1: until progression), as a percentage of all analysed patients "
         "with exact (Clopper-Pearson) 95% confidence intervals."),
        ("Survival", "Kaplan-Meier estimates with Greenwood variance and log-transformed 95% "
         "pointwise intervals; median follow-up by the reverse Kaplan-Meier method. Survival "
         "from histological diagnosis was left-truncated at the first therapy (delayed entry), "
         "so that the years before therapy, which every treated patient had to survive, do not "
         "count as time at risk (immortal-time bias)."),
        ("Comparisons", "A cohort and the cohort containing it were compared descriptively by "
         "the difference of survival at each landmark (95% Wald interval, conservative for "
         "nested cohorts). Disjoint groups were compared by the log-rank test, a Cox "
         "proportional-hazards model (Efron ties) and the difference of restricted mean "
         f"survival times; log-rank p-values were adjusted by the {adjustment} method."),
    ]  # fmt: skip
    return [Paragraph(h, [Span(t)]) for h, t in texts]


def _value_labels(result: StudyResult) -> dict[str, str]:
    labels: dict[str, str] = {}
    for o in result.protocol.outcomes:
        labels |= {
            "objective_response": o.objective_label[:1].upper() + o.objective_label[1:],
            "disease_control": o.control_label[:1].upper() + o.control_label[1:],
        }
    return labels


def _footnotes(result: StudyResult, table_id: str) -> list[str]:
    spec = result.protocol.survival
    notes = []
    table = result.tables[table_id]
    said = "delayed entry" in table.note.lower() and "at risk" in table.note.lower()
    if table_id == "survival_diagnosis" and spec.delayed_entry and not said:
        notes.append(
            "At risk: patients under observation at that time, counted from their study "
            "entry (delayed entry at the first therapy); the number can rise with time."
        )
    if table_id == "disjoint":
        adjustment = {"holm": "Holm", "bh": "Benjamini-Hochberg"}.get(
            result.protocol.comparisons.adjustment, "no"
        )
        notes.append(
            f"HR: hazard ratio of the group against the versus group (< 1: lower hazard). "
            f"Adjusted p: {adjustment} adjustment over the log-rank tests. RMST: restricted "
            f"mean survival time."
        )
    return notes


def report_tables(result: StudyResult) -> dict[str, DisplayTable]:
    labels = _value_labels(result)
    out = {}
    for tid, table in result.tables.items():
        row_labels = dict(getattr(table, "row_labels", {}) or {})
        shown = display_table(table, labels | row_labels, _footnotes(result, tid))
        texts = {p.text for row in shown.rows for c in row for p in c.parts}
        if texts & {MISSING, NE}:
            shown.footnotes.append(NOT_ESTIMABLE)
        out[tid] = shown
    return out


HEADINGS = {
    "screening": "Screening",
    "response": "Response",
    "survival": "Survival",
    "comparisons": "Comparisons",
    "endpoints": "Other endpoints",
}
SECTION_FIGURES = {"screening": ("consort",), "response": ("response",), "comparisons": ("forest",)}


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    figures: list[str]  # figure names, in order
    tables: list[str]  # table ids, in order


def report_sections(
    result: StudyResult, figures: Sequence[_Named], tables: dict[str, DisplayTable]
) -> list[Section]:
    """The study's sections in its order, each with its figures and the tables shown."""
    names = [f.name for f in figures]
    out = []
    for sid, ids in result.section_tables.items():
        wanted = SECTION_FIGURES.get(sid, ())
        figs = [n for n in names if n in wanted or (sid == "survival" and n.startswith("km_"))]
        out.append(
            Section(sid, HEADINGS.get(sid, humanise(sid)), figs, [t for t in ids if t in tables])
        )
    return out
