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


def test_time_with_one_at_risk_adds_no_variance_also_when_weighted() -> None:
    # R's survdiff2.c: "if (nrisk == 1) continue; /* only 1 subject, so no variance */".
    # With case weights the number at risk can be 1 while two groups share it (0.5 + 0.5).
    # By hand (groups A, B): t = 1: n 1.5 + 1.5, A dies: E = 0.5, 0.5, V_BB = 1 * 2 / 2 *
    # 0.5 * 0.5 = 0.25; t = 2: n 0.5 + 1.5, B dies: E += 0.25, 0.75, V_BB += 1 * 1 / 1 *
    # 0.75 * 0.25 = 0.1875; t = 3: n 0.5 + 0.5 = 1, A dies (weight 0.5): E += 0.25, 0.25,
    # no variance.  O = 1.5, 1; E = 1, 1.5; chisq = (1 - 1.5)^2 / 0.4375 = 4 / 7.
    tables = grouped_count_tables(
        np.array([1.0, 2.0, 3.0, 4.0]),
        np.array([True, True, True, False]),
        group=("g", np.array(["A", "B", "A", "B"], dtype=object)),
        weights=np.array([1.0, 1.0, 0.5, 0.5]),
    )
    result = logrank(tables)
    np.testing.assert_allclose(result.observed, [1.5, 1.0], rtol=1e-15)
    np.testing.assert_allclose(result.expected, [1.0, 1.5], rtol=1e-15)
    np.testing.assert_allclose(result.var, [[0.4375, -0.4375], [-0.4375, 0.4375]], rtol=1e-15)
    assert result.df == 1
    np.testing.assert_allclose(result.chisq, 4.0 / 7.0, rtol=1e-14)
