"""The result objects: tables, summaries and reprs read as R prints them, and agree with
``.to_dict()`` (whose numbers tests/api/test_reference_api.py checks against R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import netoutcomes as no
from netoutcomes.api import text

FIXTURES = Path(__file__).parent.parent / "fixtures"
LUNG = FIXTURES / "data" / "lung.csv"
R_LUNG = json.loads((FIXTURES / "r" / "lung.json").read_text())


def test_survfit_table_is_the_json_table() -> None:
    fit = no.survfit(LUNG, "time", "event", by="sex")
    table = fit.table
    assert list(table.columns) == [
        "group", "time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower",
        "upper", "cumhaz",
    ]  # fmt: skip
    for s in fit.to_dict()["strata"]:
        rows = table[table.group == s["label"]]
        for key in ("time", "n_risk", "n_event", "surv", "lower", "upper", "cumhaz"):
            np.testing.assert_array_equal(rows[key].to_numpy(), s["table"][key])
        # R's summary(fit)$std.err is the SE of S: S times the SE of log S
        np.testing.assert_allclose(
            rows["std_err"].to_numpy(), rows["surv"] * np.array(s["table"]["std_err_cumhaz"])
        )


def test_median_and_quantile_match_r() -> None:
    fit = no.survfit(LUNG, "time", "event", by="sex")
    r = R_LUNG["km_by_sex"]["summary_log"]
    median = fit.median().set_index("group")
    q = fit.quantile([0.5]).set_index("group")
    for label, values in r.items():
        assert median.loc[label, "median"] == pytest.approx(values["median"], rel=1e-12)
        assert median.loc[label, "lower"] == pytest.approx(values["median_lower"], rel=1e-12)
        assert median.loc[label, "upper"] == pytest.approx(values["median_upper"], rel=1e-12)
        assert q.loc[label, "time"] == median.loc[label, "median"]


def test_at_and_rmst_equal_the_json() -> None:
    fit = no.survfit(LUNG, "time", "event", by="sex")
    out = fit.to_dict(times=[100.0, 365.0], tau=500.0)
    at = fit.at([100.0, 365.0])
    rmst = fit.rmst(500.0).set_index("group")
    for s in out["strata"]:
        rows = at[at.group == s["label"]]
        assert rows["surv"].tolist() == [a["surv"] for a in s["at_times"]]
        assert rmst.loc[s["label"], "rmst"] == s["rmst"]
        assert rmst.loc[s["label"], "se"] == s["rmst_se"]


def test_reprs_are_short_and_read_as_r_prints() -> None:
    fit = no.survfit(LUNG, "time", "event", by="sex")
    lines = repr(fit).splitlines()
    assert lines[1].split() == ["n", "events", "median", "0.95LCL", "0.95UCL"]
    assert lines[2].split() == ["sex=female", "90", "53", "426", "348", "550"]
    assert lines[3].split() == ["sex=male", "138", "112", "270", "212", "310"]
    test = no.survdiff(LUNG, "time", "event", by="sex")
    assert "Chisq = 10.3 on 1 degrees of freedom, p = 0.00131" in repr(test)
    model = no.coxph(LUNG, "Surv(time, event) ~ age + sex")
    shown = repr(model)
    assert len(shown) < 1000
    assert "n = 228, number of events = 165" in shown


def test_cox_summary_columns() -> None:
    model = no.coxph(LUNG, "Surv(time, event) ~ age + sex + cluster(inst)")
    s = model.summary()
    assert list(s.columns) == [
        "term", "coef", "exp_coef", "se", "robust_se", "z", "p", "lower", "upper",
    ]  # fmt: skip
    assert s.term.tolist() == ["age", "sexmale"]
    # With a cluster R's summary adds the robust score test (tests/api/test_robust_r.py).
    assert model.tests().test.tolist() == ["likelihood ratio", "wald", "score", "robust score"]


def test_zph_transforms_and_baseline() -> None:
    model = no.coxph(LUNG, "Surv(time, event) ~ age + sex")
    km = model.zph("km")
    assert km is not None and km.terms == ["age", "sex", "GLOBAL"]
    for transform in ("rank", "identity", "log"):
        z = model.zph(transform)
        assert z is not None and z.terms == km.terms
    base = model.baseline_hazard()
    assert (np.diff(base.cumhaz.to_numpy()) >= 0).all()
    pred = model.predict_survival({"age": [60.0, 70.0], "sex": ["male", "male"]})
    older = pred[pred.row == 1].surv.to_numpy()
    younger = pred[pred.row == 0].surv.to_numpy()
    assert (older <= younger).all()  # age's coefficient is positive


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1e-20, "< 2e-16"), (0.0013111, "0.00131"), (0.5, "0.5"), (float("nan"), "NA")],
)
def test_p_values_as_r_formats_them(value: float, shown: str) -> None:
    assert text.p_value(value) == shown


def test_numbers_without_needless_exponents() -> None:
    assert text.number(789100.0) == "789100"
    assert text.count(112.0) == "112"
    assert text.interval(0.0812, 0.3121, 2) == "0.081 to 0.31"
    assert "e" not in text.number(123456.789)


def test_the_package_top_exports_the_api() -> None:
    from netoutcomes.api.cif import cif
    from netoutcomes.api.comparison import survdiff
    from netoutcomes.api.cox_fit import coxph
    from netoutcomes.api.curves import survfit

    assert (no.survfit, no.survdiff, no.coxph, no.cif) == (survfit, survdiff, coxph, cif)
    assert set(no.__all__) >= {"survfit", "survdiff", "coxph", "cif", "InputError"}
    with pytest.raises(AttributeError):
        no.nothing  # noqa: B018
