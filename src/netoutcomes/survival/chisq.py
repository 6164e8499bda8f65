"""Normal and chi-squared tail probabilities from ``scipy.special``.

``scipy.stats`` costs ~0.5 s to import (``scipy.special`` ~0.2 s, and the
Kaplan-Meier path loads it anyway); the Cox summary and ``cox.zph`` need only
these three functions.  Each returns what the ``scipy.stats`` call it replaces
returns, bit for bit: ``norm.ppf`` is ``ndtri``, ``norm.sf(z)`` is ``ndtr(-z)`` and
``chi2.sf(x, df)`` is ``chdtrc(df, x)`` inside the support; outside it
``scipy.stats`` gives 1 for x < 0 and nan for df <= 0, and so do these.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import chdtrc, ndtr, ndtri


def normal_quantile(q: ArrayLike) -> NDArray[np.float64]:
    """``scipy.stats.norm.ppf(q)``."""
    return np.asarray(ndtri(q), dtype=np.float64)


def normal_upper_tail(z: ArrayLike) -> NDArray[np.float64]:
    """``scipy.stats.norm.sf(z)``: P(Z > z)."""
    return np.asarray(ndtr(-np.asarray(z, dtype=np.float64)), dtype=np.float64)


def chi2_upper_tail(x: ArrayLike, df: ArrayLike) -> NDArray[np.float64]:
    """``scipy.stats.chi2.sf(x, df)``: P(X > x) for X chi-squared on ``df`` degrees of freedom."""
    x_arr = np.asarray(x, dtype=np.float64)
    df_arr = np.asarray(df, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        tail = chdtrc(df_arr, np.maximum(x_arr, 0.0))  # nan stays nan
    return np.asarray(np.where(df_arr > 0, tail, np.nan), dtype=np.float64)
