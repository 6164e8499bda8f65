"""``time_terms`` (vectorised over Efron's sub-steps) against a plain per-death loop.

The reference below is the textbook algorithm, one event time and one Efron
sub-step at a time (R's coxfit6.c / agfit4.c inner loop): in sub-step m of d tied
events the tied events stay in the risk set with weight 1 - m/d, and the step
carries the mean case weight of the tied events.  It uses scalars and small
matrices only, nothing from the implementation but the ``CoxTimeSums`` input.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netoutcomes.survival.cox import (
    CoxTimeSums,
    cox_time_sums,
    partial_likelihood_step,
    time_terms,
)

FIELDS = (
    "loglik", "score", "information", "hazard", "xhaz", "hazard_ev", "xhaz_ev", "mean_ev",
)  # fmt: skip


def loop_time_terms(sums: CoxTimeSums, ties: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per field: (value, sum of the absolute values of its addends).  The second is the
    scale the rounding error of any summation order is proportional to."""
    k, p = sums.rx_risk.shape
    shapes = {
        "loglik": (k,), "score": (k, p), "information": (k, p, p), "hazard": (k,),
        "xhaz": (k, p), "hazard_ev": (k,), "xhaz_ev": (k, p), "mean_ev": (k, p),
    }  # fmt: skip
    value = {name: np.zeros(shape) for name, shape in shapes.items()}
    size = {name: np.zeros(shape) for name, shape in shapes.items()}

    def add(name: str, i: int, *terms: np.ndarray | float) -> None:
        for term in terms:
            value[name][i] += term
            size[name][i] += np.abs(term)

    for i in range(k):
        d = 1 if ties == "breslow" else int(round(sums.n_event[i]))
        wtave = sums.w_event[i] / d
        add("score", i, sums.wx_event[i])
        for m in range(d):
            frac = m / d
            denom = sums.r_risk[i] - frac * sums.r_event[i]
            a = sums.rx_risk[i] - frac * sums.rx_event[i]
            c = sums.rxx_risk[i] - frac * sums.rxx_event[i]
            mean = a / denom
            add("loglik", i, -wtave * np.log(denom))
            add("score", i, -wtave * mean)
            add("information", i, wtave * c / denom, -wtave * np.outer(mean, mean))
            add("hazard", i, wtave / denom)
            add("xhaz", i, wtave / denom * mean)
            add("hazard_ev", i, (1 - frac) * wtave / denom)
            add("xhaz_ev", i, (1 - frac) * wtave / denom * mean)
            add("mean_ev", i, mean / d)
    return {name: (value[name], size[name]) for name in shapes}


def heavy_ties(seed: int, n: int, p: int, n_times: int, strata: int, entry: bool):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    x[:, 0] = rng.integers(0, 2, n)  # a binary covariate
    time = rng.integers(1, n_times + 1, n).astype(float)  # few distinct times: heavy ties
    event = rng.uniform(size=n) < 0.7
    # everybody still at risk at the last time dies then (the whole risk set tied)
    event[time == n_times] = True
    start = None
    if entry:
        start = np.floor(rng.uniform(0, 1, n) * (time - 1)) - 0.5
        start[start < 0] = 0.0
    w = rng.uniform(0.2, 3.0, n)
    s = rng.integers(0, strata, n) if strata > 1 else None
    beta = rng.normal(scale=0.5, size=p)
    return cox_time_sums(x, time, event, start, w, s, beta)


def assert_terms_equal(sums: CoxTimeSums, ties: str) -> None:
    got = time_terms(sums, ties)  # type: ignore[arg-type]
    want = loop_time_terms(sums, ties)
    for name in FIELDS:
        a, (b, size) = getattr(got, name), want[name]
        assert a.shape == b.shape, name
        # relative to the size of the addends: an entry near 0 after cancellation (an
        # information entry of a risk set with one covariate pattern) is held to the
        # accuracy its addends allow, any other to 1e-12 relative
        excess = np.abs(a - b) - 1e-12 * size
        assert np.all(excess <= 0), (name, np.max(excess))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 120),
    p=st.integers(1, 3),
    n_times=st.integers(1, 8),
    strata=st.integers(1, 3),
    entry=st.booleans(),
    ties=st.sampled_from(["efron", "breslow"]),
)
def test_vectorised_equals_per_death_loop(seed, n, p, n_times, strata, entry, ties):
    assert_terms_equal(heavy_ties(seed, n, p, n_times, strata, entry), ties)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_many_deaths_on_one_day(ties: str) -> None:
    # ~1,400 tied deaths at a time, as on a day-resolution registry
    assert_terms_equal(heavy_ties(7, 20_000, 3, 5, 2, True), ties)


def test_small_example_by_hand() -> None:
    # One time, three rows at risk with r = 1 (x = 0), two of them die (w = 1).
    # Efron: sub-steps with risk sums 3 and 3 - 1/2 * 2 = 2.
    sums = cox_time_sums(
        np.zeros((3, 1)), np.array([1.0, 1.0, 2.0]), np.array([True, True, False]),
        None, None, None, np.zeros(1),
    )  # fmt: skip
    efron = time_terms(sums, "efron")
    np.testing.assert_allclose(efron.loglik, [-np.log(6.0)], rtol=1e-15)
    np.testing.assert_allclose(efron.hazard, [1 / 3 + 1 / 2], rtol=1e-15)
    np.testing.assert_allclose(efron.hazard_ev, [1 / 3 + 1 / 2 * 1 / 2], rtol=1e-15)
    # Breslow: one step with the whole risk set, carrying both deaths
    breslow = time_terms(sums, "breslow")
    np.testing.assert_allclose(breslow.loglik, [-2 * np.log(3.0)], rtol=1e-15)
    np.testing.assert_allclose(breslow.hazard, [2 / 3], rtol=1e-15)


def test_no_event_times() -> None:
    sums = cox_time_sums(
        np.ones((2, 2)), np.array([1.0, 2.0]), np.array([False, False]), None, None, None,
        np.zeros(2),
    )  # fmt: skip
    terms = time_terms(sums, "efron")
    assert terms.loglik.shape == (0,) and terms.information.shape == (0, 2, 2)


def untied(seed: int, n: int, p: int):
    """Continuous times: one event per time (Efron's d = 1 everywhere), delayed entry."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    time = rng.exponential(size=n) + 1.0
    start = rng.uniform(0.0, 1.0, n)
    return cox_time_sums(x, time, rng.uniform(size=n) < 0.6, start, rng.uniform(0.2, 3.0, n),
                         None, rng.normal(scale=0.5, size=p))  # fmt: skip


@pytest.mark.parametrize(
    "sums",
    [heavy_ties(3, 3_000, 3, 6, 2, True), heavy_ties(4, 500, 2, 40, 1, False), untied(5, 2_000, 3)],
    ids=["heavy ties", "some ties", "untied"],
)
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_newton_step_totals_equal_per_death_loop(sums: CoxTimeSums, ties: str) -> None:
    # partial_likelihood_step sums the terms inside the kernel (no per-time arrays):
    # its totals must be the per-death loop's, summed over the times.
    beta = np.linspace(-0.3, 0.4, sums.rx_risk.shape[1])
    loglik, score, information = partial_likelihood_step(sums, beta, ties)  # type: ignore[arg-type]
    want = loop_time_terms(sums, ties)
    wx_beta = sums.wx_event @ beta
    assert abs(loglik - (want["loglik"][0].sum() + wx_beta.sum())) <= 1e-12 * (
        want["loglik"][1].sum() + np.abs(wx_beta).sum()
    )
    for name, got in (("score", score), ("information", information)):
        value, size = want[name]
        assert np.all(np.abs(got - value.sum(axis=0)) <= 1e-12 * size.sum(axis=0)), name


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_untied_times(ties: str) -> None:
    assert_terms_equal(untied(6, 2_000, 3), ties)
