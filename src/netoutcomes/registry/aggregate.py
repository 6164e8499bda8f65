"""The aggregate export: counts per table and per coded value, small cells suppressed.

Every count from 1 to ``min_cell - 1`` is written ``<min_cell``. Because each
breakdown adds up to its published table total, the suppressed cells of a
breakdown must not be recoverable by subtraction: more cells are hidden
(``suppressed``, smallest first) until at least two are hidden and together they
hold at least ``min_cell`` rows. So ``[1, 1, 50]`` (total 52) does not become
``['<5', '<5', 50]``, from which 52 - 50 = 2 = 1 + 1 gives both back.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import StoredRow, coded_columns

DEFAULT_MIN_CELL = 5
# Below 3, a suppressed cell is 1 or 2, and one row is a person: refused.
MIN_MIN_CELL = 3
COMPLEMENTARY = "suppressed"  # a count >= min_cell hidden so that a small one cannot be derived


def suppress_count(count: int, min_cell: int = DEFAULT_MIN_CELL) -> int | str:
    """A count fit to leave the clinic: 1 .. min_cell-1 become ``<min_cell``; 0 stays 0."""
    return f"<{min_cell}" if 0 < count < min_cell else count


def suppress_group(counts: list[int], min_cell: int = DEFAULT_MIN_CELL) -> list[int | str]:
    """Suppress the small counts of one breakdown whose total is published (see module doc)."""
    shown: list[int | str] = [suppress_count(c, min_cell) for c in counts]
    hidden = {i for i, c in enumerate(counts) if 0 < c < min_cell}
    if not hidden:
        return shown
    while len(hidden) < 2 or sum(counts[i] for i in hidden) < min_cell:
        others = [i for i, c in enumerate(counts) if c > 0 and i not in hidden]
        if not others:
            break
        smallest = min(others, key=lambda i: counts[i])
        hidden.add(smallest)
        shown[smallest] = COMPLEMENTARY
    return shown


def summary_counts(
    state: dict[str, list[StoredRow]], min_cell: int = DEFAULT_MIN_CELL
) -> list[list[Any]]:
    """Rows (table, column, value, count): every coded column, small counts suppressed.

    The table's row count is published, and a column's missing values are counted
    as the value ``(missing)``, so each breakdown adds up to that total: which is
    why ``suppress_group`` adds complementary suppression.
    """
    rows: list[list[Any]] = []
    for table, spec in TABLES.items():
        rows.append([table, "", "", suppress_count(len(state[table]), min_cell)])
        for column in coded_columns(spec):
            tally = Counter(
                "(missing)" if r[column] is None else str(r[column]) for r in state[table]
            )
            values = sorted(tally)
            shown = suppress_group([tally[v] for v in values], min_cell)
            rows += [[table, column, v, n] for v, n in zip(values, shown, strict=True)]
    return rows
