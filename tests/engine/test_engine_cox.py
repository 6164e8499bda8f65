"""Cox sums from the engine equal the in-memory ones step by step; fits equal R's coxph."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from engine_reference import FIXTURES, load_reference

from netoutcomes.engine.backends import open_source
from netoutcomes.engine.cox_sums import cox_sums_function, engine_cox_fit
from netoutcomes.errors import InputError
from netoutcomes.survival.cox import CoxTimeSums

# (dataset, time, event, entry, covariates, strata, R block)
CASES = [
    ("lung", "time", "event", None, ["age", "sex", "ph_ecog"], None, "cox_age_sex_ecog"),
    ("veteran", "time", "event", None, ["trt", "karno", "celltype"], None,
     "cox_trt_karno_celltype"),
    ("veteran", "time", "event", None, ["trt", "karno"], "celltype",
     "cox_trt_karno_strata_celltype"),
    ("aml", "time", "event", None, ["x"], None, "cox_x"),
    ("heart", "stop", "event", "start", ["age", "year", "surgery", "transplant"], None,
     "cox_counting"),
]  # fmt: skip
FIELDS = (
    "stratum", "time", "n_event", "w_event", "wx_event", "r_event", "rx_event", "rxx_event",
    "r_risk", "rx_risk", "rxx_risk",
)  # fmt: skip


def _sums(path: Path, backend: str, spark: Any, case: tuple) -> Any:
    _, time, event, entry, covariates, strata, _ = case
    source = open_source(path, backend, spark=spark)  # type: ignore[arg-type]
    return cox_sums_function(source, time, event, covariates, entry, strata)


def _assert_sums_equal(got: CoxTimeSums, want: CoxTimeSums) -> None:
    for name in FIELDS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[-1])
def test_sums_per_step_equal_memory_and_fit_equals_r(
    backend: str, spark_if_needed: Any, case: tuple
) -> None:
    path = FIXTURES / "data" / f"{case[0]}.csv"
    got = _sums(path, backend, spark_if_needed, case)
    oracle = _sums(path, "memory", None, case)
    ref = load_reference(case[0])[case[-1]]
    r_terms = ref["efron"]["terms"]  # jsonlite unboxes a single term to a string
    assert got.terms == oracle.terms == (r_terms if isinstance(r_terms, list) else [r_terms])
    np.testing.assert_allclose(got.means, oracle.means, rtol=1e-12, atol=1e-14)
    assert (got.n, got.nevent, got.n_dropped) == (oracle.n, oracle.nevent, oracle.n_dropped)
    assert got.n == ref["efron"]["n"] and got.nevent == ref["efron"]["nevent"]
    # Every sum at beta = 0 and at R's coefficients (a Newton step far from 0).
    for beta in (np.zeros(got.p), np.atleast_1d(np.array(ref["efron"]["coef"], dtype=float))):
        _assert_sums_equal(got.sums_at(beta), oracle.sums_at(beta))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[-1])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_engine_fit_equals_r(backend: str, spark_if_needed: Any, case: tuple, ties: str) -> None:
    _, time, event, entry, covariates, strata, block = case
    source = open_source(FIXTURES / "data" / f"{case[0]}.csv", backend, spark=spark_if_needed)  # type: ignore[arg-type]
    sums, newton = engine_cox_fit(source, time, event, covariates, entry, strata, ties=ties)  # type: ignore[arg-type]
    r = load_reference(case[0])[block][ties]
    np.testing.assert_allclose(newton.coef, r["coef"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(np.sqrt(np.diag(newton.var)), r["se"], rtol=1e-8)
    assert newton.loglik == pytest.approx(r["loglik"], rel=1e-10)
    assert newton.loglik_null == pytest.approx(r["loglik_null"], rel=1e-10)
    assert newton.score_test == pytest.approx(r["score"], rel=1e-8)


def test_weights_and_missing_rows_equal_memory(
    backend: str, spark_if_needed: Any, tmp_path: Path
) -> None:
    # lung with case weights 1, 2, 3 repeating (lung has missing ph_ecog rows).
    rows = list(csv.DictReader((FIXTURES / "data" / "lung.csv").open()))
    path = tmp_path / "lung_w.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*rows[0], "w"])
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow({**row, "w": 1 + i % 3})
    kw: dict[str, Any] = dict(time="time", event="event", covariates=["age", "sex", "ph_ecog"],
                              weights="w")  # fmt: skip
    source = open_source(path, backend, spark=spark_if_needed)  # type: ignore[arg-type]
    got = cox_sums_function(source, **kw)
    oracle = cox_sums_function(open_source(path, "memory"), **kw)
    assert got.n_dropped == oracle.n_dropped == 1
    np.testing.assert_allclose(got.means, oracle.means, rtol=1e-12)
    beta = np.array([0.01, -0.5, 0.4])
    _assert_sums_equal(got.sums_at(beta), oracle.sums_at(beta))


def test_single_level_factor_is_an_input_error(backend: str, spark_if_needed: Any,
                                               tmp_path: Path) -> None:  # fmt: skip
    path = tmp_path / "one.csv"
    path.write_text("time,event,g\n1,1,a\n2,0,a\n3,1,a\n")
    source = open_source(path, backend, spark=spark_if_needed)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="only one value"):
        cox_sums_function(source, "time", "event", ["g"])


def test_times_within_rounding_error_are_tied_as_the_memory_path(
    backend: str, spark_if_needed: Any, tmp_path: Path
) -> None:
    # 5 and 5 + 1e-12 are one time for R's coxph (aeqSurv) and for survival.cox.
    path = tmp_path / "ties.csv"
    path.write_text(
        "time,event,x\n5,1,0.5\n5.000000000001,1,1.5\n7,0,-1.2\n3,1,2.0\n9,1,0.1\n"
        "5,0,0.7\n2,1,-0.3\n8,1,1.1\n"
    )
    source = open_source(path, backend, spark=spark_if_needed)  # type: ignore[arg-type]
    got = cox_sums_function(source, "time", "event", ["x"])
    oracle = cox_sums_function(open_source(path, "memory"), "time", "event", ["x"])
    beta = np.array([0.3])
    sums = got.sums_at(beta)
    assert sums.n_event.tolist() == [1.0, 1.0, 2.0, 1.0, 1.0]  # two tied deaths at t = 5
    _assert_sums_equal(sums, oracle.sums_at(beta))
