"""Edge cases of the survival kernels against R (tests/fixtures/edges/survival_edges.R):
pairwise log-rank with an untestable pair (issue 9), Holm/BH with missing p-values,
Kaplan-Meier quantiles at the end of the curve and at p = 0 and 1, RMST at the start of
the curve, log-rank with a group with E = 0, no events, a stratum with one event time,
delayed entry and Fleming-Harrington with q != 0."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from edge_reference import REF, assert_r, r_values

from netoutcomes.survival.counts import CountTable, count_table
from netoutcomes.survival.groups import grouped_count_tables
from netoutcomes.survival.km import (
    kaplan_meier,
    median_survival,
    quantiles,
    restricted_mean,
    z_value,
)
from netoutcomes.survival.logrank import logrank, pairwise_logrank
from netoutcomes.survival.multiplicity import adjust_bh, adjust_holm

# ---- pairwise (issue 9) -------------------------------------------------------------------


@pytest.mark.parametrize("block", ["pairwise_issue9", "pairwise_with_untestable_pair"])
def test_pairwise_matches_r_with_untestable_pairs(block: str) -> None:
    ref = REF[block]
    group = np.array(ref["g"], dtype=object)
    tables = grouped_count_tables(
        np.array(ref["time"], float), np.array(ref["status"], bool), group=("g", group)
    )
    pairs = pairwise_logrank(tables)
    assert [(p.group_a, p.group_b) for p in pairs] == [
        (f"g={a}", f"g={b}") for a, b in zip(ref["group_a"], ref["group_b"], strict=True)
    ]
    for key in ("chisq", "p", "p_holm", "p_bh"):
        assert_r([getattr(p, key) for p in pairs], ref[key], key)


def test_p_adjust_leaves_missing_out_as_r() -> None:
    ref = REF["p_adjust_with_na"]
    p = r_values(ref["p"])
    assert_r(adjust_holm(p), ref["holm"], "holm")
    assert_r(adjust_bh(p), ref["bh"], "bh")


# ---- Kaplan-Meier quantiles, median, RMST --------------------------------------------------

KM_BLOCKS = [k for k in REF if k.startswith("km_")]


@pytest.mark.parametrize("block", KM_BLOCKS)
@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_km_curve_and_quantiles_match_r(block: str, conf_type: str) -> None:
    ref = REF[block]
    km = kaplan_meier(
        count_table(np.array(ref["time"], float), np.array(ref["status"], bool)), conf_type
    )
    curve = ref[conf_type]["curve"]
    for ours, key in [
        (km.time, "time"),
        (km.n_risk, "n_risk"),
        (km.surv, "surv"),
        (km.std_err_cumhaz, "std_err"),
        (km.lower, "lower"),
        (km.upper, "upper"),
        (km.cumhaz, "cumhaz"),
        (km.std_chaz, "std_chaz"),
    ]:
        assert_r(ours, curve[key], f"{block} {conf_type} {key}")
    q = ref[conf_type]["quantiles"]
    got = quantiles(km, np.array(q["probs"], float))
    for key in ("time", "lower", "upper"):
        assert_r([getattr(x, key) for x in got], q[key], f"{block} {conf_type} quantile {key}")


@pytest.mark.parametrize("block", KM_BLOCKS)
def test_km_quantiles_at_conf_level_90_match_r(block: str) -> None:
    ref = REF[block]
    km = kaplan_meier(
        count_table(np.array(ref["time"], float), np.array(ref["status"], bool)), "log", 0.9
    )
    q = ref["conf_level_90"]
    got = quantiles(km, np.array(q["probs"], float))
    for key in ("time", "lower", "upper"):
        assert_r([getattr(x, key) for x in got], q[key], f"{block} quantile {key}")


@pytest.mark.parametrize("block", KM_BLOCKS)
@pytest.mark.parametrize("which", ["rmean_at_start", "rmean_at_first_time"])
def test_rmst_and_median_at_the_start_match_r(block: str, which: str) -> None:
    ref = REF[block]
    if which not in ref:
        pytest.skip("R refuses a tau before the first time without start.time")
    r = ref[which]
    km = kaplan_meier(count_table(np.array(ref["time"], float), np.array(ref["status"], bool)))
    rm = restricted_mean(km, r["tau"][0])
    assert_r(rm.rmst, r["rmean"], "rmean")
    assert_r(rm.se, r["se"], "se(rmean)")
    med = median_survival(km)
    expected = r["median"] + r["median_lower"] + r["median_upper"]
    assert_r([med.median, med.lower, med.upper], expected, "median")


def test_quantile_of_the_issue_curve_by_hand() -> None:
    # times 1,2,3,4, events 1,1,0,0: S = 3/4, 1/2, 1/2, 1/2 ends flat at 1/2, so the
    # median is R's findq midpoint of (2, last time 4) = 3 (see km_flat_at_half in R's JSON).
    km = kaplan_meier(count_table(np.array([1.0, 2, 3, 4]), np.array([1, 1, 0, 0], bool)))
    got = quantiles(km, np.array([0.0, 0.25, 0.5, 1.0]))
    assert [x.time for x in got[:3]] == [0.0, 1.5, 3.0]
    assert np.isnan(got[3].time)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 1.5, float("nan")])
def test_conf_level_outside_zero_one_is_refused(level: float) -> None:
    table = count_table(np.array([1.0, 2.0]), np.array([1, 0], bool))
    with pytest.raises(ValueError, match="conf_level must be in"):
        kaplan_meier(table, "log", level)
    with pytest.raises(ValueError, match="conf_level must be in"):
        z_value(level)


def test_tau_before_the_start_is_refused() -> None:
    km = kaplan_meier(count_table(np.array([1.0, 2.0]), np.array([1, 0], bool)))
    assert restricted_mean(km, 0.0).rmst == 0.0  # the start of the curve: no area
    with pytest.raises(ValueError, match="before the start"):
        restricted_mean(km, -1e-9)


@pytest.mark.parametrize("p", [-0.1, 1.1, float("nan")])
def test_probability_outside_zero_one_is_refused(p: float) -> None:
    km = kaplan_meier(count_table(np.array([1.0, 2.0]), np.array([1, 0], bool)))
    with pytest.raises(ValueError, match="probability"):
        quantiles(km, np.array([p]))


# ---- log-rank --------------------------------------------------------------------------------


def _check_logrank(ref: dict, result) -> None:
    assert result.groups == ref["groups"]
    for key in ("chisq", "p", "observed", "expected", "var"):
        assert_r(np.ravel(getattr(result, key), order="F"), ref[key], key)
    # R's print.survdiff shows sum(E > 0) - 1 degrees of freedom (-1 without any event:
    # we report 0 there, with p NaN as R)
    assert result.df == max(int(ref["df"][0]), 0)


@pytest.mark.parametrize("block", sorted(REF["logrank"]))
def test_logrank_edge_cases_match_r(block: str) -> None:
    ref = REF["logrank"][block]
    stratum = ("s", np.array(ref["s"], float)) if "s" in ref else None
    tables = grouped_count_tables(
        np.array(ref["time"], float),
        np.array(ref["status"], bool),
        group=("g", np.array(ref["g"], float)),
        stratum=stratum,
    )
    _check_logrank(ref, logrank(tables, rho=ref["rho"][0]))


@pytest.mark.parametrize(("key", "stratified"), [("chisq", False), ("chisq_strata", True)])
def test_logrank_with_delayed_entry_matches_r_exact_cox_score(key: str, stratified: bool) -> None:
    ref = REF["logrank_delayed_entry"]
    tables = grouped_count_tables(
        np.array(ref["stop"], float),
        np.array(ref["status"], bool),
        np.array(ref["start"], float),
        group=("g", np.array(ref["g"], float)),
        stratum=("s", np.array(ref["s"], float)) if stratified else None,
    )
    result = logrank(tables)
    assert_r(result.chisq, ref[key], key)
    assert result.df == 1


FH = REF["fleming_harrington_veteran"]


@pytest.mark.parametrize("block", [k for k in FH if k.startswith("p")])
def test_fleming_harrington_q_matches_r(block: str) -> None:
    from km_reference_cases import DATA

    from netoutcomes.engine.source import grouped_tables, survival_data

    ref = FH[block]
    data = survival_data(DATA / "veteran.csv", "time", "event", extra=["celltype"])
    result = logrank(grouped_tables(data, "celltype"), rho=ref["p"][0], q=ref["q"][0])
    for key in ("chisq", "observed", "expected", "var"):
        assert_r(np.ravel(getattr(result, key), order="F"), ref[key], key)
    assert result.df == 3


# ---- two-sample differences -------------------------------------------------------------


def test_difference_with_zero_se_has_no_p_value() -> None:
    from netoutcomes.survival.twosample import rmst_difference, survival_difference

    # before any event both curves are 1 with Greenwood SE 0: difference 0, SE 0, no test
    a = kaplan_meier(count_table(np.array([2.0, 3.0]), np.array([1, 0], bool)))
    b = kaplan_meier(count_table(np.array([4.0, 5.0]), np.array([1, 1], bool)))
    d = survival_difference(a, b, 1.0)
    assert (d.estimate, d.se, d.lower, d.upper) == (0.0, 0.0, 0.0, 0.0)
    assert np.isnan(d.p)
    # RMST to 1: both areas 1 with SE 0
    r = rmst_difference(a, b, 1.0)
    assert (r.estimate, r.se) == (0.0, 0.0) and np.isnan(r.p)
    # and a real difference keeps its two-sided z-test: at 4, S_a = 1/2 (n 2, d 1 at 2),
    # S_b = 1/2 (n 2, d 1 at 4); Greenwood var of S = S^2 d/(n(n-d)) = 1/8 each
    d = survival_difference(a, b, 4.0, conf_level=0.9)
    assert d.estimate == 0.0 and d.p == 1.0
    np.testing.assert_allclose(d.se, 0.5)
    np.testing.assert_allclose(
        [d.lower, d.upper], [-0.5 * 1.6448536269514722, 0.5 * 1.6448536269514722]
    )


@pytest.mark.parametrize("block", ["alone", "with_half", "none"])
def test_quantile_smallest_p_rule_matches_r(block: str) -> None:
    data = REF["quantile_smallest_p_rule"]
    ref = data[block]
    km = kaplan_meier(count_table(np.array(data["time"], float), np.array(data["status"], bool)))
    got = quantiles(km, np.array(ref["probs"], float))
    for key in ("time", "lower", "upper"):
        assert_r([getattr(x, key) for x in got], ref[key], f"{block} {key}")
    assert quantiles(km, np.array([])) == []


def _curve(surv: list[float]):
    """A curve with the given S at times 1, 2, ... (intervals equal to S: only S matters)."""
    s = np.array(surv)
    table = count_table(np.arange(1.0, s.size + 1), np.ones(s.size, bool))
    km = kaplan_meier(table)
    from dataclasses import replace

    return replace(km, surv=s, lower=s, upper=s)


def test_median_tolerance_boundary_as_r_minmin() -> None:
    # R's minmin: the midpoint rule needs |S - 0.5| < sqrt(eps) = 2^-26, strictly
    tol = 2.0**-26
    assert median_survival(_curve([0.75, 0.5 - tol / 2, 0.2])).median == 2.5  # within: midpoint
    assert median_survival(_curve([0.75, 0.5 - tol, 0.2])).median == 2.0  # on the bound: not
    # S must be below 0.5 + tol to count as reaching the median at all
    assert median_survival(_curve([0.75, 0.5 + tol / 2, 0.2])).median == 2.5
    assert median_survival(_curve([0.75, 0.5 + tol, 0.2])).median == 3.0


def test_quantile_tolerance_boundary_as_r_findq() -> None:
    # R's findq: approx(y +/- tol, ...) finds the first failure value within tol of p;
    # failure 1 - S = 0.25 - tol/2 at time 1 counts as 0.25 (a flat stretch to time 2)
    tol = 2.0**-26
    km = _curve([0.75 + tol / 2, 0.5, 0.25])
    assert [q.time for q in quantiles(km, np.array([0.25, 0.5]))] == [1.5, 2.5]
    km = _curve([0.75 + 2 * tol, 0.5, 0.25])
    assert [q.time for q in quantiles(km, np.array([0.25, 0.5]))] == [2.0, 2.5]
    # the end-of-curve rule also needs |p - last value| < tol strictly (R: findq on
    # failure 0, 0.25, 0.5 at times 0, 1, 2 gives 1.5 NA, and 1.5 2.0 for p = 0.5 + tol/2)
    # p exactly at the ends of R's approx() range (y + tol from tol, y - tol up to the
    # last value - tol) is inside it: R's findq(c(0, 1, 2, 3), c(0, .25, .5, .75),
    # c(tol, .75 - tol)) gives 0.5 3.0
    km = _curve([0.75, 0.5, 0.25])
    assert [q.time for q in quantiles(km, np.array([tol, 0.75 - tol]))] == [0.5, 3.0]
    km = _curve([0.75, 0.5])
    got = quantiles(km, np.array([0.25, 0.5 + tol]))
    assert got[0].time == 1.5 and np.isnan(got[1].time)
    assert [q.time for q in quantiles(km, np.array([0.25, 0.5 + tol / 2]))] == [1.5, 2.0]


def test_start_of_an_empty_curve_is_zero() -> None:
    from netoutcomes.survival.km import start_time

    # R's default origin min(0, time) is min(0, numeric(0)) = 0 without any time
    km = kaplan_meier(count_table(np.array([]), np.array([], bool)))
    assert km.time.size == 0 and start_time(km) == 0.0
    from netoutcomes.survival.km import survival_at

    at = survival_at(km, np.array([0.0, 1.0]))  # nobody at risk, S = 1 from the origin
    assert at.n_risk.tolist() == [0.0, 0.0] and at.surv.tolist() == [1.0, 1.0]
    # and with times it is the smaller of 0 and the first (negative) time
    assert start_time(kaplan_meier(count_table(np.array([-2.0, 1.0]), np.ones(2, bool)))) == -2.0
    assert start_time(kaplan_meier(count_table(np.array([2.0, 1.0]), np.ones(2, bool)))) == 0.0


def test_stratum_sums_default_to_the_log_rank_test() -> None:
    from netoutcomes.survival.logrank import stratum_sums

    # R's survdiff default rho = 0 (and q = 0): the block group_expected_zero_rho0
    ref = REF["logrank"]["group_expected_zero_rho0"]
    tables = grouped_count_tables(
        np.array(ref["time"], float),
        np.array(ref["status"], bool),
        group=("g", np.array(ref["g"], float)),
    )
    observed, expected, var = stratum_sums(tables.stratum_tables(tables.strata[0]))
    assert_r(observed, ref["observed"], "observed")
    assert_r(expected, ref["expected"], "expected")
    assert_r(np.ravel(var, order="F"), ref["var"], "var")


def test_group_labels_print_whole_numbers_as_r_reads_the_column() -> None:
    # R: an integer column prints x=100000; a double column (written 1e+05) prints x=1e+05
    time, event = np.array([1.0, 2.0, 3.0]), np.array([1, 0, 1], bool)
    x = ("x", np.array([100000.0, 2.0, 2.0]))
    assert grouped_count_tables(time, event, group=x).groups == ["x=2", "x=100000"]
    doubles = grouped_count_tables(time, event, group=x, r_doubles=frozenset({"x"}))
    assert doubles.groups == ["x=2", "x=1e+05"]
    crossed = grouped_count_tables(time, event, group=[x, ("y", np.array([1.0, 1.0, 3.0]))])
    assert crossed.groups == ["x=2, y=1", "x=2, y=3", "x=100000, y=1"]


def test_whole_numbers_beyond_r_integers_print_as_doubles() -> None:
    from netoutcomes.survival.groups import r_double_text

    # R reads 3000000000 (above .Machine$integer.max) as a double: levels "1" "3e+09"
    time, event = np.array([1.0, 2.0]), np.array([1, 0], bool)
    tables = grouped_count_tables(time, event, group=("x", np.array([3e9, 1.0])))
    assert tables.groups == ["x=1", "x=3e+09"]
    assert r_double_text(0.0) == "0" and r_double_text(2.0**31) == "2147483648"


def test_format_level_as_r_prints_a_value() -> None:
    from netoutcomes.survival.groups import format_level

    # R: as.character(c(3L, 2.5, 3e9)) and a text level as is
    assert [format_level(v) for v in (3.0, 2.5, 3e9, "a b")] == ["3", "2.5", "3e+09", "a b"]


# ---- weighted curves at the edges of floating point (tests/fixtures/r/mutation_gaps_km.R) --

GAPS = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "r" / "mutation_gaps_km.json").read_text()
)
GAP_CONF = {"log": "log", "loglog": "log-log"}


def _gap_table(case: dict) -> CountTable:
    entry = None if case["entry"] is None else np.array(case["entry"], float)
    return count_table(
        np.array(case["time"], float),
        np.array(case["status"], float) > 0,
        entry,
        np.array(case["weights"], float),
    )


@pytest.mark.parametrize(
    ("block", "conf"),
    [
        ("s_one_with_se", "loglog"),
        ("s_one_with_se", "log"),
        ("zero_at_risk_censoring", "log"),
        ("zero_at_risk_censoring", "loglog"),
        ("s_underflows_to_zero", "loglog"),
        ("s_underflows_to_zero", "log"),
        ("n_risk_below_deaths_by_rounding", "log"),
        ("n_risk_below_deaths_by_rounding", "loglog"),
    ],
)
def test_weighted_curve_at_floating_point_edges_matches_r(block: str, conf: str) -> None:
    # S exactly 1 with a positive SE (an event weight lost in 1 - d/n): log-log limits NA;
    # a censoring whose number at risk rounds to exactly 0: no hazard, no Greenwood term;
    # S underflowing to exactly 0 with a finite SE: limits NA (R's survfit_confint);
    # n at risk below the deaths only by rounding: Greenwood's term as it comes, a huge
    # negative number (std.err NaN), then inf where n = d (R's sums, no special case).
    ref = GAPS[block][conf]
    km = kaplan_meier(_gap_table(GAPS[block]), GAP_CONF[conf])
    for ours, key in [
        (km.time, "time"),
        (km.n_event, "n_event"),
        (km.surv, "surv"),
        (km.std_err_cumhaz, "std_err"),
        (km.lower, "lower"),
        (km.upper, "upper"),
        (km.cumhaz, "cumhaz"),
        (km.std_chaz, "std_chaz"),
    ]:
        assert_r(ours, ref[key], f"{block} {conf} {key}")
    # n at risk: R's counts add in another order (e.g. 1e-12 + 1e-25 + 1e-38 as 1.0000000000001e-12)
    assert_r(km.n_risk, ref["n_risk"], f"{block} {conf} n_risk", rtol=1e-9)


def test_rmst_variance_term_at_tau_counts_as_r() -> None:
    # A curve time equal to tau adds its variance term times an area-after of 0: with a
    # Greenwood term that overflows (n (n - d) underflows: weights 1e-170) that is NaN in
    # R's survmean, from tau = 2 (the time) on; before it the SE is 0.
    ref = GAPS["rmean_overflowing_term"]
    table = count_table(
        np.array(ref["time"], float),
        np.array(ref["status"], float) > 0,
        weights=np.array(ref["weights"], float),
    )
    with np.errstate(all="ignore"):
        km = kaplan_meier(table)
        got = [restricted_mean(km, tau) for tau in ref["tau"]]
    assert_r([r.rmst for r in got], ref["rmean"], "rmean")
    assert_r([r.se for r in got], ref["se"], "se(rmean)")


def test_stratified_pairwise_with_a_stratum_without_the_pair_matches_r() -> None:
    # stratum 2 holds only group c: the pair (a, b) has no table there at all
    ref = GAPS["pairwise_stratum_without_pair"]
    tables = grouped_count_tables(
        np.array(ref["time"], float),
        np.array(ref["status"], float) > 0,
        group=("g", np.array(ref["g"], dtype=object)),
        stratum=("s", np.array(ref["stratum"], float)),
    )
    pairs = pairwise_logrank(tables)
    assert [(p.group_a, p.group_b) for p in pairs] == [
        ("g=a", "g=b"),
        ("g=a", "g=c"),
        ("g=b", "g=c"),
    ]
    for key in ("chisq", "p", "p_holm", "p_bh"):
        assert_r([getattr(p, key) for p in pairs], ref[key], key)
