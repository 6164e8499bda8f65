"""The reader's view of one cell, as Ibis expressions: missing?, and its number.

``engine.source`` types a column from its values in Python; an engine query that
must decide per row (is this row's entry missing?  is its entry before its
exit?) needs the same judgement in SQL.  These expressions are the SQL reading
of ``engine.source``'s rules for the usual cells (numbers written plainly, empty
cells, ``NA``, ``NaN``); callers check them against the reader's own typing of
the distinct values they saw (``engine.count_queries``) and fall back to the
reader when the two disagree, so an unusual cell never changes a result.
"""

from __future__ import annotations

from typing import Any

MISSING_TEXT = ["", "NA", "NaN", "nan"]  # engine.source's missing cells


def strip_text(col: Any) -> Any:
    """The text without surrounding white space, as the memory reader's ``str.strip``.

    On Spark, Ibis compiles ``strip()`` to a TRIM whose character list holds a form
    feed that Spark SQL reads as the letter ``f``: a cell ``f`` would become empty.
    A regular expression trims the same on every engine; DuckDB keeps its (faster)
    TRIM.
    """
    try:
        backend = col._find_backend().name
    except Exception:  # an unbound expression: no backend to ask
        backend = ""
    if backend == "pyspark":
        return col.re_replace(r"^\s+|\s+$", "")
    return col.strip()


def cell_missing(col: Any) -> Any:
    """The cell is missing: NULL, or a missing-value text.

    Not a floating-point NaN (the reader's missing value too): DuckDB 2.0.1 folds
    ``isnan(x)`` to false when a Parquet file's statistics (which leave NaN out)
    bound the column, so a NaN cell reads as present.  A caller that compares these
    flags with the reader's typing sees the NaN as a disagreement and reads the
    data the reader's way.
    """
    if col.type().is_string():
        return col.isnull() | strip_text(col).isin(MISSING_TEXT)
    return col.isnull()


def cell_number(col: Any) -> Any:
    """The cell as float64 (NULL where a text is not a number)."""
    if col.type().is_string():
        return strip_text(col).try_cast("float64")
    return col.cast("float64")
