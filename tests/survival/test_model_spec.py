"""``model_spec``: the Cox contract every engine reads, and the in-memory design matrix.

Against R (``tests/fixtures/r/model_spec_levels.R``) and examples worked by hand.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import netoutcomes as no
from netoutcomes.engine.analysis import cox_on
from netoutcomes.survival.model_spec import CoxSpec, DesignColumn, design_columns_values

FIXTURES = Path(__file__).parents[1] / "fixtures"
LEVELS = json.loads((FIXTURES / "r" / "model_spec_levels.json").read_text())
AGE = DesignColumn("age", "age", (("age", None),))


def _lung_with_text_levels(tmp_path: Path) -> Path:
    """lung with g = "1", "01", "2", "x" for ph_ecog 0..3 (empty where ph_ecog is NA),
    as the R script builds it."""
    rows = list(csv.DictReader((FIXTURES / "data" / "lung.csv").open()))
    path = tmp_path / "lung_g.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*rows[0], "g"])
        writer.writeheader()
        for row in rows:
            ecog = row["ph_ecog"]
            g = ["1", "01", "2", "x"][int(ecog)] if ecog not in ("", "NA") else ""
            writer.writerow({**row, "g": g})
    return path


@pytest.mark.parametrize("backend", ["memory", "duckdb"])
def test_a_text_column_whose_levels_read_as_numbers_is_compared_as_text_as_r(
    tmp_path: Path, backend: str
) -> None:
    # "01" and "1" are two levels of a text column (R's factor); compared as numbers they
    # would be one, and "2" compared as a number with the text "2" would match nothing.
    model = no.coxph(_lung_with_text_levels(tmp_path), "Surv(time, event) ~ g + age",
                     backend=backend)  # fmt: skip
    fit = model.fit
    assert list(fit.terms) == LEVELS["names"]
    np.testing.assert_allclose(fit.coef, LEVELS["coef"], rtol=1e-9)
    np.testing.assert_allclose(fit.se, LEVELS["se"], rtol=1e-9)
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], LEVELS["loglik"], rtol=1e-12)
    assert (fit.n, fit.nevent) == (LEVELS["n"], LEVELS["nevent"])


def test_design_columns_by_hand() -> None:
    # x (numbers), g (text with number-like levels), k (numbers used as factor(k)).
    data = {
        "x": np.array([1.5, 2.0, -1.0, 4.0]),
        "g": np.array(["1", "01", "2", "x"], dtype=object),
        "k": np.array([1.0, 2.0, 2.0, 3.0]),
    }
    columns = (
        DesignColumn("x", "x", (("x", None),)),
        DesignColumn("g1", "g", (("g", "1"),)),
        DesignColumn("g2", "g", (("g", "2"),)),
        DesignColumn("factor(k)2", "factor(k)", (("k", "2"),)),
        DesignColumn("factor(k)3", "factor(k)", (("k", "3.0"),)),  # 3.0 reads as 3
        DesignColumn("g2:x", "g:x", (("g", "2"), ("x", None))),
    )
    want = np.array(
        [
            [1.5, 1, 0, 0, 0, 0.0],
            [2.0, 0, 0, 1, 0, 0.0],
            [-1.0, 0, 1, 1, 0, -1.0],
            [4.0, 0, 0, 0, 1, 0.0],
        ]
    )
    np.testing.assert_array_equal(design_columns_values(columns, data), want)


def test_no_rows_and_no_columns_give_an_empty_matrix() -> None:
    assert design_columns_values((), {}).shape == (0, 0)
    assert design_columns_values((AGE,), {"age": np.array([])}).shape == (0, 1)


def test_the_spec_defaults_are_r_coxph_defaults() -> None:
    # R: coxph(ties = "efron"), robust = FALSE without cluster(): model-based variance
    # only, no robust se and no robust score test.
    spec = CoxSpec("time", "event", (AGE,))
    assert (spec.ties, spec.robust, spec.cluster, spec.strata) == ("efron", False, None, ())
    fit = cox_on(FIXTURES / "data" / "lung.csv", spec, backend="memory").fit
    assert fit.robust_se is None
    robust = cox_on(FIXTURES / "data" / "lung.csv", dataclasses.replace(spec, robust=True))
    assert robust.fit.robust_se is not None


@pytest.mark.parametrize("value", [CoxSpec("time", "event", (AGE,)), AGE], ids=["spec", "column"])
def test_the_spec_is_frozen(value: CoxSpec | DesignColumn) -> None:
    # The spec is shared by the formula front end and every engine: none may change it.
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.event = "e"  # type: ignore[union-attr]


def test_a_design_column_is_hashable() -> None:
    assert hash(AGE) == hash(DesignColumn("age", "age", (("age", None),)))
