"""The first data row that fails one of the reader's checks, found by one query.

``engine.count_queries`` checks the grouped exits and entries as the reader checks
its rows, in the reader's order.  When a check fails it knows which groups hold the
failing rows, but not the rows: this query numbers the rows in file order (as the
reader and ``engine.inputs`` number them), keeps those in a failing group (a join on
the group's values with a table of those groups) and returns the first.  A check
that fails on only some rows of a group (an entry not before the exit: the group
knows its exit time, each row has its own entry) carries a threshold: the rows
whose entry is at or above it fail.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netoutcomes.engine.sql_cells import cell_missing, cell_number

_ROW, _GROUP, _THRESHOLD = "__netoutcomes_row", "__netoutcomes_group", "__netoutcomes_threshold"
_ENTRY = "__netoutcomes_entry"


def first_bad_row(
    table: Any,
    result: Any,
    keys: list[str],
    failing: np.ndarray,
    missing_elsewhere: list[str],
    entry: str | None = None,
    threshold: np.ndarray | None = None,
) -> tuple[int, int, float | None] | None:
    """(data row, 0-based, of the first failing row; the row of ``result`` it is in;
    with ``entry``, that row's entry as SQL reads it).

    ``table``: the used columns as an Ibis table; ``result``: a grouped query's result
    (pyarrow) whose columns ``keys`` identify a group; ``failing``: the indices of its
    failing groups (all kept: no key missing).  ``missing_elsewhere``: columns outside
    the keys that must not be missing in a kept row.  With ``threshold`` (per failing
    group), only rows whose ``entry`` is at or above it fail.  None if no row is found.
    """
    import ibis
    import pyarrow as pa

    columns = {f"__k{j}": result.column(k).take(pa.array(failing)) for j, k in enumerate(keys)}
    columns[_GROUP] = pa.array(failing, pa.int64())
    if threshold is not None:
        columns[_THRESHOLD] = pa.array(np.asarray(threshold, dtype=np.float64))
    groups = ibis.memtable(pa.table(columns))
    numbered = table.mutate(**{_ROW: ibis.row_number()})
    joined = numbered.join(groups, [numbered[k] == groups[f"__k{j}"] for j, k in enumerate(keys)])
    condition: Any = None
    for c in missing_elsewhere:
        present = ~cell_missing(joined[c])
        condition = present if condition is None else condition & present
    if threshold is not None and entry is not None:
        late = cell_number(joined[entry]) >= joined[_THRESHOLD]
        condition = late if condition is None else condition & late
    if condition is not None:
        joined = joined.filter(condition)
    values = {_ROW: joined[_ROW], _GROUP: joined[_GROUP]}
    if entry is not None:
        values[_ENTRY] = cell_number(joined[entry])
    first = joined.select(**values).order_by(_ROW).limit(1).to_pyarrow()
    if first.num_rows == 0:
        return None
    row, group = int(first.column(_ROW)[0].as_py()), int(first.column(_GROUP)[0].as_py())
    return row, group, None if entry is None else first.column(_ENTRY)[0].as_py()
