"""``survival.cox`` where the other Cox tests did not look (the mutation survivors of
``survival/cox.py``, ``cox_fit.py`` and ``cox_model_data.py``): which columns R centres
and on what (tests/fixtures/r/cox_mutation_cox.R), the curve of a covariate pattern, the
means and the robust SE when a coefficient is aliased, the default 95% limits, the
centring of no rows or one row (by hand), no robust SE unless asked, the errors when no
column is left, and which missing values drop a row (R's model frame).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netoutcomes.errors import InputError
from netoutcomes.survival.cox import (
    CoxData,
    baseline_hazard,
    centred,
    cox_model_data,
    cox_ph,
    cox_summary,
    fit_cox,
)

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "r" / "cox_mutation_cox.json").read_text()
)
D = {k: np.array(v, float) for k, v in REF["data"].items()}
C = {k: np.array(v, float) for k, v in REF["collinear"].items()}
MODELS = {  # the formulas of cox_mutation_cox.R
    "nocenter": (["m", "z"], D, False, False),
    "weights": (["z"], D, True, False),
    "weights_entry": (["z"], D, True, True),
    "aliased": (["a", "b"], C, False, False),
    "aliased_01": (["a", "b", "c"], C, False, False),
}


def model_data(name: str) -> CoxData:
    columns, d, weighted, entry = MODELS[name]
    return CoxData(
        np.column_stack([d[c] for c in columns]),
        d["time"],
        d["event"] == 1,
        entry=d["start"] if entry else None,
        weights=d["w"] if weighted else None,
    )


def fit(name: str, ties: str, robust: bool = False):
    return cox_ph(model_data(name), MODELS[name][0], ties, robust=robust)  # type: ignore[arg-type]


def r_coef(ref: dict) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in ref["coef"]], float)


def event_rows(ref: dict) -> np.ndarray:
    return np.array(ref["n_event"]) > 0


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("name", ["nocenter", "weights", "weights_entry", "aliased"])
def test_means_and_curve_at_the_means_as_r(name: str, ties: str) -> None:
    # nocenter: a column of -1, 0 and 1 is not centred (R's fit$means 0 for it);
    # weights: centred on the weighted mean (coxfit6); weights with entry: on the
    # unweighted mean (agreg.fit's colMeans).  basehaz / survfit(fit) is at those means.
    ref = REF[name][ties]
    result = fit(name, ties)
    np.testing.assert_allclose(result.coef, r_coef(ref), rtol=1e-9)
    np.testing.assert_allclose(result.means, ref["means"], rtol=1e-12, atol=1e-15)
    curve = baseline_hazard(result)
    rows = event_rows(ref)
    np.testing.assert_array_equal(curve.time, np.array(ref["time"])[rows])
    np.testing.assert_allclose(curve.cumhaz, np.array(ref["cumhaz_at_means"])[rows], rtol=1e-9)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_curve_of_a_pattern_counts_an_aliased_coefficient_as_0(ties: str) -> None:
    # b = 2a + 1 is aliased: R's survfit(fit, newdata) gives the pattern's b (20, far from
    # its mean 8.33) no weight
    ref = REF["aliased"][ties]
    curve = baseline_hazard(fit("aliased", ties), np.array(ref["pattern"]))
    rows = event_rows(ref)
    np.testing.assert_allclose(curve.cumhaz, np.array(ref["cumhaz_pattern"])[rows], rtol=1e-9)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_aliased_fit_means_with_a_01_column_as_r(ties: str) -> None:
    # _with_aliased reported the plain column means (c = 0/1 got 0.5) where R's
    # fit$means, and the curve the kept columns were fitted on, leave a 0/1 column
    # uncentred (0): baseline_hazard(pattern) of such a fit was off by exp(0.5 coef_c).
    ref = REF["aliased_01"][ties]
    result = fit("aliased_01", ties)
    curve = baseline_hazard(result, np.array(ref["pattern"]))
    rows = event_rows(ref)
    np.testing.assert_allclose(curve.cumhaz, np.array(ref["cumhaz_pattern"])[rows], rtol=1e-9)
    np.testing.assert_allclose(result.means, ref["means"], rtol=1e-12, atol=1e-15)


def test_centring_no_rows_and_one_row_by_hand() -> None:
    x = np.zeros((0, 2))
    xc, means = centred(x, None, counting=False)
    assert xc.shape == (0, 2)
    np.testing.assert_array_equal(means, [0.0, 0.0])
    # one row: its own values are the (weighted) means, except a -1/0/1 column
    xc, means = centred(np.array([[2.5, -1.0, 4.0]]), np.array([3.0]), counting=False)
    np.testing.assert_array_equal(means, [2.5, 0.0, 4.0])
    np.testing.assert_array_equal(xc, [[0.0, -1.0, 0.0]])


def test_no_robust_se_unless_asked() -> None:
    # R's coxph without cluster() or robust = TRUE has no robust SE (no fit$naive.var):
    # cox_ph's defaults
    result = cox_ph(model_data("nocenter"), ["m", "z"])
    assert result.robust_se is None


def test_no_column_left_is_an_error() -> None:
    time, event = D["time"], D["event"] == 1
    with pytest.raises(InputError, match="no covariates"):
        cox_ph(CoxData(np.zeros((time.size, 0)), time, event), [])
    # every column aliased (a constant): named, not "no covariates"
    with pytest.raises(InputError, match="singular design: covariate k is constant"):
        cox_ph(CoxData(np.full((time.size, 1), 3.0), time, event), ["k"])


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_robust_se_of_an_aliased_fit_as_r(ties: str) -> None:
    # R (robust = TRUE): the kept column's sandwich SE, 0 for the NA coefficient
    ref = REF["aliased"][ties]
    result = fit("aliased", ties, robust=True)
    assert result.robust_se is not None
    np.testing.assert_allclose(result.robust_se, ref["robust_se"], rtol=1e-9, atol=0)
    np.testing.assert_allclose(result.hr_lower[:1], ref["hr_lower"][:1], rtol=1e-9)
    assert np.isnan(result.hr_lower[1]) and ref["hr_lower"][1] is None


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_summary_limits_are_95_percent_by_default_as_r(ties: str) -> None:
    # cox_summary without conf_level: R's summary(fit)$conf.int (conf.int = 0.95)
    ref = REF["nocenter"][ties]
    data = model_data("nocenter")
    xc, means = centred(data.x, None, counting=False)
    fitdata = CoxData(xc, data.time, data.event)
    newton = fit_cox(fitdata.sums_at, 2, ties)  # type: ignore[arg-type]
    summary = cox_summary(
        ["m", "z"], newton, ties, n=10, nevent=7, means=means, sums=fitdata.sums_at(newton.coef)
    )  # type: ignore[arg-type]
    np.testing.assert_allclose(summary.hr_lower, ref["hr_lower"], rtol=1e-9)
    np.testing.assert_allclose(summary.hr_upper, ref["hr_upper"], rtol=1e-9)


def test_a_missing_cluster_drops_its_row_and_an_unused_column_does_not() -> None:
    # R's model frame holds the formula's variables only: a missing cluster(id) drops
    # its row, a missing value in a column the formula does not name drops nothing
    time, event = D["time"], D["event"] == 1
    cluster = np.array([1.0, 1.0, 2.0, np.nan, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0])
    unused = np.array([np.nan] + [0.0] * 9)
    columns = {"z": D["z"], "id": cluster, "other": unused}
    model = cox_model_data(time, event, None, columns, ["z"], cluster_column="id")
    assert model.design.n_dropped == 1 and model.data.time.size == 9
    keep = ~np.isnan(cluster)
    np.testing.assert_array_equal(model.data.time, time[keep])
    np.testing.assert_array_equal(model.data.x[:, 0], D["z"][keep])
    assert model.cluster is not None
    np.testing.assert_array_equal(model.cluster, [0, 0, 1, 2, 2, 3, 3, 4, 4])
