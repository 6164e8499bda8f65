"""Cox fits whose coefficient runs away, against R (tests/fixtures/r/cox_runaway.R).

The only subject with x = 1 dies first among n, so R's first Newton step is ~n on the
eta scale.  What R does there, and these fits must do too:

- the converged point's information is 1 - 1 = 0 in doubles (n = 60, 100): R's
  cholesky2 drops the column, ``coxph`` reports the coefficient NA and its variance 0
  (the fit used to stop with numpy's LinAlgError, a traceback);
- the risk sums pass 1e154 (n = 400): 1 / sum^2 leaves the doubles, and the
  information came out 1 (coef 400 with se 1 and no warning) where R's is 0;
- the first step overflows exp() (n = 1000): R shortens it to the midpoint;
- the other covariate keeps its coefficient, whichever order the columns come in;
- r x x' overflows while r does not (x = 1000): the step is shortened, as R.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netoutcomes.survival.cox import CoxData, cox_ph
from netoutcomes.survival.cox_zph import cox_zph

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "r" / "cox_runaway.json").read_text()
)
CASES = [k for k in REF if k not in ("survival_version", "first700_x1000")]


def _fit(case: str, ties: str):
    ref = REF[case]
    d = {k: np.array(v, float) for k, v in ref["data"].items()}
    x = np.column_stack([d[c] for c in ref["columns"]])
    return cox_ph(CoxData(x, d["time"], d["event"] == 1), list(ref["columns"]), ties)  # type: ignore[arg-type]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("case", CASES)
def test_runaway_fit_matches_r(case: str, ties: str) -> None:
    ref = REF[case][ties]
    with np.errstate(all="ignore"):
        fit = _fit(case, ties)
    want = np.array([np.nan if v is None else v for v in ref["coef"]], float)
    np.testing.assert_array_equal(np.isnan(fit.coef), np.isnan(want))
    np.testing.assert_allclose(fit.coef, want, rtol=1e-9)
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], ref["loglik"], rtol=1e-12)
    assert fit.iterations == ref["iter"]
    assert fit.concordance == pytest.approx(ref["concordance"][0], rel=1e-12)
    var = np.array(ref["var"], float).reshape(fit.var.shape, order="F")
    np.testing.assert_allclose(fit.var, var, rtol=1e-9, atol=0)
    singular = [c for c, v in zip(REF[case]["columns"], want, strict=True) if np.isnan(v)]
    named = [w for w in fit.warnings if "became singular" in w]
    if want_zph := ref["zph_km"]:  # cox.zph of the estimated columns (the fit's sums)
        d = REF[case]["data"]
        zph = cox_zph(fit.sums, ties, ["z"], [[0]], np.array(d["time"]), np.array(d["event"]) == 1)  # type: ignore[arg-type]
        np.testing.assert_allclose(zph.chisq, want_zph, rtol=1e-9, atol=1e-14)
    if singular:
        assert named and named[0].startswith(f"the information of {', '.join(singular)} became")
        assert fit.df == len(want) - len(singular)
        assert fit.se[np.isnan(want)].tolist() == [0.0] * len(singular)
    else:
        assert named == []


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_a_step_whose_information_overflows_is_shortened_as_r(ties: str) -> None:
    # x = 1000 for the subject dying first among 700: at the first step r ~ 1e304 is finite
    # (so is the log-likelihood) but r x x' is not; R rejects such a step (its notfinite
    # test covers the score and information too) and ends NA.  R's x is scaled (~350 for
    # that subject) where ours is centred only (~999), so the next products overflow
    # at other points of the path: R takes 2 iterations, we take 3, to the same end.
    ref = REF["first700_x1000"][ties]
    with np.errstate(all="ignore"):
        fit = _fit("first700_x1000", ties)
    assert np.isnan(fit.coef[0]) and ref["coef"] == [None]
    assert fit.var.ravel().tolist() == ref["var"] == [0]
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], ref["loglik"], rtol=1e-12)
    assert fit.concordance == pytest.approx(ref["concordance"][0], rel=1e-12)
