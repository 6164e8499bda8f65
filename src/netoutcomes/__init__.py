"""netoutcomes: outcomes registry and survival analysis for neuroendocrine tumours.

Layers (dependencies point down only):
interfaces -> study -> registry -> api -> engine -> survival.

The public API (docs/api.md)::

    import netoutcomes as no
    fit = no.survfit("lung.csv", time="time", event="status", by="sex")
"""

from __future__ import annotations

from typing import Any

from netoutcomes.errors import InputError

__version__ = "0.1.0"

# Loaded on first use (PEP 562), so ``import netoutcomes`` (and ``netoutcomes --help``)
# does not import numpy, scipy or Ibis.
_API = {"survfit", "survdiff", "coxph", "cif"}

__all__ = ["InputError", "__version__", "cif", "coxph", "survdiff", "survfit"]


def __getattr__(name: str) -> Any:
    if name == "cif":  # competing risks (api/cif.py)
        from netoutcomes.api.cif import cif

        return cif
    if name in _API:
        import netoutcomes.api

        return getattr(netoutcomes.api, name)
    raise AttributeError(f"module 'netoutcomes' has no attribute {name!r}")
