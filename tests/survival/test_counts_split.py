"""The count table from exits and entries counted apart (what an engine's two GROUP BYs
give) and R's tying of times within rounding error, on examples worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from netoutcomes.errors import InputError
from netoutcomes.survival.counts import exits_and_entries_table
from netoutcomes.survival.timefix import r_timefix, snap_times, tied_time_cuts


def test_exits_and_entries_counted_apart() -> None:
    # Rows: (0,5] event twice, (1,3] censored, (0,5] censored.  Grouped: exits
    # (5, event) x2, (3, censored) x1, (5, censored) x1; entries 0 x3, 1 x1.
    table = exits_and_entries_table(
        np.array([5.0, 3.0, 5.0]), np.array([True, False, False]), np.array([2.0, 1.0, 1.0]),
        np.array([1.0, 0.0]), np.array([1.0, 3.0]), n=4,
    )  # fmt: skip
    np.testing.assert_array_equal(table.time, [0, 1, 3, 5])
    np.testing.assert_array_equal(table.n_event, [0, 0, 0, 2])
    np.testing.assert_array_equal(table.n_censor, [0, 0, 1, 1])
    np.testing.assert_array_equal(table.n_enter, [3, 1, 0, 0])
    # at risk at t: entered before t and not yet left (R's (entry, exit] convention)
    np.testing.assert_array_equal(table.n_risk, [0, 3, 4, 3])
    assert table.n == 4


def test_exits_only() -> None:
    table = exits_and_entries_table(
        np.array([2.0, 1.0]), np.array([1.0, 1.0]), np.array([1.5, 1.0]), None, None, n=2
    )
    np.testing.assert_array_equal(table.time, [1, 2])
    np.testing.assert_array_equal(table.n_risk, [2.5, 1.5])
    np.testing.assert_array_equal(table.n_enter, [0, 0])


def test_tied_time_cuts_and_snap() -> None:
    # 1 and 1 + 1e-12 are one time (R: aeqSurv); 2 and 3 stay apart.
    times = np.array([3.0, 1.000000000001, 1.0, 2.0, 1.0])
    cuts = tied_time_cuts(times)
    assert cuts is not None
    np.testing.assert_array_equal(cuts, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(snap_times(cuts, times), [3.0, 1.0, 1.0, 2.0, 1.0])
    assert tied_time_cuts(np.array([1.0, 2.0, 2.0])) is None
    assert tied_time_cuts(np.array([np.nan, 1.0])) is None


def test_r_timefix_interval_collapsing() -> None:
    with pytest.raises(InputError, match=r"interval \(1, 1\] has length 0"):
        r_timefix(np.array([1.000000000001]), np.array([1.0]))
    time, entry = r_timefix(np.array([1.000000000001, 5.0]), np.array([0.0, 1.0]))
    np.testing.assert_array_equal(time, [1.0, 5.0])
    assert entry is not None
    np.testing.assert_array_equal(entry, [0.0, 1.0])


def test_tied_time_cuts_at_exactly_the_tolerance() -> None:
    # R's aeqSurv ties a gap *at* the tolerance (dy <= tolerance, on either scale).
    # sqrt(eps) = 2^-26 exactly, so these gaps are exact in binary.
    tol = 2.0**-26
    cuts = tied_time_cuts(np.array([0.0, tol, 1.0]))  # absolute gap = tol
    assert cuts is not None
    np.testing.assert_array_equal(cuts, [0.0, 1.0])
    # relative gap: grid 1024 -+ 2^-17, mean |time| 1024, gap 2^-16 = 1024 * tol
    a, b = 1024.0 - 2.0**-17, 1024.0 + 2.0**-17
    cuts = tied_time_cuts(np.array([b, a]))
    assert cuts is not None
    np.testing.assert_array_equal(cuts, [a])
    # just above the tolerance on both scales: not tied
    assert tied_time_cuts(np.array([a, np.nextafter(b, 2048.0)])) is None
