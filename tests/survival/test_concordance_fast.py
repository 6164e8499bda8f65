"""The vectorised concordance against the first, loop-per-row implementation.

``concordance_reference.py`` is that implementation verbatim (a Fenwick tree
swept over the event times, one Python step per row and per event, checked
against R's ``fit$concordance`` by the Cox fixture tests when it was the
package's).  The data here are built to hit every rule: few distinct times
(events tied with events and with censorings), few distinct scores (ties on x),
delayed entry at other rows' event times, strata and non-integer weights.
Weights are multiples of 1/8, so every sum in both implementations is exact in
float64 and the counts must agree to the last bit (checked to 1e-12 relative);
one seeded case with arbitrary float weights is checked to 1e-12 relative.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from concordance_reference import concordance as reference_concordance
from hypothesis import given, settings
from hypothesis import strategies as st

from netoutcomes.survival import concordance as concordance_module
from netoutcomes.survival import fenwick
from netoutcomes.survival.concordance import (
    CodeLookup,
    Concordance,
    SortedRows,
    TimeCodes,
    concordance,
    count_pairs,
    sort_rows,
)

FIELDS = ("concordant", "discordant", "tied_x", "tied_y")


def assert_same(ours: Concordance, reference: Concordance, rtol: float = 1e-12) -> None:
    for field in FIELDS:
        assert getattr(ours, field) == pytest.approx(
            float(getattr(reference, field)), rel=rtol, abs=0.0
        ), field
    if np.isnan(reference.concordance):
        assert np.isnan(ours.concordance)
    else:
        assert ours.concordance == pytest.approx(reference.concordance, rel=rtol, abs=0.0)


@st.composite
def survival_rows(draw: st.DrawFn) -> dict[str, np.ndarray | None]:
    n = draw(st.integers(1, 40))
    n_times = draw(st.integers(1, 6))
    n_scores = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    time = rng.integers(1, n_times + 1, n).astype(np.float64)
    event = rng.random(n) < draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))
    # Scores on a coarse grid of a few values: many ties on x, negative ones too.
    score = (rng.integers(0, n_scores, n) - 1.0) * 0.25
    entry = None
    if draw(st.booleans()):
        # Entries at 0, at earlier (event) times or at half-steps; always before exit.
        back = rng.integers(1, n_times + 1, n) * draw(st.sampled_from([0.5, 1.0]))
        entry = np.maximum(time - back, -1.0)
    strata = rng.integers(0, draw(st.integers(1, 3)), n) if draw(st.booleans()) else None
    weights = rng.integers(1, 25, n) / 8.0 if draw(st.booleans()) else None
    return {
        "time": time,
        "event": event,
        "risk_score": score,
        "entry": entry,
        "strata": strata,
        "weights": weights,
    }


# The choices below (how to rank, which tree, which integer type, whether to use a
# table or the values as codes) give the same counts either way; what each one
# promises is memory or passes, written in concordance.py.  These pin that promise.


def _sorted_rows(n_rows: int, n_ranks: int, weighted: bool) -> SortedRows:
    # Only the fields new_tree and sum_type read are real: the number of rows (a
    # broadcast array: no memory), the ranks' count and the weights' type.
    return SortedRows(
        bounds=np.array([0, n_rows]),
        time=np.broadcast_to(np.float64(0.0), (n_rows,)),
        event=np.zeros(0, bool),
        rank=np.zeros(0, np.int32),
        n_ranks=n_ranks,
        weight=np.ones(1, np.float64 if weighted else np.int8),
        entry=np.zeros(0),
        entry_order=np.zeros(0, np.int32),
        cluster=np.zeros(0, np.int64),
        n_clusters=0,
    )


@pytest.mark.parametrize(("weighted", "itemsize"), [(False, 4), (True, 8)])
def test_tree_is_plain_up_to_2_mib_then_over_blocks_of_16_ranks(
    weighted: bool, itemsize: int
) -> None:
    plain_most = 2**21 // itemsize  # ranks whose tree holds 2 MiB
    for n_ranks in (0, 1, plain_most - 1, plain_most):
        tree, point, shift = _sorted_rows(10, n_ranks, weighted).new_tree()
        assert tree.dtype.itemsize == point.dtype.itemsize == itemsize
        assert (tree.size, point.size, shift) == (n_ranks + 1, n_ranks, 0)  # node per rank
    for n_ranks in (plain_most + 1, plain_most + 15, plain_most + 16):
        tree, point, shift = _sorted_rows(10, n_ranks, weighted).new_tree()
        assert point.size == n_ranks
        blocks = -(-n_ranks // 16)
        assert tree.size == blocks + 1  # tree[0] and one node per block of 16 ranks
        assert tree.dtype.itemsize == itemsize
        assert shift == 4  # the sweeps read the tree as blocks of 2**4 ranks
        assert not tree.any() and not point.any()


def test_counts_are_int32_below_2_30_rows() -> None:
    # Without weights a row's sums (partners as event and as comparator) stay below
    # twice the rows: int32 up to 2**30 rows, then int64.  With weights float64.
    assert _sorted_rows(2**30 - 1, 5, False).sum_type is np.int32
    assert _sorted_rows(2**30, 5, False).sum_type is np.int64
    assert _sorted_rows(3, 5, True).sum_type is np.float64
    tree, point, _ = _sorted_rows(2**30, 5, False).new_tree()
    assert tree.dtype == point.dtype == np.int64


def test_positions_are_int32_below_2_31_minus_1_rows() -> None:
    assert concordance_module.position_type(2**31 - 2) is np.int32
    assert concordance_module.position_type(2**31 - 1) is np.int64
    rows = sort_rows(np.array([2.0, 1.0]), np.array([True, True]), np.zeros(2), np.zeros(2))
    assert rows.entry_order.dtype == np.int32


class _Calls:
    """A stand-in that records the calls of a function and passes them on."""

    def __init__(self, function: Any) -> None:
        self.function, self.calls = function, []

    def __call__(self, *args: Any) -> Any:
        self.calls.append(args)
        return self.function(*args)


def test_scores_ranked_through_the_hash_table_bounded_to_25_mb(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashed = _Calls(fenwick.dense_ranks_hashed)
    by_sorting = _Calls(fenwick.dense_ranks)
    monkeypatch.setattr(fenwick, "dense_ranks_hashed", hashed)
    monkeypatch.setattr(fenwick, "dense_ranks", by_sorting)
    # Few distinct scores (and no rows at all): the hash table, no sort.
    for n in (0, 1, 2, 3, 50):
        score = np.arange(n) % 3 * 0.5
        rows = sort_rows(np.ones(n), np.ones(n, bool), score)
        assert rows.n_ranks == min(n, 3)
        most, log_size = hashed.calls[-1][2:]
        assert most == n  # a table for at most n distinct values
        # the smallest power of two of slots at least twice that (2 at least)
        assert 2**log_size == 2 if n == 0 else 2 * n <= 2**log_size < 4 * n
    assert by_sorting.calls == []
    # The table of 2**20 + 3 rows: sized for at most 2**20 distinct values, its
    # 2**21 slots (an int32 id and uint64 bits each) ~25 MB.
    n = 2**20 + 3
    rows = sort_rows(np.ones(n), np.ones(n, bool), np.arange(n) % 2 * 1.0)
    assert rows.n_ranks == 2 and by_sorting.calls == []
    most, log_size = hashed.calls[-1][2:]
    assert most == 2**20 and 2**log_size * (4 + 8) <= 25.2e6
    # More distinct values than the table takes: ranked by sorting.
    monkeypatch.setattr(concordance_module, "HASHED_RANKS", 4)
    rows = sort_rows(np.ones(6), np.ones(6, bool), np.arange(6.0))
    assert rows.n_ranks == 6 and len(by_sorting.calls) == 1


def test_code_lookup_table_only_within_its_span() -> None:
    # A table when the distinct integers span less than 4 k + 2**16 (k values).
    low = 1000.0
    for k in (2, 3):
        limit = 4 * k + 2**16
        inside = np.append(low + np.arange(k - 1), low + limit - 1)
        lookup = CodeLookup(inside)
        assert lookup.table is not None and lookup.table.size == limit
        out = np.zeros(k, np.int32)
        lookup(inside[::-1].copy(), out)
        assert out.tolist() == list(range(k))[::-1]
        assert CodeLookup(np.append(low + np.arange(k - 1), low + limit)).table is None
    single = CodeLookup(np.array([low]))
    assert single.table is not None and single.table.tolist() == [0]
    assert CodeLookup(np.array([1000.0, 1000.5])).table is None  # not integers
    assert CodeLookup(np.array([-3.0, 5.0])).table is not None


def test_small_integer_labels_used_as_codes_without_a_copy() -> None:
    small_codes = concordance_module._small_codes
    for values in (np.array([0]), np.array([0, 6, 6]), np.array([3, 1, 1]), np.array([0, 1])):
        codes, k = small_codes(values, values.size)
        assert np.shares_memory(codes, values) and k == values.max() + 1
    # Beyond 2 n, negative or not integers: recoded 0..k-1 (np.unique's order).
    for values in (np.array([0, 7, 7]), np.array([-1, 2, 2]), np.array([0.0, 2.0, 2.0])):
        codes, k = small_codes(values, values.size)
        assert codes.tolist() == [0, 1, 1] and k == 2
        assert codes.dtype.kind == "i"
    codes, k = small_codes(np.zeros(0, np.int64), 0)
    assert codes.size == 0 and k == 0
    empty = concordance(np.zeros(0), np.zeros(0, bool), np.zeros(0), None, np.zeros(0, np.int64))
    assert (empty.concordant, empty.discordant, empty.tied_x, empty.tied_y) == (0, 0, 0, 0)


def test_sorted_rows_fields_without_entry_or_clusters() -> None:
    time, event, score = np.array([3.0, 1.0, 2.0]), np.array([True, True, False]), np.zeros(3)
    rows = sort_rows(time, event, score)
    assert rows.time.tolist() == [1.0, 2.0, 3.0]
    assert (rows.entry.size, rows.entry_order.size, rows.cluster.size, rows.n_clusters) == (
        0, 0, 0, 0,
    )  # fmt: skip
    clustered = sort_rows(time, event, score, cluster=np.array([9, 5, 9]))
    assert clustered.cluster.tolist() == [0, 1, 1] and clustered.n_clusters == 2
    # count_pairs: the per-row sums only when asked for, as a (2, n) array
    assert count_pairs(rows)[1].shape == (2, 0)
    assert count_pairs(rows, per_row=True)[1].shape == (2, 3)


def test_each_order_made_once_when_the_codes_are_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ordered by counting on the time codes (exit, then entry) when they are in the
    # times' order: one pass each; out of order, caught and sorted instead.  One
    # stratum: no counting pass over the strata.
    time = np.array([3.0, 1.0, 2.0, 2.0, 5.0])
    entry = np.array([0.0, 0.5, 1.0, 0.0, 2.0])
    event = np.array([True, True, False, True, True])
    distinct, code = np.unique(np.concatenate([time, entry]), return_inverse=True)
    orders = _Calls(concordance_module._time_order)
    counted = _Calls(fenwick.stable_order_by_code)
    monkeypatch.setattr(concordance_module, "_time_order", orders)
    monkeypatch.setattr(fenwick, "stable_order_by_code", counted)
    want = reference_concordance(time, event, -time, entry)

    def run(codes: TimeCodes | None, strata: np.ndarray | None = None) -> list[bool]:
        orders.calls.clear()
        counted.calls.clear()
        assert_same(concordance_module.count_pairs(
            sort_rows(time, event, -time, entry, strata, time_codes=codes))[0], want)  # fmt: skip
        return [call[1] is not None for call in orders.calls]

    assert run(TimeCodes(code[:5], code[5:], distinct.size)) == [True, True]
    assert len(counted.calls) == 2
    assert run(TimeCodes(code[:5], None, distinct.size)) == [True, False]
    backwards = distinct.size - 1 - code  # valid codes, out of the times' order
    assert run(TimeCodes(backwards[:5], backwards[5:], distinct.size)) == [True, False, True, False]
    assert run(None) == [False, False]
    assert counted.calls == []
    assert run(None, np.zeros(5, np.int64)) == [False, False]
    assert len(counted.calls) == 1  # the strata of the exit order (a single one)


def test_results_and_sorted_rows_are_frozen() -> None:
    # Value objects (the engine keeps and passes them on): no field can be rebound.
    rows = sort_rows(np.array([1.0, 2.0]), np.array([True, False]), np.zeros(2))
    codes = TimeCodes(np.zeros(2, np.int64), None, 1)
    for value, field in (
        (count_pairs(rows)[0], "concordant"),
        (codes, "n_codes"),
        (rows, "n_ranks"),
    ):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, 0)


def test_no_events_and_single_row() -> None:
    time = np.array([1.0, 2.0])
    none = concordance(time, np.array([False, False]), np.array([0.0, 1.0]))
    assert (none.concordant, none.discordant, none.tied_x, none.tied_y) == (0, 0, 0, 0)
    assert np.isnan(none.concordance)
    one = concordance(np.array([1.0]), np.array([True]), np.array([0.3]))
    assert (one.concordant, one.discordant, one.tied_x, one.tied_y) == (0, 0, 0, 0)


def test_worked_example_by_hand() -> None:
    # Times 1 (event, x=2), 2 (event, x=1), 2 (censored, x=3), 3 (event, x=1).
    # t=1: the event (x=2) vs rows at 2, 2, 3 with x 1, 3, 1: concordant 2, discordant 1.
    # t=2: the event (x=1) vs the censored row at 2 (x=3): discordant; vs row at 3 (x=1): tie.
    # t=3: nobody else at risk.
    result = concordance(
        np.array([1.0, 2.0, 2.0, 3.0]),
        np.array([True, True, False, True]),
        np.array([2.0, 1.0, 3.0, 1.0]),
    )
    assert (result.concordant, result.discordant, result.tied_x, result.tied_y) == (2, 2, 1, 0)
    assert result.concordance == pytest.approx(2.5 / 5)


def test_entry_not_before_exit_is_rejected() -> None:
    with pytest.raises(ValueError, match="entry < time"):
        concordance(np.array([1.0, 2.0]), np.array([True, True]), np.zeros(2), np.array([0.0, 2.0]))


@settings(max_examples=300, deadline=None)
@given(survival_rows())
def test_matches_reference_on_tied_data(rows: dict[str, np.ndarray | None]) -> None:
    assert_same(concordance(**rows), reference_concordance(**rows))  # type: ignore[arg-type]


def test_matches_reference_on_20000_rows() -> None:
    rng = np.random.default_rng(20251125)
    n = 20_000
    time = rng.integers(1, 400, n).astype(np.float64)
    entry = np.where(rng.random(n) < 0.5, 0.0, np.floor(time * rng.random(n)) - 0.5)
    event = rng.random(n) < 0.6
    # Half the scores continuous, half on a grid (ties on x); arbitrary float weights.
    score = np.where(rng.random(n) < 0.5, rng.normal(size=n), rng.integers(0, 20, n) / 4.0)
    strata = rng.integers(0, 4, n)
    weights = rng.uniform(0.2, 3.0, n)
    args = (time, event, score, entry, strata, weights)
    ours, reference = concordance(*args), reference_concordance(*args)
    assert ours.tied_x > 0 and ours.tied_y > 0
    assert_same(ours, reference)


def test_ranked_by_sorting_when_the_scores_are_many(monkeypatch: pytest.MonkeyPatch) -> None:
    # Beyond HASHED_RANKS distinct scores the ranks come from sorting the scores.
    monkeypatch.setattr(concordance_module, "HASHED_RANKS", 3)
    rng = np.random.default_rng(7)
    n = 300
    time = rng.integers(1, 30, n).astype(np.float64)
    entry = np.where(rng.random(n) < 0.5, 0.0, time - rng.integers(1, 4, n) * 0.5)
    args = (time, rng.random(n) < 0.6, rng.integers(0, 40, n) / 4.0, entry, rng.integers(0, 3, n))
    assert_same(concordance(*args), reference_concordance(*args))


@settings(max_examples=60, deadline=None)
@given(survival_rows())
def test_strata_labels_of_any_kind(rows: dict[str, np.ndarray | None]) -> None:
    # The strata are labels: large, negative, fractional or text labels of the same
    # grouping give the reference's counts for the small codes 0..k-1.
    codes = rows["strata"]
    if codes is None:
        codes = np.zeros(rows["time"].size, np.int64)
    base = {**rows, "strata": codes}
    want = reference_concordance(**base)
    relabelled = (codes * 1000 + 7, -codes - 1, codes + 0.5, np.array([f"s{c}" for c in codes]))
    for labels in relabelled:
        assert_same(concordance(**{**rows, "strata": labels}), want)
