"""``survival.chisq`` (scipy.special) against the scipy.stats calls it replaced, bit for bit."""

from __future__ import annotations

import numpy as np
from scipy import stats

from netoutcomes.survival.chisq import chi2_upper_tail, normal_quantile, normal_upper_tail

EDGES = [-np.inf, -3.0, -1e-12, 0.0, 1e-300, 0.5, 3.84, 50.0, 1e3, np.inf, np.nan]


def test_chi2_tail_is_scipy_stats() -> None:
    x = np.array(EDGES)
    for df in (0, 1, 2, 3, 7, 30):  # df 0: scipy.stats gives nan, outside its support
        np.testing.assert_array_equal(chi2_upper_tail(x, df), stats.chi2.sf(x, df))
    df = np.array([1, 2, 0, 4])
    np.testing.assert_array_equal(
        chi2_upper_tail(np.array([3.0, -1.0, 2.0, 9.5]), df),
        stats.chi2.sf(np.array([3.0, -1.0, 2.0, 9.5]), df),
    )


def test_normal_tails_are_scipy_stats() -> None:
    z = np.array(EDGES + [-40.0, 8.0, 40.0])
    np.testing.assert_array_equal(normal_upper_tail(z), stats.norm.sf(z))
    q = np.array([-0.1, 0.0, 1e-300, 0.025, 0.5, 0.975, 0.995, 1.0, 1.2, np.nan])
    np.testing.assert_array_equal(normal_quantile(q), stats.norm.ppf(q))


def test_global_test_p_values_and_iterations_equal_r() -> None:
    """summary(coxph)'s logtest / waldtest / sctest p-values and fit$iter
    (tests/fixtures/r/cox_test_p.R) on lung (age + sex + ph_ecog) and aml (x)."""
    import json
    from pathlib import Path

    from cox_cases import cox_cases

    from netoutcomes.engine.source import survival_data
    from netoutcomes.survival.cox import cox_model_data, cox_ph

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    ref = json.loads((fixtures / "r" / "cox_test_p.json").read_text())
    cases = {(c.dataset, c.block): c for c in cox_cases()}
    for name, block in (("lung", "cox_age_sex_ecog"), ("aml", "cox_x")):
        case = cases[(name, block)]
        sd = survival_data(case.csv, case.time, case.event, case.entry, case.covariates)
        model = cox_model_data(sd.time, sd.event, sd.entry, sd.columns, case.covariates)
        for ties in ("efron", "breslow"):
            fit = cox_ph(model.data, model.design.column_names, ties)  # type: ignore[arg-type]
            want = ref[f"{name}_{ties}"]
            got = (fit.lrt_p, fit.wald_p, fit.score_p)
            np.testing.assert_allclose(got, (want["lrt_p"], want["wald_p"], want["score_p"]),
                                       rtol=1e-6, err_msg=f"{name} {ties}")  # fmt: skip
            assert fit.iterations == want["iter"], (name, ties)
