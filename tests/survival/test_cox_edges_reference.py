"""Cox fits at the edges against R (tests/fixtures/edges/survival_edges.R, block "cox"):
an aliased (collinear) column and a nearly collinear one (R's cholesky2 tolerance), a
regular fit without warnings, a monotone likelihood (R: "Loglik converged before
variable 4; coefficient may be infinite"), and R's aeqSurv tying of near-equal times."""

from __future__ import annotations

import numpy as np
import pytest
from edge_reference import REF, assert_r

from netoutcomes.survival.cox import CoxData, cox_ph, r_timefix

COX = REF["cox"]


def fit(block: str, ties: str):
    ref = COX[block]
    n = len(ref["time"])
    x = np.array(ref["x"], float).reshape(len(ref["columns"]), n).T  # R's column-major
    data = CoxData(x, np.array(ref["time"], float), np.array(ref["event"], bool))
    return cox_ph(data, list(ref["columns"]), ties)  # type: ignore[arg-type]


@pytest.mark.parametrize("block", ["collinear", "near_collinear", "regular", "monotone"])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_edge_fits_match_r(block: str, ties: str) -> None:
    ref = COX[block][ties]
    result = fit(block, ties)
    # also the monotone fit: R stops where the log-likelihood has converged, after the
    # same 18 steps, and so do we (the coefficient of diseasePKD is -18.53, SE 3307)
    assert_r(result.coef, ref["coef"], "coef")
    assert_r(result.se, ref["se"], "se")
    assert result.iterations == ref["iter"][0]
    assert_r([result.loglik_null, result.loglik], ref["loglik"], "loglik", rtol=1e-9)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_warnings_as_r(ties: str) -> None:
    assert fit("regular", ties).warnings == ()
    assert "warning_" + ties not in COX["regular"]  # R did not warn either
    for block in ("collinear", "near_collinear"):
        (warning,) = fit(block, ties).warnings
        assert warning.startswith("singular design: covariate b ")
    (warning,) = fit("monotone", ties).warnings
    assert "the coefficient of diseasePKD may be infinite" in warning  # that one only, as R
    assert "variable  4" in COX["monotone"]["warning_" + ties][0]  # R names column 4 too


def test_timefix_ties_times_as_r_aeqsurv() -> None:
    ref = REF["timefix"]
    fixed, entry = r_timefix(np.array(ref["time"], float), None)
    assert entry is None
    assert_r(fixed, ref["fixed"], "aeqSurv", rtol=0.0)


def test_timefix_with_entry_as_r_aeqsurv() -> None:
    from netoutcomes.errors import InputError

    # R: aeqSurv(Surv(c(0, 1 + 1e-10, 0.5, 2), c(1, 3, 2 + 1e-9, 4), ...)) gives
    # start 0 1 0.5 2, stop 1 3 2 4 (entries and exits tied on one grid)
    fixed, entry = r_timefix(
        np.array([1.0, 3.0, 2.0 + 1e-9, 4.0]), np.array([0.0, 1.0 + 1e-10, 0.5, 2.0])
    )
    assert fixed.tolist() == [1.0, 3.0, 2.0, 4.0]
    assert entry is not None and entry.tolist() == [0.0, 1.0, 0.5, 2.0]
    # R: aeqSurv(Surv(c(0, 1), c(1 + 1e-10, 1 + 2e-10), ...)) stops: "an interval has
    # effective length 0"
    with pytest.raises(InputError, match="has length 0"):
        r_timefix(np.array([1.0 + 1e-10, 1.0 + 2e-10]), np.array([0.0, 1.0]))


def test_a_missing_stratum_drops_its_row_as_r() -> None:
    from netoutcomes.survival.cox import cox_model_data

    # R drops a row with a missing strata() value from the model frame: the fit is the
    # fit without that row
    ref = COX["regular"]
    time, event = np.array(ref["time"], float), np.array(ref["event"], bool)
    x = np.array(ref["x"], float).reshape(2, -1)
    stratum = np.array([1.0, 1.0, np.nan, 2.0, 2.0, 1.0])
    columns = {"a": x[0], "c": x[1], "s": stratum}
    model = cox_model_data(time, event, None, columns, ["a", "c"], strata_column="s")
    assert model.design.n_dropped == 1 and model.data.x.shape == (5, 2)
    keep = ~np.isnan(stratum)
    without = cox_model_data(
        time[keep], event[keep], None, {k: v[keep] for k, v in columns.items()}, ["a", "c"], "s"
    )
    np.testing.assert_array_equal(model.data.x, without.data.x)
    np.testing.assert_array_equal(model.data.strata, without.data.strata)
    np.testing.assert_array_equal(model.data.time, without.data.time)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_a_fit_that_does_not_converge_is_r_last_step(ties: str) -> None:
    # Ten deaths in the order of x: the coefficient runs away; R stops after its 20
    # iterations at 265.85 and warns "Ran out of iterations and did not converge".  The
    # risk scores reach exp(350) (once an overflow and a traceback here).  At this point
    # the information is ~1.6e-9, a difference of sums of order 1, so its rounding
    # (and the SE's) is ~1e-7 relative, and the log-likelihood is ~-5e-7 near 0: those are
    # compared at that precision.  The coefficient is the sum of the 20 steps u / I, each
    # ~17.5 at the end, where I (8.6e-8, 3.2e-8, 1.2e-8, 4.3e-9 over the last four) has an
    # absolute rounding error of a few ulp of the order-1 sums it is the difference of
    # (~1e-15): 17.5 * 1e-15 * (1/8.6e-8 + 1/3.2e-8 + 1/1.2e-8 + 1/4.3e-9) ~ 6e-6, i.e.
    # 2.4e-8 of 265.85.  The coefficient is determined to that and no better, in R too:
    # 1e-9 held on one machine and not on another (6.1e-9; the same numpy and numba
    # versions, a different CPU), so it is compared at 3e-8.
    ref = COX["no_convergence"][ties]
    result = fit("no_convergence", ties)
    assert_r(result.coef, ref["coef"], "coef", rtol=3e-8)
    assert_r(result.se, ref["se"], "se", rtol=1e-6)
    np.testing.assert_allclose(result.loglik_null, ref["loglik"][0], rtol=1e-12)
    np.testing.assert_allclose(result.loglik, ref["loglik"][1], rtol=0, atol=1e-12)
    (warning,) = result.warnings
    assert "did not converge in 20 iterations" in warning
    assert COX["no_convergence"]["warning_" + ties] == [
        "Ran out of iterations and did not converge"
    ]
