"""``survival.chisq`` (scipy.special) against the scipy.stats calls it replaced, bit for bit."""

from __future__ import annotations

import numpy as np
from scipy import stats

from netoutcomes.survival.chisq import chi2_upper_tail, normal_quantile, normal_upper_tail

EDGES = [-np.inf, -3.0, -1e-12, 0.0, 1e-300, 0.5, 3.84, 50.0, 1e3, np.inf, np.nan]


def test_chi2_tail_is_scipy_stats() -> None:
    x = np.array(EDGES)
    for df in (0, 1, 2, 3, 7, 30):  # df 0: scipy.stats gives nan, outside its support
        np.testing.assert_array_equal(chi2_upper_tail(x, df), stats.chi2.sf(x, df))
    df = np.array([1, 2, 0, 4])
    np.testing.assert_array_equal(
        chi2_upper_tail(np.array([3.0, -1.0, 2.0, 9.5]), df),
        stats.chi2.sf(np.array([3.0, -1.0, 2.0, 9.5]), df),
    )


def test_normal_tails_are_scipy_stats() -> None:
    z = np.array(EDGES + [-40.0, 8.0, 40.0])
    np.testing.assert_array_equal(normal_upper_tail(z), stats.norm.sf(z))
    q = np.array([-0.1, 0.0, 1e-300, 0.025, 0.5, 0.975, 0.995, 1.0, 1.2, np.nan])
    np.testing.assert_array_equal(normal_quantile(q), stats.norm.ppf(q))
