"""Gray's test comparing cumulative incidence curves between groups, as ``cmprsk::cuminc``.

Gray (1988), Ann. Statist. 16:1141-1154.  For one cause at a time the score for
group g sums, over the event times, the weighted difference between its events of
that cause and those expected from the pooled subdistribution hazard, where the
"risk set" keeps those who failed from a competing cause (weighted by the
censoring distribution, estimated as ``S(t-) / (1 - F(t-))`` per group).  The
statistic is s' V^-1 s on (groups - 1) degrees of freedom; with strata the scores
and variances are summed over strata.  This is a line-by-line port of cmprsk's
Fortran ``crst``/``crstm`` (version 2.2-11), so the numbers are those of
``cuminc(ftime, fstatus, group, strata, rho = 0)$Tests``; ``rho`` is its weight
``(1 - F(t-))^rho``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import chi2

from netoutcomes.survival.counts import FloatArray


@dataclass(frozen=True)
class GrayTest:
    """Gray's test for one cause (``chisq`` NaN where cmprsk reports -1: V singular)."""

    cause: int
    chisq: float
    df: int
    p: float


def _stratum_score(
    time: FloatArray, kind: NDArray[np.intp], group: NDArray[np.intp], ng: int, rho: float
) -> tuple[FloatArray, FloatArray]:
    """Score (ng - 1) and its variance ((ng - 1) x (ng - 1)) in one stratum (``crst``).

    ``kind`` per subject: 0 censored, 1 the cause tested, 2 a competing cause; the
    rows sorted by time.
    """
    ng1 = ng - 1
    rs = np.bincount(group, minlength=ng).astype(np.float64)
    s = np.zeros(ng1)
    v = np.zeros((ng1, ng1))
    f1m = np.zeros(ng)
    f1 = np.zeros(ng)
    skmm = np.ones(ng)
    skm = np.ones(ng)
    v3 = np.zeros(ng)
    v2 = np.zeros((ng1, ng))
    c = np.zeros((ng, ng))
    fm = 0.0
    f = 0.0
    # Counts per distinct time, kind and group, and the risk sets, once (crst walks the
    # sorted rows and decrements rs after each time; only times with events do work).
    _, time_index = np.unique(time, return_inverse=True)
    n_times = int(time_index.max()) + 1
    counts = np.zeros((n_times, 3, ng))
    np.add.at(counts, (time_index, kind, group), 1.0)
    leaving = counts.sum(axis=1)
    at_risk = rs - np.concatenate([np.zeros((1, ng)), np.cumsum(leaving, axis=0)[:-1]])
    for u in np.flatnonzero(counts[:, 1:, :].sum(axis=(1, 2)) > 0):
        d = counts[u]
        rs = at_risk[u]
        nd1, nd2 = d[1].sum(), d[2].sum()
        present = rs > 0
        tr = tq = 0.0
        for i in map(int, np.flatnonzero(present)):
            td = d[1, i] + d[2, i]
            skm[i] = skmm[i] * (rs[i] - td) / rs[i]
            f1[i] = f1m[i] + (skmm[i] * d[1, i]) / rs[i]
            tr += rs[i] / skmm[i]
            tq += rs[i] * (1 - f1m[i]) / skmm[i]
        f = fm + nd1 / tr
        fb = (1 - fm) ** rho
        a = np.zeros((ng, ng))
        for i in range(ng):
            if not present[i]:
                continue
            t1 = rs[i] / skmm[i]
            a[i, i] = fb * t1 * (1 - t1 / tr)
            c[i, i] += a[i, i] * nd1 / (tr * (1 - fm))
            for j in range(i + 1, ng):
                if not present[j]:
                    continue
                a[i, j] = -fb * t1 * rs[j] / (skmm[j] * tr)
                c[i, j] += a[i, j] * nd1 / (tr * (1 - fm))
        lower = np.tril_indices(ng, -1)
        a[lower] = a.T[lower]
        c[lower] = c.T[lower]
        for i in range(ng1):
            if present[i]:
                s[i] += fb * (d[1, i] - nd1 * rs[i] * (1 - f1m[i]) / (skmm[i] * tq))
        if nd1 > 0:
            for k in map(int, np.flatnonzero(present)):
                t4 = 1 - (1 - f) / skm[k] if skm[k] > 0 else 1.0
                t5 = 1 - (nd1 - 1) / (tr * skmm[k] - 1) if nd1 > 1 else 1.0
                t3 = t5 * skmm[k] * nd1 / (tr * rs[k])
                v3[k] += t4 * t4 * t3
                t1v = a[:ng1, k] - t4 * c[:ng1, k]
                v2[:, k] += t1v * t4 * t3
                v += np.outer(t1v, t1v) * t3  # symmetric: crst sums the lower half
        if nd2 > 0:
            for k in range(ng):
                if skm[k] <= 0 or d[2, k] <= 0:
                    continue
                t4 = (1 - f) / skm[k]
                t5 = 1 - (d[2, k] - 1) / (rs[k] - 1) if d[2, k] > 1 else 1.0
                t3 = t5 * (skmm[k] ** 2 * d[2, k]) / rs[k] ** 2
                v3[k] += t4 * t4 * t3
                t1v = t4 * c[:ng1, k]
                v2[:, k] -= t1v * t4 * t3
                v += np.outer(t1v, t1v) * t3  # symmetric: crst sums the lower half
        fm = f
        f1m[:] = f1
        skmm[:] = skm
    cg = c[:ng1, :]
    v += np.tril(cg * v3 @ cg.T + cg @ v2.T + v2 @ cg.T)
    lower_only = np.tril(v)
    return s, lower_only + np.tril(lower_only, -1).T


def gray_test(
    time: FloatArray,
    status: FloatArray,
    group: NDArray[np.intp],
    strata: NDArray[np.intp] | None = None,
    rho: float = 0.0,
    causes: list[int] | None = None,
) -> list[GrayTest]:
    """Gray's test per cause between the groups coded 0..G-1 in ``group``.

    ``status``: 0 censored, else the cause code.  ``strata`` (codes 0..S-1): scores and
    variances are summed over strata (cmprsk's ``strata``).  Groups are those present;
    the test needs two or more (ValueError otherwise).
    """
    time = np.asarray(time, dtype=np.float64)
    status = np.asarray(status, dtype=np.float64)
    present, group_codes = np.unique(np.asarray(group), return_inverse=True)
    ng = present.size
    if ng < 2:
        raise ValueError("Gray's test compares two or more groups")
    strata_codes = (
        np.zeros(time.size, dtype=np.intp)
        if strata is None
        else np.unique(np.asarray(strata), return_inverse=True)[1]
    )
    order = np.argsort(time, kind="stable")
    time, status = time[order], status[order]
    group_codes, strata_codes = group_codes[order], strata_codes[order]
    codes = sorted({int(x) for x in status if x != 0}) if causes is None else causes
    out = []
    for cause in codes:
        kind = np.where(status == 0, 0, np.where(status == cause, 1, 2)).astype(np.intp)
        score = np.zeros(ng - 1)
        var = np.zeros((ng - 1, ng - 1))
        for k in np.unique(strata_codes):
            rows = strata_codes == k
            s, v = _stratum_score(time[rows], kind[rows], group_codes[rows], ng, rho)
            score += s
            var += v
        if np.linalg.matrix_rank(var) < ng - 1:
            stat = float("nan")
        else:
            stat = float(score @ np.linalg.solve(var, score))
        p = float(chi2.sf(stat, ng - 1)) if np.isfinite(stat) else float("nan")
        out.append(GrayTest(cause=cause, chisq=stat, df=ng - 1, p=p))
    return out
