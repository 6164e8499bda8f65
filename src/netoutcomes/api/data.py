"""What ``data=`` may be, and which backend reads it.

A CSV or Parquet path, a pandas or polars DataFrame, a pyarrow Table or an Ibis
table.  The API does not read anything itself: the engine
(``netoutcomes.engine.analysis``) reads every kind with one set of reader rules
(typing, 0/1 or 1/2 events, NA, the first bad row named).  Here only the
defaults are chosen: ``backend=None`` is DuckDB for paths and in-memory frames,
and the table's own backend for an Ibis table.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netoutcomes.errors import InputError

BACKENDS = ("duckdb", "spark", "memory")


def is_ibis_table(data: Any) -> bool:
    # By module name, so that a path or a DataFrame never imports Ibis (CLI start-up).
    return type(data).__module__.startswith("ibis.") and hasattr(data, "to_pyarrow")


def engine_data(data: Any) -> Any:
    """``data`` as the engine takes it: a ``Path`` for a path, anything else unchanged."""
    if isinstance(data, str | os.PathLike):
        return Path(data)
    return data


def ibis_backend_name(data: Any) -> str:
    """The name of the backend an Ibis table is bound to (``duckdb``, ``pyspark``, ...)."""
    try:
        return str(data.get_backend().name)
    except Exception:  # an unbound table expression
        return "duckdb"


def resolve_backend(data: Any, backend: str | None) -> str:
    """``backend`` as given, or the default for ``data``."""
    if backend is None:
        if is_ibis_table(data):
            name = ibis_backend_name(data)
            return "spark" if name == "pyspark" else "duckdb"
        return "duckdb"
    if backend not in BACKENDS:
        raise InputError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    return backend


def column_names(
    option: str, value: str | Sequence[str] | None, shown: str | None = None
) -> list[str]:
    """``by=``, ``strata=``: one column name or several (crossed, as R's ``a + b``).
    ``shown``: how the user wrote it, for the error (the CLI's ``--by a,b``)."""
    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value)
    written = repr(shown) if shown is not None else repr(value)
    if not all(isinstance(n, str) and n.strip() for n in names):
        raise InputError(f"{option}: {written} has an empty column name")
    names = [n.strip() for n in names]
    if len(set(names)) < len(names):
        raise InputError(f"{option}: {written} names a column twice")
    return names


def check_conf_level(conf_level: float, option: str = "conf_level") -> None:
    if not 0.0 < conf_level < 1.0:
        raise InputError(f"{option}: {conf_level:g} is not between 0 and 1 (e.g. 0.95)")
