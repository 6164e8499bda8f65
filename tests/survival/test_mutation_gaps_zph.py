"""survival.cox_zph's helpers that the Cox test files do not reach (mutation gaps): the
rank transform's average ranks (R's ``rank``, worked by hand) and the refusal of a call
without the rows' events."""

from __future__ import annotations

import numpy as np
import pytest

from netoutcomes.survival.cox_zph import cox_zph, exit_time_ranks, rank_transform


def test_rank_transform_averages_tied_ranks_as_r_rank() -> None:
    # times 4 4 1 7 4 1 9 -> sorted 1 1 4 4 4 7 9: R's rank() gives 1.5 to both 1s,
    # 4 to the three 4s (ranks 3, 4, 5), 6 to 7 and 7 to 9.
    time = np.array([4.0, 4.0, 1.0, 7.0, 4.0, 1.0, 9.0])
    got = rank_transform(time, np.array([1.0, 4.0, 7.0, 9.0]))
    assert got.tolist() == [1.5, 4.0, 6.0, 7.0]
    assert got.dtype == np.float64


def test_exit_time_ranks_from_counts() -> None:
    # 2 rows exit at 10, 1 at 20, 4 at 30: ranks (rows before) + (rows at + 1) / 2
    # = 0 + 1.5, 2 + 1, 3 + 2.5
    got = exit_time_ranks(np.array([10.0, 20.0, 30.0]), np.array([2.0, 1.0, 4.0]),
                          np.array([30.0, 10.0, 20.0]))  # fmt: skip
    assert got.tolist() == [5.5, 1.5, 3.0]


@pytest.mark.parametrize(("time", "event"), [(np.ones(2), None), (None, np.ones(2, bool))])
def test_km_transform_needs_both_times_and_events(time, event) -> None:
    with pytest.raises(ValueError, match="give the rows"):
        cox_zph(None, "efron", [], [], time, event)  # type: ignore[arg-type]
