"""What a Cox fit on the engine computes after the Newton steps, without pulling rows.

- Robust (sandwich) variance: a row's score residual is a function of its own
  covariates and of the cumulative hazard tables at its exit and entry times
  (``survival.cox.score_residuals``), so the residuals are computed in SQL by
  joining the model rows to a table with one row per (stratum, distinct time);
  ``sum over clusters of (sum of residuals)(sum of residuals)'`` is one GROUP BY.
- cox.zph's Kaplan-Meier and rank transforms: counts per (exit time, event) and
  per entry time (the size of the distinct times).
- Concordance: NOT on the engine: the rows' (stratum, time, status, entry, weight,
  risk score) are pulled and ``survival.concordance`` counts the pairs (see
  docs/engine.md for the size and the cost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from netoutcomes.engine.concordance_se import concordance_of_sorted
from netoutcomes.engine.cox_passes import A, C, E, StratumCodes, T, TimeFix, W, column
from netoutcomes.engine.cox_result import (
    CoxConcordance,
    km_transform_from_counts,
    r_wald_quadratic,
    ranks_from_counts,
)
from netoutcomes.survival.concordance import CodeLookup, TimeCodes, sort_rows
from netoutcomes.survival.cox import CoxTimeSums, time_terms
from netoutcomes.survival.model_spec import CoxSpec

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa


# Rows per batch of the concordance's pull (and per query on Spark: see _chunked).
PULL_ROWS = 1 << 20


def _codes(result: pa.Table, strata: list[str], codes: StratumCodes) -> np.ndarray:
    if not strata:
        return np.zeros(result.num_rows, dtype=np.int64)
    raw = [result.column(s).to_pylist() for s in strata]
    return np.fromiter((codes[tuple(v)] for v in zip(*raw, strict=True)), dtype=np.int64,
                       count=result.num_rows)  # fmt: skip


def _linear_predictor(rows: ir.Table, x_cols: list[str], coef: np.ndarray) -> Any:
    lp: Any = rows[x_cols[0]] * float(coef[0])
    for j in range(1, len(x_cols)):
        lp = lp + rows[x_cols[j]] * float(coef[j])
    return lp


def _hazard_lookup(
    sums: CoxTimeSums, ties: Any, step: pa.Table, strata: list[str], codes: StratumCodes,
    fix: TimeFix,
) -> pa.Table:  # fmt: skip
    """Per distinct (strata values, raw time) of the data: the cumulative hazard sums
    up to that time (``H``, ``XH``) and, for an event time, the corrections an event
    row takes at its own time (Efron's factor) and the mean it is compared with."""
    import pyarrow as pa

    terms = time_terms(sums, ties)
    p = sums.rx_risk.shape[1]
    keys = step.select([*strata, T]).group_by([*strata, T]).aggregate([])
    raw_time = column(keys, T).astype(np.float64)
    fixed = fix(raw_time)
    code = _codes(keys, strata, codes)
    n = keys.num_rows
    h, dh = np.zeros(n), np.zeros(n)
    xh, dxh, mean = np.zeros((n, p)), np.zeros((n, p)), np.zeros((n, p))
    for s in np.unique(sums.stratum):
        sel = np.flatnonzero(sums.stratum == s)
        rows = np.flatnonzero(code == s)
        times = sums.time[sel]
        cum_h = np.concatenate([[0.0], np.cumsum(terms.hazard[sel])])
        cum_xh = np.vstack([np.zeros((1, p)), np.cumsum(terms.xhaz[sel], axis=0)])
        pos = np.searchsorted(times, fixed[rows], side="right")
        h[rows], xh[rows] = cum_h[pos], cum_xh[pos]
        own = (pos > 0) & (times[np.maximum(pos - 1, 0)] == fixed[rows])
        k = sel[pos[own] - 1]
        at = rows[own]
        dh[at] = terms.hazard_ev[k] - terms.hazard[k]
        dxh[at] = terms.xhaz_ev[k] - terms.xhaz[k]
        mean[at] = terms.mean_ev[k]
    out = {f"__ls{i}": keys.column(s) for i, s in enumerate(strata)}
    out["__lt"] = pa.array(raw_time)
    out["__H"], out["__DH"] = pa.array(h), pa.array(dh)
    for j in range(p):
        out[f"__XH{j}"], out[f"__DXH{j}"] = pa.array(xh[:, j]), pa.array(dxh[:, j])
        out[f"__ME{j}"] = pa.array(mean[:, j])
    return pa.table(out)


def robust_variance_matrix_on_engine(
    rows: ir.Table, x_cols: list[str], spec: CoxSpec, coef: np.ndarray, var: np.ndarray,
    sums: CoxTimeSums, step: pa.Table, codes: StratumCodes, fix: TimeFix,
) -> np.ndarray:  # fmt: skip
    """R's robust variance matrix ``var M var`` (``fit$var`` of a robust fit)."""
    return np.asarray(
        var @ score_meat_on_engine(rows, x_cols, spec, coef, sums, step, codes, fix) @ var,
        dtype=np.float64,
    )


def robust_score_on_engine(
    rows: ir.Table, x_cols: list[str], spec: CoxSpec, sums0: CoxTimeSums, step0: pa.Table,
    codes: StratumCodes, fix: TimeFix,
) -> float:  # fmt: skip
    """R's robust score test (``fit$rscore``): ``U0' M0^-1 U0`` with the clusters' score
    residuals at beta = 0 (``sums0``/``step0``: the per-time sums at beta = 0); ``U0``,
    the score at 0, is the sum of those residuals."""
    zero = np.zeros(len(x_cols))
    meat, total = score_meat_on_engine(
        rows, x_cols, spec, zero, sums0, step0, codes, fix, with_total=True
    )
    return r_wald_quadratic(meat, total)


def score_meat_on_engine(
    rows: ir.Table, x_cols: list[str], spec: CoxSpec, coef: np.ndarray, sums: CoxTimeSums,
    step: pa.Table, codes: StratumCodes, fix: TimeFix, with_total: bool = False,
) -> Any:  # fmt: skip
    """``sum over clusters of (sum of score residuals)(sum of score residuals)'`` at
    ``coef`` (each row its own cluster without ``cluster``), as one join + GROUP BY;
    ``with_total``: also the residuals' sum (the score at ``coef``)."""
    import ibis

    strata = list(spec.strata)
    p = len(x_cols)
    lookup = ibis.memtable(_hazard_lookup(sums, spec.ties, step, strata, codes, fix))

    def joined(table: ir.Table, time_col: str, prefix: str, how: str) -> ir.Table:
        named = lookup.rename({f"{prefix}{c}": c for c in lookup.columns})
        preds = [table[time_col] == named[f"{prefix}__lt"]]
        preds += [table[s] == named[f"{prefix}__ls{i}"] for i, s in enumerate(strata)]
        return table.join(named, preds, how=how)

    t = joined(rows, T, "hi", "inner")
    if spec.entry:
        t = joined(t, A, "lo", "left")
    zero = ibis.literal(0.0, "float64")

    def lo(name: str) -> Any:
        return t[f"lo{name}"].fill_null(0.0) if spec.entry else zero

    r = _linear_predictor(t, x_cols, coef).exp()
    ev = t[E]
    h = t["hi__H"] - lo("__H") + ev * t["hi__DH"]
    resid: dict[str, Any] = {}
    for j, x in enumerate(x_cols):
        xh = t[f"hi__XH{j}"] - lo(f"__XH{j}") + ev * t[f"hi__DXH{j}"]
        value = -r * (t[x] * h - xh) + ev * (t[x] - t[f"hi__ME{j}"])
        resid[f"__u{j}"] = value * t[W] if spec.weights else value
    if spec.cluster:
        scores = t.group_by(t[C]).aggregate(**{k: v.sum() for k, v in resid.items()})
    else:
        scores = t.select(**resid)
    pairs = {f"__uu{j}_{k}": (scores[f"__u{j}"] * scores[f"__u{k}"]).sum()
             for j in range(p) for k in range(j, p)}  # fmt: skip
    if with_total:
        pairs |= {f"__sum{j}": scores[f"__u{j}"].sum() for j in range(p)}
    result = scores.aggregate(**pairs).to_pyarrow()
    m = np.zeros((p, p))
    for j in range(p):
        for k in range(j, p):
            m[j, k] = m[k, j] = float(column(result, f"__uu{j}_{k}")[0])
    if with_total:
        return m, np.array([float(column(result, f"__sum{j}")[0]) for j in range(p)])
    return m


def km_and_ranks_on_engine(
    rows: ir.Table, spec: CoxSpec, fix: TimeFix, at: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """cox.zph's km and rank transforms at the event times ``at``, from one GROUP BY
    over (exit time, event) with counts (and one over the entry times with ``entry``):
    ``1 - KM(t-)`` of all rows, and R's ``rank(times)`` of every row's exit time."""
    exits = rows.group_by([T, E]).aggregate(__n=rows.count()).to_pyarrow()
    entry_time = entry_count = None
    if spec.entry:
        entries = rows.group_by(A).aggregate(__n=rows.count()).to_pyarrow()
        entry_time = fix(column(entries, A).astype(np.float64))
        entry_count = column(entries, "__n").astype(np.float64)
    exit_time = fix(column(exits, T).astype(np.float64))
    exit_count = column(exits, "__n").astype(np.float64)
    km = km_transform_from_counts(
        exit_time, column(exits, E).astype(np.float64), exit_count, entry_time, entry_count, at
    )
    return km, ranks_from_counts(exit_time, exit_count, at)


def concordance_on_engine(
    rows: ir.Table,
    x_cols: list[str],
    spec: CoxSpec,
    coef: np.ndarray,
    codes: StratumCodes,
    fix: TimeFix,
) -> CoxConcordance:
    """R's concordance of the fit from the rows' (stratum, time, status, entry, weight,
    risk score), pulled: one row per data row; the standard error is R's
    infinitesimal jackknife (``engine.concordance_se``).  The last use of ``rows``
    (a cached table): it is released here."""
    pulled = _pull_for_concordance(rows, x_cols, spec, coef, codes, fix)
    # The last query: the engine's cached model rows are freed before the pair counting.
    rows.release()
    sorted_rows = sort_rows(**pulled)
    del pulled  # the sorted copies are what the counting reads
    return concordance_of_sorted(sorted_rows)


def _pull_for_concordance(
    rows: ir.Table, x_cols: list[str], spec: CoxSpec, coef: np.ndarray, codes: StratumCodes,
    fix: TimeFix,
) -> dict[str, Any]:  # fmt: skip
    """``sort_rows``'s arguments, streamed in batches into arrays made once (no
    table of the whole result is ever held, on DuckDB).  The time fix's lookup of
    each time among the distinct times is also its code: the rows are then put in
    time order by counting."""
    import pyarrow as pa

    keys = [*spec.strata, T, E, *([A] if spec.entry else []), *([W] if spec.weights else []),
            *([C] if spec.cluster else [])]  # fmt: skip
    lp = _linear_predictor(rows, x_cols, coef).name("__lp")
    n = int(rows.count().to_pyarrow().as_py())
    index: Any = np.int32 if fix.raw.size < 2**31 - 1 else np.int64
    out: dict[str, Any] = {"time": np.empty(n), "event": np.empty(n, bool),
                           "risk_score": np.empty(n)}  # fmt: skip
    exit_code, entry_code = np.empty(n, index), None
    if spec.entry:
        out["entry"], entry_code = np.empty(n), np.empty(n, index)
    if spec.strata:
        out["strata"] = np.empty(n, np.int64)
    if spec.weights:
        out["weights"] = np.empty(n)
    clusters: list[pa.Array] = []
    lookup = CodeLookup(fix.raw)
    start = 0
    # A plain projection: grouping on the (nearly unique) risk score costs a hash
    # aggregate over as many keys as rows and saves nothing with a continuous covariate.
    for batch in _batches(rows.select(*keys, lp), PULL_ROWS, n, "__lp"):
        part = slice(start, start + batch.num_rows)
        got = pa.Table.from_batches([batch])
        _fixed_into(fix, lookup, column(got, T), out["time"][part], exit_code[part])
        np.equal(column(got, E), 1.0, out=out["event"][part])
        out["risk_score"][part] = column(got, "__lp")
        if entry_code is not None:
            _fixed_into(fix, lookup, column(got, A), out["entry"][part], entry_code[part])
        if spec.strata:
            out["strata"][part] = _codes(got, list(spec.strata), codes)
        if spec.weights:
            out["weights"][part] = column(got, W)
        if spec.cluster:
            clusters.append(got.column(C).combine_chunks())
        start += batch.num_rows
    if start != n:
        raise RuntimeError(f"the engine returned {start} rows for the concordance, not {n}")
    if spec.cluster:
        out["cluster"] = _cluster_codes(
            pa.chunked_array(clusters, type=rows.schema()[C].to_pyarrow())
        )
    out["time_codes"] = TimeCodes(exit_code, entry_code, int(fix.raw.size))
    return out


def _batches(query: ir.Table, size: int, n_rows: int, chunk_by: str) -> Any:
    """The query's result as a stream of Arrow record batches."""
    backend = query.get_backend()
    if backend.name == "duckdb":
        # Ibis 12's to_pyarrow_batches asks the DuckDB cursor for fetch_record_batch,
        # which DuckDB 2.0 removed; the relation's own reader streams the same batches.
        return backend.con.sql(backend.compile(query)).to_arrow_reader(size)
    return _chunked(query, size, n_rows, chunk_by)


def _chunked(query: ir.Table, size: int, n_rows: int, chunk_by: str) -> Any:
    """Ibis's to_pyarrow_batches on Spark collects the whole result in one go (a
    task holding every row: the 1 GiB default JVM heap ran out at 1e7 rows), so the
    rows come in ``ceil(n / size)`` queries, each the rows whose hash of ``chunk_by``
    falls in its chunk: the JVM holds one chunk at a time.  Every row is in exactly
    one chunk (the hash of a row's values is the same in every query)."""
    chunks = max(1, -(-n_rows // size))
    if chunks == 1:
        yield from query.to_pyarrow_batches(chunk_size=size)
        return
    bucket = query[chunk_by].hash().cast("int64") % chunks  # in (-chunks, chunks): no overflow
    for k in range(chunks):
        # A negative remainder r belongs to chunk r + chunks.
        part = query.filter((bucket == k) | (bucket == k - chunks))
        yield from part.to_pyarrow().to_batches(max_chunksize=size)


def _fixed_into(
    fix: TimeFix, lookup: CodeLookup, raw: np.ndarray, time: np.ndarray, code: np.ndarray
) -> None:
    """``fix(raw)`` into ``time``, and the index of each raw time among the distinct
    times (the lookup ``fix`` makes: ``lookup`` of ``fix.raw``) into ``code``."""
    lookup(raw.astype(np.float64, copy=False), code)
    time[:] = fix.fixed[code]


def _cluster_codes(values: pa.ChunkedArray) -> np.ndarray:
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(values.combine_chunks())
    return np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
