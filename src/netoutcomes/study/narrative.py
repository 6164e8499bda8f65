"""The abstract-style Results paragraph, written from the tables.

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
from netoutcomes.study.text_writer import MAX_WORDS, SegmentWriter, format_number, word_count

__all__ = ["MAX_WORDS", "format_number", "word_count", "write_narrative", "write_results"]


def _screening(w: SegmentWriter) -> None:
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


def _response(w: SegmentWriter) -> None:
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


def _biochemical(w: SegmentWriter) -> None:
    for spec in w.result.protocol.biochemical:
        table = f"biochemical_{spec.id}"
        w.sentence(3)
        label = spec.label or f"Biochemical response ({spec.biomarker})"
        if w.value(table, "not_evaluable", "n") == w.value(table, "not_evaluable", "total"):
            w.text(f"{label}: not assessed (no evaluable values). ")
            continue
        w.text(f"{label} (fall of at least {spec.response_fall_percent:g}%): ")
        w.number(table, "response", "percent", "%")
        w.text(" (")
        w.interval(table, "response", "ci_lower", "ci_upper", "%")
        w.text("). ")


def _toxicity(w: SegmentWriter) -> None:
    """The first toxicity category's grade >= threshold rate and the headline cohort's
    exposure (the tables are ``study.toxicity``'s)."""
    toxicity = w.result.protocol.toxicity
    if toxicity is None:
        return
    table, category = "toxicity_worst_grade", toxicity.categories[0]
    w.sentence(2)  # the dose-limiting toxicity: before the secondary comparisons
    w.text(f"Grade {toxicity.grade_threshold} or worse {category.label.lower()} adverse events: ")
    w.number(table, category.id, "percent", "%")
    w.text(" (")
    w.interval(table, category.id, "ci_lower", "ci_upper", "%")
    w.text(")")
    exposure, cohort = "toxicity_exposure", w.result.protocol.cohorts[0].id
    if w.has(exposure, cohort, "gbq_median"):
        w.text("; median cumulative activity ")
        w.number(exposure, cohort, "gbq_median", " GBq")
        if w.value(exposure, cohort, "gbq_min") != w.value(exposure, cohort, "gbq_max"):
            w.text(" (range ")
            w.number(exposure, cohort, "gbq_min")
            w.text("-")
            w.number(exposure, cohort, "gbq_max", " GBq")
            w.text(")")
        w.text(" over a median of ")
        one = w.value(exposure, cohort, "cycles_median") == 1
        w.number(exposure, cohort, "cycles_median", " cycle" if one else " cycles")
    w.text(". ")


def _landmark(w: SegmentWriter, table: str, row: str, t: float, events: str = "deaths") -> None:
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


def _flag(w: SegmentWriter, table: str, row: str) -> None:
    note = w.value(table, row, "note")
    if isinstance(note, str) and note:
        w.text(f" [{note}]")


def _survival(w: SegmentWriter) -> None:
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
        w.sentence(5)
        w.text(f"Ignoring delayed entry would give {first.label} ")
        w.number(gap, first.id, f"naive_{k}", "%")
        w.text(" instead of ")
        w.number(gap, first.id, f"delayed_{k}", "%")
        w.text(" (immortal-time bias). ")


def _differences(w: SegmentWriter, cohort_id: str, k: str) -> None:
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


def _comparisons(w: SegmentWriter) -> None:
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


def _endpoints(w: SegmentWriter) -> None:
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
            w.text(f" {counted(w.value(table, row, column), header)}")
        w.text(")")
        _flag(w, table, row)
        w.text(". ")
        _incidence(w, f"{table}_cif", row, max(endpoint.landmarks_years))
        _endpoint_comparisons(w, f"{table}_disjoint", endpoint.label)


def counted(n: object, header: str) -> str:
    """A column header after its count, in lower case: 'deaths without progression',
    '1 death without progression' (the plural 's' of the header's first noun)."""
    words = header[0].lower() + header[1:]
    if n != 1:
        return words
    first, _, rest = words.partition(" ")
    if first == "next":  # "Next treatments"
        second, _, rest = rest.partition(" ")
        return " ".join(x for x in (first, second.removesuffix("s"), rest) if x)
    return " ".join(x for x in (first.removesuffix("s"), rest) if x)


def _incidence(w: SegmentWriter, table: str, row: str, t: float) -> None:
    """'By 2 years, progression 30% (95% CI ...) and death without progression ...'."""
    k = landmark_key(t)
    if not (w.has(table, row, f"progression_{k}") and w.has(table, row, f"death_{k}")):
        return
    w.sentence(3)
    w.text(f"Cumulative incidence by {t:g} {'year' if t == 1 else 'years'}: progression ")
    for name, label in (("progression", ""), ("death", ", death without progression ")):
        w.text(label)
        w.number(table, row, f"{name}_{k}", "%")
        if w.has(table, row, f"{name}_{k}_lower"):
            w.text(" (")
            w.interval(table, row, f"{name}_{k}_lower", f"{name}_{k}_upper", "%")
            w.text(")")
    w.text(". ")


def _endpoint_comparisons(w: SegmentWriter, table_id: str, label: str) -> None:
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
    w = SegmentWriter(result, journal_p)
    _screening(w)
    if result.screening.flow.analysed == 0:
        w.text("No patient could be analysed.")
        return w.paragraph()
    _response(w)
    _biochemical(w)
    _toxicity(w)
    _survival(w)
    _endpoints(w)
    _comparisons(w)
    return _trim(w.paragraph())


def write_narrative(result: StudyResult) -> list[Segment]:
    """The Results paragraph as the ``narrative`` field has it (p-values as stored)."""
    return write_results(result, journal_p=False)
