"""The compiled Efron sub-step sums (``survival.efron_kernel``) against the plain formula.

For an event time with d tied deaths, Efron's sub-step k = 0..d-1 has the risk-set
sum ``d2 = r_risk - (k/d) r_event`` (the risk sum minus k/d of the tied deaths'
sum), and the tied deaths keep the weight ``g = 1 - k/d``.  The reference below
writes that loop out with Python floats and sums each quantity with ``math.fsum``
(exactly rounded), so the only error left is the kernel's own.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from netoutcomes.survival.cox_sums import CoxTimeSums
from netoutcomes.survival.efron_kernel import sub_step_sums, time_terms_arrays


def plain_sums(d: int, r_risk: float, r_event: float) -> tuple[list[float], list[float]]:
    """(the six sums, the sums of the absolute values of their addends) for one time."""
    addends: list[list[float]] = [[] for _ in range(6)]
    for k in range(d):
        d2 = r_risk - (k / d) * r_event
        g = 1.0 - k / d
        for j, term in enumerate(
            (math.log(d2), 1 / d2, g / d2, 1 / d2**2, g / d2**2, g * g / d2**2)
        ):
            addends[j].append(term)
    return [math.fsum(a) for a in addends], [math.fsum(abs(t) for t in a) for a in addends]


def assert_matches_plain(n_event: np.ndarray, r_event: np.ndarray, r_risk: np.ndarray) -> None:
    for breslow in (False, True):
        got = sub_step_sums(n_event, r_event, r_risk, breslow)
        for i in range(n_event.size):
            d = 1 if breslow else int(n_event[i])
            want, size = plain_sums(d, float(r_risk[i]), float(r_event[i]))
            for j in range(6):
                # relative to the size of the addends (the log terms can have both signs)
                assert abs(got[j][i] - want[j]) <= 4e-15 * size[j], (breslow, i, j)


@settings(max_examples=60, deadline=None)
@given(
    d=st.lists(st.integers(1, 3000), min_size=1, max_size=6),
    scale=st.floats(1e-6, 1e12),
    frac=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
# Found by hypothesis: the first sub-step's factor computed as r * (1/r) was 1 - 2**-53.
@example(d=[1, 2, 1], scale=0.5, frac=0.0, seed=1000001)
def test_kernel_equals_plain_efron_loop(d: list[int], scale: float, frac: float, seed: int):
    rng = np.random.default_rng(seed)
    n_event = np.array(d, dtype=np.float64)
    r_risk = scale * rng.uniform(0.5, 2.0, n_event.size)
    # the tied deaths' share of the risk set: anything up to all of it
    r_event = r_risk * np.where(rng.uniform(size=n_event.size) < 0.3, 1.0, frac)
    assert_matches_plain(n_event, r_event, r_risk)


def test_whole_risk_set_dies_on_one_day() -> None:
    # d = 5,000 deaths and nobody else at risk: the product of the factors (1 - k/d) is
    # ~exp(-5000), far below the smallest double; the kernel must flush it into the log.
    n_event = np.array([5000.0, 1.0, 2.0])
    r_risk = np.array([7.5e3, 3.0, 2.0])
    r_event = r_risk.copy()
    assert_matches_plain(n_event, r_event, r_risk)
    got = sub_step_sums(n_event, r_event, r_risk, False)
    # by hand: d2 = r (1 - k/d) = r (d - k)/d, so sum log d2 = d log(r/d) + log(d!)
    d, r = 5000, 7.5e3
    assert got[0][0] == pytest.approx(d * math.log(r / d) + math.lgamma(d + 1), rel=1e-14)


def test_degenerate_sums_give_what_the_formula_gives() -> None:
    # A risk-set sum of 0 (log -inf, 1/0 inf), an infinite one (a coefficient running
    # away) and a tied sum rounded above the risk sum (d2 < 0 in the last sub-step: nan).
    n_event = np.array([1.0, 2.0, 3.0])
    r_risk = np.array([0.0, np.inf, 1.0])
    r_event = np.array([0.0, 1.0, 1.6])
    with np.errstate(divide="ignore", invalid="ignore"):
        got = np.array(sub_step_sums(n_event, r_event, r_risk, False))
    assert got[0, 0] == -np.inf and got[1, 0] == np.inf
    assert got[0, 1] == np.inf and got[1, 1] == 0.0
    assert np.isnan(got[0, 2])  # 1 - 2/3 * 1.6 < 0: log of a negative number
    d2 = [1.0 - k / 3 * 1.6 for k in range(3)]
    assert got[1, 2] == pytest.approx(sum(1 / v for v in d2), rel=1e-14)


def test_one_sub_step_is_the_formula_exactly() -> None:
    # One death (or Breslow): a single sub-step d2 = r_risk, so there is nothing to sum
    # and nothing to round beyond the terms themselves: log r_risk, 1/r_risk,
    # 1/r_risk^2 exactly (math.log; no detour through log(r) + log(r * (1/r))).
    rng = np.random.default_rng(20261202)
    r_risk = rng.uniform(0.5, 2.0, 2000)
    r_event = r_risk * rng.uniform(0.0, 1.0, r_risk.size)
    for n_event, breslow in ((np.ones(r_risk.size), False), (np.full(r_risk.size, 3.0), True)):
        got = sub_step_sums(n_event, r_event, r_risk, breslow)
        assert got[0].tolist() == [math.log(v) for v in r_risk]
        inv = [1.0 / v for v in r_risk]
        for j in (1, 2):
            assert got[j].tolist() == inv
        for j in (3, 4, 5):
            assert got[j].tolist() == [v * v for v in inv]


def test_zero_risk_sum_with_tied_deaths() -> None:
    # Two tied deaths and a risk-set sum of 0 (zero weights): every sub-step has
    # d2 = 0, so by the formula sum log d2 = -inf and every 1/d2 sum is inf; no
    # factor d2 / r_risk (0/0) may turn it into nan.
    n_event, r_risk, r_event = np.array([2.0]), np.array([0.0]), np.array([0.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        got = np.array(sub_step_sums(n_event, r_event, r_risk, False))
    assert got[0, 0] == -np.inf
    assert got[1:, 0].tolist() == [np.inf] * 5


def test_overflowed_risk_sum_leaves_finite_columns_finite() -> None:
    # One death with r = 1e308 and another row at risk with r = 1e308 (a coefficient
    # running away on column 0): the risk sum overflows to inf while column 1 (x = 0)
    # has finite sums 0.  As R's coxfit6 (a / d2 formed before a a' / d2^2), column 1's
    # information is then 0 / inf - (0 / inf)^2 = 0, not nan.
    sums = CoxTimeSums(
        stratum=np.zeros(1, np.intp), time=np.ones(1), n_event=np.array([1.0]),
        w_event=np.array([1.0]), wx_event=np.array([[710.0, 0.0]]), r_event=np.array([1e308]),
        rx_event=np.array([[np.inf, 0.0]]), rxx_event=np.array([[[np.inf, 0.0], [0.0, 0.0]]]),
        r_risk=np.array([1e308]) * 2, rx_risk=np.array([[np.inf, 0.0]]),
        rxx_risk=np.array([[[np.inf, 0.0], [0.0, 0.0]]]),
    )  # fmt: skip
    assert sums.r_risk[0] == np.inf
    with np.errstate(all="ignore"):
        for breslow in (False, True):
            information = time_terms_arrays(sums, breslow)[2]
            assert information[0, 1, 1] == 0.0


def test_no_times() -> None:
    empty = np.zeros(0)
    assert all(a.shape == (0,) for a in sub_step_sums(empty, empty, empty, False))


def test_a_time_without_deaths_has_no_sub_steps() -> None:
    # Efron's sub-steps are m = 0..d-1: with d = 0 there are none, and each of the six
    # sums is the empty sum 0 (not the one-sub-step terms log r, 1/r, 1/r^2).
    got = sub_step_sums(np.array([0.0]), np.array([0.0]), np.array([2.5]), False)
    assert [float(s[0]) for s in got] == [0.0] * 6


def test_a_sub_step_with_d2_exactly_zero_gives_minus_inf() -> None:
    # The tied deaths' sum above the risk sum (2 against 1, as a rounding can leave it):
    # d = 2, sub-steps d2 = 1 - 0 * 2 = 1 and 1 - 0.5 * 2 = 0 exactly, so by the formula
    # sum log d2 = log 1 + log 0 = -inf (not +inf), and every 1/d2 sum is inf.
    with np.errstate(divide="ignore", invalid="ignore"):
        got = sub_step_sums(np.array([2.0]), np.array([2.0]), np.array([1.0]), False)
    assert float(got[0][0]) == -np.inf
    assert [float(s[0]) for s in got[1:]] == [np.inf] * 5


@pytest.mark.parametrize("factor", [1e-200, 1e-160, 1e160, 1e200])
@pytest.mark.parametrize("breslow", [False, True])
def test_information_and_score_do_not_change_when_every_risk_sum_is_scaled(
    factor: float, breslow: bool
) -> None:
    # Multiplying every r = w exp(x'b) by one factor (beta's intercept, which a Cox model
    # does not have) leaves the score, information and risk-set means unchanged and divides
    # the hazards and x-hazards by it; by hand: each is a ratio of sums of r.  Past 1e150 (or
    # below 1e-150) the kernel takes its squared sums of risk / d2: 1 / d2^2 would leave
    # the doubles (the information came out 1 at 1e217 where it is 0).
    from netoutcomes.survival.cox_sums import CoxData

    rng = np.random.default_rng(3)
    n = 60
    x = rng.normal(size=(n, 2)).round(2)
    time = rng.integers(1, 12, n).astype(float)  # tied deaths: Efron's sub-steps
    data = CoxData(x, time, rng.random(n) < 0.7)
    plain = data.sums_at(np.array([0.3, -0.2]))
    scaled = CoxTimeSums(
        plain.stratum, plain.time, plain.n_event, plain.w_event, plain.wx_event,
        plain.r_event * factor, plain.rx_event * factor, plain.rxx_event * factor,
        plain.r_risk * factor, plain.rx_risk * factor, plain.rxx_risk * factor,
    )  # fmt: skip
    want = time_terms_arrays(plain, breslow)
    got = time_terms_arrays(scaled, breslow)
    for k in (1, 2, 7):  # score, information, mean_ev: ratios of sums of r
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-15)
    for k in (3, 4, 5, 6):  # hazard, xhaz, hazard_ev, xhaz_ev: ~ 1 / r, divided by it
        np.testing.assert_allclose(got[k] * factor, want[k], rtol=1e-12, atol=1e-15)
