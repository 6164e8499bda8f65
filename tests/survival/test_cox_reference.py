"""Every `cox_*` block of the R fixtures, both tie methods, every number to 1e-6 relative."""

from __future__ import annotations

import numpy as np
import pytest
from cox_cases import CoxCase, as_array, cox_cases

from netoutcomes.engine.source import survival_data
from netoutcomes.survival.cox import CoxFit, cox_model_data, cox_ph

CASES = cox_cases()
RTOL = 1e-6
NUMBERS = [
    "coef", "se", "hr", "hr_lower", "hr_upper", "p", "loglik_null", "loglik",
    "lrt", "wald", "score", "n", "nevent", "concordance", "robust_se",
]  # fmt: skip


def fit_case(case: CoxCase, ties: str) -> CoxFit:
    extra = case.covariates + [c for c in (case.strata, case.cluster) if c]
    sd = survival_data(case.csv, case.time, case.event, case.entry, extra)
    model = cox_model_data(
        sd.time, sd.event, sd.entry, sd.columns, case.covariates, case.strata, case.cluster
    )
    return cox_ph(
        model.data,
        model.design.column_names,
        ties,  # type: ignore[arg-type]
        cluster=model.cluster,
        robust=case.cluster is None,
    )


def test_all_fixture_blocks_found() -> None:
    assert {(c.dataset, c.block) for c in CASES} >= {
        ("lung", "cox_age_sex_ecog"),
        ("veteran", "cox_trt_karno_celltype"),
        ("veteran", "cox_trt_karno_strata_celltype"),
        ("aml", "cox_x"),
        ("heart", "cox_counting"),
    }


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.dataset}-{c.block}")
def test_matches_r_coxph(case: CoxCase, ties: str) -> None:
    ref = case.reference[ties]
    fit = fit_case(case, ties)
    assert fit.terms == list(np.atleast_1d(ref["terms"]))
    for key in NUMBERS:
        ours = np.atleast_1d(np.asarray(getattr(fit, key), dtype=float))
        np.testing.assert_allclose(ours, as_array(ref[key]), rtol=RTOL, atol=0, err_msg=key)
