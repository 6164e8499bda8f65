"""Cox fits on random data against independent implementations.

- The seam: ``cox_time_sums`` against sums written as a plain loop over risk sets, and
  ``partial_likelihood_step``'s score and information against finite differences of a
  log partial likelihood written directly from Efron's / Breslow's formula.
- statsmodels ``PHReg`` (Breslow and Efron; entry= and strata=) and lifelines
  ``CoxPHFitter`` (Efron) on seeded random data with tied times.
"""

from __future__ import annotations

import numpy as np
import pytest

from netoutcomes.survival.cox import (
    CoxData,
    cox_ph,
    cox_time_sums,
    partial_likelihood_step,
)


def random_data(
    seed: int, n: int, p: int, entry: bool, strata: int, weights: bool
) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    x[:, 0] = rng.integers(0, 2, n)  # a binary covariate
    hazard = np.exp(x @ np.linspace(0.6, -0.4, p))
    t = np.ceil(rng.exponential(10.0 / hazard))  # integer times: many ties
    c = np.ceil(rng.uniform(2, 25, n))
    time = np.minimum(t, c)
    event = t <= c
    start = np.floor(rng.uniform(0, 1, n) * (time - 0.5)) if entry else None  # start < time
    if start is not None:
        start = start - 0.5  # off the integer grid, so no entry coincides with an event
        start[start < 0] = 0.0
    s = rng.integers(0, strata, n) if strata > 1 else None
    w = rng.uniform(0.5, 2.0, n) if weights else None
    return x, time, event, start, s, w


def plain_sums(x, time, event, entry, w, strata, beta):
    """Sums by brute force: for each stratum and event time, loop over every row."""
    n = len(time)
    strata = np.zeros(n, int) if strata is None else strata
    w = np.ones(n) if w is None else w
    rows = []
    for s in sorted(set(strata[event])):
        for t in sorted(set(time[event & (strata == s)])):
            acc = {k: 0.0 for k in ("n_event", "w_event", "r_event", "r_risk")}
            p = x.shape[1]
            vec = {k: np.zeros(p) for k in ("wx_event", "rx_event", "rx_risk")}
            mat = {k: np.zeros((p, p)) for k in ("rxx_event", "rxx_risk")}
            for i in range(n):
                if strata[i] != s:
                    continue
                r = w[i] * np.exp(x[i] @ beta)
                lower = -np.inf if entry is None else entry[i]
                if lower < t <= time[i]:
                    acc["r_risk"] += r
                    vec["rx_risk"] += r * x[i]
                    mat["rxx_risk"] += r * np.outer(x[i], x[i])
                if event[i] and time[i] == t:
                    acc["n_event"] += 1
                    acc["w_event"] += w[i]
                    acc["r_event"] += r
                    vec["wx_event"] += w[i] * x[i]
                    vec["rx_event"] += r * x[i]
                    mat["rxx_event"] += r * np.outer(x[i], x[i])
            rows.append({"stratum": s, "time": t, **acc, **vec, **mat})
    return rows


def plain_loglik(x, time, event, entry, w, strata, beta, ties):
    """Efron's / Breslow's log partial likelihood with case weights, as R's coxph defines
    it: each of Efron's d sub-steps carries the mean weight of the tied events."""
    total = 0.0
    for row in plain_sums(x, time, event, entry, w, strata, beta):
        d = int(row["n_event"]) if ties == "efron" else 1
        total += row["wx_event"] @ beta
        for m in range(d):
            total -= row["w_event"] / d * np.log(row["r_risk"] - m / d * row["r_event"])
    return total


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("seed", range(4))
def test_time_sums_and_step_against_plain_loops(seed: int, ties: str) -> None:
    x, time, event, entry, strata, w = random_data(seed, 40, 2, seed % 2 == 1, 1 + seed % 3, True)
    beta = np.array([0.3, -0.2])
    sums = cox_time_sums(x, time, event, entry, w, strata, beta)
    expected = plain_sums(x, time, event, entry, w, strata, beta)
    assert sums.time.size == len(expected)
    for k, row in enumerate(expected):
        assert sums.stratum[k] == row["stratum"] and sums.time[k] == row["time"]
        for key, value in row.items():
            if key not in ("stratum", "time"):
                np.testing.assert_allclose(getattr(sums, key)[k], value, rtol=1e-12, atol=1e-12)
    loglik, score, info = partial_likelihood_step(sums, beta, ties)  # type: ignore[arg-type]

    def f(b: np.ndarray) -> float:
        return plain_loglik(x, time, event, entry, w, strata, b, ties)

    assert loglik == pytest.approx(f(beta), rel=1e-12)
    h = 1e-5
    eye = np.eye(2) * h
    grad = np.array([(f(beta + e) - f(beta - e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(score, grad, rtol=1e-6, atol=1e-8)
    hess = np.array(
        [[(f(beta + a + b) - f(beta + a - b) - f(beta - a + b) + f(beta - a - b)) / (4 * h * h)
          for b in eye] for a in eye]
    )  # fmt: skip
    np.testing.assert_allclose(info, -hess, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize(
    ("seed", "entry", "strata"), [(1, False, 1), (2, True, 1), (3, False, 3), (4, True, 2)]
)
def test_against_statsmodels_phreg(seed: int, entry: bool, strata: int, ties: str) -> None:
    from statsmodels.duration.hazard_regression import PHReg

    x, time, event, start, s, _ = random_data(seed, 150, 3, entry, strata, False)
    ours = cox_ph(CoxData(x, time, event, start, None, s), ["a", "b", "c"], ties)  # type: ignore[arg-type]
    model = PHReg(time, x, status=event.astype(float), entry=start, strata=s, ties=ties)
    theirs = model.fit()
    np.testing.assert_allclose(ours.coef, theirs.params, rtol=1e-6)
    np.testing.assert_allclose(ours.se, theirs.bse, rtol=1e-6)
    assert ours.loglik == pytest.approx(theirs.llf, rel=1e-9)


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_against_lifelines_efron(seed: int) -> None:
    import pandas as pd
    from lifelines import CoxPHFitter

    x, time, event, _, _, _ = random_data(seed, 120, 3, False, 1, False)
    ours = cox_ph(CoxData(x, time, event), ["a", "b", "c"], "efron")
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(T=time, E=event.astype(int))
    cph = CoxPHFitter().fit(frame, "T", "E", fit_options={"precision": 1e-12})
    np.testing.assert_allclose(ours.coef, cph.params_[["a", "b", "c"]].to_numpy(), rtol=1e-6)
    se = cph.standard_errors_[["a", "b", "c"]].to_numpy()
    np.testing.assert_allclose(ours.se, se, rtol=1e-6)
    assert ours.loglik == pytest.approx(cph.log_likelihood_, rel=1e-9)
    assert ours.concordance == pytest.approx(cph.concordance_index_, rel=1e-9)
