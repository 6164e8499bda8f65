"""The log-rank family as R's ``survdiff``, on count tables per (stratum, group).

At each distinct event time t of a stratum, with n_g at risk and d_g events in
group g (n, d pooled over groups) and weight w(t):

    O_g = sum w d_g,   E_g = sum w d n_g / n,
    V_gh = sum w^2 d (n - d) / (n - 1) (n_g / n) (1[g = h] - n_h / n)   (0 when n = 1)

summed over strata for the stratified test.  The weight is Fleming-Harrington
G(p, q): w = S(t-)^p (1 - S(t-))^q with S(t-) the pooled Kaplan-Meier of the
stratum just before t; R's ``rho`` is G(rho, 0) (rho = 0 log-rank, rho = 1
Peto-Peto).  As R, chisq = (O - E)' V^- (O - E) over the groups with E > 0,
dropping the first of them; df = (groups with E > 0) - 1, and p = 1 when only one
group has E > 0 (chisq 0 on 0 df, as R's ``survdiff``), NaN without any event.

Delayed entry: n_g counts subjects with entry < t <= exit (R refuses delayed
entry in ``survdiff``; this matches statsmodels ``survdiff(entry=...)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.special import chdtrc

from netoutcomes.survival.counts import CountTable, FloatArray
from netoutcomes.survival.groups import GroupedTables
from netoutcomes.survival.multiplicity import adjust_bh, adjust_holm


@dataclass(frozen=True)
class LogRank:
    """R's ``survdiff`` result (``observed``/``expected`` weighted when rho or q != 0)."""

    groups: list[str]
    n: FloatArray
    observed: FloatArray
    expected: FloatArray
    var: FloatArray
    chisq: float
    df: int
    p: float
    rho: float
    q: float


def _at_times(table: CountTable, grid: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Number at risk and events of one group's table at arbitrary times."""
    exits_from = np.concatenate([np.cumsum((table.n_event + table.n_censor)[::-1])[::-1], [0.0]])
    entries_from = np.concatenate([np.cumsum(table.n_enter[::-1])[::-1], [0.0]])
    i = np.searchsorted(table.time, grid, side="left")
    n_risk = exits_from[i] - entries_from[i]
    # i == size (grid after the group's last time) reads the last time, which is < grid
    last = np.minimum(i, table.time.size - 1)
    hit = table.time[last] == grid
    n_event = np.where(hit, table.n_event[last], 0.0)
    return n_risk, n_event


def stratum_sums(
    tables: Sequence[CountTable | None], rho: float = 0.0, q: float = 0.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weighted observed, expected and variance matrix of one stratum (None = group absent)."""
    k = len(tables)
    present = [t for t in tables if t is not None]
    observed, expected, var = np.zeros(k), np.zeros(k), np.zeros((k, k))
    if not present:
        return observed, expected, var
    grid = np.unique(np.concatenate([t.time[t.n_event > 0] for t in present]))
    if grid.size == 0:
        return observed, expected, var
    n_g = np.zeros((k, grid.size))
    d_g = np.zeros((k, grid.size))
    for g, t in enumerate(tables):
        if t is not None:
            n_g[g], d_g[g] = _at_times(t, grid)
    n, d = n_g.sum(axis=0), d_g.sum(axis=0)
    weight = fleming_harrington_weights(n, d, rho, q)
    share = n_g / n
    observed = (weight * d_g).sum(axis=1)
    expected = (weight * d * share).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(n > 1, weight**2 * d * (n - d) / (n - 1), 0.0)
    # V_gh = sum spread * share_g * (1[g=h] - share_h)
    var = np.diag((spread * share).sum(axis=1)) - (spread * share) @ share.T
    return observed, expected, var


def fleming_harrington_weights(n: FloatArray, d: FloatArray, p: float, q: float) -> FloatArray:
    """S(t-)^p (1 - S(t-))^q with S the pooled Kaplan-Meier just before each event time."""
    if p == 0 and q == 0:
        return np.ones_like(n)
    surv_after = np.cumprod(1.0 - d / n)
    surv_before = np.concatenate([[1.0], surv_after[:-1]])
    return np.asarray(surv_before**p * (1.0 - surv_before) ** q, dtype=np.float64)


def _quadratic_form(diff: FloatArray, var: FloatArray, expected: FloatArray) -> tuple[float, int]:
    used = np.flatnonzero(expected > 0)
    if used.size < 2:
        return 0.0, 0
    keep = used[1:]
    x = diff[keep]
    v = var[np.ix_(keep, keep)]
    # R uses solve(); the pseudo-inverse gives the same value for a regular V and
    # a defined answer for a singular one.
    return float(x @ np.linalg.pinv(v) @ x), int(used.size - 1)


def _sums(
    tables: GroupedTables, rho: float, q: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    k = len(tables.groups)
    observed, expected, var = np.zeros(k), np.zeros(k), np.zeros((k, k))
    for s in tables.strata:
        o, e, v = stratum_sums(tables.stratum_tables(s), rho, q)
        observed, expected, var = observed + o, expected + e, var + v
    n = np.array([sum(t.n for t in tables.group_tables(g)) for g in tables.groups], dtype=float)
    return n, observed, expected, var


def logrank(tables: GroupedTables, rho: float = 0.0, q: float = 0.0) -> LogRank:
    """k-sample (stratified when ``tables`` has strata) G(rho, q) test, as R's ``survdiff``."""
    n, observed, expected, var = _sums(tables, rho, q)
    chisq, df = _quadratic_form(observed - expected, var, expected)
    p = survdiff_p(expected, chisq)
    return LogRank(list(tables.groups), n, observed, expected, var, chisq, df, p, rho, q)


def survdiff_p(expected: FloatArray, chisq: float) -> float:
    """R's ``pchisq(chisq, sum(expected > 0) - 1, lower.tail = FALSE)``.

    One group with E > 0 (every other group has nobody at risk at any event time):
    chisq 0 on 0 df, p = 1.  No group with E > 0 (no events at all): df -1, p NaN
    (reported df is 0, as ``_quadratic_form`` gives).
    """
    used = int(np.count_nonzero(expected > 0))
    if used == 0:
        return float("nan")
    if used == 1:
        return 1.0
    return float(chdtrc(used - 1, chisq))


@dataclass(frozen=True)
class TrendTest:
    """Log-rank test for trend over ordered groups: one degree of freedom."""

    groups: list[str]
    scores: FloatArray
    z: float
    chisq: float
    p: float


def logrank_trend(
    tables: GroupedTables,
    scores: Sequence[float] | None = None,
    rho: float = 0.0,
    q: float = 0.0,
) -> TrendTest:
    """chisq = (c'(O - E))^2 / (c' V c), scores c default 1..k in the groups' order."""
    _, observed, expected, var = _sums(tables, rho, q)
    k = len(tables.groups)
    c = np.arange(1.0, k + 1.0) if scores is None else np.asarray(scores, dtype=np.float64)
    if c.size != k:
        raise ValueError(f"{c.size} scores for {k} groups")
    z = float(c @ (observed - expected) / np.sqrt(c @ var @ c))
    return TrendTest(list(tables.groups), c, z, z * z, float(chdtrc(1, z * z)))


@dataclass(frozen=True)
class PairwiseComparison:
    group_a: str
    group_b: str
    chisq: float
    p: float
    p_holm: float
    p_bh: float


def pairwise_logrank(
    tables: GroupedTables, rho: float = 0.0, q: float = 0.0
) -> list[PairwiseComparison]:
    """Every pair of groups (within strata when given), p adjusted by Holm and BH."""
    results = []
    for a, b in combinations(tables.groups, 2):
        pair = GroupedTables(
            groups=[a, b],
            strata=tables.strata,
            tables={key: t for key, t in tables.tables.items() if key[1] in (a, b)},
        )
        results.append(logrank(pair, rho, q))
    p = np.array([r.p for r in results])
    holm, bh = adjust_holm(p), adjust_bh(p)
    return [
        PairwiseComparison(r.groups[0], r.groups[1], r.chisq, r.p, float(h), float(f))
        for r, h, f in zip(results, holm, bh, strict=True)
    ]
