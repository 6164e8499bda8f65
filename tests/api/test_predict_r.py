"""``CoxModel.baseline_hazard()`` and ``.predict_survival(newdata)`` against R's
``basehaz(fit, centered = TRUE)`` and ``survfit(fit, newdata)`` at the event times
(tests/fixtures/api/predict.R wrote predict.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import netoutcomes as no
from netoutcomes.engine.cox_after import km_and_ranks_on_engine
from netoutcomes.engine.cox_passes import E, T
from netoutcomes.survival.cox_zph import cox_zph, km_transform, rank_transform
from netoutcomes.survival.model_spec import CoxSpec

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


@pytest.mark.parametrize("transform", ["km", "rank", "identity", "log"])
@pytest.mark.parametrize("backend", ["duckdb", "memory"])
def test_zph_transforms_match_r(transform: str, backend: str) -> None:
    """R's ``cox.zph(fit, transform)`` (tests/fixtures/api/zph.R)."""
    ref = ZPH[transform]
    model = no.coxph(LUNG, "Surv(time, event) ~ age + sex + factor(ph_ecog)", backend=backend)
    zph = model.zph(transform)
    assert zph is not None
    assert zph.terms == ref["terms"]
    np.testing.assert_allclose(zph.chisq, ref["chisq"], rtol=1e-8)
    np.testing.assert_array_equal(zph.df, ref["df"])
    np.testing.assert_allclose(zph.p, ref["p"], rtol=1e-8)


ZPH_FORMULA = "Surv(time, event) ~ age + sex + factor(ph_ecog)"


def _model_rows() -> pd.DataFrame:
    """The rows the fit uses (R drops a row with a missing covariate)."""
    return pd.read_csv(LUNG).dropna(subset=["time", "event", "age", "sex", "ph_ecog"])


def test_zph_rank_transform_of_all_exit_times_matches_r() -> None:
    """R's rank transform ranks every row's exit time (censored too, ties averaged):
    fed to the score tests it gives R's cox.zph(fit, "rank") table."""
    engine = no.coxph(LUNG, ZPH_FORMULA).engine
    rows = _model_rows()
    g = rank_transform(rows.time.to_numpy(float), engine.fit.sums.time)
    zph = cox_zph(engine.fit.sums, engine.fit.ties, engine.terms, engine.term_columns,
                  transformed=g)  # fmt: skip
    ref = ZPH["rank"]
    assert zph.terms == ref["terms"]
    np.testing.assert_allclose(zph.chisq, ref["chisq"], rtol=1e-8)
    np.testing.assert_allclose(zph.p, ref["p"], rtol=1e-8)


def test_rank_transform_by_hand() -> None:
    # times 1 2 2 3 3 3 5: ranks 1, 2.5, 2.5, 5, 5, 5, 7 (R's rank, ties averaged)
    time = np.array([3.0, 1.0, 2.0, 3.0, 5.0, 2.0, 3.0])
    np.testing.assert_array_equal(rank_transform(time, np.array([1.0, 2.0, 3.0, 5.0])),
                                  [1.0, 2.5, 5.0, 7.0])  # fmt: skip


def test_engine_counts_give_the_rows_ranks_and_km() -> None:
    """The engine's one GROUP BY over (exit time, event) gives what the rows give."""
    import ibis

    rows = _model_rows()
    at = no.coxph(LUNG, ZPH_FORMULA).engine.fit.sums.time
    table = ibis.memtable({T: rows.time.to_numpy(float), E: rows.event.to_numpy(float)})
    spec = CoxSpec(time="time", event="event", columns=())
    km, ranks = km_and_ranks_on_engine(table, spec, lambda t: t, at)
    np.testing.assert_array_equal(ranks, rank_transform(rows.time.to_numpy(float), at))
    time, event = rows.time.to_numpy(float), rows.event.to_numpy() == 1
    np.testing.assert_allclose(km, km_transform(time, event, None, at), rtol=1e-14)
