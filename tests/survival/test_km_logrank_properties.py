"""Property tests on random data (heavy ties, censoring at event times, delayed entry, tiny
groups) against independent implementations: lifelines and statsmodels (test-only deps)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from netoutcomes.survival.counts import count_table
from netoutcomes.survival.groups import grouped_count_tables
from netoutcomes.survival.km import kaplan_meier, restricted_mean
from netoutcomes.survival.logrank import logrank, pairwise_logrank
from netoutcomes.survival.multiplicity import adjust_bh, adjust_holm

lifelines = pytest.importorskip("lifelines")
pytest.importorskip("lifelines.exceptions")
sm_survfunc = pytest.importorskip("statsmodels.duration.survfunc")

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def survival_rows(draw, max_rows: int = 25, groups: int = 3, with_entry: bool = False):
    """Integer times 0..8 (many ties, censorings at event times); entry at half-integers so
    that entry never equals an exit (lifelines counts an entry at t as at risk at t, R not)."""
    n = draw(st.integers(1, max_rows))
    time = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)), dtype=float)
    event = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    group = np.array(draw(st.lists(st.integers(0, groups - 1), min_size=n, max_size=n)))
    entry = None
    if with_entry:
        late = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)), dtype=float)
        entry = np.where(late + 0.5 < time, late + 0.5, -0.5)  # -0.5: at risk from the start
    return time, event, group, entry


@SETTINGS
@given(survival_rows(with_entry=False))
def test_km_matches_statsmodels(rows) -> None:
    time, event, _, _ = rows
    km = kaplan_meier(count_table(time, event))
    sf = sm_survfunc.SurvfuncRight(time, event.astype(float))
    with np.errstate(invalid="ignore"):
        ours = {
            t: (s, se * s) for t, s, se in zip(km.time, km.surv, km.std_err_cumhaz, strict=True)
        }
    for t, s, se in zip(sf.surv_times, sf.surv_prob, sf.surv_prob_se, strict=True):
        our_s, our_se = ours[t]
        np.testing.assert_allclose(our_s, s, rtol=1e-10, atol=1e-12)
        if np.isfinite(our_se) and s > 0:
            np.testing.assert_allclose(our_se, se, rtol=1e-8, atol=1e-12)


@SETTINGS
@given(survival_rows(with_entry=True))
def test_km_with_entry_matches_lifelines(rows) -> None:
    time, event, _, entry = rows
    km = kaplan_meier(count_table(time, event, entry), conf_type="log-log")
    try:
        fitter = lifelines.KaplanMeierFitter().fit(time, event, entry=entry)
    except lifelines.exceptions.StatError:
        assume(False)  # lifelines refuses when the risk set empties early (R does not)
    theirs = fitter.survival_function_at_times(km.time).to_numpy()
    np.testing.assert_allclose(km.surv, theirs, rtol=1e-10, atol=1e-12)
    # lifelines' default interval is Greenwood on log(-log S), R's "log-log"
    ci = fitter.confidence_interval_.reindex(km.time)
    ok = np.isfinite(km.lower) & (km.surv > 0) & (km.surv < 1)
    np.testing.assert_allclose(km.lower[ok], ci.iloc[:, 0].to_numpy()[ok], rtol=1e-7)
    np.testing.assert_allclose(km.upper[ok], ci.iloc[:, 1].to_numpy()[ok], rtol=1e-7)


def at_risk_groups(time, event, group, entry=None, strata=None, after_first=False):
    """Groups somebody of which is at risk ((entry, exit]) at an event time of their stratum:
    the groups with E > 0 that R's survdiff counts.  ``after_first``: only event times after
    the stratum's first (where a weight (1 - S(t-))^q with q > 0 is not 0)."""
    entry = np.full(time.size, -np.inf) if entry is None else entry
    strata = np.zeros(time.size) if strata is None else strata
    found = set()
    for s in np.unique(strata):
        here = strata == s
        times = np.unique(time[here & event])
        if after_first:
            times = times[1:]
        for t in times:
            found.update(group[here & (entry < t) & (time >= t)].tolist())
    return sorted(found)


def assert_degenerate_cases(ours, testable: list) -> bool:
    """What R's survdiff gives without two testable groups; True when that was the case."""
    if len(testable) >= 2:
        assert ours.df == len(testable) - 1
        return False
    assert ours.chisq == 0.0 and ours.df == 0
    if testable:
        assert ours.p == 1.0  # one group with E > 0: chisq 0 on 0 df
    else:
        assert np.isnan(ours.p)  # no events: R's df is -1, p NaN
    return True


def statsmodels_pieces(time, event, group, entry=None, strata=None, **weights):
    """statsmodels' O - E (first group dropped, as ours) and V, summed over strata (its
    survdiff mis-indexes entry when stratified, so the strata are done one by one)."""
    strata = np.zeros(time.size) if strata is None else strata
    obs, var = 0.0, 0.0
    for s in np.unique(strata):
        rows = strata == s
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            o, v = sm_survfunc._survdiff(
                time[rows], event[rows].astype(float), group[rows], weights.get("weight_type"),
                np.unique(group), None if entry is None else entry[rows],
                **{k: w for k, w in weights.items() if k != "weight_type"},
            )  # fmt: skip
        obs, var = obs + o, var + v
    return np.atleast_1d(obs), np.atleast_2d(var)


def assert_same_test(ours, time, event, group, testable, entry=None, strata=None, **weights):
    """Our chisq equals x' V^+ x from statsmodels' pieces on the testable groups' rows (the
    others are at risk at no event time, so they change nothing but the df)."""
    keep = np.isin(group, testable)
    obs, var = statsmodels_pieces(
        time[keep], event[keep], group[keep],
        None if entry is None else entry[keep], None if strata is None else strata[keep],
        **weights,
    )  # fmt: skip
    # the pseudo-inverse, as ours: R's solve() stops where V is singular
    np.testing.assert_allclose(ours.chisq, obs @ np.linalg.pinv(var) @ obs, rtol=1e-7, atol=1e-9)


@SETTINGS
@given(survival_rows(with_entry=False), st.sampled_from([0.0, 0.5, 1.0]))
def test_logrank_matches_statsmodels(rows, rho: float) -> None:
    time, event, group, _ = rows
    tables = grouped_count_tables(time, event, group=("g", group.astype(float)))
    ours = logrank(tables, rho=rho)
    testable = at_risk_groups(time, event, group)
    if assert_degenerate_cases(ours, testable):
        return
    weights = {} if rho == 0 else {"weight_type": "fh", "fh_p": rho}
    assert_same_test(ours, time, event, group, testable, **weights)


@SETTINGS
@given(survival_rows(with_entry=True), st.booleans())
def test_logrank_with_entry_and_strata_matches_statsmodels(rows, stratified: bool) -> None:
    time, event, group, entry = rows
    strata = (np.arange(time.size) % 2).astype(float) if stratified else None
    tables = grouped_count_tables(
        time,
        event,
        entry,
        group=("g", group.astype(float)),
        stratum=None if strata is None else ("s", strata),
    )
    ours = logrank(tables)
    testable = at_risk_groups(time, event, group, entry, strata)
    if assert_degenerate_cases(ours, testable):
        return
    assert_same_test(ours, time, event, group, testable, entry, strata)


@SETTINGS
@given(
    survival_rows(with_entry=False),
    st.sampled_from([0.0, 1.0, 2.0]),
    st.sampled_from([0.0, 0.5, 1.0]),
)
def test_fleming_harrington_matches_lifelines(rows, p: float, q: float) -> None:
    time, event, group, _ = rows
    tables = grouped_count_tables(time, event, group=("g", group.astype(float)))
    ours = logrank(tables, rho=p, q=q)
    testable = at_risk_groups(time, event, group, after_first=q > 0)
    if assert_degenerate_cases(ours, testable):
        return
    # written out per time on every row, the quadratic form over the groups with E > 0
    # (dropping a group's rows would change the pooled S(t-) in the weights when q > 0)
    np.testing.assert_allclose(
        ours.chisq,
        fleming_harrington_by_hand(time, event, group, p, q, testable),
        rtol=1e-9,
        atol=1e-9,
    )
    if len(testable) < len(tables.groups):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = lifelines.statistics.multivariate_logrank_test(
                time, group, event, weightings="fleming-harrington", p=p, q=q
            ).test_statistic
        except ValueError:
            return  # lifelines fails on some degenerate inputs (e.g. all times 0)
    if np.isfinite(theirs):
        np.testing.assert_allclose(ours.chisq, theirs, rtol=1e-6, atol=1e-9)


def fleming_harrington_by_hand(time, event, group, p: float, q: float, used: list) -> float:
    """G(p, q) written out one event time at a time, over the ``used`` groups with the first
    of them dropped (pseudo-inverse: R's solve() would stop where V is singular)."""
    levels = np.unique(group)
    o_e = np.zeros(levels.size)
    var = np.zeros((levels.size, levels.size))
    surv_before = 1.0
    for t in np.unique(time[event]):
        at_risk = np.array([np.sum((group == g) & (time >= t)) for g in levels], float)
        deaths = np.array([np.sum((group == g) & (time == t) & event) for g in levels], float)
        n, d = at_risk.sum(), deaths.sum()
        w = surv_before**p * (1.0 - surv_before) ** q
        o_e += w * (deaths - d * at_risk / n)
        if n > 1:
            share = at_risk / n
            var += w**2 * d * (n - d) / (n - 1) * (np.diag(share) - np.outer(share, share))
        surv_before *= 1.0 - d / n
    keep = np.flatnonzero(np.isin(levels, used))[1:]
    x, v = o_e[keep], var[np.ix_(keep, keep)]
    return float(x @ np.linalg.pinv(v) @ x)


# subnormal p-values (below 2.2e-308) round differently in p m / i and p (m / i)
@SETTINGS
@given(st.lists(st.floats(0.0, 1.0, allow_subnormal=False), min_size=1, max_size=12))
def test_adjustments_match_statsmodels(p_values: list[float]) -> None:
    from statsmodels.stats.multitest import multipletests

    p = np.array(p_values)
    np.testing.assert_allclose(adjust_holm(p), multipletests(p, method="holm")[1], rtol=1e-12)
    np.testing.assert_allclose(adjust_bh(p), multipletests(p, method="fdr_bh")[1], rtol=1e-12)


def test_pairwise_is_the_two_group_test() -> None:
    time = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 2, 4], dtype=float)
    event = np.array([1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1], dtype=bool)
    group = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2], dtype=float)
    tables = grouped_count_tables(time, event, group=("g", group))
    pairs = pairwise_logrank(tables)
    assert [(p.group_a, p.group_b) for p in pairs] == [
        ("g=0", "g=1"),
        ("g=0", "g=2"),
        ("g=1", "g=2"),
    ]
    for pc in pairs:
        keep = np.isin(group, [float(pc.group_a[2:]), float(pc.group_b[2:])])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            chisq, p = sm_survfunc.survdiff(time[keep], event[keep].astype(float), group[keep])
        np.testing.assert_allclose([pc.chisq, pc.p], [chisq, p], rtol=1e-9)


@SETTINGS
@given(survival_rows(with_entry=False), st.sampled_from([0.5, 3.0, 7.5, 12.0]))
def test_rmst_area_matches_lifelines(rows, tau: float) -> None:
    from lifelines.utils import restricted_mean_survival_time

    time, event, _, _ = rows
    km = kaplan_meier(count_table(time + 1.0, event))  # times 1..9: the curve starts at 0
    fitter = lifelines.KaplanMeierFitter().fit(time + 1.0, event)
    theirs = restricted_mean_survival_time(fitter, t=tau)
    np.testing.assert_allclose(restricted_mean(km, tau).rmst, theirs, rtol=1e-9)


@SETTINGS
@given(
    st.lists(
        st.one_of(st.floats(0.0, 1.0, allow_subnormal=False), st.just(float("nan"))),
        min_size=1,
        max_size=12,
    ),
)
def test_missing_p_values_leave_the_others_alone(p_values: list[float]) -> None:
    """R's p.adjust: a NaN stays NaN and the others are adjusted among themselves."""
    from statsmodels.stats.multitest import multipletests

    p = np.array(p_values)
    present = ~np.isnan(p)
    for ours, method in [(adjust_holm(p), "holm"), (adjust_bh(p), "fdr_bh")]:
        assert np.isnan(ours[~present]).all()
        if present.any():
            theirs = multipletests(p[present], method=method)[1]
            np.testing.assert_allclose(ours[present], theirs, rtol=1e-12)


@SETTINGS
@given(survival_rows(with_entry=False))
def test_an_untestable_pair_never_changes_another_pairs_adjusted_p(rows) -> None:
    """Two extra groups censored without any event: their pair has no test (p NaN), and
    every other pair keeps the Holm/BH p it gets from the testable pairs alone."""
    time, event, group, _ = rows
    time = np.concatenate([time, [0.0, 3.0, 1.0, 9.0]])
    event = np.concatenate([event, [False] * 4])
    group = np.concatenate([group, [7, 7, 8, 8]]).astype(float)
    pairs = pairwise_logrank(grouped_count_tables(time, event, group=("g", group)))
    untestable = [x for x in pairs if (x.group_a, x.group_b) == ("g=7", "g=8")]
    assert len(untestable) == 1 and np.isnan(untestable[0].p)
    assert np.isnan(untestable[0].p_holm) and np.isnan(untestable[0].p_bh)
    others = [x for x in pairs if not np.isnan(x.p)]
    from statsmodels.stats.multitest import multipletests

    p = np.array([x.p for x in others])
    if p.size:
        np.testing.assert_allclose(
            [x.p_holm for x in others], multipletests(p, method="holm")[1], rtol=1e-12
        )
        np.testing.assert_allclose(
            [x.p_bh for x in others], multipletests(p, method="fdr_bh")[1], rtol=1e-12
        )
