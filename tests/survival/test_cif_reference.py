"""Every cumulative-incidence and Gray's-test number in R's fixtures (tests/fixtures/cif).

The fixtures were written by ``tests/fixtures/cif/cif_reference.R``: survival 3.5-3's
multi-state ``survfit(Surv(time, factor(status)) ~ group)`` (its default
infinitesimal-jackknife std.err and log interval), ``summary(fit, times=, extend=TRUE)``
and cmprsk 2.2-11's ``cuminc(...)$Tests``, on survival's ``mgus2`` and ``pbc`` and a
hand-made synthetic set with ties, delayed entry and a cause with a single event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from netoutcomes.engine.source import read_typed_columns
from netoutcomes.survival.cif import cif_at, cif_by_group
from netoutcomes.survival.gray import gray_test
from netoutcomes.survival.groups import crossed_level_labels, level_labels

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cif"
DATASETS = ("mgus2", "pbc", "transplant", "handmade", "handmade_entry", "near_ties")
TOLERANCE = 1e-12
TABLE_KEYS = ("time", "n_risk", "n_event", "cif", "std_err", "lower", "upper")
AT_KEYS = ("time", "n_risk", "cif", "std_err", "lower", "upper")


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name in DATASETS:
        ref = json.loads((FIXTURES / f"{name}.json").read_text())
        out += [(name, case) for case in ref["cases"]]
    return out


CASES = _cases()


def _data(name: str, case: dict[str, Any]) -> tuple[dict[str, np.ndarray], frozenset[str]]:
    """The case's columns read by the project's reader, rows with a missing value dropped
    (as R's model frame and cuminc's na.omit)."""
    strata = [case["gray_strata"]] if case.get("gray_strata") else []
    used = ["time", "status", *_by(case), *strata]
    if case.get("entry"):
        used.append(case["entry"])
    cols = read_typed_columns(FIXTURES / f"{name}.csv", used, text_if_quoted=used[2:])
    keep = np.ones(cols.values["time"].size, dtype=bool)
    for c in used:
        v = cols.values[c]
        keep &= ~np.isnan(v) if v.dtype == np.float64 else np.array([x is not None for x in v])
    return {c: cols.values[c][keep] for c in used}, cols.written_as_double


def _by(case: dict[str, Any]) -> list[str]:
    """R's ``~ a + b``: the grouping columns, crossed."""
    return [c.strip() for c in case["by"].split("+")] if case["by"] else []


def _r(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _assert_close(ours: np.ndarray, theirs: list[float | None], what: str) -> None:
    r = _r(theirs)
    ours = np.asarray(ours, dtype=np.float64)
    assert ours.shape == r.shape, what
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(r), err_msg=f"{what}: NA pattern")
    np.testing.assert_allclose(ours, r, rtol=0, atol=TOLERANCE, equal_nan=True, err_msg=what)


@pytest.mark.parametrize(("name", "case"), CASES, ids=[c["name"] for _, c in CASES])
def test_curves_match_r(name: str, case: dict[str, Any]) -> None:
    cols, doubles = _data(name, case)
    by = _by(case)
    entry = cols[case["entry"]] if case.get("entry") else None
    fits = cif_by_group(
        cols["time"],
        cols["status"],
        [(c, cols[c]) for c in by] or None,
        entry=entry,
        conf_level=case["conf_level"],
        r_doubles=doubles,
    )
    assert [f.label for f in fits] == [s["label"] for s in case["strata"]]
    for fit, r_stratum in zip(fits, case["strata"], strict=True):
        assert fit.n == r_stratum["n"]
        assert [str(c.cause) for c in fit.causes] == [c["cause"] for c in r_stratum["causes"]]
        for curve, r_cause in zip(fit.causes, r_stratum["causes"], strict=True):
            where = f"{fit.label} cause {curve.cause}"
            for key in TABLE_KEYS:
                _assert_close(getattr(curve, key), r_cause["table"][key], f"{where} {key}")
            at = cif_at(curve, np.array(case["times"], dtype=np.float64))
            for key in AT_KEYS:
                _assert_close(getattr(at, key), r_cause["at_times"][key], f"{where} at {key}")


GRAY_CASES = [(n, c) for n, c in CASES if "gray" in c]


@pytest.mark.parametrize(("name", "case"), GRAY_CASES, ids=[c["name"] for _, c in GRAY_CASES])
def test_gray_matches_cmprsk(name: str, case: dict[str, Any]) -> None:
    cols, doubles = _data(name, case)
    _, groups = crossed_level_labels([(c, cols[c]) for c in _by(case)], doubles)
    blocks = [("gray", None)]
    if case.get("gray_strata"):
        st = case["gray_strata"]
        blocks.append(("gray_stratified", level_labels(st, cols[st])[1]))
    for key, strata in blocks:
        tests = gray_test(cols["time"], cols["status"], groups, strata)
        assert [str(t.cause) for t in tests] == [r["cause"] for r in case[key]]
        for t, r in zip(tests, case[key], strict=True):
            assert t.df == r["df"]
            assert t.chisq == pytest.approx(r["chisq"], rel=1e-12, abs=1e-12), key
            assert t.p == pytest.approx(r["p"], rel=1e-10, abs=1e-12), key


@pytest.mark.parametrize("rho", [-1.0, 1.0])
def test_gray_with_rho_matches_cmprsk(rho: float) -> None:
    # cmprsk's weight (1 - F(t-))^rho (tests/fixtures/cif/gray_rho.R, pbc by trt)
    ref = json.loads((FIXTURES / "gray_rho.json").read_text())[f"{rho:g}"]
    frame = pd.read_csv(FIXTURES / "pbc.csv").dropna(subset=["time", "status", "trt"])  # as cuminc
    groups = np.unique(frame["trt"].to_numpy(), return_inverse=True)[1]
    tests = gray_test(
        frame["time"].to_numpy(float), frame["status"].to_numpy(float), groups, rho=rho
    )
    np.testing.assert_allclose([t.chisq for t in tests], ref["stat"], rtol=1e-10)
    np.testing.assert_allclose([t.p for t in tests], ref["pv"], rtol=1e-12)
