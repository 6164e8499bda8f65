"""Curves from the cumulative hazard (R's stype/ctype) and conditional curves (R's
start.time) against R (tests/fixtures/edges/survival_edges.R): the curve, its SEs and
intervals, quantiles with their intervals, RMST and median, and summary(times=)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from edge_reference import REF, assert_r

from netoutcomes.survival.counts import count_table
from netoutcomes.survival.hazard import cumulative_hazard, survival_curve
from netoutcomes.survival.km import (
    KaplanMeier,
    median_survival,
    quantiles,
    restricted_mean,
    survival_at,
)

STYPE = {1: "kaplan-meier", 2: "exp-hazard"}
CTYPE = {1: "nelson-aalen", 2: "fleming-harrington"}


def check_curve(km: KaplanMeier, ref: dict, what: str) -> None:
    assert km.n == ref["n"][0], f"{what}: n {km.n}, R {ref['n']}"  # rows used
    for ours, key in [
        (km.time, "time"),
        (km.n_risk, "n_risk"),
        (km.n_event, "n_event"),
        (km.n_censor, "n_censor"),
        (km.surv, "surv"),
        (km.std_err_cumhaz, "std_err"),
        (km.lower, "lower"),
        (km.upper, "upper"),
        (km.cumhaz, "cumhaz"),
        (km.std_chaz, "std_chaz"),
    ]:
        assert_r(ours, ref[key], f"{what} {key}")


def check_quantiles(km: KaplanMeier, ref: dict, what: str) -> None:
    got = quantiles(km, np.array(ref["probs"], float))
    for key in ("time", "lower", "upper"):
        assert_r([getattr(x, key) for x in got], ref[key], f"{what} quantile {key}")


def check_rmean(km: KaplanMeier, ref: dict, what: str) -> None:
    rm = restricted_mean(km, ref["tau"][0])
    assert_r(rm.rmst, ref["rmean"], f"{what} rmean")
    assert_r(rm.se, ref["se"], f"{what} se(rmean)")
    med = median_survival(km)
    expected = ref["median"] + ref["median_lower"] + ref["median_upper"]
    assert_r([med.median, med.lower, med.upper], expected, f"{what} median")


def check_at_times(km: KaplanMeier, ref: dict, what: str) -> None:
    at = survival_at(km, np.array(ref["time"], float))
    for key in ("n_risk", "surv", "std_err", "lower", "upper"):
        assert_r(getattr(at, key), ref[key], f"{what} at times {key}")


CURVE_CASES = [
    (dataset, stype, ctype, conf)
    for dataset in ("hazard_small_ties", "hazard_lung")
    for stype in (1, 2)
    for ctype in (1, 2)
    for conf in ("log", "log-log", "plain")
]


@pytest.mark.parametrize(("dataset", "stype", "ctype", "conf"), CURVE_CASES)
def test_stype_ctype_curves_match_r(dataset: str, stype: int, ctype: int, conf: str) -> None:
    data = REF[dataset]
    ref = data[f"stype{stype}_ctype{ctype}_{conf}"]
    table = count_table(np.array(data["time"], float), np.array(data["status"], bool))
    km = survival_curve(table, STYPE[stype], CTYPE[ctype], conf)  # type: ignore[arg-type]
    what = f"{dataset} stype {stype} ctype {ctype} {conf}"
    check_curve(km, ref["curve"], what)
    check_quantiles(km, ref["quantiles"], what)
    check_rmean(km, ref["rmean"], what)
    check_at_times(km, ref["at_times"], what)


@pytest.mark.parametrize(("stype", "ctype"), [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_curves_with_delayed_entry_match_r(stype: int, ctype: int) -> None:
    data = REF["hazard_delayed_entry"]
    ref = data[f"stype{stype}_ctype{ctype}"]
    table = count_table(
        np.array(data["stop"], float),
        np.array(data["status"], bool),
        np.array(data["start"], float),
    )
    km = survival_curve(table, STYPE[stype], CTYPE[ctype])  # type: ignore[arg-type]
    check_curve(km, ref["curve"], f"entry stype {stype} ctype {ctype}")
    check_quantiles(km, ref["quantiles"], f"entry stype {stype} ctype {ctype}")


@pytest.mark.parametrize("block", [k for k in REF["conditional_small"] if k.startswith("start_")])
def test_conditional_curves_match_r(block: str) -> None:
    data = REF["conditional_small"]
    ref = data[block]
    stype = 2 if block.endswith("stype2") else 1
    table = count_table(np.array(data["time"], float), np.array(data["status"], bool))
    km = survival_curve(table, STYPE[stype], start=ref["start"][0])  # type: ignore[arg-type]
    check_curve(km, ref["curve"], block)
    check_quantiles(km, ref["quantiles"], block)
    check_rmean(km, ref["rmean"], block)
    check_at_times(km, ref["at_times"], block)


@pytest.mark.parametrize("dataset", ["conditional_delayed_entry", "conditional_lung"])
def test_conditional_curves_with_entry_and_on_lung_match_r(dataset: str) -> None:
    data = REF[dataset]
    time = np.array(data["stop" if "stop" in data else "time"], float)
    entry = np.array(data["start"], float) if "stop" in data else None
    table = count_table(time, np.array(data["status"], bool), entry)
    for block in (k for k in data if k.startswith("start_")):
        ref = data[block]
        km = survival_curve(table, start=ref["start"][0])
        check_curve(km, ref["curve"], f"{dataset} {block}")
        check_quantiles(km, ref["quantiles"], f"{dataset} {block}")
        if "rmean" in ref:
            check_rmean(km, ref["rmean"], f"{dataset} {block}")
            check_at_times(km, ref["at_times"], f"{dataset} {block}")


def test_fleming_harrington_hazard_by_hand() -> None:
    # 2 tied deaths among 4 at risk at time 1: 1/4 + 1/3 (variance 1/16 + 1/9); then 1 of 1
    table = count_table(np.array([1.0, 1.0, 2.0, 3.0]), np.array([1, 1, 0, 1], bool))
    h = cumulative_hazard(table, "fleming-harrington")
    np.testing.assert_allclose(h.cumhaz, [1 / 4 + 1 / 3, 1 / 4 + 1 / 3, 1 / 4 + 1 / 3 + 1])
    np.testing.assert_allclose(h.std_err**2, [1 / 16 + 1 / 9, 1 / 16 + 1 / 9, 1 / 16 + 1 / 9 + 1])
    na = cumulative_hazard(table, "nelson-aalen")
    np.testing.assert_allclose(na.cumhaz, [1 / 2, 1 / 2, 3 / 2])
    np.testing.assert_allclose(na.std_err**2, [2 / 16, 2 / 16, 2 / 16 + 1])


def test_bad_types_and_weighted_ties_are_refused() -> None:
    table = count_table(np.array([1.0, 2.0]), np.array([1, 1], bool))
    with pytest.raises(ValueError, match="unknown ctype"):
        cumulative_hazard(table, "breslow")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown stype"):
        survival_curve(table, "nelson")  # type: ignore[arg-type]
    weighted = count_table(np.array([1.0, 2.0]), np.array([1, 1], bool), weights=np.array([0.5, 2]))
    with pytest.raises(ValueError, match="whole numbers of deaths"):
        cumulative_hazard(weighted, "fleming-harrington")
    # Nelson-Aalen takes weights: 0.5 / 2.5 then 2 / 2
    np.testing.assert_allclose(cumulative_hazard(weighted).cumhaz, [0.2, 1.2])


def test_censoring_with_zero_at_risk_adds_no_hazard_as_r() -> None:
    # Delayed entry: a censoring of weight 1e-20 at time 1 whose number at risk rounds to
    # exactly 0 ((1e-20 + 1 + 1) - 2 entries after it).  R (n.risk 0) adds no hazard and no
    # variance there, and the curve goes on (tests/fixtures/r/mutation_gaps_km.R).
    path = Path(__file__).resolve().parents[1] / "fixtures" / "r" / "mutation_gaps_km.json"
    case = json.loads(path.read_text())["zero_at_risk_censoring"]
    table = count_table(
        np.array(case["time"], float),
        np.array(case["status"], float) > 0,
        np.array(case["entry"], float),
        np.array(case["weights"], float),
    )
    ref = case["exp_na"]
    hazard = cumulative_hazard(table, "nelson-aalen")
    assert_r(hazard.n_risk, ref["n_risk"], "n_risk")
    assert_r(hazard.cumhaz, ref["cumhaz"], "cumhaz")
    assert_r(hazard.std_err, ref["std_chaz"], "std_chaz")
    curve = survival_curve(table, "exp-hazard", "nelson-aalen")
    for ours, key in [
        (curve.surv, "surv"),
        (curve.std_err_cumhaz, "std_err"),
        (curve.lower, "lower"),
        (curve.upper, "upper"),
    ]:
        assert_r(ours, ref[key], key)
