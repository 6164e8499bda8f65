"""The helper kernels of ``survival.fenwick`` against numpy's own answers.

The sweeps are checked through ``survival.concordance`` (against the loop oracle in
concordance_reference.py) and ``engine.concordance_se`` (against a pair-by-pair
count); these are the two helpers they rely on for the order and the ranks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from concordance_reference import concordance as reference_concordance
from hypothesis import given, settings
from hypothesis import strategies as st

from netoutcomes.survival import fenwick
from netoutcomes.survival.concordance import CodeLookup, concordance, hash_bits


def test_sweeps_count_as_the_loop_oracle() -> None:
    # First (a quick kill for the sweeps' mutants): the counts of a few seeded data
    # sets with tied times and scores, delayed entry, strata and dyadic weights
    # against the loop-per-row oracle (exact sums: the same to the last bit).
    rng = np.random.default_rng(20261202)
    n = 80
    time = rng.integers(1, 8, n).astype(np.float64)
    event = rng.random(n) < 0.6
    score = rng.integers(0, 6, n) * 0.5
    entry = np.maximum(time - rng.integers(1, 5, n) * 0.5, -1.0)
    strata = rng.integers(0, 3, n)
    weights = rng.integers(1, 17, n) / 8.0
    for args in (
        (time, event, score),
        (time, event, score, entry),
        (time, event, score, entry, strata),
        (time, event, score, entry, strata, weights),
        (time, event, score, None, strata, weights),
    ):
        got, want = concordance(*args), reference_concordance(*args)
        assert (got.concordant, got.discordant, got.tied_x, got.tied_y) == (
            want.concordant, want.discordant, want.tied_x, want.tied_y,
        )  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 60), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_stable_order_by_code_is_a_stable_sort_by_code(n: int, n_codes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    code = rng.integers(0, n_codes, n)
    order = rng.permutation(n)
    got, starts = fenwick.stable_order_by_code(order, code, n_codes)
    expected = order[np.argsort(code[order], kind="stable")]
    assert got.tolist() == expected.tolist()
    assert starts.tolist() == [0, *np.cumsum(np.bincount(code, minlength=n_codes)).tolist()]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([-1.5, -0.0, 0.0, 0.25, 3.0, 1e300]), max_size=40))
def test_dense_ranks_equal_numpy_unique_inverse(values: list[float]) -> None:
    x = np.array(values, dtype=np.float64)
    rank, n_ranks = fenwick.dense_ranks(x, np.argsort(x))
    uniques, inverse = np.unique(x, return_inverse=True)
    assert rank.tolist() == inverse.tolist()
    assert n_ranks == uniques.size


@settings(max_examples=100, deadline=None)
@given(
    # 5e-324: the bits 1, next to 0.0's (-0.0 and 0.0 must share a rank, 5e-324 not)
    st.lists(st.sampled_from([-1.5, -0.0, 0.0, 0.25, 3.0, 1e300, -7e-300, 5e-324]), max_size=40),
    st.integers(0, 8),
)
def test_hashed_dense_ranks_equal_numpy_unique_inverse(values: list[float], most: int) -> None:
    x = np.array(values, dtype=np.float64)
    uniques, inverse = np.unique(x, return_inverse=True)
    # the table sized by concordance.hash_bits, and one 4 times larger: same ranks
    for log_size in (hash_bits(most), hash_bits(most) + 2):
        rank, n_ranks = fenwick.dense_ranks_hashed(x, x.view(np.uint64), most, log_size)
        if uniques.size > most:  # more distinct values than the table takes: no ranks
            assert n_ranks == -1 and rank.size == 0
        else:
            assert rank.tolist() == inverse.tolist()
            assert n_ranks == uniques.size


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from([-3.0, -0.0, 1.0, 2.0, 7.0, 40.0, 2.5, 1e9]), min_size=1, max_size=8),
    st.integers(0, 2**32 - 1),
)
def test_code_lookup_equals_searchsorted(pool: list[float], seed: int) -> None:
    # Integer times in a small range take the table; 2.5 or 1e9 in the pool do not.
    distinct = np.unique(np.array(pool))
    values = np.random.default_rng(seed).choice(distinct, 30)
    for needles in (values, np.append(values, 3.0)):  # 3.0 not among the distinct: fall back
        got = np.zeros(needles.size, np.int32)
        CodeLookup(distinct)(needles, got)
        assert got.tolist() == np.searchsorted(distinct, needles).tolist()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 30), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_sorted_within_is_a_per_group_sortedness_check(n: int, groups: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 4, n).astype(np.float64)
    order = rng.permutation(n)
    bounds = np.unique(np.concatenate([[0, n], rng.integers(0, n + 1, groups - 1)]))
    for candidate in (
        order,
        order[np.lexsort((values[order], np.searchsorted(bounds, np.arange(n), "right")))],
    ):
        expected = all(
            bool(np.all(np.diff(values[candidate[a:b]]) >= 0))
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        )
        assert fenwick.sorted_within(values, candidate, bounds) is expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([-3.0, -2.0, 0.0, 1.0, 3.0, 4.0, 5.0, 0.5, 9.0]), max_size=12))
def test_codes_by_table_says_whether_every_value_was_looked_up(values: list[float]) -> None:
    # Table over the integers -2..4 holding the codes of -2, 0, 1, 4 (3 is an empty
    # entry); 0.5 (not an integer) and -3, 5, 9 (outside) are not in it either.
    distinct = np.array([-2.0, 0.0, 1.0, 4.0])
    table = np.full(7, -1, np.int32)
    table[(distinct + 2).astype(np.int64)] = np.arange(4, dtype=np.int32)
    x = np.array(values, dtype=np.float64)
    out = np.full(x.size, -9, np.int32)
    found = fenwick.codes_by_table(x, table, -2.0, out)
    assert found is bool(np.all(np.isin(x, distinct)))
    if found:
        assert out.tolist() == np.searchsorted(distinct, x).tolist()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 30), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_gather_sorted_gathers_and_checks_the_time_order(n: int, groups: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    time = rng.integers(0, 5, n).astype(np.float64)
    rank = rng.integers(0, 9, n).astype(np.int32)
    event = rng.uniform(size=n) < 0.5
    bounds = np.unique(np.concatenate([[0, n], rng.integers(0, n + 1, groups - 1)]))
    permuted = rng.permutation(n)
    by_time = np.argsort(time, kind="stable")
    for order in (permuted, by_time):
        got_time, got_rank, got_event, in_order = fenwick.gather_sorted(
            order, bounds, time, rank, event
        )
        assert got_time.tolist() == time[order].tolist()
        assert got_rank.tolist() == rank[order].tolist()
        assert got_event.tolist() == event[order].tolist()
        expected = all(
            bool(np.all(np.diff(time[order[a:b]]) >= 0))
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        )
        assert in_order is expected


def test_influence_squares_is_the_exactly_rounded_sum() -> None:
    # dfbeta = w (a / npair - somers b / npair): 1e8 then ones.  A plain running sum of
    # the squares loses every 1 against 1e16; the compensated sum must keep them
    # (math.fsum: exactly rounded).  With clusters the dfbeta are summed per cluster.
    a = np.array([1e8, 1.0, 1.0, 1.0, 1.0, 3.0])
    b = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 4.0])
    weight = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.5])
    dfbeta = [w * (x / 2.0 - 0.25 * y / 2.0) for w, x, y in zip(weight, a, b, strict=True)]
    no_cluster = np.zeros(0, np.int64)
    got = fenwick.influence_squares(a, b, weight, 2.0, 0.25, no_cluster, 1)
    assert got == math.fsum(d * d for d in dfbeta)
    # small squares first, then a large one (the other branch of the compensation):
    # 0.25 + 0.25 + 2^52 is a tie, rounded to 2^52; losing the 0.5 the wrong way
    # would give 2^52 - 0.5, which is a double
    small_first = np.array([0.5, 0.5, 2.0**26])
    ones, zeros = np.ones(3), np.zeros(3)
    got = fenwick.influence_squares(small_first, zeros, ones, 1.0, 0.0, no_cluster, 1)
    assert got == math.fsum(v * v for v in small_first) == 2.0**52
    cluster = np.array([1, 0, 0, 2, 2, 0])
    sums = [math.fsum(d for d, c in zip(dfbeta, cluster, strict=True) if c == k) for k in range(3)]
    got = fenwick.influence_squares(a, b, weight, 2.0, 0.25, cluster, 3)
    assert got == pytest.approx(math.fsum(s * s for s in sums), rel=1e-15)


def test_code_lookup_without_distinct_values() -> None:
    out = np.zeros(0, np.int32)
    CodeLookup(np.zeros(0))(np.zeros(0), out)
    assert out.size == 0


def test_influence_squares_of_one_clustered_row() -> None:
    # dfbeta = 2 (3 / 2 - 0.5 * 1 / 2) = 2.5, alone in its cluster: 6.25
    one = np.array([3.0]), np.array([1.0]), np.array([2.0])
    assert fenwick.influence_squares(*one, 2.0, 0.5, np.array([0]), 1) == 6.25
    assert fenwick.influence_squares(*one, 2.0, 0.5, np.zeros(0, np.int64), 1) == 6.25


def test_event_sweep_sets_the_per_row_sums() -> None:
    # One event, nobody else at risk: its per-row sums are set to 0 (not added to
    # what the arrays held), and no pair is counted.
    for weight, kind in ((np.ones(1, np.int8), np.int32), (np.array([0.5]), np.float64)):
        tree, point = np.zeros(2, kind), np.zeros(1, kind)
        totals = np.zeros(4, np.float64 if kind is np.float64 else np.int64)
        per_row_a, per_row_b = np.full(1, 7, kind), np.full(1, 7, kind)
        fenwick.event_sweep(
            np.array([0, 1]), np.array([1.0]), np.array([True]), np.zeros(1, np.int32), weight,
            np.zeros(0), np.zeros(0, np.int32), tree, point, 0, totals, per_row_a, per_row_b,
        )  # fmt: skip
        assert (per_row_a.tolist(), per_row_b.tolist(), totals.tolist()) == ([0], [0], [0] * 4)
