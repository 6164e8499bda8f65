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


def statsmodels_chisq(*args, **kwargs) -> float:
    """statsmodels' chisq, NaN where it cannot invert V (R's survdiff would stop too)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(sm_survfunc.survdiff(*args, **kwargs)[0])
        except np.linalg.LinAlgError:
            return float("nan")


def _two_or_more_groups(group: np.ndarray) -> bool:
    return np.unique(group).size >= 2


@SETTINGS
@given(survival_rows(with_entry=False), st.sampled_from([0.0, 0.5, 1.0]))
def test_logrank_matches_statsmodels(rows, rho: float) -> None:
    time, event, group, _ = rows
    if not _two_or_more_groups(group) or not event.any():
        return
    tables = grouped_count_tables(time, event, group=("g", group.astype(float)))
    ours = logrank(tables, rho=rho)
    kwargs = {} if rho == 0 else {"weight_type": "fh", "fh_p": rho}
    chisq = statsmodels_chisq(time, event.astype(float), group, **kwargs)
    if ours.df == len(tables.groups) - 1 and np.isfinite(chisq):
        np.testing.assert_allclose(ours.chisq, chisq, rtol=1e-7, atol=1e-9)


@SETTINGS
@given(survival_rows(with_entry=True), st.booleans())
def test_logrank_with_entry_and_strata_matches_statsmodels(rows, stratified: bool) -> None:
    time, event, group, entry = rows
    if not _two_or_more_groups(group) or not event.any():
        return
    strata = (np.arange(time.size) % 2).astype(float)
    tables = grouped_count_tables(
        time,
        event,
        entry,
        group=("g", group.astype(float)),
        stratum=("s", strata) if stratified else None,
    )
    ours = logrank(tables)
    # statsmodels' survdiff mis-indexes entry when stratified: sum its per-stratum pieces.
    obs, var = 0.0, 0.0
    for s in np.unique(strata) if stratified else [None]:
        rows_s = np.ones(time.size, bool) if s is None else strata == s
        o, v = sm_survfunc._survdiff(
            time[rows_s], event[rows_s].astype(float), group[rows_s], None, np.unique(group),
            entry[rows_s],
        )  # fmt: skip
        obs, var = obs + o, var + v
    if ours.df == len(tables.groups) - 1 and np.linalg.matrix_rank(var) == var.shape[0]:
        chisq = float(obs @ np.linalg.solve(var, obs))
        np.testing.assert_allclose(ours.chisq, chisq, rtol=1e-7, atol=1e-9)


@SETTINGS
@given(
    survival_rows(with_entry=False),
    st.sampled_from([0.0, 1.0, 2.0]),
    st.sampled_from([0.0, 0.5, 1.0]),
)
def test_fleming_harrington_matches_lifelines(rows, p: float, q: float) -> None:
    time, event, group, _ = rows
    if not _two_or_more_groups(group) or not event.any():
        return
    tables = grouped_count_tables(time, event, group=("g", group.astype(float)))
    ours = logrank(tables, rho=p, q=q)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = lifelines.statistics.multivariate_logrank_test(
                time, group, event, weightings="fleming-harrington", p=p, q=q
            )
        except ValueError:
            assume(False)  # lifelines fails on some degenerate inputs (e.g. all times 0)
    if ours.df == len(tables.groups) - 1 and np.isfinite(theirs.test_statistic):
        np.testing.assert_allclose(ours.chisq, theirs.test_statistic, rtol=1e-6, atol=1e-9)


@SETTINGS
@given(st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=12))
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
