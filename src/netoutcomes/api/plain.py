"""Results as plain JSON values: what ``.to_dict()`` returns and ``--json`` prints.

numpy scalars and arrays become Python numbers and lists, NaN and infinities
become ``None`` (JSON ``null``), whole floats stay floats (``2.0``, as the CLI
has always written them).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def plain(x: Any) -> Any:
    """``x`` with every numpy value turned into its JSON-ready Python value."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return [plain(v) for v in x.tolist()]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        v = float(x)
        return v if math.isfinite(v) else None
    return x
