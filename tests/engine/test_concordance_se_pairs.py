"""``concordance_with_se`` against a pair-by-pair count written from R's definition.

The reference below loops over every (event, partner) pair as R's
``concordancefit`` defines them (same stratum, partner at risk at the event's
time: ``entry < t <= exit``, other events at ``t`` not compared), and sums each
row's concordant / discordant / tied partner weight for the infinitesimal
jackknife (``dfbeta_j = w_j ((C_j - D_j) / npair - d (C_j + D_j + T_j) / npair)``,
``std = sqrt(sum dfbeta^2 / 4)``).  The data hit ties on time and on score,
strata, delayed entry, with and without (dyadic, so exact) weights: the counted
(unweighted) and weighted kernels must both agree with it.
"""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netoutcomes.engine.concordance_se import concordance_with_se
from netoutcomes.engine.cox_result import CoxConcordance
from netoutcomes.survival import concordance as concordance_module
from netoutcomes.survival.concordance import TimeCodes


def _pairwise(
    time: np.ndarray,
    event: np.ndarray,
    score: np.ndarray,
    entry: np.ndarray | None,
    strata: np.ndarray | None,
    weights: np.ndarray | None,
    cluster: np.ndarray | None = None,
) -> tuple[float, float, float, float, float]:
    n = time.size
    w = np.ones(n) if weights is None else weights
    s = np.zeros(n) if strata is None else strata
    a = np.full(n, -np.inf) if entry is None else entry
    per_c, per_d, per_t = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in np.flatnonzero(event):
        for j in range(n):
            at_risk = a[j] < time[i] <= time[j] and not (event[j] and time[j] == time[i])
            if j == i or s[j] != s[i] or not at_risk:
                continue
            if score[i] > score[j]:
                per_c[i] += w[j]
                per_c[j] += w[i]
            elif score[i] < score[j]:
                per_d[i] += w[j]
                per_d[j] += w[i]
            else:
                per_t[i] += w[j]
                per_t[j] += w[i]
    # Each pair is counted once on its event's side for the totals.
    c = float(np.dot(w, per_c)) / 2.0
    d = float(np.dot(w, per_d)) / 2.0
    t = float(np.dot(w, per_t)) / 2.0
    npair = c + d + t
    if npair == 0:
        return c, d, t, float("nan"), float("nan")
    somers = (c - d) / npair
    dfbeta = w * ((per_c - per_d) / npair - somers * (per_c + per_d + per_t) / npair)
    if cluster is not None:  # R's coxph with cluster(): the influences summed per cluster
        dfbeta = np.bincount(cluster, weights=dfbeta)
    return c, d, t, (c + t / 2.0) / npair, float(np.sqrt(np.sum(dfbeta**2) / 4.0))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 30),
    st.integers(1, 5),
    st.integers(1, 4),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_counts_and_std_equal_the_pairwise_definition(
    n: int, n_times: int, n_scores: int, with_entry: bool, with_strata: bool, weighted: bool,
    seed: int,
) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    time = rng.integers(1, n_times + 1, n).astype(np.float64)
    event = rng.random(n) < 0.6
    score = rng.integers(0, n_scores, n) * 0.5 - 0.25
    entry = np.maximum(time - rng.integers(1, n_times + 1, n) * 0.5, -1.0) if with_entry else None
    strata = rng.integers(0, 3, n) if with_strata else None
    weights = rng.integers(1, 17, n) / 8.0 if weighted else None
    expected = _pairwise(time, event, score, entry, strata, weights)
    _assert_equal(concordance_with_se(time, event, score, entry, strata, weights), expected)
    # Ordered by counting on time codes: the codes of the distinct times (as the
    # engine's time fix looks them up), and codes out of the times' order, which
    # must be caught and fall back to sorting the times.
    distinct, codes = np.unique(np.concatenate([time, *([] if entry is None else [entry])]),
                                return_inverse=True)  # fmt: skip
    for code in (codes, distinct.size - 1 - codes):
        given_codes = TimeCodes(code[:n], None if entry is None else code[n:], distinct.size)
        got = concordance_with_se(time, event, score, entry, strata, weights, None, given_codes)
        _assert_equal(got, expected)
    # The tree over blocks of ranks (used past the caches), with blocks of 2 here.
    with (
        patch.object(concordance_module, "BLOCKED_FROM_BYTES", 0),
        patch.object(concordance_module, "TREE_BLOCK", 2),
    ):
        got = concordance_with_se(time, event, score, entry, strata, weights)
    _assert_equal(got, expected)
    # Clustered: the rows' influences summed per cluster (labels need not be 0..k-1).
    cluster = rng.integers(0, 4, n)
    clustered = _pairwise(time, event, score, entry, strata, weights, cluster)
    got = concordance_with_se(time, event, score, entry, strata, weights, cluster * 10 + 7)
    _assert_equal(got, clustered)


def _assert_equal(got: CoxConcordance, expected: tuple[float, ...]) -> None:
    c, d, t, value, std = expected
    assert (got.concordant, got.discordant, got.tied_x) == (c, d, t)
    if np.isnan(value):
        assert np.isnan(got.concordance)
    else:
        assert got.concordance == pytest.approx(value, rel=1e-12, abs=0.0)
        assert got.std_err == pytest.approx(std, rel=1e-10, abs=1e-15)
