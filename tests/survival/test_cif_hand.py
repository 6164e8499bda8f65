"""Cumulative incidence worked by hand, and its variance from first principles.

The infinitesimal-jackknife variance is the sum over subjects of the squared
derivative of the estimate with respect to that subject's case weight.  Here the
derivative is taken numerically (complex step: the weighted Aalen-Johansen estimate
is a rational function of the weights, so Im f(w + i h e_k) / h is exact to rounding)
from a plain weighted estimator written in the test, independently of the closed
form in ``survival.cif``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from netoutcomes.survival.cif import aalen_johansen, cif_at
from netoutcomes.survival.gray import gray_test

# A 6-row case: time, status (0 censored, 1 and 2 the causes)
TIME = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0])
STATUS = np.array([1.0, 2.0, 0.0, 1.0, 2.0, 0.0])


def test_six_rows_by_hand() -> None:
    fit = aalen_johansen(TIME, STATUS)
    np.testing.assert_array_equal(fit.time, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(fit.n_risk, [6, 5, 3, 2, 1])
    # event-free S: 5/6, then 5/6 * 4/5, then * 2/3, then * 1/2
    np.testing.assert_allclose(fit.event_free, [5 / 6, 2 / 3, 4 / 9, 2 / 9, 2 / 9], atol=1e-15)
    one, two = fit.cause(1), fit.cause(2)
    np.testing.assert_array_equal(one.n_event, [1, 0, 1, 0, 0])
    np.testing.assert_array_equal(two.n_event, [0, 1, 0, 1, 0])
    # F1: S(0) 1/6 at t=1; + S(2) 1/3 = 2/9 at t=3.  F2: S(1) 1/5 = 1/6; + S(3) 1/2 = 2/9
    np.testing.assert_allclose(one.cif, [1 / 6, 1 / 6, 7 / 18, 7 / 18, 7 / 18], atol=1e-15)
    np.testing.assert_allclose(two.cif, [0, 1 / 6, 1 / 6, 7 / 18, 7 / 18], atol=1e-15)
    # At t=1 the subject failing from cause 1 moves F1 by (1 - 1/6)/6 = 5/36 per unit
    # of weight, each of the 5 others by -(1/6)/6 = -1/36: Var = (25 + 5)/36^2.
    assert one.std_err[0] == pytest.approx(np.sqrt(30) / 36, abs=1e-15)
    # (the complex-step tests below check every row); R's log interval of F1 at t=1:
    half = 1.959963984540054 * (np.sqrt(30) / 36) / (1 / 6)
    assert one.lower[0] == pytest.approx(np.exp(np.log(1 / 6) - half), rel=1e-14)
    assert one.upper[0] == pytest.approx(min(1.0, np.exp(np.log(1 / 6) + half)), rel=1e-14)
    # F2 is 0 at t=1: R gives no interval there (NA)
    assert np.isnan(two.lower[0]) and np.isnan(two.upper[0])
    at = cif_at(one, np.array([0.5, 3.0, 9.0]))
    np.testing.assert_allclose(at.cif, [0, 7 / 18, 7 / 18], atol=1e-15)
    np.testing.assert_array_equal(at.n_risk, [6, 3, 0])
    np.testing.assert_array_equal(at.lower[:1], [0.0])


def _weighted_cif(
    time: np.ndarray, status: np.ndarray, entry: np.ndarray, w: np.ndarray, grid: np.ndarray
) -> np.ndarray:
    """Plain weighted Aalen-Johansen (complex-safe): F[cause index, grid row]."""
    causes = sorted({int(s) for s in status if s != 0})
    s_before = 1.0 + 0j
    f = np.zeros((len(causes), grid.size), dtype=complex)
    running = np.zeros(len(causes), dtype=complex)
    for r, t in enumerate(grid):
        at_risk = (entry < t) & (time >= t)
        n = w[at_risk].sum()
        d = [w[(time == t) & (status == c)].sum() for c in causes]
        for j in range(len(causes)):
            if d[j] != 0:
                running[j] += s_before * d[j] / n
        f[:, r] = running
        total = sum(d)
        if total != 0:
            s_before = s_before * (1 - total / n)
    return f


def _jackknife_se(time: np.ndarray, status: np.ndarray, entry: np.ndarray) -> np.ndarray:
    grid = np.unique(time)
    h = 1e-30
    squares = np.zeros((len({s for s in status if s != 0}), grid.size))
    for k in range(time.size):
        w = np.ones(time.size, dtype=complex)
        w[k] += 1j * h
        squares += (_weighted_cif(time, status, entry, w, grid).imag / h) ** 2
    return np.sqrt(squares)


def test_variance_is_the_sum_of_squared_influences_on_the_six_rows() -> None:
    fit = aalen_johansen(TIME, STATUS)
    expected = _jackknife_se(TIME, STATUS, np.full(TIME.size, -1.0))
    for j, curve in enumerate(fit.causes):
        np.testing.assert_allclose(curve.std_err, expected[j], rtol=1e-12, atol=1e-15)


@settings(max_examples=40, deadline=None)
# Found by hypothesis: a variance that is 0 in exact arithmetic (~1e-16 in floating point).
@example(
    rows=[(1, 0, 0, False), (1, 1, 0, False), (2, 0, 1, True), (2, 1, 0, False), (3, 1, 2, True)]
)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 8),  # exit time (small range: many ties)
            st.integers(0, 3),  # status
            st.integers(0, 6),  # entry
            st.booleans(),  # delayed entry or not
        ),
        min_size=2,
        max_size=25,
    )
)
def test_variance_equals_influences_on_random_data(rows: list[tuple[int, int, int, bool]]) -> None:
    time = np.array([r[0] for r in rows], dtype=np.float64)
    status = np.array([r[1] for r in rows], dtype=np.float64)
    entry = np.array([min(r[2], r[0] - 1) if r[3] else -1.0 for r in rows], dtype=np.float64)
    delayed = bool((entry >= 0).any())
    fit = aalen_johansen(time, status, entry if delayed else None)
    if not fit.causes:
        return
    expected = _jackknife_se(time, status, entry)
    grid = np.unique(time)
    weights = np.ones(time.size, dtype=complex)
    cifs = _weighted_cif(time, status, entry, weights, grid).real
    for j, curve in enumerate(fit.causes):
        np.testing.assert_allclose(curve.cif, cifs[j], rtol=0, atol=1e-13)
        # Compared as variances: where the variance is 0, cancellation leaves ~1e-16 in
        # it, and the square root turns that into ~1e-8 in the standard error.
        np.testing.assert_allclose(curve.std_err**2, expected[j] ** 2, rtol=1e-9, atol=1e-15)


def test_one_cause_and_no_censoring_is_one_minus_kaplan_meier() -> None:
    # With a single cause the cumulative incidence is 1 - KM, and its interval R's too
    from netoutcomes.survival.counts import count_table
    from netoutcomes.survival.km import kaplan_meier

    time = np.array([2.0, 3, 3, 5, 7, 8, 8, 9, 11, 12])
    status = np.array([1.0, 1, 0, 1, 0, 1, 1, 0, 1, 0])
    fit = aalen_johansen(time, status)
    km = kaplan_meier(count_table(time, status))
    np.testing.assert_allclose(fit.causes[0].cif, 1 - km.surv, atol=1e-15)


def test_results_are_frozen_and_count_events() -> None:
    fit = aalen_johansen(TIME, STATUS)
    assert [c.events for c in fit.causes] == [2.0, 2.0]  # two deaths of each cause
    np.testing.assert_array_equal(fit.n_censor, [0, 1, 0, 0, 1])  # censored at 2 and 5
    at = cif_at(fit.cause(1), np.array([2.5]))
    for result in (fit, fit.cause(1), at):
        with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
            result.label = "changed"  # type: ignore[misc, union-attr]


def test_gray_test_results_are_frozen() -> None:
    (first, *_) = gray_test(TIME, STATUS, np.array([0, 0, 0, 1, 1, 1]))
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        first.chisq = 0.0  # type: ignore[misc]


def test_an_entrant_after_everyone_failed_adds_nothing() -> None:
    # Rows (0, 1] cause 1 and (2, 3] cause 1: S drops to 0 at t = 1 (its only subject
    # fails), so at t = 3 S(3-) = 0: no increment and no influence (Greenwood's G is
    # infinite there, multiplied by S = 0).  By hand F1 = 1, se 0 at both times; R's
    # survfit(Surv(start, stop, st) ~ 1, id = 1:2) gives the same.
    fit = aalen_johansen(np.array([1.0, 3.0]), np.array([1.0, 1.0]), np.array([0.0, 2.0]))
    one = fit.cause(1)
    np.testing.assert_array_equal(one.cif, [1.0, 1.0])
    np.testing.assert_array_equal(one.std_err, [0.0, 0.0])
    np.testing.assert_array_equal([one.lower, one.upper], [[1.0, 1.0], [1.0, 1.0]])  # se 0


def test_cif_at_with_a_negative_first_time_and_on_one_row() -> None:
    # Times -1 (cause 1) and 2 (censored): F1 jumps by S(-1-) 1/2 = 1/2 at -1 and stays;
    # R's start row is at min(0, -1) = -1, the first row itself (nothing prepended).
    # n at risk at the first row at or after each time: 2, then 1 (at 2), then 0.
    fit = aalen_johansen(np.array([-1.0, 2.0]), np.array([1.0, 0.0]))
    at = cif_at(fit.cause(1), np.array([-1.0, -0.5, 2.5]))
    np.testing.assert_array_equal(at.cif, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(at.n_risk, [2.0, 1.0, 0.0])
    # Times -3, -2 (censored), -1, 1, 3 (censored), cause 1 otherwise: R's
    #   summary(survfit(Surv(t, s) ~ 1), times = c(-4, -3, -2.5), extend = TRUE)
    # gives F1 0.2, 0.2, 0.2 and n at risk 5, 5, 4: the first row is R's start row
    # (min(0, t) = -3), read also before it.
    fit = aalen_johansen(np.array([-3.0, -2, -1, 1, 3]), np.array([1.0, 0, 1, 1, 0]))
    at = cif_at(fit.cause(1), np.array([-4.0, -3.0, -2.5]))
    np.testing.assert_allclose(at.cif, [0.2, 0.2, 0.2], rtol=1e-15)
    np.testing.assert_array_equal(at.n_risk, [5.0, 5.0, 4.0])
    # one row: before it the prepended start row at 0 (cif 0), from it on 1
    one = cif_at(aalen_johansen(np.array([1.0]), np.array([1.0])).cause(1), np.array([0.5, 1, 2]))
    np.testing.assert_array_equal(one.cif, [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(one.n_risk, [1.0, 1.0, 0.0])


def test_a_status_code_outside_the_causes_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the causes"):
        aalen_johansen(np.array([1.0, 2.0]), np.array([1.0, 3.0]), causes=[1])


def test_gray_when_the_last_at_risk_fails_from_the_other_cause() -> None:
    # Group b's last subject (time 8) dies of cause 2 alone at risk: cmprsk's crst takes
    # t5 = 1 there (d = 1), not 1 - 0 / 0.  cmprsk::cuminc(1:8, c(1,2,0,1,1,0,1,2),
    # rep(c("a","b"), each = 4))$Tests gives these statistics.
    tests = gray_test(
        np.arange(1.0, 9.0), np.array([1.0, 2, 0, 1, 1, 0, 1, 2]), np.repeat([0, 1], 4)
    )
    np.testing.assert_allclose(
        [t.chisq for t in tests], [3.1162769546716165, 0.97297297297297303], rtol=1e-12
    )


def test_cif_at_on_a_curve_without_rows_is_zero() -> None:
    # No rows (a cause asked for, no data): nothing at risk and nothing happened, at any
    # time; this used to index past the end for times after 0
    empty = aalen_johansen(np.zeros(0), np.zeros(0), causes=[1]).cause(1)
    at = cif_at(empty, np.array([-1.0, 0.0, 0.5, 2.0]))
    for values in (at.n_risk, at.cif, at.std_err, at.lower, at.upper):
        np.testing.assert_array_equal(values, np.zeros(4))
