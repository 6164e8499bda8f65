"""The engine's Cox passes where they take a short cut, each against the memory oracle
(``cox_on(..., backend="memory")``: numpy over the rows the reader read) or against the
query it replaces:

- times stored as integers in the model rows when they are whole numbers (int32, int64
  past 2^31) and as doubles otherwise, with delayed entry and strata;
- a NaN in a Parquet float column is a missing value (DuckDB folds ``isnan`` to false
  when the file's statistics bound the column);
- the events' totals read off the step at beta = 0 equal the separate events query;
- aliased columns found when the first fit meets a singular information matrix;
- the perfect-hash setting of a step query is restored afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_engine_cox_blocks import assert_same_fit

from netoutcomes.engine.analysis import cox_on
from netoutcomes.errors import InputError
from netoutcomes.survival.model_spec import CoxSpec, DesignColumn

X = DesignColumn("x", "x", (("x", None),))
G = DesignColumn("gb", "g", (("g", "b"),))
ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """duckdb, and spark (its shared session) in the spark set."""
    if request.param == "spark":
        request.getfixturevalue("spark_session")
    return str(request.param)


def _frame(n: int = 300, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 40, n)
    return {
        "start": start,
        "stop": start + 1 + rng.integers(0, 60, n),  # many tied whole-number times
        "status": rng.integers(0, 2, n),
        "x": rng.normal(size=n).round(2),
        "g": rng.choice(["a", "b"], n),
        "s": rng.choice(["u", "v", "w"], n),
        "w": rng.integers(1, 4, n).astype(float),
    }


def _write(tmp_path: Path, data: dict[str, Any], name: str = "d.parquet") -> Path:
    path = tmp_path / name
    pq.write_table(pa.table(data), path)
    return path


@pytest.mark.parametrize(
    ("case", "scale", "shift"),
    [("int32", 1, 0), ("whole doubles", 1.0, 0.0), ("fractions", 1.0, 0.25),
     ("int64: past 2^31", 10**8, 0)],
)  # fmt: skip
def test_times_as_integers_or_doubles_equal_memory(
    engine: str, tmp_path: Path, case: str, scale: Any, shift: Any
) -> None:
    data = _frame()
    data["start"] = data["start"] * scale + shift
    data["stop"] = data["stop"] * scale + shift
    path = _write(tmp_path, data)
    for spec in (
        CoxSpec("stop", "status", (X, G), entry="start", strata=("s",)),
        CoxSpec("stop", "status", (X, G), weights="w", robust=True),
    ):
        assert_same_fit(cox_on(path, spec, backend=engine), cox_on(path, spec, backend="memory"))  # type: ignore[arg-type]


def test_nan_in_a_parquet_float_column_is_missing(tmp_path: Path) -> None:
    data = _frame()
    x = data["x"].astype(float)
    x[[3, 50, 77]] = np.nan
    stop = data["stop"].astype(float)
    stop[[10]] = np.nan
    w = data["w"].copy()
    w[[20, 21]] = np.nan
    path = _write(tmp_path, {**data, "x": x, "stop": stop, "w": w})
    spec = CoxSpec("stop", "status", (X, G), weights="w")
    got = cox_on(path, spec, backend="duckdb")
    want = cox_on(path, spec, backend="memory")
    assert want.n_dropped == 6 and want.fit.n == 294
    assert_same_fit(got, want)


def test_an_infinite_value_is_refused_as_memory_refuses_it(tmp_path: Path) -> None:
    data = _frame()
    x = data["x"].astype(float)
    x[7] = np.inf
    path = _write(tmp_path, {**data, "x": x})
    spec = CoxSpec("stop", "status", (X,))
    with pytest.raises(InputError) as memory:
        cox_on(path, spec, backend="memory")
    with pytest.raises(InputError) as duckdb:
        cox_on(path, spec, backend="duckdb")
    assert str(duckdb.value) == str(memory.value)
    assert "row 8" in str(duckdb.value)


@pytest.mark.parametrize("weights", [None, "w"])
def test_event_totals_at_zero_equal_the_events_query(tmp_path: Path, weights: str | None) -> None:
    import ibis

    from netoutcomes.engine.cox_passes import (
        E,
        T,
        W,
        event_totals_at_zero,
        event_totals_expr,
        risk_sums_expr,
        run_step,
    )

    data = _frame()
    con = ibis.duckdb.connect()
    columns = {"s": data["s"], T: data["stop"], E: data["status"].astype(np.int8),
               "__x0": data["x"], "__x1": (data["g"] == "b").astype(float)}  # fmt: skip
    if weights:
        columns[W] = data["w"]
    rows = con.create_table("rows", pa.table(columns))
    x_cols = ["__x0", "__x1"]
    expr, beta = risk_sums_expr(rows, x_cols, ["s"], entry=False, count=True)
    step0 = run_step(expr, {b: 0.0 for b in beta})
    got = event_totals_at_zero(step0, ["s"], 2).sort_by([("s", "ascending"), (T, "ascending")])
    want = event_totals_expr(rows, x_cols, ["s"]).to_pyarrow()
    want = want.sort_by([("s", "ascending"), (T, "ascending")])
    assert got.column_names == want.column_names
    assert got.column("s").to_pylist() == want.column("s").to_pylist()
    for name in got.column_names[1:]:
        np.testing.assert_allclose(got.column(name).to_numpy(), want.column(name).to_numpy(),
                                   rtol=1e-14)  # fmt: skip


def test_perfect_hash_setting_restored_after_a_step() -> None:
    import ibis

    from netoutcomes.engine.cox_passes import E, T, risk_sums_expr, run_step

    con = ibis.duckdb.connect()
    rows = con.create_table("rows", pa.table({T: [1, 2, 2], E: pa.array([1, 0, 1], pa.int8()),
                                              "__x0": [0.5, -1.0, 2.0]}))  # fmt: skip
    expr, beta = risk_sums_expr(rows, ["__x0"], [], entry=False)
    setting = "SELECT current_setting('perfect_ht_threshold')"
    before = con.con.execute(setting).fetchall()
    result = run_step(expr, {beta[0]: 0.3})
    assert con.con.execute(setting).fetchall() == before
    # r = exp(0.3 x): at time 2 the event row (x = 2) and the censored one (x = -1)
    by_key = {(t, e): r for t, e, r in zip(*(result.column(c).to_pylist()
                                            for c in (T, "__kind", "r")), strict=True)}  # fmt: skip
    assert by_key[(2, 1)] == pytest.approx(np.exp(0.6), rel=1e-15)
    assert by_key[(2, 0)] == pytest.approx(np.exp(-0.3), rel=1e-15)


def test_aliased_column_dropped_as_memory(engine: str, tmp_path: Path) -> None:
    data = _frame()
    path = _write(tmp_path, {**data, "x2": 2.0 * data["x"] + 1.0})
    spec = CoxSpec("stop", "status", (X, DesignColumn("x2", "x2", (("x2", None),)), G))
    got = cox_on(path, spec, backend=engine)  # type: ignore[arg-type]
    want = cox_on(path, spec, backend="memory")
    assert np.isnan(want.fit.coef[1]) and np.isnan(got.fit.coef[1])
    assert_same_fit(got, want)
    only = CoxSpec("stop", "status", (DesignColumn("one", "one", (("one", None),)),))
    path1 = _write(tmp_path, {**data, "one": np.full(len(data["x"]), 5.0)}, "one.parquet")
    with pytest.raises(InputError) as memory:
        cox_on(path1, only, backend="memory")
    with pytest.raises(InputError) as engine_error:
        cox_on(path1, only, backend=engine)  # type: ignore[arg-type]
    assert str(engine_error.value) == str(memory.value)


def test_factor_and_strata_cells_typed_as_memory(engine: str, tmp_path: Path) -> None:
    # Factor and strata cells as a CSV writes them: padded text, NA and empty cells
    # (rows dropped), a numeric factor written 1 / 1.0 / " 2" (one level per number).
    data = _frame(seed=5)
    rng = np.random.default_rng(9)
    g = np.array([" a", "b ", "a", " b ", "NA", "", "  "], dtype=object)[rng.integers(0, 7, 300)]
    k = np.array(["1", "1.0", " 2", "2", "3", "NaN"], dtype=object)[rng.integers(0, 6, 300)]
    s = np.array(["u", " u", "v", "NA"], dtype=object)[rng.integers(0, 4, 300)]
    path = tmp_path / "cells.csv"
    lines = ["stop,status,x,g,k,s"]
    lines += [f"{t},{e},{x},{gi},{ki},{si}" for t, e, x, gi, ki, si in
              zip(data["stop"], data["status"], data["x"], g, k, s, strict=True)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    spec = CoxSpec("stop", "status", (X, G, DesignColumn("k2", "k", (("k", "2"),)),
                                      DesignColumn("k3", "k", (("k", "3"),)),
                                      DesignColumn("gb:x", "g:x", (("g", "b"), ("x", None)))),
                   strata=("s",))  # fmt: skip
    want = cox_on(path, spec, backend="memory")
    assert want.n_dropped > 50 and len(want.stratum_labels) == 2
    assert_same_fit(cox_on(path, spec, backend=engine), want)  # type: ignore[arg-type]


def test_known_products_left_out_of_the_step_equal_the_sums() -> None:
    import ibis

    from netoutcomes.engine.cox_engine import _known_products
    from netoutcomes.engine.cox_passes import (
        E,
        T,
        TimeFix,
        event_totals,
        event_totals_expr,
        finish,
        risk_sums_expr,
        run_step,
    )

    columns = [X, G, DesignColumn("gc", "g", (("g", "c"),)), DesignColumn("hd", "h", (("h", "d"),)),
               DesignColumn("gb:hd", "g:h", (("g", "b"), ("h", "d")))]  # fmt: skip
    known = _known_products(columns)
    # 0/1 columns: their own square; different levels of g: never both 1.
    assert known == [(1, 1), (1, 2), (2, 2), (2, 4), (3, 3), (4, 4)]
    rng = np.random.default_rng(4)
    g, h = rng.choice(["a", "b", "c"], 200), rng.choice(["d", "e"], 200)
    table = pa.table({T: rng.integers(1, 30, 200), E: rng.integers(0, 2, 200).astype(np.int8),
                      "__x0": rng.normal(size=200), "__x1": (g == "b") * 1.0,
                      "__x2": (g == "c") * 1.0, "__x3": (h == "d") * 1.0,
                      "__x4": ((g == "b") & (h == "d")) * 1.0})  # fmt: skip
    rows = ibis.duckdb.connect().create_table("rows", table)
    x_cols = [f"__x{j}" for j in range(5)]
    beta = [0.3, -0.2, 0.5, 0.1, -0.4]
    sums = []
    for pairs in ((), known):
        expr, params = risk_sums_expr(rows, x_cols, [], entry=False, known=pairs)
        result = run_step(expr, dict(zip(params, beta, strict=True)))
        sums.append(result.sort_by([(T, "ascending"), ("__kind", "ascending")]))
    full, short = sums
    assert short.num_columns == full.num_columns - len(known)
    # finish fills the left-out sums in: same risk-set matrices as the full query.
    times = np.unique(table.column(T).to_numpy()).astype(float)
    fix = TimeFix(times, times)
    events = event_totals(event_totals_expr(rows, x_cols, []).to_pyarrow(), [], {}, 5, fix)
    a, b = (finish(s, [], {}, 5, events, fix) for s in (full, short))
    np.testing.assert_allclose(b.rxx_risk, a.rxx_risk, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(b.rxx_event, a.rxx_event, rtol=1e-13, atol=1e-13)


def test_padded_number_and_event_cells_read_as_memory(engine: str, tmp_path: Path) -> None:
    # Only padded cells are stripped in SQL (a CASE): numbers, events and missing
    # values written with spaces, tabs and a form feed around them.
    data = _frame(seed=7)
    pads = ["", " ", "\t", "  ", "\x0c"]
    rng = np.random.default_rng(2)

    def pad(value: Any) -> str:
        return f'"{pads[rng.integers(0, 5)]}{value}{pads[rng.integers(0, 5)]}"'

    x = [pad(v) if i % 17 else pad("NA") for i, v in enumerate(data["x"])]
    event = [pad("TRUE" if e else "F") if i % 3 else pad(e) for i, e in enumerate(data["status"])]
    lines = ["stop,status,x"] + [f"{pad(t)},{e},{xi}" for t, e, xi in
                                  zip(data["stop"], event, x, strict=True)]  # fmt: skip
    path = tmp_path / "padded.csv"
    path.write_text("\n".join(lines) + "\n")
    spec = CoxSpec("stop", "status", (X,))
    want = cox_on(path, spec, backend="memory")
    assert want.n_dropped == 18 and want.fit.nevent > 100
    assert_same_fit(cox_on(path, spec, backend=engine), want)  # type: ignore[arg-type]


SINGULAR = json.loads(
    (
        Path(__file__).resolve().parents[1] / "fixtures" / "r" / "cox_mutation_singular.json"
    ).read_text()
)


@pytest.mark.parametrize(
    "block", ["mixed_scales", "mixed_scales_weighted", "mixed_scales_counting"]
)
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_a_column_on_a_much_smaller_scale_is_fitted_as_r(
    engine: str, tmp_path: Path, block: str, ties: str
) -> None:
    # R scales each column by sum(w) / sum(w |x - mean|) before cholesky2's pivot rule:
    # a column 1e-7 the size of another is fitted, not aliased (one more aggregate on the
    # engine; tests/fixtures/r/cox_mutation_singular.R)
    ref = SINGULAR[block]
    path = _write(tmp_path, {k: np.array(v, float) for k, v in SINGULAR["data"].items()})
    columns = tuple(DesignColumn(c, c, ((c, None),)) for c in ref["columns"])
    spec = CoxSpec(
        "time",
        "event",
        columns,
        entry="start" if block.endswith("counting") else None,
        weights="w" if block.endswith("weighted") else None,
        ties=ties,  # type: ignore[arg-type]
    )
    fit = cox_on(path, spec, backend=engine).fit  # type: ignore[arg-type]
    assert fit.warnings == ()
    np.testing.assert_allclose(fit.coef, ref[ties]["coef"], rtol=1e-9)
    np.testing.assert_allclose(fit.se, ref[ties]["se"], rtol=1e-9)
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], ref[ties]["loglik"], rtol=1e-12)


RUNAWAY = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "r" / "cox_runaway.json").read_text()
)


@pytest.mark.parametrize("case", ["first100_xz", "first400", "first1000", "late100"])
def test_a_runaway_coefficient_is_na_as_r(engine: str, tmp_path: Path, case: str) -> None:
    # The only x = 1 subject dies first: R's coxph ends with the information of x 0 in
    # doubles (coef NA, var 0), past 1e154 risk sums, or after an overflowing first step;
    # cox.zph tests the other column (tests/fixtures/r/cox_runaway.R)
    ref = RUNAWAY[case]
    path = _write(tmp_path, {k: np.array(v, float) for k, v in ref["data"].items()})
    columns = tuple(DesignColumn(c, c, ((c, None),)) for c in ref["columns"])
    got = cox_on(path, CoxSpec("time", "event", columns), backend=engine)  # type: ignore[arg-type]
    fit, want = got.fit, ref["efron"]
    coef = np.array([np.nan if v is None else v for v in want["coef"]], float)
    np.testing.assert_array_equal(np.isnan(fit.coef), np.isnan(coef))
    np.testing.assert_allclose(fit.coef, coef, rtol=1e-9)
    np.testing.assert_allclose(fit.var.ravel(order="F"), want["var"], rtol=1e-9, atol=0)
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], want["loglik"], rtol=1e-12)
    assert fit.iterations == want["iter"]
    assert fit.concordance == pytest.approx(want["concordance"][0], rel=1e-12)
    if want["zph_km"]:
        # late100's chisq is 1.9e-7: the square of a score that cancels from order-1
        # terms, held to ~1e-16 absolute by the doubles (3e-16 apart from R's)
        np.testing.assert_allclose(got.zph("km").chisq, want["zph_km"], rtol=1e-9, atol=1e-14)


def test_a_nearly_collinear_column_after_a_constant_one_is_na_as_r(
    engine: str, tmp_path: Path
) -> None:
    # R drops the constant k and a3 = a + ~3e-7 noise (pivot ~1.6e-10 against a bound of
    # ~2e-9 on the scaled information) at once; the engine refits once, without both
    ref = SINGULAR["near_collinear"]
    path = _write(tmp_path, {k: np.array(v, float) for k, v in ref["data"].items()})
    columns = tuple(DesignColumn(c, c, ((c, None),)) for c in ref["columns"])
    fit = cox_on(path, CoxSpec("time", "event", columns), backend=engine).fit  # type: ignore[arg-type]
    want = np.array([np.nan if v is None else v for v in ref["efron"]["coef"]], float)
    np.testing.assert_array_equal(np.isnan(fit.coef), np.isnan(want))
    np.testing.assert_allclose(fit.coef, want, rtol=1e-9)
    np.testing.assert_allclose(fit.se, ref["efron"]["se"], rtol=1e-9, atol=0)
