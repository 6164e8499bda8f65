"""Adjusted p-values for several comparisons (R's ``p.adjust`` "holm" and "BH")."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from netoutcomes.survival.counts import FloatArray


def adjust_holm(p: ArrayLike) -> FloatArray:
    """Holm step-down: sorted ascending, p_(i) (m - i + 1), running maximum, capped at 1."""
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def adjust_bh(p: ArrayLike) -> FloatArray:
    """Benjamini-Hochberg step-up: p_(i) m / i, running minimum from the largest, capped at 1."""
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")[::-1]
    stepped = np.minimum.accumulate(p[order] * m / (m - np.arange(m)))
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out
