"""Every log-rank number in R's fixtures (survdiff, rho = 0 and 1, stratified)."""

from __future__ import annotations

import numpy as np
import pytest
from km_reference_cases import DATA, LOGRANK_CASES, MORE_LOGRANK_CASES, LogrankCase, assert_close

from netoutcomes.engine.source import survival_data
from netoutcomes.survival.groups import grouped_count_tables
from netoutcomes.survival.logrank import logrank


@pytest.mark.parametrize("rho", [0, 1])
@pytest.mark.parametrize("case", LOGRANK_CASES + MORE_LOGRANK_CASES, ids=lambda c: c.block)
def test_logrank_matches_r(case: LogrankCase, rho: int) -> None:
    ref = case.expected()[f"rho_{rho}"]
    extra = [case.by] + ([case.strata] if case.strata else [])
    data = survival_data(DATA / f"{case.dataset}.csv", "time", "event", extra=extra)
    tables = grouped_count_tables(
        data.time,
        data.event,
        group=(case.by, data.columns[case.by]),
        stratum=None if case.strata is None else (case.strata, data.columns[case.strata]),
    )
    result = logrank(tables, rho=rho)
    assert result.groups == ref["groups"]
    assert result.df == ref["df"]
    assert_close(result.chisq, ref["chisq"], "chisq")
    assert_close(result.p, ref["p"], "p")
    assert_close(result.n, ref["n"], "n")
    assert_close(result.observed, ref["observed"], "observed")
    assert_close(result.expected, ref["expected"], "expected")
    r_var = np.array(ref["var"], dtype=float)
    np.testing.assert_allclose(result.var, r_var, rtol=1e-6, atol=1e-9 * np.abs(r_var).max())
