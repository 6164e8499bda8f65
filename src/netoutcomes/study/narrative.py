"""The abstract-style Results paragraph, written from the computed tables.

Every number is a ``Segment`` that names the table cell it was read from, so
the report can link it and a test can check it against the table.
"""

from __future__ import annotations

from netoutcomes.study.cohorts import primary_method
from netoutcomes.study.results import Segment, StudyResult
from netoutcomes.study.rounding import landmark_key
from netoutcomes.study.tables import Cell


def format_number(value: float) -> str:
    """Whole numbers without decimals (46, not 46.0); others as stored."""
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:g}"


class _Writer:
    def __init__(self, result: StudyResult) -> None:
        self.result = result
        self.segments: list[Segment] = []

    def text(self, text: str) -> None:
        self.segments.append(Segment(text))

    def has(self, table: str, row: str, column: str) -> bool:
        try:
            return self.value(table, row, column) is not None
        except KeyError:
            return False

    def value(self, table: str, row: str, column: str) -> Cell:
        return self.result.tables[table].cell(row, column)

    def number(self, table: str, row: str, column: str, suffix: str = "") -> None:
        value = self.value(table, row, column)
        if value is None or isinstance(value, str):
            self.segments.append(Segment("not estimable"))
            return
        self.segments.append(
            Segment(format_number(float(value)) + suffix, table, row, column, float(value))
        )

    def interval(self, table: str, row: str, lower: str, upper: str, suffix: str = "") -> None:
        self.text(" (95% CI ")
        self.number(table, row, lower, suffix)
        self.text(" to ")
        self.number(table, row, upper, suffix)
        self.text(")")


def _screening(w: _Writer) -> None:
    agent = w.result.protocol.entry.agent_name
    w.text("Of ")
    w.number("consort", "screened", "n")
    w.text(" patients screened, ")
    w.number("consort", "enrolled", "n")
    w.text(" were eligible and ")
    w.number("consort", "treated", "n")
    w.text(f" were treated with {agent}; ")
    w.number("consort", "analysed", "n")
    w.text(" were analysed. ")


def _response(w: _Writer) -> None:
    for outcome in w.result.protocol.outcomes:
        table = f"response_{outcome.id}"
        w.text(f"{outcome.label}: ")
        for i, category in enumerate(outcome.categories):
            if i:
                w.text(" and " if i == len(outcome.categories) - 1 else ", ")
            w.number(table, category, "percent", "%")
            w.text(f" {category}")
        if outcome.objective:
            w.text(f"; {outcome.objective_label} ({' + '.join(outcome.objective)}) ")
            w.number(table, "objective_response", "percent", "%")
            w.interval(table, "objective_response", "ci_lower", "ci_upper", "%")
        if outcome.control:
            w.text(f"; {outcome.control_label} ({' + '.join(outcome.control)}) ")
            w.number(table, "disease_control", "percent", "%")
            w.interval(table, "disease_control", "ci_lower", "ci_upper", "%")
        w.text(". ")


def _survival(w: _Writer) -> None:
    protocol = w.result.protocol
    spec = protocol.survival
    first = protocol.cohorts[0]
    if "first_therapy" in spec.origins:
        row = f"{first.id}_from_origin"
        table = "survival_first_therapy"
        if w.has(table, row, "n"):
            for t in spec.landmarks_years:
                k = landmark_key(t)
                w.number(table, row, f"s_{k}", "%")
                w.interval(table, row, f"s_{k}_lower", f"s_{k}_upper", "%")
                w.text(f" were alive {t:.1f} years after {protocol.entry.agent_name} therapy; ")
            w.text("median survival from first therapy ")
            w.number(table, row, "median", " years")
            w.text(". ")
    if "diagnosis" in spec.origins:
        method = primary_method("diagnosis", spec.delayed_entry)
        t = max(spec.landmarks_years)
        k = landmark_key(t)
        how = (
            "with delayed entry at first therapy" if spec.delayed_entry else "without delayed entry"
        )
        shown = [
            c for c in protocol.cohorts if w.has("survival_diagnosis", f"{c.id}_{method}", "n")
        ]
        if shown:
            w.text(f"From histological diagnosis ({how}), survival at {t:g} years was ")
        for i, cohort in enumerate(shown):
            if i:
                w.text("; ")
            w.number("survival_diagnosis", f"{cohort.id}_{method}", f"s_{k}", "%")
            w.text(f" for {cohort.label}")
        if shown:
            w.text(". ")
        for nested in protocol.comparisons.nested:
            row = f"{nested.cohort}_vs_{nested.reference}"
            if not w.has("nested_diagnosis", row, f"diff_{k}"):
                continue
            w.text(
                f"At {t:g} years, {protocol.cohort(nested.cohort).label} minus "
                f"{protocol.cohort(nested.reference).label}: "
            )
            w.number("nested_diagnosis", row, f"diff_{k}", " points")
            w.interval("nested_diagnosis", row, f"diff_{k}_lower", f"diff_{k}_upper")
            w.text(". ")
        if spec.delayed_entry and w.has("immortal_time_gap", first.id, f"gap_{k}"):
            w.text(f"Without delayed entry, survival of {first.label} at {t:g} years would read ")
            w.number("immortal_time_gap", first.id, f"naive_{k}", "%")
            w.text(" instead of ")
            w.number("immortal_time_gap", first.id, f"delayed_{k}", "%")
            w.text(" (immortal-time bias). ")


def _comparisons(w: _Writer) -> None:
    if "disjoint" not in w.result.tables:
        return
    table = w.result.tables["disjoint"]
    for row in table.rows:
        key = str(row["comparison"])
        if row["hr"] is None:
            continue
        w.text(f"{row['group']} vs {row['versus']} (from {row['origin']}): hazard ratio ")
        w.number("disjoint", key, "hr")
        w.interval("disjoint", key, "hr_lower", "hr_upper")
        w.text(", log-rank p = ")
        w.number("disjoint", key, "logrank_p")
        w.text(" (adjusted ")
        w.number("disjoint", key, "logrank_p_adjusted")
        w.text("). ")


def write_narrative(result: StudyResult) -> list[Segment]:
    w = _Writer(result)
    _screening(w)
    if result.screening.flow.analysed == 0:
        w.text("No patient could be analysed.")
        return w.segments
    _response(w)
    _survival(w)
    _comparisons(w)
    # the last segment ends with a space; trim it
    if w.segments and w.segments[-1].table is None:
        w.segments[-1] = Segment(w.segments[-1].text.rstrip())
    return w.segments
