"""The public Python API: ``no.survfit``, ``no.survdiff``, ``no.coxph`` (docs/api.md).

Each function takes ``data`` (a CSV/Parquet path, a pandas or polars DataFrame,
a pyarrow Table or an Ibis table), hands it to the engine, and returns a frozen
result object with ``.to_dict()`` (exactly the CLI's ``--json``) and an R-like
``repr``.  Loaded on first use (PEP 562), so that ``netoutcomes.api.text`` (the
CLI's number formatting) does not import numpy.
"""

from __future__ import annotations

from typing import Any

__all__ = ["coxph", "survdiff", "survfit"]

_WHERE = {
    "coxph": "netoutcomes.api.cox_fit",
    "survdiff": "netoutcomes.api.comparison",
    "survfit": "netoutcomes.api.curves",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'netoutcomes.api' has no attribute {name!r}")
