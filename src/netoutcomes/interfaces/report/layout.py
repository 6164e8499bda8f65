"""Study tables laid out for a reader: labels instead of ids, estimates with their
intervals in one cell, landmarks as grouped column headers, footnotes.

The same :class:`DisplayTable` is written to HTML and to Word. Every number keeps
the id of its study cell (``table--row--column``), so the narrative's links land
on it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from netoutcomes.figures.forest import format_p
from netoutcomes.interfaces.report.labels import (
    COLUMN_LABELS,
    LANDMARK,
    LANDMARK_PREFIXES,
    humanise,
    looks_like_id,
    value_label,
)
from netoutcomes.study.tables import Cell, Table, cell_anchor

MISSING = "–"  # an en dash: not estimable / not applicable
NE = "NE"  # a confidence limit that cannot be estimated


@dataclass(frozen=True)
class Part:
    """A piece of a cell's text; a number carries the id of its study cell."""

    text: str
    anchor: str | None = None
    value: float | str | None = None


@dataclass(frozen=True)
class DisplayCell:
    parts: tuple[Part, ...]
    numeric: bool

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts)


@dataclass(frozen=True)
class HeaderCell:
    text: str
    colspan: int = 1
    rowspan: int = 1


@dataclass(frozen=True)
class DisplayTable:
    id: str
    title: str
    header: list[list[HeaderCell]]
    rows: list[list[DisplayCell]]
    footnotes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Column:
    """One displayed column: a study column, with its interval columns if any."""

    base: str
    lower: str | None
    upper: str | None
    group: str | None
    header: str
    joined: str | None = None  # a second text column shown in the same cell ("A vs B")


def _is_text_column(table: Table, column: str) -> bool:
    values = [r[column] for r in table.rows if r[column] is not None]
    return bool(values) and all(isinstance(v, str) for v in values)


def _plan(table: Table) -> list[Column]:
    columns = list(table.columns)
    # the row key is an internal id: hidden when another column names the row
    if any(_is_text_column(table, c) for c in columns[1:]):
        columns = columns[1:]

    def has_values(c: str) -> bool:  # an estimate counts as present if a bound is
        related = [x for x in (c, f"{c}_lower", f"{c}_upper") if x in table.columns]
        return any(r[x] is not None for r in table.rows for x in related)

    def base(c: str) -> str:
        return c.removesuffix("_lower").removesuffix("_upper")

    # drop empty columns; an interval's bounds go with their estimate
    columns = [c for c in columns if has_values(base(c)) or not table.rows]
    if "method" in columns and len({r["method"] for r in table.rows}) <= 1:
        columns.remove("method")  # one analysis for every row: said in the title
    plan: list[Column] = []
    skip: set[str] = set()
    for i, c in enumerate(columns):
        if c in skip:
            continue
        if c == "group" and "versus" in columns:  # one "Comparison" cell: "A vs B"
            plan.append(Column(c, None, None, None, "Comparison", joined="versus"))
            skip.add("versus")
            continue
        lower, upper = f"{c}_lower", f"{c}_upper"
        if c.endswith("_lower") or c.endswith("_upper"):
            continue
        if lower not in columns and i + 1 < len(columns) and columns[i + 1] == "ci_lower":
            lower, upper = "ci_lower", "ci_upper"  # response tables: percent, ci_lower, ci_upper
        has_ci = lower in columns and upper in columns
        if has_ci:
            skip |= {lower, upper}
        group, header = _header(table, c)
        if has_ci and "95% CI" not in header:
            header += " (95% CI)"
        plan.append(Column(c, lower if has_ci else None, upper if has_ci else None, group, header))
    return [p for p in plan if not p.base.endswith(("_lower", "_upper"))]


def _header(table: Table, column: str) -> tuple[str | None, str]:
    if column in COLUMN_LABELS:
        group, header = COLUMN_LABELS[column]
        if column == "rmst_diff" and column in table.labels:
            group = table.labels[column].split(" (")[0]  # "RMST difference to 10 y"
        return group, header
    m = LANDMARK.match(column)
    if m and m["prefix"] in LANDMARK_PREFIXES:
        t = float(m["t"])
        group = f"{t:g} year" + ("" if t == 1 else "s")
        if m["note"]:
            return group, "Note"
        label = table.labels.get(column, "")
        if m["prefix"] == "s" and label.endswith(" (%)"):  # "PFS at 1 y (%)" -> "PFS, %"
            name = re.sub(r"\s+at\s+[0-9.]+\s*y\b", "", label.removesuffix(" (%)"))
            return group, f"{name}, %"
        return group, LANDMARK_PREFIXES[m["prefix"]]
    label = table.labels.get(column, "")
    if label and not looks_like_id(label):
        return None, label
    return None, humanise(column)


def _decimals(values: list[Cell]) -> int:
    """As many decimals as the column's values carry (at most 2): 80.0 and 66.3 align."""
    best = 0
    for v in values:
        if isinstance(v, float) and math.isfinite(v):
            text = f"{v:.2f}".rstrip("0")
            best = max(best, len(text.split(".")[1]) if "." in text else 0)
    return min(best, 2)


def _number(v: Cell, decimals: int, p_value: bool) -> str:
    if v is None:
        return MISSING
    if isinstance(v, str):
        return v
    if p_value:
        return format_p(float(v))
    text = f"{float(v):.{decimals}f}" if isinstance(v, float) else str(v)
    return text.replace("-", "−")  # a true minus sign


def _is_p(column: str) -> bool:
    return column == "p" or column.endswith("_p") or "_p_" in column


def display_table(
    table: Table, value_labels: dict[str, str] | None = None, footnotes: list[str] | None = None
) -> DisplayTable:
    plan = _plan(table)
    decimals = {
        p.base: _decimals(
            [r[c] for r in table.rows for c in (p.base, p.lower, p.upper) if c is not None]
        )
        for p in plan
    }
    rows = [[_cell(table, r, p, decimals[p.base], value_labels) for p in plan] for r in table.rows]
    rows = [[_capitalised(row[0]), *row[1:]] for row in rows if row]
    return DisplayTable(table.id, table.title, _header_rows(plan), rows, _notes(table, footnotes))


def _cell(
    table: Table,
    row: dict[str, Cell],
    column: Column,
    decimals: int,
    value_labels: dict[str, str] | None,
) -> DisplayCell:
    key = str(row[table.key])

    def part(name: str) -> Part:
        v = row[name]
        text = _number(v, decimals, _is_p(name))
        if v is None and _is_text_column(table, name):
            text = ""  # a note or label that does not apply: blank, not "not estimable"
        if isinstance(v, str):
            text = value_label(v, value_labels)
        return Part(text, cell_anchor(table.id, key, name), v)

    parts = [part(column.base)]
    if column.joined:
        parts += [Part(" vs "), part(column.joined)]
    lower, upper = column.lower, column.upper
    if lower and upper and (row[lower] is not None or row[upper] is not None):
        # a bound the data cannot give (e.g. a median's upper limit): "NE"
        lo, hi = (x if x.text != MISSING else Part(NE, x.anchor) for x in map(part, (lower, upper)))
        bounds = [row[lower], row[upper]]
        negative = any(isinstance(b, int | float) and b < 0 for b in bounds)
        parts += [Part(" ("), lo, Part(" to " if negative else "–"), hi, Part(")")]
    return DisplayCell(tuple(parts), not isinstance(row[column.base], str))


def _capitalised(cell: DisplayCell) -> DisplayCell:
    """A row label starts with a capital ("Improved", "Symptom control (...)")."""
    if cell.numeric or not cell.parts or not cell.parts[0].text[:1].islower():
        return cell
    first = cell.parts[0]
    text = first.text[:1].upper() + first.text[1:]
    return DisplayCell((Part(text, first.anchor, first.value), *cell.parts[1:]), cell.numeric)


def _header_rows(plan: list[Column]) -> list[list[HeaderCell]]:
    if not any(p.group for p in plan):
        return [[HeaderCell(p.header) for p in plan]]
    top: list[HeaderCell] = []
    bottom: list[HeaderCell] = []
    i = 0
    while i < len(plan):
        group = plan[i].group
        if group is None:
            top.append(HeaderCell(plan[i].header, rowspan=2))
            i += 1
            continue
        j = i
        while j < len(plan) and plan[j].group == group:
            bottom.append(HeaderCell(plan[j].header))
            j += 1
        top.append(HeaderCell(group, colspan=j - i))
        i = j
    return [top, bottom]


def _notes(table: Table, extra: list[str] | None) -> list[str]:
    notes = [table.note] if table.note else []
    return notes + list(extra or [])
