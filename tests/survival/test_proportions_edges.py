"""Edges of the exact binomial interval (R's binom.test has no answer for n = 0: it stops)."""

from __future__ import annotations

import math

import pytest

from netoutcomes.survival.proportions import clopper_pearson


def test_no_patients_gives_no_estimate() -> None:
    got = clopper_pearson(0, 0, 0.9)
    assert (got.successes, got.n, got.conf_level) == (0, 0, 0.9)
    assert math.isnan(got.estimate) and math.isnan(got.lower) and math.isnan(got.upper)


@pytest.mark.parametrize(("successes", "n"), [(-1, 3), (4, 3), (0, -1)])
def test_impossible_counts_are_refused(successes: int, n: int) -> None:
    with pytest.raises(ValueError, match="0 <= successes <= n"):
        clopper_pearson(successes, n)


def test_all_and_none_as_r() -> None:
    # R: binom.test(0, 10)$conf.int = 0 0.3084971; binom.test(10, 10)$conf.int = 0.6915029 1
    none, every = clopper_pearson(0, 10), clopper_pearson(10, 10)
    assert none.lower == 0.0 and every.upper == 1.0
    assert math.isclose(none.upper, 0.3084971078187608, rel_tol=1e-9)
    assert math.isclose(every.lower, 1 - 0.3084971078187608, rel_tol=1e-9)
