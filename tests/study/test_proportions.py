"""Clopper-Pearson intervals against R's binom.test and statsmodels' beta method."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import proportion_confint

from netoutcomes.survival.proportions import clopper_pearson

# R 4.2: print(binom.test(x, 50)$conf.int, digits = 10) for x in 23, 5, 0.
R_BINOM_TEST = {
    (23, 50): (0.3181491786, 0.6067580239),
    (5, 50): (0.03327509359, 0.21813536643),
    (0, 50): (0.0, 0.07112173646),
}


@pytest.mark.parametrize(("x", "n"), list(R_BINOM_TEST))
def test_matches_r_binom_test(x: int, n: int) -> None:
    p = clopper_pearson(x, n)
    lower, upper = R_BINOM_TEST[(x, n)]
    assert p.estimate == x / n
    assert p.lower == pytest.approx(lower, abs=1e-9)
    assert p.upper == pytest.approx(upper, abs=1e-9)


@pytest.mark.parametrize(("x", "n"), [(1, 1), (3, 7), (17, 50), (10, 50), (50, 50), (2, 200)])
def test_matches_statsmodels_beta(x: int, n: int) -> None:
    p = clopper_pearson(x, n, conf_level=0.9)
    lower, upper = proportion_confint(x, n, alpha=0.1, method="beta")
    assert p.lower == pytest.approx(lower, abs=1e-12)
    assert p.upper == pytest.approx(upper, abs=1e-12)


def test_empty_and_invalid() -> None:
    assert clopper_pearson(0, 0).n == 0
    with pytest.raises(ValueError):
        clopper_pearson(3, 2)
