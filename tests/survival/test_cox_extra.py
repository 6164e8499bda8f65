"""cox.zph, case weights and baseline hazard / adjusted curves against R (r/cox_extra.json,
made by r/cox_extra.R with survival 3.5-3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cox_cases import FIXTURES, CoxCase, cox_cases

from netoutcomes.engine.source import survival_data
from netoutcomes.survival.cox import CoxModelData, baseline_hazard, cox_model_data, cox_ph
from netoutcomes.survival.cox_zph import cox_zph

EXTRA = json.loads((FIXTURES / "r" / "cox_extra.json").read_text())
RTOL = 1e-6
NAMES = {
    "cox_age_sex_ecog": "lung",
    "cox_trt_karno_celltype": "veteran",
    "cox_trt_karno_strata_celltype": "veteran_strata",
    "cox_x": "aml",
    "cox_counting": "heart",
}
CASES = {NAMES[c.block]: c for c in cox_cases() if c.block in NAMES}


def model_of(case: CoxCase, weights: str | None = None) -> CoxModelData:
    extra = case.covariates + [c for c in (case.strata, case.cluster, weights) if c]
    sd = survival_data(case.csv, case.time, case.event, case.entry, extra)
    w = None if weights is None else sd.columns[weights]
    return cox_model_data(
        sd.time, sd.event, sd.entry, sd.columns, case.covariates, case.strata, case.cluster, w
    )


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("name", sorted(NAMES.values()))
def test_zph_matches_r(name: str, ties: str) -> None:
    ref = EXTRA[f"zph_{ties}"][name]
    model = model_of(CASES[name])
    fit = cox_ph(model.data, model.design.column_names, ties)  # type: ignore[arg-type]
    d = model.data
    zph = cox_zph(
        fit.sums,
        fit.ties,
        model.design.term_names,
        model.design.term_columns,
        d.time,
        d.event,
        d.entry,
    )
    assert zph.terms == ref["terms"]
    np.testing.assert_allclose(zph.chisq, ref["chisq"], rtol=RTOL)
    np.testing.assert_array_equal(zph.df, ref["df"])
    np.testing.assert_allclose(zph.p, ref["p"], rtol=RTOL)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_case_weights_match_r(ties: str, tmp_path: Path) -> None:
    ref = EXTRA[f"weighted_{ties}"]
    lung = CASES["lung"]
    # The weights R used: 0.5 + (inst %% 4) / 2, on the rows with inst (written as a column).
    lines = lung.csv.read_text().splitlines()
    inst_col = lines[0].split(",").index('"inst"')
    rows = [lines[0] + ',"w"']
    for line in lines[1:]:
        inst = line.split(",")[inst_col]
        rows.append(f"{line},{'' if inst == '' else 0.5 + (int(inst) % 4) / 2}")
    path = tmp_path / "lung_w.csv"
    path.write_text("\n".join(rows) + "\n")
    sd = survival_data(path, "time", "event", None, lung.covariates + ["w"])
    model = cox_model_data(
        sd.time, sd.event, None, sd.columns, lung.covariates, weights=sd.columns["w"]
    )
    fit = cox_ph(model.data, model.design.column_names, ties, robust=True)  # type: ignore[arg-type]
    for key in ["coef", "se", "loglik_null", "loglik", "score", "wald", "concordance", "robust_se"]:
        ours = np.atleast_1d(np.asarray(getattr(fit, key), dtype=float))
        np.testing.assert_allclose(ours, ref[key], rtol=RTOL, err_msg=key)
    d = model.data
    zph = cox_zph(
        fit.sums, fit.ties, model.design.term_names, model.design.term_columns, d.time, d.event
    )
    np.testing.assert_allclose(zph.chisq, ref["zph"]["chisq"], rtol=RTOL)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("name", ["lung", "veteran_strata", "heart"])
def test_baseline_hazard_and_adjusted_curve_match_r_survfit(name: str, ties: str) -> None:
    ref = EXTRA[f"curve_{ties}"][name]
    model = model_of(CASES[name])
    fit = cox_ph(model.data, model.design.column_names, ties)  # type: ignore[arg-type]
    np.testing.assert_allclose(fit.means, ref["means"], rtol=1e-12)
    # The pattern coded by hand as R's model.matrix codes it (factor -> 0/1 contrasts).
    names = model.design.column_names
    pattern = np.zeros(len(names))
    for term, cols in zip(model.design.term_names, model.design.term_columns, strict=True):
        value = ref["pattern"][term][0]
        for j in cols:
            pattern[j] = float(names[j] == f"{term}{value}") if isinstance(value, str) else value
    at_means = baseline_hazard(fit)
    curve = baseline_hazard(fit, pattern)
    event_rows = np.array(ref["n_event"]) > 0
    labels = np.array(ref["stratum"])[event_rows]
    strata_names = model.stratum_labels or ["all"]  # R names survfit.coxph strata by level
    np.testing.assert_array_equal(np.array(strata_names)[at_means.stratum], labels)
    np.testing.assert_allclose(at_means.time, np.array(ref["time"])[event_rows])
    np.testing.assert_allclose(
        at_means.cumhaz, np.array(ref["cumhaz_at_means"])[event_rows], rtol=RTOL
    )
    np.testing.assert_allclose(curve.cumhaz, np.array(ref["cumhaz_pattern"])[event_rows], rtol=RTOL)
    np.testing.assert_allclose(curve.surv, np.array(ref["surv_pattern"])[event_rows], rtol=RTOL)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_stratum_without_events_fits_as_r(ties: str) -> None:
    ref = EXTRA[f"stratum_no_events_{ties}"]
    covariates = ["age", "sex", "ph_ecog"]
    path = FIXTURES / "data" / "lung_stratum_no_events.csv"
    sd = survival_data(path, "time", "event", None, [*covariates, "agegroup"])
    model = cox_model_data(sd.time, sd.event, None, sd.columns, covariates, "agegroup")
    fit = cox_ph(model.data, model.design.column_names, ties)  # type: ignore[arg-type]
    for key in ["coef", "se", "loglik_null", "loglik", "score", "wald", "n", "nevent"]:
        ours = np.atleast_1d(np.asarray(getattr(fit, key), dtype=float))
        np.testing.assert_allclose(ours, ref[key], rtol=RTOL, err_msg=key)
    np.testing.assert_allclose(fit.concordance, ref["concordance"], rtol=RTOL)
    d = model.data
    zph = cox_zph(
        fit.sums, fit.ties, model.design.term_names, model.design.term_columns, d.time, d.event
    )
    np.testing.assert_allclose(zph.chisq, ref["zph"]["chisq"], rtol=RTOL)


def test_times_equal_up_to_rounding_are_tied_as_r_timefix() -> None:
    # R's coxph ties times closer than sqrt(eps) (aeqSurv): 0.1 + 0.2 and 0.3 are one time.
    time = np.array([0.1 + 0.2, 0.3, 0.5, 0.7, 0.9, 1.1])
    exact = np.array([0.3, 0.3, 0.5, 0.7, 0.9, 1.1])
    event = np.array([True, True, True, False, True, True])
    columns = {"a": np.array([1.0, 0.0, 2.0, 1.0, 0.0, 3.0])}
    fits = [
        cox_ph(cox_model_data(t, event, None, columns, ["a"]).data, ["a"], "efron")
        for t in (time, exact)
    ]
    assert fits[0].coef[0] == pytest.approx(fits[1].coef[0], rel=1e-12)
    assert fits[0].loglik == pytest.approx(fits[1].loglik, rel=1e-12)
