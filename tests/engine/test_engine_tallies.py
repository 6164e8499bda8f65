"""Engine count tables (``grouped_tables_on``, the one count path) equal the in-memory
ones, and their risk sets equal R's survfit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from engine_reference import FIXTURES, load_reference

from netoutcomes.engine.analysis import grouped_tables_on
from netoutcomes.errors import InputError
from netoutcomes.survival.counts import CountTable, count_table
from netoutcomes.survival.groups import GroupedTables

# (dataset, time, event, entry, by, R block with survfit results)
CASES = [
    ("lung", "time", "event", None, "sex", "km_by_sex"),
    ("lung", "time", "event", None, None, "km_all"),
    ("veteran", "time", "event", None, "celltype", "km_by_celltype"),
    ("aml", "time", "event", None, "x", "km_by_x"),
    ("heart", "stop", "event", "start", "transplant", "km_lefttrunc_by_transplant"),
]


@dataclass(frozen=True)
class _Counted:
    grouped: GroupedTables
    n_dropped: int

    @property
    def tables(self) -> dict[str, CountTable]:
        """Label -> table, as R's survfit labels a curve (group, or stratum if no group)."""
        one = len(self.grouped.strata) == 1
        return {(g if one else s): t for (s, g), t in self.grouped.tables.items()}


def _tables(path: Path | str, backend: str, spark: Any, **kw: Any) -> _Counted:
    # spark: the shared local session, which grouped_tables_on's getOrCreate() reuses
    got = grouped_tables_on(path, backend=backend, **kw)  # type: ignore[arg-type]
    return _Counted(got.tables, got.n_dropped)


def _assert_equal(got: CountTable, want: CountTable) -> None:
    np.testing.assert_array_equal(got.time, want.time)
    for name in ("n_event", "n_censor", "n_enter", "n_risk"):
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=0, atol=1e-10)
    assert got.n == want.n


@pytest.mark.parametrize(("name", "time", "event", "entry", "by", "block"), CASES)
def test_count_tables_equal_memory_and_r(
    backend: str, spark_if_needed: Any, name: str, time: str, event: str, entry, by, block
) -> None:
    path = FIXTURES / "data" / f"{name}.csv"
    kw = dict(time=time, event=event, entry=entry, by=by)
    got = _tables(path, backend, spark_if_needed, **kw)
    oracle = _tables(path, "memory", None, **kw)
    assert list(got.tables) == list(oracle.tables)
    assert got.n_dropped == oracle.n_dropped == 0
    for label in got.tables:
        _assert_equal(got.tables[label], oracle.tables[label])

    # R: survfit prints one row per exit time; n.risk, n.event, n.censor must agree.
    ref = load_reference(name)[block]["km_log"]
    assert list(got.tables) == list(ref)
    for label, table in got.tables.items():
        r = ref[label]
        rows = table.exit_rows
        np.testing.assert_allclose(table.time[rows], r["time"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(table.n_risk[rows], r["n_risk"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(table.n_event[rows], r["n_event"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(table.n_censor[rows], r["n_censor"], rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    ("by", "strata", "block"),
    [("trt", "celltype", "trt_strata_celltype"), (["celltype", "trt"], None, "celltype_trt")],
)
def test_crossed_labels_and_sizes_equal_r(
    backend: str, spark_if_needed: Any, by: Any, strata: Any, block: str
) -> None:
    # R: names(survfit(Surv(time, event) ~ trt + strata(celltype))$strata), with R's
    # padding of the second column's part (tests/fixtures/r/engine_labels.R).
    ref = load_reference("engine_labels")[block]
    path = FIXTURES / "data" / "veteran.csv"
    got = _tables(path, backend, spark_if_needed, time="time", event="event", by=by, strata=strata)
    if strata is None:
        assert list(got.tables) == ref["labels"]
        assert [t.n for t in got.tables.values()] == ref["n"]
        return
    # by + strata: R's one label "trt=standard, strata(celltype)=adeno" is a (stratum,
    # group) pair here; R orders by the group first.
    pairs = sorted(got.grouped.tables, key=lambda k: (got.grouped.groups.index(k[1]), k[0]))
    labels = [f"{g}, strata(celltype)={s.split('=')[1]}" for s, g in pairs]
    assert [x.rstrip() for x in labels] == [x.rstrip() for x in ref["labels"]]
    assert [got.grouped.tables[k].n for k in pairs] == ref["n"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "d.csv"
    path.write_text(text)
    return path


def test_missing_rows_dropped_and_counted(
    backend: str, spark_if_needed: Any, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "time,event,entry,g,w\n"
        "5,1,0,a,1.5\n"
        "3,0,1,a,2\n"
        ",1,0,a,1\n"  # missing time
        "4,1,2,,1\n"  # missing group
        "7,1,2,b,0.5\n"
        "7,0,,b,1\n"  # missing entry
        "2,1,1,b,1\n"
        "7,1,5,b,\n",  # missing weight
    )
    got = _tables(
        path,
        backend,
        spark_if_needed,
        time="time",
        event="event",
        entry="entry",
        by="g",
        weights="w",
    )
    assert got.n_dropped == 4
    # Worked by hand: group a keeps (0,5] event w1.5 and (1,3] censored w2.
    a = count_table(
        np.array([5.0, 3.0]), np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.5, 2.0])
    )
    np.testing.assert_array_equal(a.time, [0, 1, 3, 5])
    np.testing.assert_allclose(a.n_risk, [0.0, 1.5, 3.5, 1.5])
    _assert_equal(got.tables["g=a"], a)
    b = count_table(
        np.array([7.0, 2.0]), np.array([1.0, 1.0]), np.array([2.0, 1.0]), np.array([0.5, 1.0])
    )
    _assert_equal(got.tables["g=b"], b)


@pytest.mark.parametrize(
    ("row", "column"),
    [("4,3,0", "event"), ("-1,1,0", "time"), ("4,1,4", "entry")],
)
def test_bad_values_raise_input_error(
    backend: str, spark_if_needed: Any, tmp_path: Path, row: str, column: str
) -> None:
    path = _write(tmp_path, f"time,event,entry\n5,1,0\n{row}\n")
    with pytest.raises(InputError, match=column):
        _tables(path, backend, spark_if_needed, time="time", event="event", entry="entry")


def test_unknown_column_raises_input_error(backend: str, spark_if_needed: Any) -> None:
    path = FIXTURES / "data" / "aml.csv"
    with pytest.raises(InputError, match="no column 'status'"):
        _tables(path, backend, spark_if_needed, time="time", event="status")


@pytest.mark.parametrize(("name", "time", "event", "entry", "by", "block"), CASES)
@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_km_from_engine_tables_equals_r(
    backend: str, spark_if_needed: Any, name, time, event, entry, by, block, conf_type
) -> None:
    from netoutcomes.survival.curves import km_by_group

    path = FIXTURES / "data" / f"{name}.csv"
    got = _tables(path, backend, spark_if_needed, time=time, event=event, entry=entry, by=by)
    ref = load_reference(name)[block]
    curves = km_by_group(got.grouped, conf_type=conf_type)  # type: ignore[arg-type]
    assert [c.label for c in curves] == list(ref[f"km_{conf_type}"])
    for curve in curves:
        r = ref[f"km_{conf_type}"][curve.label]
        for field in ("surv", "cumhaz", "std_err_cumhaz", "lower", "upper"):
            _assert_r(getattr(curve.km, field), r[field])
        s = ref[f"summary_{conf_type}"][curve.label]
        _assert_r(curve.median.median, s["median"])
        _assert_r(curve.median.lower, s["median_lower"])
        _assert_r(curve.median.upper, s["median_upper"])


def _assert_r(ours: Any, r_values: Any) -> None:
    """Equal to R's value to 1e-10 relative; R's null (NA, Inf) is non-finite on our side."""
    ref = np.atleast_1d(np.array(r_values, dtype=object))
    want = np.array([np.nan if v is None else float(v) for v in ref], dtype=float)
    got = np.atleast_1d(np.asarray(ours, dtype=float))
    missing = np.isnan(want)
    assert not np.isfinite(got[missing]).any()
    np.testing.assert_allclose(got[~missing], want[~missing], rtol=1e-10, atol=1e-14)


LOGRANK_CASES = [
    ("lung", "sex", None, "logrank_by_sex"),
    ("veteran", "celltype", None, "logrank_by_celltype"),
    ("veteran", "trt", "celltype", "logrank_trt_strata_celltype"),
    ("aml", "x", None, "logrank_by_x"),
]


@pytest.mark.parametrize(("name", "by", "strata", "block"), LOGRANK_CASES)
@pytest.mark.parametrize("rho", [0, 1])
def test_logrank_from_engine_tables_equals_r(
    backend: str, spark_if_needed: Any, name, by, strata, block, rho
) -> None:
    from netoutcomes.survival.logrank import logrank

    path = FIXTURES / "data" / f"{name}.csv"
    got = _tables(path, backend, spark_if_needed, time="time", event="event", by=by, strata=strata)
    r = load_reference(name)[block][f"rho_{rho}"]
    test = logrank(got.grouped, rho=float(rho))
    assert test.groups == r["groups"]
    np.testing.assert_allclose(test.observed, r["observed"], rtol=1e-10)
    np.testing.assert_allclose(test.expected, r["expected"], rtol=1e-10)
    np.testing.assert_allclose(test.var, np.array(r["var"]), rtol=1e-10, atol=1e-12)
    assert test.chisq == pytest.approx(r["chisq"], rel=1e-10)
    assert test.p == pytest.approx(r["p"], rel=1e-8)


def test_times_within_rounding_error_are_tied_as_r(
    backend: str, spark_if_needed: Any, tmp_path: Path
) -> None:
    # R's aeqSurv: 1 and 1 + 1e-12 are one time, so survfit sees 2 deaths at t = 1.
    path = _write(tmp_path, "time,event\n1,1\n1.000000000001,1\n2,0\n3,1\n")
    got = _tables(path, backend, spark_if_needed, time="time", event="event")
    table = got.tables["all"]
    np.testing.assert_array_equal(table.time, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(table.n_event, [2.0, 0.0, 1.0])
    np.testing.assert_array_equal(table.n_risk, [4.0, 2.0, 1.0])
