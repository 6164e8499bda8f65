"""R formulas through ``no.coxph(formula=...)`` against R's ``coxph`` on the same formula
(tests/fixtures/api/formulas.R wrote formulas.json): coefficient names as R's
model.matrix names them, and every number R reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import netoutcomes as no
from netoutcomes.errors import InputError

FIXTURES = Path(__file__).parent.parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "api" / "formulas.json").read_text())
DATA = {
    "lung": FIXTURES / "data" / "lung.csv",
    "veteran": FIXTURES / "data" / "veteran.csv",
    "heart": FIXTURES / "data" / "heart.csv",
    "lung_weights": FIXTURES / "api" / "lung_weights.csv",
}


def _close(got: Any, expected: Any, what: str) -> None:
    g = np.array([np.nan if v is None else v for v in np.atleast_1d(got)], dtype=float)
    e = np.array([np.nan if v is None else v for v in np.atleast_1d(expected)], dtype=float)
    np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-12, equal_nan=True, err_msg=what)


def _fit(name: str) -> Any:
    ref = REFERENCE[name]
    kwargs: dict[str, Any] = {"ties": ref["ties"]}
    if ref["weights"]:
        # R makes the SE robust for non-integer weights; ask for it as R did
        kwargs |= {"weights": ref["weights"], "robust": True}
    if name == "reference_male":  # R: relevel(factor(sex), ref = "male")
        kwargs["reference"] = {"sex": "male"}
    return no.coxph(DATA[ref["dataset"]], ref["formula"], **kwargs)


@pytest.mark.parametrize("name", list(REFERENCE))
def test_formula_matches_r(name: str) -> None:
    ref = REFERENCE[name]
    model = _fit(name)
    out = model.to_dict()
    assert out["terms"] == ref["terms"]
    for key in ("coef", "se", "n", "nevent", "lrt", "score", "concordance", "concordance_se"):
        _close(out[key], ref[key], key)
    _close([out["loglik_null"], out["loglik"]], ref["loglik"], "loglik")
    if ref["robust_se"] is None:
        # R's summary uses the robust SE for z, p, limits and Wald once there is one
        for key in ("p", "hr_lower", "hr_upper", "wald"):
            _close(out[key], ref[key], key)
    else:
        _close(out["robust_se"], ref["robust_se"], "robust_se")


def test_reference_levels_are_named() -> None:
    model = _fit("factor_and_interaction")
    assert model.reference_levels == {"factor(ph_ecog)": "0", "sex": "female"}
    assert model.to_dict()["reference_levels"] == {"factor(ph_ecog)": "0", "sex": "female"}
    assert "Reference levels: factor(ph_ecog) = 0, sex = female" in repr(model)
    assert _fit("reference_male").reference_levels == {"sex": "male"}


def test_reference_by_contrast_in_the_formula_equals_the_argument() -> None:
    lung = DATA["lung"]
    by_formula = no.coxph(lung, 'Surv(time, event) ~ C(sex, contr.treatment("male")) + age')
    by_argument = no.coxph(lung, "Surv(time, event) ~ sex + age", reference={"sex": "male"})
    assert by_formula.to_dict() == by_argument.to_dict() | {}
    assert by_formula.terms == REFERENCE["reference_male"]["terms"]


def test_formula_equals_covariates_list() -> None:
    lung = DATA["lung"]
    a = no.coxph(lung, "Surv(time, event) ~ sex + age + strata(inst)")
    b = no.coxph(lung, time="time", event="event", covariates=["sex", "age"], strata="inst")
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("time ~ age", "the left-hand side must be Surv(time, event)"),
        ("Surv(time) ~ age", "Surv() takes (time, event) or (start, stop, event)"),
        ("Surv(time, event) ~ log(age)", "'log(age)' is not supported"),
        ("Surv(time, event) ~ 1", "no covariates on the right-hand side"),
        ("Surv(time, event) ~ nothere", "nothere"),
    ],
)
def test_bad_formula_is_one_line(formula: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        no.coxph(DATA["lung"], formula)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_reference_level() -> None:
    with pytest.raises(InputError, match="reference: 'other' is not a level of 'sex'"):
        no.coxph(DATA["lung"], "Surv(time, event) ~ sex", reference={"sex": "other"})
