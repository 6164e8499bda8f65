"""The entry points the CLI calls: same tables as the in-memory path, Cox summary as R's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from engine_reference import FIXTURES, load_reference

from netoutcomes.engine.analysis import cox_on, grouped_tables_on
from netoutcomes.survival.model_spec import CoxSpec, DesignColumn


@pytest.mark.parametrize("backend", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_grouped_tables_equal_the_memory_path(backend: str, request: pytest.FixtureRequest) -> None:
    if backend == "spark":
        request.getfixturevalue("spark_session")  # shared local session, or skip without Java
    path = FIXTURES / "data" / "veteran.csv"
    kw = dict(time="time", event="event", by="trt", strata="celltype")
    got = grouped_tables_on(path, backend=backend, **kw)  # type: ignore[arg-type]
    want = grouped_tables_on(path, backend="memory", **kw)  # type: ignore[arg-type]
    assert got.n_dropped == want.n_dropped == 0
    assert (got.tables.groups, got.tables.strata) == (want.tables.groups, want.tables.strata)
    assert got.tables.tables.keys() == want.tables.tables.keys()
    for key, table in got.tables.tables.items():
        other = want.tables.tables[key]
        np.testing.assert_array_equal(table.time, other.time)
        np.testing.assert_allclose(table.n_risk, other.n_risk, rtol=0, atol=1e-10)
        np.testing.assert_allclose(table.n_event, other.n_event, rtol=0, atol=1e-10)


LUNG_SPEC = CoxSpec(
    "time",
    "event",
    (
        DesignColumn("age", "age", (("age", None),)),
        DesignColumn("sexmale", "sex", (("sex", "male"),)),
        DesignColumn("ph_ecog", "ph_ecog", (("ph_ecog", None),)),
    ),
)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_on_memory_reports_r_summary(ties: str) -> None:
    result = cox_on(FIXTURES / "data" / "lung.csv", replace(LUNG_SPEC, ties=ties), backend="memory")
    fit = result.fit
    r = load_reference("lung")["cox_age_sex_ecog"][ties]
    assert result.n_dropped == 1 and fit.n == r["n"] and fit.nevent == r["nevent"]
    assert fit.terms == r["terms"]
    for key in ("coef", "se", "hr", "hr_lower", "hr_upper", "p"):
        np.testing.assert_allclose(getattr(fit, key), r[key], rtol=1e-8, err_msg=key)
    for key in ("lrt", "wald", "score", "loglik", "loglik_null", "concordance"):
        assert getattr(fit, key) == pytest.approx(r[key], rel=1e-8), key
    assert result.concordance.concordance == pytest.approx(r["concordance"], rel=1e-12)
