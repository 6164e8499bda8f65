"""The study's model fits go through the public API (issue 9): the same
data -> engine -> survival path as the CLI; checked here against lifelines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test

from netoutcomes.study import statistics as st
from netoutcomes.survival.cox import CoxData, cox_ph
from netoutcomes.survival.cox_zph import cox_zph

# A small set made by hand: two groups, ties, censoring, both competing causes.
TIME = np.array([2.0, 3, 3, 5, 6, 7, 7, 9, 10, 12, 13, 15, 16, 18, 20, 22], dtype=np.float64)
EVENT = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0], dtype=bool)
GROUP = np.array([1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0], dtype=bool)
AGE = np.array([61.0, 55, 70, 48, 66, 59, 72, 50, 45, 68, 63, 52, 75, 49, 58, 60])
STATUS = np.where(EVENT, np.where(np.arange(TIME.size) % 3 == 0, 2, 1), 0)


def _spy(monkeypatch: pytest.MonkeyPatch, name: str, calls: list[str]) -> None:
    real: Callable[..., Any] = getattr(st, name)

    def recorded(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(st, name, recorded)


def test_every_model_fit_goes_through_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    for name in ("survfit", "survdiff", "coxph", "cif"):
        _spy(monkeypatch, name, calls)
    st.km(TIME, EVENT, None)
    assert calls == ["survfit"]
    st.counts(TIME, EVENT, None)
    st.follow_up_median(TIME, EVENT, None)
    assert calls == ["survfit"] * 3
    calls.clear()
    st.two_group_test(TIME, EVENT, None, GROUP)
    assert calls == ["survdiff", "coxph"]
    calls.clear()
    fit = st.cox_fit(AGE[:, None], ["age"], TIME, EVENT, None, None)
    st.cox_zph_p(fit, TIME, EVENT, None)
    assert calls == ["coxph"]  # cox.zph is the API model's, not a second fit
    calls.clear()
    st.cumulative_incidence_at(TIME, STATUS, [1, 2], [5.0, 10.0])
    st.gray_p(TIME, STATUS, GROUP, 1)
    assert calls == ["cif", "cif"]


def test_the_study_module_holds_no_fitting_kernel() -> None:
    """The old path called these kernels directly; none is left in the module."""
    old = ("count_table", "cox_ph", "cox_zph", "logrank", "aalen_johansen", "gray_test")
    assert [name for name in old if hasattr(st, name)] == []


def test_api_path_equals_lifelines() -> None:
    curve = st.km(TIME, EVENT, None)
    lkm = KaplanMeierFitter().fit(TIME, EVENT)
    expected = lkm.survival_function_.loc[curve.time].to_numpy().ravel()
    np.testing.assert_allclose(curve.surv, expected, rtol=1e-12)

    test = st.two_group_test(TIME, EVENT, None, GROUP)
    lr = logrank_test(TIME[GROUP], TIME[~GROUP], EVENT[GROUP], EVENT[~GROUP])
    assert test.logrank_chisq == pytest.approx(lr.test_statistic, rel=1e-10)
    assert test.logrank_p == pytest.approx(lr.p_value, rel=1e-10)

    import pandas as pd

    frame = pd.DataFrame({"t": TIME, "e": EVENT.astype(int), "group": GROUP.astype(float)})
    cph = CoxPHFitter().fit(frame, "t", "e")  # Efron ties, as R and the study
    assert test.hr == pytest.approx(float(cph.hazard_ratios_["group"]), rel=1e-6)
    assert test.cox_p == pytest.approx(float(cph.summary.loc["group", "p"]), rel=1e-5)

    fit = st.cox_fit(np.c_[AGE, GROUP.astype(float)], ["age", "arm"], TIME, EVENT, None, None)
    both = pd.DataFrame({"t": TIME, "e": EVENT.astype(int), "age": AGE, "arm": GROUP * 1.0})
    ref = CoxPHFitter().fit(both, "t", "e")
    assert fit.terms == ["age", "arm"]
    np.testing.assert_allclose(fit.coef, ref.params_[["age", "arm"]].to_numpy(), rtol=1e-6)
    zph = st.cox_zph_p(fit, TIME, EVENT, None)
    # cox.zph as the old path computed it, from the kernels directly
    data = CoxData(np.c_[AGE, GROUP.astype(float)], TIME, EVENT, None)
    kernel = cox_ph(data, ["age", "arm"], conf_level=0.95)
    old = cox_zph(kernel.sums, kernel.ties, ["age", "arm"], [[0], [1]], TIME, EVENT, None)
    assert list(zph) == old.terms
    np.testing.assert_allclose(list(zph.values()), old.p, rtol=1e-12)


def test_a_cause_with_no_event_has_zero_incidence_and_no_interval() -> None:
    status = np.where(EVENT, 1, 0)
    at = st.cumulative_incidence_at(TIME, status, [1, 2], [0.0, 10.0])
    np.testing.assert_array_equal(at[2].cif, [0.0, 0.0])
    assert np.isnan(at[2].lower[1]) and np.isnan(at[2].upper[1])
    # cause 1 is then the complement of Kaplan-Meier (no competing event)
    km = KaplanMeierFitter().fit(TIME, EVENT)
    assert at[1].cif[1] == pytest.approx(1 - float(km.predict(10.0)), rel=1e-12)
