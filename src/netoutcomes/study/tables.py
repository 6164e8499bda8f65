"""Result tables: every number the report shows lives in one cell of one table.

A cell is addressed by (table id, row key, column); the narrative refers to
cells by that address, the report gives each cell an HTML id built from it,
and each table is also written as a CSV file.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

Cell = str | int | float | None


def cell_anchor(table: str, row: str, column: str) -> str:
    """The HTML id of a cell (and the target of the narrative's links)."""
    return f"{table}--{row}--{column}".replace(" ", "_")


def clean(value: Any) -> Cell:
    """JSON-safe: NaN and infinities become None (missing)."""
    if value is None:
        return None
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    return str(value)


@dataclass
class Table:
    id: str
    title: str
    columns: list[str]  # the first column is the row key
    labels: dict[str, str] = field(default_factory=dict)  # column -> header text
    rows: list[dict[str, Cell]] = field(default_factory=list)
    note: str = ""
    # row key -> how a reader names the row (the protocol's label): no internal id shown
    row_labels: dict[str, str] = field(default_factory=dict)

    def add(self, **values: Any) -> None:
        unknown = set(values) - set(self.columns)
        if unknown:
            raise KeyError(f"table {self.id}: unknown columns {sorted(unknown)}")
        self.rows.append({c: clean(values.get(c)) for c in self.columns})

    @property
    def key(self) -> str:
        return self.columns[0]

    def cell(self, row: str, column: str) -> Cell:
        for r in self.rows:
            if r[self.key] == row:
                return r[column]
        raise KeyError(f"table {self.id}: no row {row!r}")

    def row_label(self, row: str) -> str:
        return self.row_labels.get(row, row)

    def header(self, column: str) -> str:
        return self.labels.get(column, column)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "columns": self.columns,
            "labels": {c: self.header(c) for c in self.columns},
            "rows": self.rows,
            "note": self.note,
            "row_labels": {str(r[self.key]): self.row_label(str(r[self.key])) for r in self.rows},
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        return out.getvalue()
