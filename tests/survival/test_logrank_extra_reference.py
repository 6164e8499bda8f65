"""Trend, pairwise, rho = 0.5, a group without events and two-sample differences against R
(tests/fixtures/extra_survival.R -> r/extra_survival.json), plus hand-worked edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from km_reference_cases import DATA, assert_close, load_reference

from netoutcomes.engine.source import grouped_tables, survival_data
from netoutcomes.survival.counts import count_table
from netoutcomes.survival.groups import ALL, grouped_count_tables
from netoutcomes.survival.km import (
    kaplan_meier,
    median_survival,
    quantiles,
    restricted_mean,
    survival_at,
)
from netoutcomes.survival.logrank import logrank, logrank_trend, pairwise_logrank
from netoutcomes.survival.twosample import rmst_difference, survival_difference

REF = load_reference("extra_survival")


def tables_for(dataset: str, by: str, strata: str | None = None):
    extra = [by] + ([strata] if strata else [])
    data = survival_data(DATA / f"{dataset}.csv", "time", "event", extra=extra)
    return grouped_tables(data, by, strata)


@pytest.mark.parametrize(
    ("block", "strata", "scores", "rho"),
    [
        ("trend_veteran_celltype_rho0", None, None, 0.0),
        ("trend_veteran_celltype_rho1", None, None, 1.0),
        ("trend_veteran_celltype_strata_trt", "trt", [1, 2, 4, 8], 0.0),
    ],
)
def test_trend_matches_r(block: str, strata: str | None, scores, rho: float) -> None:
    ref = REF[block]
    result = logrank_trend(tables_for("veteran", "celltype", strata), scores, rho=rho)
    assert result.groups == ref["groups"]
    assert_close(result.scores, ref["scores"], "scores")
    for key in ("z", "chisq", "p"):
        assert_close(getattr(result, key), ref[key], key)


@pytest.mark.parametrize("rho", [0, 1])
def test_pairwise_matches_r(rho: int) -> None:
    ref = REF[f"pairwise_veteran_celltype_rho{rho}"]
    pairs = pairwise_logrank(tables_for("veteran", "celltype"), rho=rho)
    assert [p.group_a for p in pairs] == ref["group_a"]
    assert [p.group_b for p in pairs] == ref["group_b"]
    for key in ("chisq", "p", "p_holm", "p_bh"):
        assert_close([getattr(p, key) for p in pairs], ref[key], key)


def test_rho_half_matches_r() -> None:
    ref = REF["logrank_veteran_celltype_rho_half"]
    result = logrank(tables_for("veteran", "celltype"), rho=0.5)
    for key in ("chisq", "observed", "expected"):
        assert_close(getattr(result, key), ref[key], key)
    np.testing.assert_allclose(result.var, np.array(ref["var"]), rtol=1e-6)


@pytest.mark.parametrize("dataset", ["edge_no_events", "edge_near_ties"])
@pytest.mark.parametrize("rho", [0, 1])
def test_small_logrank_cases_match_r(dataset: str, rho: int) -> None:
    ref = REF[f"{dataset}_logrank"][f"rho_{rho}"]
    result = logrank(tables_for(dataset, "g"), rho=rho)
    assert result.groups == ref["groups"]
    assert result.df == ref["df"]
    for key in ("chisq", "p", "n", "observed", "expected"):
        assert_close(getattr(result, key), ref[key], key)


def test_two_sample_differences_match_r() -> None:
    ref = REF["two_sample_lung_sex"]
    tables = tables_for("lung", "sex")
    female, male = (kaplan_meier(tables.tables[(ALL, g)]) for g in ref["groups"])
    surv = survival_difference(female, male, ref["time"])
    rmst = rmst_difference(female, male, ref["tau"])
    for ours, name in [(surv, "surv_diff"), (rmst, "rmst_diff")]:
        assert_close(ours.estimate, ref[name], name)
        for attr in ("se", "lower", "upper", "p"):
            assert_close(getattr(ours, attr), ref[f"{name}_{attr}"], f"{name}_{attr}")


# ---- hand-worked edge cases -------------------------------------------------------------


def test_all_censored_by_hand() -> None:
    km = kaplan_meier(count_table(np.array([1.0, 2.0, 2.0, 3.0]), np.zeros(4, bool)))
    np.testing.assert_array_equal(km.surv, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(km.std_err_cumhaz, [0.0, 0.0, 0.0])
    assert np.isnan(median_survival(km).median)  # never reached: null in JSON
    assert restricted_mean(km, 3.0).rmst == 3.0  # area under S = 1 up to 3
    assert restricted_mean(km, 3.0).se == 0.0


def test_one_subject_by_hand() -> None:
    km = kaplan_meier(count_table(np.array([5.0]), np.array([True])))
    assert km.surv.tolist() == [0.0]
    assert km.std_err_cumhaz.tolist() == [np.inf]  # n == d: R's std.err is Inf
    assert np.isnan(km.lower[0]) and np.isnan(km.upper[0])
    assert median_survival(km).median == 5.0
    at = survival_at(km, np.array([1.0, 5.0, 10.0]))
    assert at.surv.tolist() == [1.0, 0.0, 0.0]
    assert at.n_risk.tolist() == [1.0, 1.0, 0.0]
    assert restricted_mean(km, 5.0).rmst == 5.0


def test_events_at_time_zero_by_hand() -> None:
    # 7 subjects, 2 die at time 0: S(0) = 5/7, and there is no extra time-0 row.
    time = np.array([0, 0, 0, 1, 2, 2, 3], dtype=float)
    event = np.array([1, 1, 0, 1, 0, 1, 1], dtype=bool)
    km = kaplan_meier(count_table(time, event))
    assert km.time.tolist() == [0.0, 1.0, 2.0, 3.0]
    # at 1: 4 at risk, 1 death; at 2: 3 at risk (2, 2, 3), 1 death; at 3: 1 at risk, 1 death
    np.testing.assert_allclose(km.surv, [5 / 7, 5 / 7 * 3 / 4, 5 / 7 * 3 / 4 * 2 / 3, 0.0])
    # RMST to 3: S = 5/7 on (0,1], 15/28 on (1,2], 5/14 on (2,3]
    np.testing.assert_allclose(restricted_mean(km, 3.0).rmst, 5 / 7 + 15 / 28 + 5 / 14)


def test_entry_equal_to_event_time_by_hand() -> None:
    # Entering at 2 means at risk on (2, exit]: not at risk for the deaths at 2.
    entry = np.array([0, 0, 2, 2, 1, 0, 3], dtype=float)
    exit_ = np.array([2, 3, 4, 5, 2, 6, 5], dtype=float)
    event = np.array([1, 0, 1, 1, 1, 0, 0], dtype=bool)
    km = kaplan_meier(count_table(exit_, event, entry))
    assert km.time.tolist() == [2.0, 3.0, 4.0, 5.0, 6.0]
    # at 2: (0,2] (1,2] (0,3] (0,6] = 4 at risk, 2 deaths -> S = 1/2
    # at 4: (0,6] (2,4] (2,5] (3,5] = 4 at risk, 1 death -> 3/8; at 5: 3 at risk -> 1/4
    assert km.n_risk.tolist() == [4.0, 4.0, 4.0, 3.0, 1.0]
    np.testing.assert_allclose(km.surv, [0.5, 0.5, 0.375, 0.25, 0.25])


def test_stratum_with_no_events_by_hand() -> None:
    # Stratum s=1 has no events: it adds nothing to O, E or V.
    time = np.array([1, 2, 3, 4, 1, 2], dtype=float)
    event = np.array([1, 0, 1, 0, 0, 0], dtype=bool)
    group = np.array([0, 1, 0, 1, 0, 1], dtype=float)
    stratum = np.array([0, 0, 0, 0, 1, 1], dtype=float)
    both = logrank(grouped_count_tables(time, event, group=("g", group), stratum=("s", stratum)))
    first = logrank(grouped_count_tables(time[:4], event[:4], group=("g", group[:4])))
    np.testing.assert_allclose(both.observed, first.observed)
    np.testing.assert_allclose(both.expected, first.expected)
    np.testing.assert_allclose(both.chisq, first.chisq)
    assert both.n.tolist() == [3.0, 3.0]
    # by hand: t=1: n=4 (2 per group), d=1 in g=0 -> E0 = 1/2, V = 1*3/3*(1/2)(1/2) = 1/4
    #          t=3: n=2 (1 per group), d=1 in g=0 -> E0 = 1/2, V = 1*1/1*(1/2)(1/2) = 1/4
    np.testing.assert_allclose(first.expected, [1.0, 1.0])
    np.testing.assert_allclose(first.chisq, (2 - 1) ** 2 / 0.5)


def test_quantiles_follow_r_findq_by_hand() -> None:
    # S = 0.75 on [1, 2), 0.5 on [2, 4), 0.25 on [4, 5): each quantile sits on a flat
    # stretch, so R takes its midpoint: 1.5, 3, 4.5 (R: quantile(fit) gives 1.5 3.0 4.5,
    # lower 1 1 2, upper NA NA NA).
    km = kaplan_meier(count_table(np.array([1.0, 2.0, 4.0, 5.0]), np.ones(4, bool)))
    qs = quantiles(km, np.array([0.25, 0.5, 0.75]))
    assert [x.time for x in qs] == [1.5, 3.0, 4.5]
    assert [x.lower for x in qs] == [1.0, 1.0, 2.0]
    assert all(np.isnan(x.upper) for x in qs)
    assert median_survival(km).median == 3.0


def test_group_order_is_r_sort_order() -> None:
    # R 4.2.2 (ICU): sort(c("b","B","a","A","_x","10","9","é","e")) gives this order.
    from netoutcomes.survival.groups import sorted_levels

    values = np.array(["b", "B", "a", "A", "_x", "10", "9", "é", "e"], dtype=object)
    assert sorted_levels(values) == ["_x", "10", "9", "a", "A", "b", "B", "e", "é"]
    assert sorted_levels(np.array([10.0, 2.0, 1.5])) == [1.5, 2.0, 10.0]


def test_numeric_labels_as_r_prints_them() -> None:
    from netoutcomes.survival.groups import level_labels

    # R 4.2.2: levels(factor(x)) for this double vector
    x = [100000, 123456, 0.0001, 0.00012, 1e15, 123456789012, 0.1 + 0.2, 1 / 3, -2, 1e-20, 2.5,
         1234567.1, 1e5 + 0.5]  # fmt: skip
    labels, _ = level_labels("x", np.array(x, dtype=float))
    assert labels == ["x=" + v for v in [
        "-2", "1e-20", "1e-04", "0.00012", "0.3", "0.333333333333333", "2.5", "1e+05",
        "100000.5", "123456", "1234567.1", "123456789012", "1e+15",
    ]]  # fmt: skip
    # a column of whole numbers is an integer column in R: printed in full
    labels, _ = level_labels("zip", np.array([100000.0, 2.0]))
    assert labels == ["zip=2", "zip=100000"]


def test_defaults_are_r_defaults() -> None:
    # survdiff's rho = 0 and scores 1..k: logrank_trend(tables) is the rho0 block
    ref = REF["trend_veteran_celltype_rho0"]
    result = logrank_trend(tables_for("veteran", "celltype"))
    for key in ("z", "chisq", "p"):
        assert_close(getattr(result, key), ref[key], key)
    pairs = pairwise_logrank(tables_for("veteran", "celltype"))
    assert_close([p.p_bh for p in pairs], REF["pairwise_veteran_celltype_rho0"]["p_bh"], "p_bh")


def test_two_group_differences_through_the_curves_match_r() -> None:
    from netoutcomes.survival.curves import km_by_group, two_group_differences

    ref = REF["two_sample_lung_sex"]
    curves = km_by_group(tables_for("lung", "sex"), tau=ref["tau"])  # R's defaults: log, 0.95
    assert [c.label for c in curves] == ref["groups"]
    diff = two_group_differences(curves, [ref["time"]])
    assert diff is not None and (diff.group_a, diff.group_b) == tuple(ref["groups"])
    ((time, surv),) = diff.at_times
    assert time == ref["time"] and diff.tau == ref["tau"]
    for ours, name in [(surv, "surv_diff"), (diff.rmst, "rmst_diff")]:
        assert_close(ours.estimate, ref[name], name)
        for attr in ("se", "lower", "upper", "p"):
            assert_close(getattr(ours, attr), ref[f"{name}_{attr}"], f"{name}_{attr}")
    assert two_group_differences(curves, None).at_times == []  # no landmark asked
    # only for exactly two groups
    three = km_by_group(tables_for("veteran", "celltype"))
    assert two_group_differences(three[:3], [100.0]) is None
    assert two_group_differences(three[:1], [100.0]) is None
