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
