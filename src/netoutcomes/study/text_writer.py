"""Writing a paragraph as segments: numbers read from table cells, shown journal-style.

A ``SegmentWriter`` keeps sentences with a priority so that a paragraph can be
cut to MAX_WORDS by leaving out the least important ones.
"""

from __future__ import annotations

from netoutcomes.study.results import Segment, StudyResult
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


class SegmentWriter:
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
        """The sentences, dropping the least important (the last of the lowest priority)
        one at a time until MAX_WORDS holds; priority 0 is never dropped."""
        kept = list(enumerate(self.sentences))

        def words() -> int:
            return word_count("".join(s.text for _, (_, group) in kept for s in group))

        while words() > MAX_WORDS:
            droppable = [(p, i) for i, (p, _) in kept if p > 0]
            if not droppable:
                break
            _, last = max(droppable)
            kept = [(i, sentence) for i, sentence in kept if i != last]
        return [s for _, (_, group) in kept for s in group]

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
