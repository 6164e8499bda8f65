"""``cox_time_sums`` with no event at all, by hand (the mutation survivors of
``survival/cox_sums.py``: the branch for no events was never called by the Cox tests,
since ``cox_ph`` refuses such data before summing)."""

from __future__ import annotations

import numpy as np
import pytest

from netoutcomes.survival.cox import cox_time_sums


@pytest.mark.parametrize("strata", [None, np.array([0, 1, 1])])
def test_no_events_give_an_empty_table(strata: np.ndarray | None) -> None:
    # three censored rows, two covariates: no event time, so no row of sums
    x = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
    sums = cox_time_sums(
        x, np.array([1.0, 2.0, 3.0]), np.zeros(3, bool), None, np.ones(3), strata, np.zeros(2)
    )
    for name in ("stratum", "time", "n_event", "w_event", "r_event", "r_risk"):
        assert getattr(sums, name).shape == (0,), name
    for name in ("wx_event", "rx_event", "rx_risk"):
        assert getattr(sums, name).shape == (0, 2), name
    for name in ("rxx_event", "rxx_risk"):
        assert getattr(sums, name).shape == (0, 2, 2), name
    assert sums.stratum.dtype == np.int64
