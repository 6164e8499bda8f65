"""R's summary(coxph) with a robust variance (cluster or robust = TRUE): per coefficient
z and p from the robust SE and the interval from it; the Wald test with the robust
variance and R's robust score test (tests/fixtures/api/robust.R wrote robust.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import netoutcomes as no

FIXTURES = Path(__file__).parent.parent / "fixtures"
LUNG = FIXTURES / "data" / "lung.csv"
R = json.loads((FIXTURES / "api" / "robust.json").read_text())
FITS: dict[str, dict[str, Any]] = {
    "cluster": {"formula": "Surv(time, event) ~ age + sex + ph_ecog + cluster(inst)"},
    "robust": {"formula": "Surv(time, event) ~ age + sex", "robust": True},
    "breslow_cluster": {
        "formula": "Surv(time, event) ~ age + sex", "ties": "breslow", "cluster": "inst"
    },
}  # fmt: skip


@pytest.mark.parametrize("backend", ["duckdb", "memory"])
@pytest.mark.parametrize("name", list(FITS))
def test_summary_uses_the_robust_se_as_r(name: str, backend: str) -> None:
    ref = R[name]
    model = no.coxph(LUNG, backend=backend, **FITS[name])
    table = model.summary()
    assert table.term.tolist() == ref["terms"]
    for key in ("coef", "se", "robust_se", "z", "p", "lower", "upper"):
        np.testing.assert_allclose(table[key], ref[key], rtol=1e-8, err_msg=key)


@pytest.mark.parametrize("backend", ["duckdb", "memory"])
@pytest.mark.parametrize("name", list(FITS))
def test_robust_wald_and_score_match_r(name: str, backend: str) -> None:
    """The robust variance matrix and robust score each backend passes to ``EngineCox``
    (duckdb: engine.cox_after's join + GROUP BY; memory: the rows' score residuals)."""
    model = no.coxph(LUNG, backend=backend, **FITS[name])
    engine = model.engine
    assert engine.robust_var is not None and engine.robust_score is not None
    np.testing.assert_allclose(np.sqrt(np.diag(engine.robust_var)), model.fit.robust_se,
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(engine.robust_wald(), R[name]["wald"][0], rtol=1e-8)
    np.testing.assert_allclose(engine.robust_score, R[name]["robust_score"][0], rtol=1e-8)


@pytest.mark.parametrize("backend", ["duckdb", "memory"])
def test_model_tests_give_r_robust_wald_and_score(backend: str) -> None:
    ref = R["cluster"]
    tests = no.coxph(LUNG, backend=backend, **FITS["cluster"]).tests().set_index("test")
    np.testing.assert_allclose(tests.loc["wald", "chisq"], ref["wald"][0], rtol=1e-8)
    np.testing.assert_allclose(tests.loc["robust score", "chisq"], ref["robust_score"][0],
                               rtol=1e-8)  # fmt: skip
