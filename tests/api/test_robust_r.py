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
from netoutcomes.engine import cox_after, cox_engine

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


def _engine_robust_tests(monkeypatch: pytest.MonkeyPatch, name: str) -> tuple[float, float]:
    """The engine's robust variance matrix and robust score, computed with the engine's
    own objects (captured from ``engine_cox``: its Newton steps and model rows) until
    engine/cox_engine.py passes them to ``EngineCox`` itself."""
    captured: dict[str, Any] = {}
    fit_cox = cox_engine.fit_cox
    robust_se = cox_engine.robust_variance_on_engine

    def keep_steps(steps: Any, *args: Any, **kwargs: Any) -> Any:
        captured["steps"] = steps
        return fit_cox(steps, *args, **kwargs)

    def robust_too(rows: Any, x_cols: Any, spec: Any, coef: Any, var: Any, sums: Any,
                   step: Any, codes: Any, fix: Any) -> Any:  # fmt: skip
        se = robust_se(rows, x_cols, spec, coef, var, sums, step, codes, fix)
        captured["var"] = cox_after.robust_variance_matrix_on_engine(
            rows, x_cols, spec, coef, var, sums, step, codes, fix
        )
        steps = captured["steps"]
        sums0 = steps(np.zeros(len(x_cols)))
        captured["rscore"] = cox_after.robust_score_on_engine(
            rows, x_cols, spec, sums0, steps.last[2], codes, fix
        )
        return se

    monkeypatch.setattr(cox_engine, "fit_cox", keep_steps)
    monkeypatch.setattr(cox_engine, "robust_variance_on_engine", robust_too)
    model = no.coxph(LUNG, backend="duckdb", **FITS[name])
    np.testing.assert_allclose(np.sqrt(np.diag(captured["var"])), model.fit.robust_se,
                               rtol=1e-12)  # fmt: skip
    b = model.coef
    return float(b @ np.linalg.solve(captured["var"], b)), float(captured["rscore"])


@pytest.mark.parametrize("name", list(FITS))
def test_engine_robust_wald_and_score_match_r(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    wald, rscore = _engine_robust_tests(monkeypatch, name)
    np.testing.assert_allclose(wald, R[name]["wald"][0], rtol=1e-8)
    np.testing.assert_allclose(rscore, R[name]["robust_score"][0], rtol=1e-8)


@pytest.mark.xfail(
    strict=True,
    reason="engine/cox_engine.py and cox_memory.py do not yet pass EngineCox.robust_var and "
    "robust_score (cox_after.robust_variance_matrix_on_engine / robust_score_on_engine, "
    "checked against R above); reported",
)
@pytest.mark.parametrize("backend", ["duckdb", "memory"])
def test_model_tests_give_r_robust_wald_and_score(backend: str) -> None:
    ref = R["cluster"]
    tests = no.coxph(LUNG, backend=backend, **FITS["cluster"]).tests().set_index("test")
    np.testing.assert_allclose(tests.loc["wald", "chisq"], ref["wald"][0], rtol=1e-8)
    np.testing.assert_allclose(tests.loc["robust score", "chisq"], ref["robust_score"][0],
                               rtol=1e-8)  # fmt: skip
