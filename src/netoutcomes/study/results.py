"""The result of one study: the types the interfaces render (tables, curves, text).

Nothing here computes a statistic; ``study.analysis`` fills a ``StudyResult``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from netoutcomes.study.eligibility import Screening
from netoutcomes.study.protocol import Origin, Protocol
from netoutcomes.study.tables import Table

Method = Literal["delayed_entry", "naive", "from_origin"]
METHOD_LABELS: dict[str, str] = {
    "delayed_entry": "from diagnosis, delayed entry at first therapy",
    "naive": "from diagnosis, naive (no delayed entry: immortal-time bias)",
    "from_origin": "from first therapy",
}
ORIGIN_LABELS: dict[str, str] = {
    "diagnosis": "histological diagnosis",
    "first_therapy": "first therapy",
}


@dataclass(frozen=True)
class RiskRow:
    """KMunicate-style counts at one time: at risk, and events/censored so far."""

    time: float
    at_risk: int
    events: int
    censored: int


@dataclass(frozen=True)
class Curve:
    cohort: str
    cohort_label: str
    origin: Origin
    method: Method
    n: int
    events: int
    time: list[float]  # step function, starting at (0, 1)
    surv: list[float]
    lower: list[float]
    upper: list[float]
    censor_time: list[float]
    censor_surv: list[float]
    median: float
    landmarks: dict[str, float]  # landmark key -> survival (proportion); NaN: not estimable
    risk_table: list[RiskRow]
    # why a reader should not trust this curve (too few patients or events); None if fine
    warning: str | None = None
    # the largest follow-up time (years): the curve says nothing beyond it
    follow_up_end: float = float("nan")

    @property
    def label(self) -> str:
        return f"{self.cohort_label} ({METHOD_LABELS[self.method]})"


@dataclass(frozen=True)
class ForestRow:
    comparison: str
    label: str
    hr: float
    lower: float
    upper: float
    p: float


@dataclass(frozen=True)
class Segment:
    """A piece of the narrative: plain text, or a number that refers to a table cell.

    ``value`` is the cell's value; ``text`` is how the sentence shows it."""

    text: str
    table: str | None = None
    row: str | None = None
    column: str | None = None
    value: float | None = None


@dataclass
class StudyResult:
    protocol: Protocol
    screening: Screening
    tables: dict[str, Table] = field(default_factory=dict)
    curves: list[Curve] = field(default_factory=list)
    forest: list[ForestRow] = field(default_factory=list)
    narrative: list[Segment] = field(default_factory=list)
    section_tables: dict[str, list[str]] = field(default_factory=dict)
    synthetic: bool = False
    # what a reader must know: small cohorts, estimates not reported, tests not done
    warnings: list[str] = field(default_factory=list)
    # the journal-style Methods and Results paragraphs (<= 300 words each)
    methods: list[Segment] = field(default_factory=list)
    results: list[Segment] = field(default_factory=list)
    # endpoint id (protocol ``endpoints``, e.g. PFS) -> one Kaplan-Meier curve per cohort
    endpoint_curves: dict[str, list[Curve]] = field(default_factory=dict)

    def add_table(self, section: str, table: Table) -> Table:
        self.tables[table.id] = table
        self.section_tables.setdefault(section, []).append(table.id)
        return table

    def narrative_text(self) -> str:
        return "".join(s.text for s in self.narrative)

    def methods_text(self) -> str:
        return "".join(s.text for s in self.methods)

    def results_text(self) -> str:
        return "".join(s.text for s in self.results)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def to_dict(self) -> dict[str, Any]:
        def section(name: str, **extra: Any) -> dict[str, Any]:
            ids = self.section_tables.get(name, [])
            return {"tables": {i: self.tables[i].to_dict() for i in ids}, **extra}

        return {
            "study": {
                "name": self.protocol.name,
                "short_name": self.protocol.short_name,
                "synthetic": self.synthetic,
                "entry_agent": self.protocol.entry.agent,
            },
            "screening": section("screening", **self.screening.to_dict()),
            "response": section("response"),
            "survival": section(
                "survival",
                curves=[
                    {
                        "cohort": c.cohort,
                        "origin": c.origin,
                        "method": c.method,
                        "label": c.label,
                        "n": c.n,
                        "events": c.events,
                        "risk_table": [r.__dict__ for r in c.risk_table],
                        "warning": c.warning,
                    }
                    for c in self.curves
                ],
            ),
            "comparisons": section("comparisons", forest=[f.__dict__ for f in self.forest]),
            "models": section("models"),
            "endpoints": {
                # the endpoints' tables are in "survival" (pfs_<id>) and "comparisons"
                "curves": {
                    endpoint: [
                        {
                            "cohort": c.cohort,
                            "label": c.cohort_label,
                            "n": c.n,
                            "events": c.events,
                            "risk_table": [r.__dict__ for r in c.risk_table],
                            "warning": c.warning,
                        }
                        for c in curves
                    ]
                    for endpoint, curves in self.endpoint_curves.items()
                },
            },
            "narrative": {
                "text": self.narrative_text(),
                "segments": [s.__dict__ for s in self.narrative],
                "methods": {
                    "text": self.methods_text(),
                    "segments": [s.__dict__ for s in self.methods],
                },
                "results": {
                    "text": self.results_text(),
                    "segments": [s.__dict__ for s in self.results],
                },
            },
            "warnings": list(self.warnings),
        }
