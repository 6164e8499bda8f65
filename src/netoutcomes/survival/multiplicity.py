"""Adjusted p-values for several comparisons (R's ``p.adjust`` "holm" and "BH").

As R, a missing p-value (NaN) stays missing and does not count: the others are
adjusted among themselves, with m = the number of non-missing p-values, so one
pair without a test never changes another pair's adjusted p.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from netoutcomes.survival.counts import FloatArray


def _holm(p: FloatArray) -> FloatArray:
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def _bh(p: FloatArray) -> FloatArray:
    m = p.size
    order = np.argsort(p, kind="stable")[::-1]
    stepped = np.minimum.accumulate(p[order] * m / (m - np.arange(m)))
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def _among_present(p: ArrayLike, adjust: Callable[[FloatArray], FloatArray]) -> FloatArray:
    values = np.asarray(p, dtype=np.float64)
    present = ~np.isnan(values)
    out = np.full(values.shape, np.nan)
    out[present] = adjust(values[present])
    return out


def adjust_holm(p: ArrayLike) -> FloatArray:
    """Holm step-down: sorted ascending, p_(i) (m - i + 1), running maximum, capped at 1.

    NaN stays NaN and is left out of m (R's ``p.adjust``)."""
    return _among_present(p, _holm)


def adjust_bh(p: ArrayLike) -> FloatArray:
    """Benjamini-Hochberg step-up: p_(i) m / i, running minimum from the largest, capped at 1.

    NaN stays NaN and is left out of m (R's ``p.adjust``)."""
    return _among_present(p, _bh)
