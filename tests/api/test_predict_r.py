"""``CoxModel.baseline_hazard()`` and ``.predict_survival(newdata)`` against R's
``basehaz(fit, centered = TRUE)`` and ``survfit(fit, newdata)`` at the event times
(tests/fixtures/api/predict.R wrote predict.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import netoutcomes as no

FIXTURES = Path(__file__).parent.parent / "fixtures"
LUNG = FIXTURES / "data" / "lung.csv"
R = json.loads((FIXTURES / "api" / "predict.json").read_text())


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_baseline_and_predictions_match_r(ties: str) -> None:
    ref = R[ties]
    model = no.coxph(LUNG, "Surv(time, event) ~ age + sex", ties=ties)
    base = model.baseline_hazard()
    np.testing.assert_allclose(base.time, ref["base_time"], rtol=1e-12)
    np.testing.assert_allclose(base.cumhaz, ref["base_cumhaz"], rtol=1e-10)
    pred = model.predict_survival({"age": [60.0, 70.0], "sex": ["male", "female"]})
    for row, k in ((0, "1"), (1, "2")):
        one = pred[pred.row == row]
        np.testing.assert_allclose(one.time, ref["time"], rtol=1e-12)
        np.testing.assert_allclose(one.cumhaz, ref[f"cumhaz_{k}"], rtol=1e-10)
        np.testing.assert_allclose(one.surv, ref[f"surv_{k}"], rtol=1e-10)


ZPH = json.loads((FIXTURES / "api" / "zph.json").read_text())


_RANK_DIFFERS = pytest.mark.xfail(
    strict=True,
    reason="engine.cox_result.event_time_ranks is not R's rank(times) (chisq 0.328 vs R's "
    "0.0979 for age); reported to the engine's owner",
)


@pytest.mark.parametrize(
    "transform", ["km", pytest.param("rank", marks=_RANK_DIFFERS), "identity", "log"]
)
def test_zph_transforms_match_r(transform: str) -> None:
    """R's ``cox.zph(fit, transform)`` (tests/fixtures/api/zph.R)."""
    ref = ZPH[transform]
    zph = no.coxph(LUNG, "Surv(time, event) ~ age + sex + factor(ph_ecog)").zph(transform)
    assert zph is not None
    assert zph.terms == ref["terms"]
    np.testing.assert_allclose(zph.chisq, ref["chisq"], rtol=1e-8)
    np.testing.assert_array_equal(zph.df, ref["df"])
    np.testing.assert_allclose(zph.p, ref["p"], rtol=1e-8)
