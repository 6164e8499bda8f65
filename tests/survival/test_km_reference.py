"""Every Kaplan-Meier number in R's fixtures (survfit, summary(fit, times=), print table)."""

from __future__ import annotations

import pytest
from km_reference_cases import EDGE_KM_CASES, KM_CASES, MORE_KM_CASES, KmCase, assert_close

from netoutcomes.survival.curves import km_by_group
from netoutcomes.survival.groups import grouped_count_tables
from netoutcomes.survival.km import CONF_TYPES, ConfType

TABLE_KEYS = (
    "time", "n_risk", "n_event", "n_censor", "surv", "std_err_cumhaz", "lower", "upper", "cumhaz",
)  # fmt: skip
AT_TIMES_KEYS = ("time", "n_risk", "surv", "std_err", "lower", "upper")


def curves_for(case: KmCase, conf_type: ConfType):
    data = case.load()
    group = None if case.by is None else (case.by, data.columns[case.by])
    tables = grouped_count_tables(data.time, data.event, data.entry, group=group)
    return km_by_group(tables, conf_type, case.conf_level, times=case.times, tau=case.tau)


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize("case", KM_CASES + EDGE_KM_CASES + MORE_KM_CASES, ids=lambda c: c.block)
def test_km_matches_r(case: KmCase, conf_type: ConfType) -> None:
    ref = case.expected()
    curves = curves_for(case, conf_type)
    r_tables = ref[f"km_{conf_type}"]
    assert [c.label for c in curves] == list(r_tables)
    for curve in curves:
        r = r_tables[curve.label]
        for key in TABLE_KEYS:
            assert_close(getattr(curve.km, key), r[key], f"{curve.label} table {key}")

        rows = [row for row in ref[f"at_times_{conf_type}"] if row["stratum"] == curve.label]
        assert curve.at_times is not None
        for key in AT_TIMES_KEYS:
            ours = getattr(curve.at_times, key)
            assert_close(ours, [row.get(key) for row in rows], f"{curve.label} at_times {key}")

        s = ref[f"summary_{conf_type}"][curve.label]
        assert_close(curve.km.n, s["n"], "n")
        assert_close(curve.km.events, s["events"], "events")
        assert_close(curve.median.median, s["median"], f"{curve.label} median")
        assert_close(curve.median.lower, s["median_lower"], f"{curve.label} median_lower")
        assert_close(curve.median.upper, s["median_upper"], f"{curve.label} median_upper")
        assert curve.rmst.tau == s["rmean_tau"]
        assert_close(curve.rmst.rmst, s["rmean"], f"{curve.label} rmean")
        assert_close(curve.rmst.se, s["rmean_se"], f"{curve.label} rmean_se")
