"""The abstract-style Methods and Results paragraphs, written from the protocol and the tables.

Every number in the Results comes from one table cell: it is a ``Segment``
naming that cell, so the report can link it and a test can check it.  Numbers
are shown as the cell holds them (percentages to 0.1, dropping ".0" on a lone
estimate; an interval keeps one decimal on both ends when either needs it),
except p-values, which the journal style shows as ``p < 0.001`` or to two
decimals (three below 0.01) while the cell keeps four significant digits.

Two renderings of the same Results sentences:

- ``results`` (journal style): ``HR 0.28, 95% CI 0.14-0.58; p < 0.001``;
- ``narrative`` (kept for readers of the old field): p-values as their cells.

The Methods paragraph is ``study.methods_text``.
"""

from __future__ import annotations

from netoutcomes.study.cohorts import primary_method
from netoutcomes.study.endpoints import FIRST_EVENTS, STARTS, table_id
from netoutcomes.study.methods_text import ADJUSTMENT_NAMES
from netoutcomes.study.protocol import DurationOfResponse
from netoutcomes.study.results import Segment, StudyResult
from netoutcomes.study.rounding import landmark_key
from netoutcomes.study.tables import Cell

MAX_WORDS = 300


def format_number(value: float) -> str:
    """Whole numbers without decimals (46, not 46.0); others as stored."""
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:g}"


def format_p(p: float) -> str:
    """Journal style: '< 0.001', else two decimals (three below 0.01); never '0.00'."""
    if p < 0.001:
        return "< 0.001"
    if p < 0.01:
        return f"= {p:.3f}"
    if p >= 0.995:
        return "> 0.99"
    return f"= {p:.2f}"


def word_count(text: str) -> int:
    return len(text.split())


class _Writer:
    def __init__(self, result: StudyResult, journal_p: bool) -> None:
        self.result = result
        self.journal_p = journal_p
        self.segments: list[Segment] = []
        # sentences in text order with their priority (0 first kept; dropped from the
        # largest when the paragraph is over MAX_WORDS)
        self.sentences: list[tuple[int, list[Segment]]] = []

    def sentence(self, priority: int) -> None:
        """Start a sentence of this priority."""
        self.segments = []
        self.sentences.append((priority, self.segments))

    def paragraph(self) -> list[Segment]:
        """The sentences, dropping the least important ones until MAX_WORDS holds."""
        kept = list(self.sentences)

        def words() -> int:
            return word_count("".join(s.text for _, group in kept for s in group))

        while words() > MAX_WORDS and len({p for p, _ in kept}) > 1:
            lowest = max(p for p, _ in kept)
            kept = [(p, g) for p, g in kept if p != lowest]
        return [s for _, group in kept for s in group]

    def text(self, text: str) -> None:
        self.segments.append(Segment(text))

    def value(self, table: str, row: str, column: str) -> Cell:
        try:
            return self.result.tables[table].cell(row, column)
        except KeyError:
            return None

    def has(self, table: str, row: str, column: str) -> bool:
        value = self.value(table, row, column)
        return isinstance(value, int | float)

    def cell(self, table: str, row: str, column: str, shown: str) -> None:
        value = self.value(table, row, column)
        assert isinstance(value, int | float)
        self.segments.append(Segment(shown, table, row, column, float(value)))

    def number(
        self, table: str, row: str, column: str, suffix: str = "", decimals: int | None = None
    ) -> None:
        """The cell's value as stored (``decimals`` pads, e.g. 90 -> 90.0), or 'not reached'."""
        value = self.value(table, row, column)
        if not isinstance(value, int | float):
            self.text("not reached" if column.startswith("median") else "not estimable")
            return
        shown = f"{value:.{decimals}f}" if decimals is not None else format_number(float(value))
        self.cell(table, row, column, shown + suffix)

    def interval(self, table: str, row: str, lower: str, upper: str, unit: str = "") -> None:
        """'95% CI 66.3-90.0%' (or '-1.4 to 43.8' when a bound is negative)."""
        lo, hi = self.value(table, row, lower), self.value(table, row, upper)
        values = [float(v) for v in (lo, hi) if isinstance(v, int | float)]
        decimals = 1 if any(not v.is_integer() for v in values) and unit == "%" else None
        negative = any(v < 0 for v in values)
        self.text("95% CI ")
        self.number(table, row, lower, "", decimals)
        self.text(" to " if negative or len(values) < 2 else "-")
        self.number(table, row, upper, unit, decimals)

    def p_value(self, table: str, row: str, column: str) -> None:
        value = self.value(table, row, column)
        if not isinstance(value, int | float):
            self.text("p not estimable")
            return
        if self.journal_p:
            shown = format_p(float(value))
            self.text("p ")
            self.cell(table, row, column, shown)
        else:
            self.text("p = ")
            self.cell(table, row, column, format_number(float(value)))


def _screening(w: _Writer) -> None:
    w.sentence(0)
    agent = w.result.protocol.entry.agent_name
    w.text("Of ")
    w.number("consort", "screened", "n")
    w.text(" patients screened, ")
    w.number("consort", "enrolled", "n")
    w.text(" were eligible, ")
    w.number("consort", "treated", "n")
    w.text(f" were treated with {agent} and ")
    w.number("consort", "analysed", "n")
    w.text(" were analysed")
    first = w.result.protocol.cohorts[0]
    row = f"{first.id}_from_origin"
    if w.has("survival_first_therapy", row, "followup_median"):
        w.text(" (median follow-up ")
        w.number("survival_first_therapy", row, "followup_median", " years")
        w.text(")")
    w.text(". ")


def _response(w: _Writer) -> None:
    for outcome in w.result.protocol.outcomes:
        w.sentence(1)
        table = f"response_{outcome.id}"
        w.text(f"{outcome.label}: ")
        if w.value(table, "not_assessed", "n") == w.value(table, "not_assessed", "total"):
            w.text("not assessed (no assessment recorded). ")
            continue
        for i, category in enumerate(outcome.categories):
            if i:
                w.text(", ")
            w.text(f"{category} ")
            w.number(table, category, "percent", "%")
        if w.has(table, "not_assessed", "n") and w.value(table, "not_assessed", "n"):
            w.text(", not assessed ")
            w.number(table, "not_assessed", "percent", "%")
        for key, label in (
            ("objective_response", outcome.objective_label if outcome.objective else ""),
            ("disease_control", outcome.control_label if outcome.control else ""),
        ):
            if label:
                w.text(f"; {label} ")
                w.number(table, key, "percent", "%")
                w.text(" (")
                w.interval(table, key, "ci_lower", "ci_upper", "%")
                w.text(")")
        w.text(". ")


def _landmark(w: _Writer, table: str, row: str, t: float, events: str = "deaths") -> None:
    """'58% (95% CI 45.8-73.4%) at 5 years' or 'not estimable (...) at 10 years'."""
    k = landmark_key(t)
    if w.has(table, row, f"s_{k}"):
        w.number(table, row, f"s_{k}", "%")
        if w.value(table, row, f"s_{k}") == 100:
            # no death yet: the log-transformed interval is degenerate (100-100%)
            w.text(f" (no {events}) at {t:g} {'year' if t == 1 else 'years'}")
            return
        w.text(" (")
        w.interval(table, row, f"s_{k}_lower", f"s_{k}_upper", "%")
        w.text(f") at {t:g} {'year' if t == 1 else 'years'}")
    else:
        reason = w.value(table, row, f"s_{k}_note") or "not estimable"
        w.text(f"{reason} at {t:g} {'year' if t == 1 else 'years'}")


def _flag(w: _Writer, table: str, row: str) -> None:
    note = w.value(table, row, "note")
    if isinstance(note, str) and note:
        w.text(f" [{note}]")


def _survival(w: _Writer) -> None:
    protocol = w.result.protocol
    spec = protocol.survival
    first = protocol.cohorts[0]
    row = f"{first.id}_from_origin"
    table = "survival_first_therapy"
    if "first_therapy" in spec.origins and w.has(table, row, "n"):
        w.sentence(1)
        w.text(f"Survival from first {protocol.entry.agent_name} therapy was ")
        for i, t in enumerate(spec.landmarks_years):
            if i:
                w.text(", " if i < len(spec.landmarks_years) - 1 else " and ")
            _landmark(w, table, row, t)
        w.text("; median ")
        w.number(table, row, "median", " years" if w.has(table, row, "median") else "")
        if w.has(table, row, "median"):
            w.text(" (")
            w.interval(table, row, "median_lower", "median_upper")
            w.text(")")
        _flag(w, table, row)
        w.text(". ")
    if "diagnosis" not in spec.origins:
        return
    method = primary_method("diagnosis", spec.delayed_entry)
    t = max(spec.landmarks_years)
    k = landmark_key(t)
    how = "delayed entry at first therapy" if spec.delayed_entry else "no delayed entry"
    shown = [c for c in protocol.cohorts if w.has("survival_diagnosis", f"{c.id}_{method}", "n")]
    if shown:
        w.sentence(2)
        w.text(f"From histological diagnosis ({how}), {t:g}-year survival was ")
        for i, cohort in enumerate(shown):
            if i:
                w.text("; ")
            r = f"{cohort.id}_{method}"
            if w.has("survival_diagnosis", r, f"s_{k}"):
                w.number("survival_diagnosis", r, f"s_{k}", "%")
            else:
                w.text(str(w.value("survival_diagnosis", r, f"s_{k}_note") or "not estimable"))
            w.text(f" for {cohort.label}")
            _differences(w, cohort.id, f"diff_{k}")
            _flag(w, "survival_diagnosis", r)
        w.text(". ")
    gap = "immortal_time_gap"
    shows_gap = w.has(gap, first.id, f"gap_{k}") and w.value(gap, first.id, f"gap_{k}") != 0
    if spec.delayed_entry and shows_gap:
        w.sentence(4)
        w.text(f"Ignoring delayed entry would give {first.label} ")
        w.number(gap, first.id, f"naive_{k}", "%")
        w.text(" instead of ")
        w.number(gap, first.id, f"delayed_{k}", "%")
        w.text(" (immortal-time bias). ")


def _differences(w: _Writer, cohort_id: str, k: str) -> None:
    """The cohort's nested differences (column ``k``): '(21.2 points vs All NETs, ...)'."""
    protocol = w.result.protocol
    shown = [
        n
        for n in protocol.comparisons.nested
        if n.cohort == cohort_id and w.has("nested_diagnosis", f"{n.cohort}_vs_{n.reference}", k)
    ]
    for i, n in enumerate(shown):
        r = f"{n.cohort}_vs_{n.reference}"
        w.text("; " if i else " (")
        w.number("nested_diagnosis", r, k, " points")
        w.text(f" vs {protocol.cohort(n.reference).label}, ")
        w.interval("nested_diagnosis", r, f"{k}_lower", f"{k}_upper")
    if shown:
        w.text(")")


def _comparisons(w: _Writer) -> None:
    if "disjoint" not in w.result.tables:
        return
    adjustment = ADJUSTMENT_NAMES[w.result.protocol.comparisons.adjustment]
    table = w.result.tables["disjoint"]
    for row in table.rows:
        key = str(row["comparison"])
        w.sentence(2)
        origin = str(row["origin"]).replace("histological diagnosis", "diagnosis")
        w.text(f"{row['group']} vs {row['versus']} (from {origin}): ")
        if row["hr"] is None or row["logrank_p"] is None:
            w.text(f"{row['note'] or 'not tested'}. ")
            continue
        w.text("HR ")
        w.number("disjoint", key, "hr")
        w.text(", ")
        w.interval("disjoint", key, "hr_lower", "hr_upper")
        w.text("; log-rank ")
        w.p_value("disjoint", key, "logrank_p")
        if adjustment and w.has("disjoint", key, "logrank_p_adjusted"):
            w.text(f", {adjustment}-adjusted ")
            w.p_value("disjoint", key, "logrank_p_adjusted")
        w.text(". ")


def _endpoints(w: _Writer) -> None:
    """One sentence per endpoint; the first endpoint is kept before the others."""
    protocol = w.result.protocol
    first = protocol.cohorts[0]
    for number, endpoint in enumerate(protocol.endpoints):
        table, row = table_id(endpoint), f"{first.id}_{endpoint.id}"
        if not w.has(table, row, "n"):
            continue
        w.sentence(1 if number == 0 else 3)
        if isinstance(endpoint, DurationOfResponse):
            w.text(f"{endpoint.label} (")
            w.number(table, row, "n")
            w.text(" responders)")
        else:
            w.text(f"{endpoint.label} from {STARTS[endpoint.kind]}")
        w.text(": median ")
        if w.has(table, row, "median"):
            w.number(table, row, "median", " years")
            w.text(" (")
            w.interval(table, row, "median_lower", "median_upper")
            w.text(")")
        else:
            w.text("not reached")
        for i, t in enumerate(endpoint.landmarks_years):
            w.text("; " if i == 0 else " and ")
            _landmark(w, table, row, t, "events")
        for i, (_, column, header) in enumerate(FIRST_EVENTS[endpoint.kind]):
            w.text(" (" if i == 0 else ", ")
            w.number(table, row, column)
            w.text(f" {header[0].lower()}{header[1:]}")
        w.text(")")
        _flag(w, table, row)
        w.text(". ")
        _endpoint_comparisons(w, f"{table}_disjoint", endpoint.label)


def _endpoint_comparisons(w: _Writer, table_id: str, label: str) -> None:
    if table_id not in w.result.tables:
        return
    for row in w.result.tables[table_id].rows:
        key = str(row["comparison"])
        w.sentence(3)
        w.text(f"{label}, {row['group']} vs {row['versus']}: ")
        if row["hr"] is None or row["logrank_p"] is None:
            w.text(f"{row['note'] or 'not tested'}. ")
            continue
        w.text("HR ")
        w.number(table_id, key, "hr")
        w.text(", ")
        w.interval(table_id, key, "hr_lower", "hr_upper")
        w.text("; log-rank ")
        w.p_value(table_id, key, "logrank_p")
        w.text(". ")


def _trim(segments: list[Segment]) -> list[Segment]:
    if segments and segments[-1].table is None:
        segments[-1] = Segment(segments[-1].text.rstrip())
    return segments


def write_results(result: StudyResult, journal_p: bool = True) -> list[Segment]:
    """The Results paragraph; ``journal_p=False`` shows p-values as their cells."""
    w = _Writer(result, journal_p)
    _screening(w)
    if result.screening.flow.analysed == 0:
        w.text("No patient could be analysed.")
        return w.paragraph()
    _response(w)
    _survival(w)
    _endpoints(w)
    _comparisons(w)
    return _trim(w.paragraph())


def write_narrative(result: StudyResult) -> list[Segment]:
    """The Results paragraph as the ``narrative`` field has it (p-values as stored)."""
    return write_results(result, journal_p=False)
